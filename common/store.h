/*
 * store.h - the encrypted key-value store every replica keeps, on LMDB.
 *
 * A store is one directory holding one LMDB environment with a fixed set of
 * tables. Values are sealed with XChaCha20-Poly1305 under a random data key;
 * the associated data binds each value to its table and key, so values
 * cannot be swapped between keys. The data key is itself sealed ("wrapped")
 * under a key-encryption key derived from the user's passphrase with argon2id,
 * or taken from a key file, so changing the passphrase rewraps one key and
 * re-encrypts nothing. Keys (situation ids, sequence numbers, antenna codes)
 * are stored in plaintext and must never hold personal data.
 *
 * Every commit is durable (fsync'd) when rl_store_commit() returns. One write
 * transaction at a time per environment (LMDB serialises writers, across
 * processes too); any number of read transactions. Transactions are not
 * bound to threads (MDB_NOTLS) but one transaction is used by one thread at
 * a time.
 *
 * Only store.c includes lmdb.h.
 */
#ifndef RL_STORE_H
#define RL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"

typedef struct rl_store rl_store;
typedef struct rl_txn rl_txn;
typedef struct rl_cursor rl_cursor;

typedef enum rl_table {
	RL_T_META,    /* name -> value: device identity, cursors, clock (sealed) */
	RL_T_STATES,  /* situation id (16 B) -> record state (sealed) */
	RL_T_OUTBOX,  /* be64 local seq -> change this device made (sealed);
	                 pending past the "acked" counter, kept before it */
	RL_T_LOG,     /* be64 seq -> 64-byte change reference: the server's global
	                 log, appended to; NOT sealed (ids only, as INDEX) */
	RL_T_INDEX,   /* index key -> small value, NOT sealed: only ids and
	                 sequence numbers may go here (feeds, per-situation log
	                 positions, cursors by id) */
	RL_T_DEVICES, /* device id (32 B) -> device record (sealed) */
	RL_T_AUDIT,   /* be64 seq -> audit event (sealed) */
	RL_T__COUNT
} rl_table;

/* The secret that opens a store: a passphrase, or a 32-byte key (from a key
 * file). Exactly one of pass and key is set. Borrowed for the call only. */
typedef struct rl_secret {
	const char *pass;
	size_t passlen;
	const uint8_t *key; /* RL_KEY_BYTES */
} rl_secret;

/*
 * map_bytes bounds how large the store may grow: writes past it fail with
 * RL_EFULL. It is address space, not disk space: the environment is mapped
 * read-only (no MDB_WRITEMAP), so data.mdb grows only with what is written.
 * It applies to this opening only; a store is never shrunk: one whose data
 * is already larger opens with a map of its data size (reads work, writes
 * that need new pages fail with RL_EFULL), and reopening with a larger map
 * lets writes go on.
 */
typedef struct rl_store_opts {
	size_t map_bytes;  /* LMDB map size; 0 = RL_STORE_DEFAULT_MAP */
	rl_kdf_cost cost;  /* argon2id cost used by create and rekey */
} rl_store_opts;

#define RL_STORE_DEFAULT_MAP ((size_t)4 << 30)
#define RL_STORE_MAX_KEY 511 /* LMDB's key size limit */

/*
 * Reads a key file: exactly 32 raw bytes, or 64 hex characters with an
 * optional trailing newline. RL_EIO if unreadable, RL_EKEY if malformed.
 */
rl_err rl_store_read_keyfile(const char *path, uint8_t key[RL_KEY_BYTES]);

/*
 * Creates a new empty store in dir (created if missing, mode 0700) protected
 * by s. RL_EEXIST if dir already holds a store; RL_EIO on I/O failure.
 * opts may be NULL.
 */
rl_err rl_store_create(const char *dir, const rl_secret *s, const rl_store_opts *opts);

/*
 * Opens the store in dir. Errors: RL_ENOSTORE (no store there), RL_EKEY (the
 * secret does not unwrap the data key), RL_ECORRUPT (damaged files or
 * keyring), RL_EVERSION (made by an incompatible version), RL_EIO. Never
 * creates an empty store. opts may be NULL.
 */
rl_err rl_store_open(const char *dir, const rl_secret *s, const rl_store_opts *opts,
                     rl_store **out);

/* Closes the store. No transaction may be live. NULL-safe. */
void rl_store_close(rl_store *st);

/* Rewraps the data key under a new secret (passphrase or key file), in one
 * durable transaction. Nothing else is re-encrypted. */
rl_err rl_store_rekey(rl_store *st, const rl_secret *newsecret);

/* Consistent compacted copy of the live store into destdir (created, must
 * not already hold a store), usable with the same secret. */
rl_err rl_store_backup(rl_store *st, const char *destdir);

/* Starts a transaction. RL_EBUSY never happens for readers; a writer waits
 * for the current writer. */
rl_err rl_store_begin(rl_store *st, bool write, rl_txn **out);

/* Commits durably and frees txn, whatever the result. RL_EFULL when the disk
 * or map is full (nothing of txn is then stored), RL_EIO. */
rl_err rl_store_commit(rl_txn *txn);

/* Aborts and frees txn. NULL-safe. */
void rl_store_abort(rl_txn *txn);

/*
 * Reads the value of key in t into out (replacing its content; the caller
 * owns out). RL_ENOTFOUND, RL_ECORRUPT (the sealed value does not verify).
 */
rl_err rl_store_get(rl_txn *txn, rl_table t, rl_bytes key, rl_buf *out);

/* Writes key -> val in t. RL_ETOOBIG (key over 511 bytes), RL_EFULL, RL_EIO.
 * After an error the transaction must be aborted. */
rl_err rl_store_put(rl_txn *txn, rl_table t, rl_bytes key, rl_bytes val);

/* Like rl_store_put for a key greater than every key in t (MDB_APPEND, much
 * faster for sequence numbers). RL_EINVAL if it is not greater. */
rl_err rl_store_append(rl_txn *txn, rl_table t, rl_bytes key, rl_bytes val);

/* Deletes key from t. RL_ENOTFOUND if absent. */
rl_err rl_store_del(rl_txn *txn, rl_table t, rl_bytes key);

/* Number of entries in t. */
rl_err rl_store_count(rl_txn *txn, rl_table t, size_t *n);

/* Cursors walk a table in key order (memcmp). Closed before the txn ends. */
rl_err rl_cursor_open(rl_txn *txn, rl_table t, rl_cursor **out);
void rl_cursor_close(rl_cursor *c);

/*
 * Positions on the first key >= key (key.len 0: the first key) and returns
 * it. *k is valid until the next cursor call or the end of the txn. v may be
 * NULL to skip reading the value; otherwise it receives the opened value.
 * RL_ENOTFOUND past the end; RL_ECORRUPT.
 */
rl_err rl_cursor_seek(rl_cursor *c, rl_bytes key, rl_bytes *k, rl_buf *v);

/* The next entry, as rl_cursor_seek. RL_ENOTFOUND at the end. */
rl_err rl_cursor_next(rl_cursor *c, rl_bytes *k, rl_buf *v);

/* The last entry of the table, as rl_cursor_seek. RL_ENOTFOUND if empty. */
rl_err rl_cursor_last(rl_cursor *c, rl_bytes *k, rl_buf *v);

/* Deletes the entry under the cursor (write txn). */
rl_err rl_cursor_del(rl_cursor *c);

/* Fault injection for tests: when set, the next n puts succeed and the
 * following ones fail with RL_EFULL. -1 disables (the default). */
void rl_store_fault_full_after(rl_store *st, long n);

#endif
