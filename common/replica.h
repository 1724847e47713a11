/*
 * replica.h - one replica: a store, this device's identity and clock, and
 * the operations on situations that keep state and outbox in step.
 *
 * Every replica (a client device or the HQ server) has a device identity: an
 * X25519 key pair made on the device at creation, whose public key is the
 * device id, plus an antenna code and a role. Local edits go through an
 * rl_edit: it holds one write transaction, stamps each new operation with
 * the next counter and a fresh HLC timestamp, merges it into the record, and
 * on commit writes the record state, the operations into the outbox, and the
 * clock, all in that one durable transaction. After a crash either all of an
 * edit is there or none of it.
 *
 * Operations received from elsewhere (pull, import) go through
 * rl_replica_apply(), which merges them record by record in one transaction.
 */
#ifndef RL_REPLICA_H
#define RL_REPLICA_H

#include <stdbool.h>
#include <stdint.h>

#include "record.h"
#include "store.h"

#define RL_ANTENNA_MAX 32 /* antenna code: 1-32 of [A-Za-z0-9_-] */

typedef enum rl_role {
	RL_ROLE_ANTENNA = 1,
	RL_ROLE_MOBILE,
	RL_ROLE_HQ,
	RL_ROLE_SERVER,
} rl_role;

typedef struct rl_replica rl_replica;
typedef struct rl_edit rl_edit;

const char *rl_role_name(rl_role r);
/* 0 for an unknown name. */
rl_role rl_role_parse(const char *s);
bool rl_antenna_valid(const char *s);

/*
 * Creates a store in dir with a new device identity for antenna and role.
 * RL_EEXIST if a store is already there; RL_EINVAL for a bad antenna code.
 */
rl_err rl_replica_create(const char *dir, const rl_secret *s, const rl_store_opts *opts,
                         const char *antenna, rl_role role);

/* Opens an existing replica; errors as rl_store_open, RL_ECORRUPT if the
 * identity is missing. */
rl_err rl_replica_open(const char *dir, const rl_secret *s, const rl_store_opts *opts,
                       rl_replica **out);
void rl_replica_close(rl_replica *rp);

rl_store *rl_replica_store(rl_replica *rp);
const uint8_t *rl_replica_device(const rl_replica *rp); /* RL_DEV_BYTES */
const uint8_t *rl_replica_secret_key(const rl_replica *rp); /* RL_SK_BYTES */
const char *rl_replica_antenna(const rl_replica *rp);
rl_role rl_replica_role(const rl_replica *rp);

/* Test hook: a fixed wall clock (ms) instead of the real one; 0 restores. */
void rl_replica_set_wall(rl_replica *rp, uint64_t wall_ms);

/* ---- state access inside a transaction ---- */

/* Loads a record state. RL_ENOTFOUND leaves rec initialised and empty. */
rl_err rl_state_load(rl_txn *txn, const uint8_t sit[RL_SIT_BYTES], rl_record *rec);
/* Stores a record state. */
rl_err rl_state_save(rl_txn *txn, const rl_record *rec);

/* Reads/writes a metadata value (sealed) by name. */
rl_err rl_meta_get(rl_txn *txn, const char *name, rl_buf *out);
rl_err rl_meta_put(rl_txn *txn, const char *name, rl_bytes val);
rl_err rl_meta_get_u64(rl_txn *txn, const char *name, uint64_t *v); /* 0 if absent */
rl_err rl_meta_put_u64(rl_txn *txn, const char *name, uint64_t v);

/* ---- local edits ---- */

/*
 * Starts an edit of an existing situation (RL_ENOTFOUND if this replica does
 * not hold it, RL_EERASED if it was erased), or of a new one when sit is
 * NULL (a random id, readable with rl_edit_record()). Holds the store's
 * write transaction until commit or abort.
 */
rl_err rl_edit_begin(rl_replica *rp, const uint8_t *sit, rl_edit **out);

/*
 * Same as rl_edit_begin inside the caller's write transaction txn: commit
 * then writes the state, outbox and clock into txn without committing it,
 * so many edits can share one durable commit (bulk imports, benchmarks).
 * rl_edit_abort then leaves what the edit wrote in txn: abort txn instead.
 */
rl_err rl_edit_begin_in(rl_replica *rp, rl_txn *txn, const uint8_t *sit, rl_edit **out);

/* The record as it stands with this edit's operations applied. */
const rl_record *rl_edit_record(const rl_edit *ed);

/* Writes a register, superseding every value currently live (resolving any
 * conflict). target: NULL, or an alert id for alert fields. */
rl_err rl_edit_reg(rl_edit *ed, const rl_opid *target, uint8_t field, rl_bytes value);
/* Adds an element to a set (no-op if present). */
rl_err rl_edit_add(rl_edit *ed, uint8_t set, rl_bytes elem);
/* Removes an element (the adds this replica has seen). RL_ENOTFOUND if absent. */
rl_err rl_edit_rem(rl_edit *ed, uint8_t set, rl_bytes elem);
/* Appends a journal entry; amends may be NULL. *id receives its id. */
rl_err rl_edit_journal(rl_edit *ed, uint8_t jtype, uint32_t date, rl_bytes text,
                       const rl_opid *amends, rl_opid *id);
/* Creates an alert. *id receives its id. */
rl_err rl_edit_alert(rl_edit *ed, uint32_t due, rl_bytes text, rl_opid *id);
/* Erases the situation: its pending outbox entries are deleted, the erase
 * itself is queued. Any later operation in the same edit fails with
 * RL_EERASED. */
rl_err rl_edit_erase(rl_edit *ed);

/* Commits durably (state, outbox, clock). Frees ed whatever the result. */
rl_err rl_edit_commit(rl_edit *ed);
void rl_edit_abort(rl_edit *ed);

/* ---- received operations ---- */

/*
 * Merges n operations (any situations, any order, duplicates allowed) in one
 * durable transaction. *napplied (may be NULL) counts the ones that changed
 * a state. Operations on erased records are dropped; the outbox entries of
 * a situation these operations erase are deleted (its content must go).
 */
rl_err rl_replica_apply(rl_replica *rp, const rl_op *ops, size_t n, size_t *napplied);

/* The same inside a caller's write transaction (no commit). */
rl_err rl_replica_apply_txn(rl_replica *rp, rl_txn *txn, const rl_op *ops, size_t n,
                            size_t *napplied);

/* Removes a situation from this replica (it left this device's scope);
 * its pending outbox and sent entries are kept. */
rl_err rl_replica_drop_txn(rl_txn *txn, const uint8_t sit[RL_SIT_BYTES]);

/*
 * Restamps the outbox operations whose clock is above `above` (they were
 * refused by the server as too far ahead), in counter order, with fresh
 * timestamps from a clock restarted at base_ms, in their states and in the
 * outbox, in one transaction; the device clock restarts there too. Only
 * operations no other replica can have seen may be restamped: the caller
 * passes above >= the server's clock plus its skew bound. *n counts them.
 */
rl_err rl_replica_restamp(rl_replica *rp, rl_hlc above, uint64_t base_ms, size_t *n);

/* ---- outbox ---- */

/*
 * The outbox holds every change this device made, keyed by its counter
 * (an erasure purges a situation's entries but the erase). The metadata
 * "acked" is the greatest counter up to which the server acknowledged them:
 * entries past it are pending, the others are kept so that they can be sent
 * again to a server restored from a backup that lacks them. Acknowledging
 * is one small write, whatever the batch.
 */

/* Number of operations waiting to be acknowledged. */
rl_err rl_outbox_count(rl_replica *rp, size_t *n);

/* The same in txn, and (if sent is not NULL) the acknowledged ones kept. */
rl_err rl_outbox_count_txn(rl_txn *txn, size_t *pending, size_t *sent);

/* The acknowledged counter (0 when nothing was). */
rl_err rl_outbox_acked_txn(rl_txn *txn, uint64_t *acked);

/* The server acknowledged the outbox up to counter upto, in txn. Bounded by
 * the last entry (later edits stay pending); a smaller bound than the one
 * recorded changes nothing. */
rl_err rl_outbox_ack_txn(rl_txn *txn, uint64_t upto);

/*
 * The server lost changes it had acknowledged (restored from a backup):
 * every kept entry is pending again, in txn, so that the next push sends
 * them again (the server applies them idempotently). *n counts them.
 */
rl_err rl_outbox_requeue_txn(rl_txn *txn, size_t *n);

#endif
