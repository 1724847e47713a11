/*
 * store.c - the encrypted key-value store, on LMDB 0.9.
 *
 * A store directory holds one LMDB environment (data.mdb, lock.mdb, both
 * mode 0600) with one named sub-database per rl_table plus a plaintext
 * "keyring" database. The keyring holds a few small fields: the store format
 * version, the kind of secret (passphrase or key file), a salt, the argon2id
 * cost for a passphrase, and the 32-byte random data key sealed ("wrapped")
 * under a key-encryption key (KEK) derived from the secret. Opening a store
 * derives the KEK and unwraps the data key into guarded memory; a wrapping
 * that does not verify means the secret is wrong (RL_EKEY). Every value of
 * every table but RL_T_INDEX and RL_T_LOG (ids and sequence numbers only) is
 * sealed with XChaCha20-Poly1305 under the data
 * key, with associated data = table id || key, so a value copied to another
 * key or table no longer opens (RL_ECORRUPT). Sealing writes straight into
 * the page LMDB reserves (MDB_RESERVE): plaintext is never copied to an
 * intermediate heap buffer on the way in.
 *
 * Transactions wrap LMDB's. A write that fails marks the transaction failed
 * so that a caller who ignores the error still cannot commit half of it:
 * every later call returns the first error and commit stores nothing. Open
 * cursors are tracked and closed when the transaction ends, as a safety net;
 * callers still close them first (LMDB frees write-txn cursors itself, so a
 * cursor must never be closed after its transaction ended).
 *
 * Damaged files must fail cleanly rather than crash: LMDB maps data.mdb and
 * touching a page past the end of a truncated file raises SIGBUS, so open
 * checks that the file covers every page the meta page claims before any
 * data page is read. LMDB has no page checksums, so garbage inside a page
 * that still looks well-formed is caught only where values are sealed.
 *
 * LMDB and errno codes are translated here (store_err) and nowhere else.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

#include <lmdb.h>

#include "store.h"

/* Keyring "version"; bump on layout change. 2: acknowledged changes stay in
 * OUTBOX behind "acked" (no SENT table), the server's log is LOG. Stores of
 * another version are refused (RL_EVERSION): there is no migration. */
#define STORE_FORMAT 2u
#define STORE_DIR_MODE 0700
#define STORE_FILE_MODE 0600
#define STORE_DATA_FILE "data.mdb"
#define STORE_LOCK_FILE "lock.mdb"
#define STORE_MAX_DBS (RL_T__COUNT + 1) /* the tables and the keyring */
#define STORE_AD_BYTES (1 + RL_STORE_MAX_KEY)
#define STORE_FULL_MARGIN ((uint64_t)1 << 20) /* less room than this: "full" */

#define KEYRING_DB "keyring"
#define KEYRING_AD "relais-keyring-v1"
#define KEYRING_AD_BYTES (sizeof(KEYRING_AD) - 1 + 4 + 1 + RL_SALT_BYTES + 8 + 8)
#define KEYRING_WRAPPED_BYTES (RL_KEY_BYTES + RL_SEAL_OVERHEAD)
#define KEYFILE_KEK_CTX "relais-store-kek-v1"
#define KEYFILE_KEK_CTX_BYTES (sizeof(KEYFILE_KEK_CTX) - 1)
#define KEYFILE_HEX_CHARS (2 * RL_KEY_BYTES)
#define KEYFILE_READ_MAX (KEYFILE_HEX_CHARS + 2) /* one byte more than allowed */

/* Keyring field names (keys of the keyring database). */
#define KR_VERSION "version"
#define KR_KIND "kind"
#define KR_SALT "salt"
#define KR_OPS "ops"
#define KR_MEM "mem"
#define KR_DKEY "dkey"

enum { KIND_PASS = 1, KIND_KEYFILE = 2 };

static const char *const table_names[RL_T__COUNT] = {
	[RL_T_META] = "meta",     [RL_T_STATES] = "states",   [RL_T_OUTBOX] = "outbox",
	[RL_T_LOG] = "log",       [RL_T_INDEX] = "index",     [RL_T_DEVICES] = "devices",
	[RL_T_AUDIT] = "audit",
};

struct rl_store {
	MDB_env *env;
	MDB_dbi dbi[RL_T__COUNT];
	MDB_dbi keyring;
	uint8_t *dkey;    /* data key, RL_KEY_BYTES of rl_secret_alloc memory */
	rl_kdf_cost cost; /* argon2id cost for rekey */
	long fault_left;  /* puts left before injected RL_EFULL; -1 = off */
	atomic_long live; /* open transactions; must be 0 at close */
	/* Value nonces: a random 16-byte prefix drawn at open and a counter.
	 * Writes are serialised by LMDB's writer lock, so the counter needs no
	 * lock; a prefix per open keeps processes sharing the store apart.
	 * This avoids a getrandom() system call per sealed value. */
	uint8_t nonce_prefix[RL_NONCE_BYTES - 8];
	uint64_t nonce_ctr;
};

struct rl_txn {
	rl_store *st;
	MDB_txn *txn;
	bool write;
	rl_err err;         /* first failure; every later call returns it */
	rl_cursor *cursors; /* open cursors, closed at the end if left open */
};

struct rl_cursor {
	rl_txn *txn;
	rl_table t;
	MDB_cursor *cur;
	rl_cursor *prev, *next; /* in txn->cursors */
};

/* The keyring, decoded. ops and mem are 0 for a key-file store. */
typedef struct store_keyring {
	uint8_t kind;
	uint8_t salt[RL_SALT_BYTES];
	uint64_t ops, mem;
	uint8_t wrapped[KEYRING_WRAPPED_BYTES];
} store_keyring;

/*
 * The one place LMDB and errno codes become rl_err. Most LMDB codes that
 * are not listed (MDB_BAD_TXN after a dead txn, MDB_PANIC, EACCES) can only
 * be reported as I/O failures.
 */
static rl_err
store_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return RL_OK;
	case MDB_NOTFOUND:
		return RL_ENOTFOUND;
	case MDB_KEYEXIST:
		return RL_EEXIST;
	case MDB_MAP_FULL:
	case ENOSPC:
	case EFBIG:
#ifdef EDQUOT
	case EDQUOT:
#endif
		return RL_EFULL;
	case MDB_INVALID:
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE:
		return RL_ECORRUPT;
	case ENOMEM:
		return RL_ENOMEM;
	case MDB_BAD_VALSIZE:
	case MDB_TXN_FULL:
	case MDB_CURSOR_FULL:
		return RL_ETOOBIG;
	case MDB_READERS_FULL:
		return RL_EBUSY;
	default:
		return RL_EIO;
	}
}

static bool
secret_valid(const rl_secret *s)
{
	return s != NULL && ((s->pass != NULL) != (s->key != NULL));
}

/* *out = dir "/" name, malloc'd. */
static rl_err
store_path(const char *dir, const char *name, char **out)
{
	size_t dl = strlen(dir), nl = strlen(name), n;
	char *p;

	if (__builtin_add_overflow(dl, nl + 2, &n))
		return RL_ETOOBIG;
	if ((p = malloc(n)) == NULL)
		return RL_ENOMEM;
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl + 1);
	*out = p;
	return RL_OK;
}

/* Makes dir (0700) if missing; *made tells whether this call made it. */
static rl_err
store_mkdir(const char *dir, bool *made)
{
	struct stat sb;

	*made = false;
	if (mkdir(dir, STORE_DIR_MODE) == 0) {
		*made = true;
		return RL_OK;
	}
	if (errno != EEXIST || stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return RL_EIO;
	return RL_OK;
}

/* RL_OK if path is absent, RL_EEXIST if something is there, else RL_EIO. */
static rl_err
store_absent(const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) == 0)
		return RL_EEXIST;
	return errno == ENOENT ? RL_OK : RL_EIO;
}

/* fsync a file or directory so a new entry survives a crash. */
static rl_err
store_fsync_path(const char *path)
{
	rl_err e = RL_OK;
	int fd;

	if ((fd = open(path, O_RDONLY)) < 0)
		return RL_EIO;
	/* Some file systems refuse to sync directories; nothing more to do. */
	if (fsync(fd) != 0 && errno != EINVAL)
		e = RL_EIO;
	close(fd);
	return e;
}

/*
 * Frees the reader slots of processes that died inside a read transaction
 * (SIGKILL, a crash): LMDB frees them only when the lock file is reset,
 * i.e. when no process has the store open. While one stays open (the
 * server, `relais sync --watch`), every kill leaked one of the 126 slots,
 * and then no process could read the store any more (MDB_READERS_FULL).
 * Returns how many were freed.
 */
static int
store_clear_dead_readers(MDB_env *env)
{
	int dead = 0;

	if (mdb_reader_check(env, &dead) != 0)
		return 0;
	return dead;
}

/* Creates and opens the environment in dir (which must exist). */
static rl_err
store_env_open(const char *dir, size_t map_bytes, MDB_env **out)
{
	MDB_env *env = NULL;
	int rc;

	if ((rc = mdb_env_create(&env)) != 0)
		goto fail;
	if ((rc = mdb_env_set_maxdbs(env, STORE_MAX_DBS)) != 0)
		goto fail;
	if ((rc = mdb_env_set_mapsize(env, map_bytes ? map_bytes : RL_STORE_DEFAULT_MAP)) != 0)
		goto fail;
	if ((rc = mdb_env_open(env, dir, MDB_NOTLS, STORE_FILE_MODE)) != 0)
		goto fail;
	*out = env;
	env = NULL;
fail:
	mdb_env_close(env);
	return store_err(rc);
}

/*
 * RL_ECORRUPT if data.mdb is shorter than the pages its meta page claims.
 * Must run before any data page is read: the map covers the whole map size,
 * and reading a mapped page past the end of the file is SIGBUS, not an error.
 */
static rl_err
store_check_size(MDB_env *env)
{
	MDB_envinfo info;
	MDB_stat ms;
	mdb_filehandle_t fd;
	struct stat sb;
	uint64_t need;

	if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &ms) != 0 ||
	    mdb_env_get_fd(env, &fd) != 0 || fstat(fd, &sb) != 0)
		return RL_EIO;
	if (__builtin_mul_overflow((uint64_t)info.me_last_pgno + 1, (uint64_t)ms.ms_psize, &need))
		return RL_ECORRUPT;
	return (uint64_t)sb.st_size < need ? RL_ECORRUPT : RL_OK;
}

/* ---- keyring ---- */

/* The associated data of the wrapped key: binds it to the keyring fields. */
static void
keyring_ad(const store_keyring *kr, uint8_t ad[KEYRING_AD_BYTES])
{
	uint8_t *p = ad;

	memcpy(p, KEYRING_AD, sizeof(KEYRING_AD) - 1);
	p += sizeof(KEYRING_AD) - 1;
	p[0] = (uint8_t)(STORE_FORMAT >> 24);
	p[1] = (uint8_t)(STORE_FORMAT >> 16);
	p[2] = (uint8_t)(STORE_FORMAT >> 8);
	p[3] = (uint8_t)STORE_FORMAT;
	p += 4;
	*p++ = kr->kind;
	memcpy(p, kr->salt, RL_SALT_BYTES);
	p += RL_SALT_BYTES;
	rl_put_be64(p, kr->ops);
	rl_put_be64(p + 8, kr->mem);
}

/*
 * Derives the KEK of kr from s. A passphrase goes through argon2id with the
 * recorded cost; a key-file key is already uniform, so a keyed hash over a
 * domain-separation string and the salt suffices. RL_EKEY if s is not the
 * kind of secret the store was made with; RL_ECORRUPT if the recorded cost is
 * out of bounds; RL_ENOMEM.
 */
static rl_err
keyring_kek(const store_keyring *kr, const rl_secret *s, uint8_t kek[RL_KEY_BYTES])
{
	uint8_t msg[KEYFILE_KEK_CTX_BYTES + RL_SALT_BYTES];
	rl_err e;

	if (kr->kind == KIND_PASS) {
		if (s->pass == NULL)
			return RL_EKEY;
		e = rl_kdf_pass(s->pass, s->passlen, kr->salt, kr->ops, kr->mem, kek);
		return e == RL_EPROTO ? RL_ECORRUPT : e;
	}
	if (s->key == NULL)
		return RL_EKEY;
	memcpy(msg, KEYFILE_KEK_CTX, KEYFILE_KEK_CTX_BYTES);
	memcpy(msg + KEYFILE_KEK_CTX_BYTES, kr->salt, RL_SALT_BYTES);
	rl_hash_keyed(s->key, msg, sizeof msg, kek);
	return RL_OK;
}

/* Fills kr for secret s (fresh salt, cost) with dkey wrapped under its KEK. */
static rl_err
keyring_seal(store_keyring *kr, const rl_secret *s, rl_kdf_cost cost, const uint8_t *dkey)
{
	uint8_t kek[RL_KEY_BYTES], ad[KEYRING_AD_BYTES];
	rl_err e;

	memset(kr, 0, sizeof *kr);
	rl_random(kr->salt, RL_SALT_BYTES);
	if (s->pass != NULL) {
		kr->kind = KIND_PASS;
		rl_kdf_params(cost, &kr->ops, &kr->mem);
	} else {
		kr->kind = KIND_KEYFILE;
	}
	if ((e = keyring_kek(kr, s, kek)) != RL_OK)
		goto fail;
	keyring_ad(kr, ad);
	rl_seal(kek, ad, sizeof ad, dkey, RL_KEY_BYTES, kr->wrapped);
fail:
	rl_wipe(kek, sizeof kek);
	return e;
}

/* Unwraps the data key of kr with s into dkey. RL_EKEY if s is wrong. */
static rl_err
keyring_unseal(const store_keyring *kr, const rl_secret *s, uint8_t *dkey)
{
	uint8_t kek[RL_KEY_BYTES], ad[KEYRING_AD_BYTES];
	rl_err e;

	if ((e = keyring_kek(kr, s, kek)) != RL_OK)
		goto fail;
	keyring_ad(kr, ad);
	if (rl_open(kek, ad, sizeof ad, kr->wrapped, sizeof kr->wrapped, dkey) != RL_OK)
		e = RL_EKEY;
fail:
	rl_wipe(kek, sizeof kek);
	return e;
}

/* Reads one fixed-size field. Missing or of the wrong size: RL_ECORRUPT. */
static rl_err
keyring_get(MDB_txn *txn, MDB_dbi dbi, const char *name, void *out, size_t n)
{
	MDB_val k = { strlen(name), (void *)name }, v;
	int rc;

	rc = mdb_get(txn, dbi, &k, &v);
	if (rc == MDB_NOTFOUND || (rc == 0 && v.mv_size != n))
		return RL_ECORRUPT;
	if (rc != 0)
		return store_err(rc);
	memcpy(out, v.mv_data, n);
	return RL_OK;
}

static rl_err
keyring_put(MDB_txn *txn, MDB_dbi dbi, const char *name, const void *p, size_t n)
{
	MDB_val k = { strlen(name), (void *)name }, v = { n, (void *)p };

	return store_err(mdb_put(txn, dbi, &k, &v, 0));
}

/* Reads and checks the keyring. RL_EVERSION, RL_ECORRUPT, RL_EIO. */
static rl_err
keyring_read(MDB_txn *txn, MDB_dbi dbi, store_keyring *kr)
{
	uint8_t ver[4], b8[8];
	rl_err e;

	memset(kr, 0, sizeof *kr);
	if ((e = keyring_get(txn, dbi, KR_VERSION, ver, sizeof ver)) != RL_OK)
		goto fail;
	if (((uint32_t)ver[0] << 24 | (uint32_t)ver[1] << 16 | (uint32_t)ver[2] << 8 | ver[3]) !=
	    STORE_FORMAT) {
		e = RL_EVERSION;
		goto fail;
	}
	if ((e = keyring_get(txn, dbi, KR_KIND, &kr->kind, 1)) != RL_OK ||
	    (e = keyring_get(txn, dbi, KR_SALT, kr->salt, RL_SALT_BYTES)) != RL_OK ||
	    (e = keyring_get(txn, dbi, KR_DKEY, kr->wrapped, sizeof kr->wrapped)) != RL_OK)
		goto fail;
	if (kr->kind == KIND_PASS) {
		if ((e = keyring_get(txn, dbi, KR_OPS, b8, sizeof b8)) != RL_OK)
			goto fail;
		kr->ops = rl_get_be64(b8);
		if ((e = keyring_get(txn, dbi, KR_MEM, b8, sizeof b8)) != RL_OK)
			goto fail;
		kr->mem = rl_get_be64(b8);
	} else if (kr->kind != KIND_KEYFILE) {
		e = RL_ECORRUPT;
	}
fail:
	return e;
}

/* Writes every keyring field; removes the cost of a former passphrase. */
static rl_err
keyring_write(MDB_txn *txn, MDB_dbi dbi, const store_keyring *kr)
{
	uint8_t ver[4] = { (uint8_t)(STORE_FORMAT >> 24), (uint8_t)(STORE_FORMAT >> 16),
	                   (uint8_t)(STORE_FORMAT >> 8), (uint8_t)STORE_FORMAT };
	uint8_t ops[8], mem[8];
	MDB_val k;
	rl_err e;
	int rc;

	if ((e = keyring_put(txn, dbi, KR_VERSION, ver, sizeof ver)) != RL_OK ||
	    (e = keyring_put(txn, dbi, KR_KIND, &kr->kind, 1)) != RL_OK ||
	    (e = keyring_put(txn, dbi, KR_SALT, kr->salt, RL_SALT_BYTES)) != RL_OK ||
	    (e = keyring_put(txn, dbi, KR_DKEY, kr->wrapped, sizeof kr->wrapped)) != RL_OK)
		goto fail;
	if (kr->kind == KIND_PASS) {
		rl_put_be64(ops, kr->ops);
		rl_put_be64(mem, kr->mem);
		if ((e = keyring_put(txn, dbi, KR_OPS, ops, sizeof ops)) != RL_OK ||
		    (e = keyring_put(txn, dbi, KR_MEM, mem, sizeof mem)) != RL_OK)
			goto fail;
	} else {
		k = (MDB_val){ strlen(KR_OPS), KR_OPS };
		if ((rc = mdb_del(txn, dbi, &k, NULL)) != 0 && rc != MDB_NOTFOUND) {
			e = store_err(rc);
			goto fail;
		}
		k = (MDB_val){ strlen(KR_MEM), KR_MEM };
		if ((rc = mdb_del(txn, dbi, &k, NULL)) != 0 && rc != MDB_NOTFOUND)
			e = store_err(rc);
	}
fail:
	return e;
}

/* ---- store lifecycle ---- */

rl_err
rl_store_read_keyfile(const char *path, uint8_t key[RL_KEY_BYTES])
{
	uint8_t buf[KEYFILE_READ_MAX];
	size_t n = 0;
	ssize_t r;
	rl_err e = RL_OK;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return RL_EIO;
	/* Reads one byte more than the longest valid form to detect longer files. */
	while (n < sizeof buf) {
		r = read(fd, buf + n, sizeof buf - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = RL_EIO;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n == RL_KEY_BYTES) {
		memcpy(key, buf, RL_KEY_BYTES);
	} else if (n == KEYFILE_HEX_CHARS ||
	           (n == KEYFILE_HEX_CHARS + 1 && buf[KEYFILE_HEX_CHARS] == '\n')) {
		if (rl_hex_decode((const char *)buf, KEYFILE_HEX_CHARS, key, RL_KEY_BYTES) != RL_OK)
			e = RL_EKEY;
	} else {
		e = RL_EKEY;
	}
fail:
	rl_wipe(buf, sizeof buf);
	close(fd);
	return e;
}

rl_err
rl_store_create(const char *dir, const rl_secret *s, const rl_store_opts *opts)
{
	char *data = NULL, *lock = NULL;
	bool made_dir = false, made_file = false;
	uint8_t *dkey = NULL;
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi kdb, dbi;
	store_keyring kr;
	rl_err e;
	int rc;

	assert(dir != NULL && secret_valid(s));
	memset(&kr, 0, sizeof kr);
	if ((e = store_path(dir, STORE_DATA_FILE, &data)) != RL_OK ||
	    (e = store_path(dir, STORE_LOCK_FILE, &lock)) != RL_OK)
		goto fail;
	if ((e = store_mkdir(dir, &made_dir)) != RL_OK || (e = store_absent(data)) != RL_OK)
		goto fail;
	if ((dkey = rl_secret_alloc(RL_KEY_BYTES)) == NULL) {
		e = RL_ENOMEM;
		goto fail;
	}
	rl_random(dkey, RL_KEY_BYTES);
	/* argon2id runs before the environment exists: no lock held meanwhile. */
	if ((e = keyring_seal(&kr, s, opts ? opts->cost : RL_KDF_INTERACTIVE, dkey)) != RL_OK)
		goto fail;

	made_file = true;
	if ((e = store_env_open(dir, opts ? opts->map_bytes : 0, &env)) != RL_OK)
		goto fail;
	if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0) {
		e = store_err(rc);
		goto fail;
	}
	/* A concurrent creator may have won since the check above; leave its
	 * files alone. */
	rc = mdb_dbi_open(txn, KEYRING_DB, 0, &kdb);
	if (rc == 0) {
		made_file = false;
		e = RL_EEXIST;
		goto fail;
	}
	if (rc == MDB_NOTFOUND)
		rc = mdb_dbi_open(txn, KEYRING_DB, MDB_CREATE, &kdb);
	for (int t = 0; rc == 0 && t < RL_T__COUNT; t++)
		rc = mdb_dbi_open(txn, table_names[t], MDB_CREATE, &dbi);
	if (rc != 0) {
		e = store_err(rc);
		goto fail;
	}
	if ((e = keyring_write(txn, kdb, &kr)) != RL_OK)
		goto fail;
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if ((e = store_err(rc)) != RL_OK || (e = store_fsync_path(dir)) != RL_OK)
		goto fail;
	made_file = false;
	made_dir = false;
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	if (made_file) {
		unlink(data);
		unlink(lock);
	}
	if (made_dir)
		rmdir(dir);
	rl_secret_free(dkey);
	rl_wipe(&kr, sizeof kr);
	free(lock);
	free(data);
	return e;
}

rl_err
rl_store_open(const char *dir, const rl_secret *s, const rl_store_opts *opts, rl_store **out)
{
	char *data = NULL;
	rl_store *st = NULL;
	MDB_txn *txn = NULL;
	store_keyring kr;
	struct stat sb;
	rl_err e;
	int rc;

	assert(dir != NULL && secret_valid(s) && out != NULL);
	memset(&kr, 0, sizeof kr);
	if ((e = store_path(dir, STORE_DATA_FILE, &data)) != RL_OK)
		goto fail;
	/* LMDB would create a missing data.mdb, and would initialise an empty
	 * one as a new environment: check first so open never creates a store. */
	if (stat(data, &sb) != 0) {
		e = (errno == ENOENT || errno == ENOTDIR) ? RL_ENOSTORE : RL_EIO;
		goto fail;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size == 0) {
		e = RL_ECORRUPT;
		goto fail;
	}
	if ((st = calloc(1, sizeof *st)) == NULL) {
		e = RL_ENOMEM;
		goto fail;
	}
	st->fault_left = -1;
	st->cost = opts ? opts->cost : RL_KDF_INTERACTIVE;
	atomic_init(&st->live, 0);
	rl_random(st->nonce_prefix, sizeof(st->nonce_prefix));
	if ((st->dkey = rl_secret_alloc(RL_KEY_BYTES)) == NULL) {
		e = RL_ENOMEM;
		goto fail;
	}
	if ((e = store_env_open(dir, opts ? opts->map_bytes : 0, &st->env)) != RL_OK ||
	    (e = store_check_size(st->env)) != RL_OK)
		goto fail;
	store_clear_dead_readers(st->env);
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0) {
		e = store_err(rc);
		goto fail;
	}
	/* No keyring: not a store. A keyring without its tables: damaged. */
	rc = mdb_dbi_open(txn, KEYRING_DB, 0, &st->keyring);
	if (rc != 0) {
		e = rc == MDB_NOTFOUND ? RL_ENOSTORE : store_err(rc);
		goto fail;
	}
	for (int t = 0; rc == 0 && t < RL_T__COUNT; t++)
		rc = mdb_dbi_open(txn, table_names[t], 0, &st->dbi[t]);
	if (rc != 0) {
		e = rc == MDB_NOTFOUND ? RL_ECORRUPT : store_err(rc);
		goto fail;
	}
	if ((e = keyring_read(txn, st->keyring, &kr)) != RL_OK ||
	    (e = keyring_unseal(&kr, s, st->dkey)) != RL_OK)
		goto fail;
	/* Committing (not aborting) keeps the database handles open. */
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if ((e = store_err(rc)) != RL_OK)
		goto fail;
	*out = st;
	st = NULL;
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	rl_store_close(st);
	rl_wipe(&kr, sizeof kr);
	free(data);
	return e;
}

void
rl_store_close(rl_store *st)
{
	if (st == NULL)
		return;
	assert(atomic_load(&st->live) == 0);
	mdb_env_close(st->env);
	if (st->dkey != NULL) {
		rl_wipe(st->dkey, RL_KEY_BYTES);
		rl_secret_free(st->dkey);
	}
	free(st);
}

/*
 * Copies of the old wrapping may survive in LMDB's free pages until they are
 * reused, as they survive in any older backup: rekeying stops the old secret
 * from opening this store, it does not erase history. A compacted backup
 * (rl_store_backup) holds only live pages.
 */
rl_err
rl_store_rekey(rl_store *st, const rl_secret *newsecret)
{
	MDB_txn *txn = NULL;
	store_keyring kr;
	rl_err e;
	int rc;

	assert(st != NULL && secret_valid(newsecret));
	/* argon2id first, so the writer lock is not held during it. */
	if ((e = keyring_seal(&kr, newsecret, st->cost, st->dkey)) != RL_OK)
		goto fail;
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0) {
		e = store_err(rc);
		goto fail;
	}
	if ((e = keyring_write(txn, st->keyring, &kr)) != RL_OK)
		goto fail;
	rc = mdb_txn_commit(txn);
	txn = NULL;
	e = store_err(rc);
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	rl_wipe(&kr, sizeof kr);
	return e;
}

rl_err
rl_store_backup(rl_store *st, const char *destdir)
{
	char *data = NULL;
	bool made_dir = false, made_file = false;
	rl_err e;
	int rc;

	assert(st != NULL && destdir != NULL);
	if ((e = store_path(destdir, STORE_DATA_FILE, &data)) != RL_OK ||
	    (e = store_mkdir(destdir, &made_dir)) != RL_OK || (e = store_absent(data)) != RL_OK)
		goto fail;
	/* A compacting copy only takes a read transaction: it neither waits for
	 * nor blocks the writer. It creates data.mdb exclusively. */
	made_file = true;
	rc = mdb_env_copy2(st->env, destdir, MDB_CP_COMPACT);
	if (rc == EEXIST)
		made_file = false;
	if (rc != 0) {
		e = rc == EEXIST ? RL_EEXIST : store_err(rc);
		goto fail;
	}
	/* LMDB creates the copy 0666 & ~umask and does not sync it. */
	if (chmod(data, STORE_FILE_MODE) != 0) {
		e = RL_EIO;
		goto fail;
	}
	if ((e = store_fsync_path(data)) != RL_OK || (e = store_fsync_path(destdir)) != RL_OK)
		goto fail;
	made_file = false;
	made_dir = false;
fail:
	if (made_file)
		unlink(data);
	if (made_dir)
		rmdir(destdir);
	free(data);
	return e;
}

void
rl_store_fault_full_after(rl_store *st, long n)
{
	st->fault_left = n < 0 ? -1 : n;
}

/* ---- transactions ---- */

rl_err
rl_store_begin(rl_store *st, bool write, rl_txn **out)
{
	rl_txn *txn;
	rl_err e = RL_OK;
	int rc;

	assert(st != NULL && out != NULL);
	if ((txn = calloc(1, sizeof *txn)) == NULL)
		return RL_ENOMEM;
	txn->st = st;
	txn->write = write;
	rc = mdb_txn_begin(st->env, NULL, write ? 0 : MDB_RDONLY, &txn->txn);
	if (rc == MDB_READERS_FULL && store_clear_dead_readers(st->env) > 0)
		rc = mdb_txn_begin(st->env, NULL, write ? 0 : MDB_RDONLY, &txn->txn);
	if (rc == MDB_MAP_RESIZED) {
		/* Another process grew the map: adopt its size and retry once. */
		if ((rc = mdb_env_set_mapsize(st->env, 0)) == 0)
			rc = mdb_txn_begin(st->env, NULL, write ? 0 : MDB_RDONLY, &txn->txn);
	}
	if (rc != 0) {
		e = store_err(rc);
		free(txn);
		goto fail;
	}
	atomic_fetch_add(&st->live, 1);
	*out = txn;
fail:
	return e;
}

/*
 * Whether the data file has no room left to grow. LMDB reports a short
 * write of its pages as EIO, and a short write is what a filling disk or
 * a file-size limit (RLIMIT_FSIZE) gives when the pages straddle the end of
 * the room: only the next write would fail with ENOSPC or EFBIG. A commit
 * that fails with EIO while the file system has less than a margin left, or
 * while the file reaches its size limit, is therefore a full disk.
 */
static bool
store_no_room(MDB_env *env)
{
	mdb_filehandle_t fd;
	struct statvfs vfs;
	struct rlimit rl;
	struct stat sb;

	if (mdb_env_get_fd(env, &fd) != 0)
		return false;
	if (fstatvfs(fd, &vfs) == 0 &&
	    (uint64_t)(geteuid() == 0 ? vfs.f_bfree : vfs.f_bavail) * vfs.f_frsize <
	        STORE_FULL_MARGIN)
		return true;
	return getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	       fstat(fd, &sb) == 0 && (uint64_t)sb.st_size + STORE_FULL_MARGIN >= rl.rlim_cur;
}

/* Closes the cursors left open; must run before the LMDB txn ends. */
static void
txn_close_cursors(rl_txn *txn)
{
	while (txn->cursors != NULL)
		rl_cursor_close(txn->cursors);
}

static void
txn_free(rl_txn *txn)
{
	atomic_fetch_sub(&txn->st->live, 1);
	free(txn);
}

rl_err
rl_store_commit(rl_txn *txn)
{
	rl_err e;

	assert(txn != NULL);
	txn_close_cursors(txn);
	if (txn->err != RL_OK) {
		e = txn->err;
		mdb_txn_abort(txn->txn);
	} else {
		/* mdb_txn_commit frees the txn even when it fails. */
		int rc = mdb_txn_commit(txn->txn);

		e = rc == EIO && store_no_room(txn->st->env) ? RL_EFULL : store_err(rc);
	}
	txn_free(txn);
	return e;
}

void
rl_store_abort(rl_txn *txn)
{
	if (txn == NULL)
		return;
	txn_close_cursors(txn);
	mdb_txn_abort(txn->txn);
	txn_free(txn);
}

/* Records a failure of a write (or an LMDB failure of a read) in txn. */
static rl_err
txn_fail(rl_txn *txn, rl_err e)
{
	if (txn->err == RL_OK)
		txn->err = e;
	return e;
}

/* Checks key against LMDB's limits: RL_EINVAL if empty, RL_ETOOBIG. */
static rl_err
store_key(rl_bytes key, MDB_val *k)
{
	if (key.len == 0)
		return RL_EINVAL;
	if (key.len > RL_STORE_MAX_KEY)
		return RL_ETOOBIG;
	k->mv_size = key.len;
	k->mv_data = (void *)key.p; /* LMDB does not write through it */
	return RL_OK;
}

/* ad = table id || key. klen <= RL_STORE_MAX_KEY. */
static size_t
store_ad(uint8_t ad[STORE_AD_BYTES], rl_table t, const void *key, size_t klen)
{
	ad[0] = (uint8_t)t;
	memcpy(ad + 1, key, klen);
	return klen + 1;
}

/* Tables holding only ids (not sealed): INDEX and the server's LOG. */
static bool
table_plain(rl_table t)
{
	return t == RL_T_INDEX || t == RL_T_LOG;
}

/*
 * Puts the opened value of k -> v (as stored in table t) into out, replacing
 * its content. RL_ECORRUPT if it does not verify (out is then empty).
 */
static rl_err
store_unseal(rl_store *st, rl_table t, const MDB_val *k, const MDB_val *v, rl_buf *out)
{
	uint8_t ad[STORE_AD_BYTES];
	size_t adlen, plen;
	rl_err e;

	rl_buf_reset(out);
	if (table_plain(t))
		return rl_buf_append(out, v->mv_data, v->mv_size);
	/* A damaged page could claim a longer key than LMDB ever writes. */
	if (v->mv_size < RL_SEAL_OVERHEAD || k->mv_size > RL_STORE_MAX_KEY)
		return RL_ECORRUPT;
	plen = v->mv_size - RL_SEAL_OVERHEAD;
	/* One spare byte so an empty value still has somewhere to point. */
	if ((e = rl_buf_reserve(out, plen + 1)) != RL_OK)
		return e;
	adlen = store_ad(ad, t, k->mv_data, k->mv_size);
	if (rl_open(st->dkey, ad, adlen, v->mv_data, v->mv_size, out->data) != RL_OK)
		return RL_ECORRUPT;
	out->len = plen;
	return RL_OK;
}

/*
 * put and append: reserve the sealed size in the page and seal into it.
 * The key is copied first: callers may pass a key a cursor returned, which
 * points into a page this very put may rewrite.
 */
static rl_err
store_write(rl_txn *txn, rl_table t, rl_bytes key, rl_bytes val, unsigned flags)
{
	rl_store *st = txn->st;
	uint8_t ad[STORE_AD_BYTES];
	size_t adlen;
	MDB_val k, v;
	rl_err e;
	int rc;

	assert(txn->write && (unsigned)t < RL_T__COUNT);
	if ((e = txn->err) != RL_OK)
		goto fail;
	if ((e = store_key(key, &k)) != RL_OK)
		goto fail;
	if (st->fault_left == 0) {
		e = RL_EFULL;
		goto fail;
	}
	adlen = store_ad(ad, t, key.p, key.len);
	k.mv_data = ad + 1;
	v.mv_size = val.len;
	v.mv_data = NULL;
	if (!table_plain(t) && __builtin_add_overflow(val.len, RL_SEAL_OVERHEAD, &v.mv_size)) {
		e = RL_ETOOBIG;
		goto fail;
	}
	rc = mdb_put(txn->txn, st->dbi[t], &k, &v, flags | MDB_RESERVE);
	if (rc != 0) {
		e = (rc == MDB_KEYEXIST && (flags & MDB_APPEND)) ? RL_EINVAL : store_err(rc);
		goto fail;
	}
	if (table_plain(t)) {
		if (val.len > 0)
			memcpy(v.mv_data, val.p, val.len);
	} else {
		uint8_t *out = v.mv_data;

		if (++st->nonce_ctr == 0)
			rl_random(st->nonce_prefix, sizeof(st->nonce_prefix));
		memcpy(out, st->nonce_prefix, sizeof(st->nonce_prefix));
		rl_put_be64(out + sizeof(st->nonce_prefix), st->nonce_ctr);
		rl_seal_n(st->dkey, out, ad, adlen, val.p, val.len, out + RL_NONCE_BYTES);
	}
	if (st->fault_left > 0)
		st->fault_left--;
fail:
	return e == RL_OK ? e : txn_fail(txn, e);
}

rl_err
rl_store_get(rl_txn *txn, rl_table t, rl_bytes key, rl_buf *out)
{
	MDB_val k, v;
	rl_err e;
	int rc;

	assert(txn != NULL && (unsigned)t < RL_T__COUNT && out != NULL);
	if ((e = txn->err) != RL_OK || (e = store_key(key, &k)) != RL_OK)
		goto fail;
	rc = mdb_get(txn->txn, txn->st->dbi[t], &k, &v);
	if (rc == MDB_NOTFOUND) {
		e = RL_ENOTFOUND;
	} else if (rc != 0) {
		e = txn_fail(txn, store_err(rc));
	} else {
		e = store_unseal(txn->st, t, &k, &v, out);
	}
fail:
	return e;
}

rl_err
rl_store_put(rl_txn *txn, rl_table t, rl_bytes key, rl_bytes val)
{
	return store_write(txn, t, key, val, 0);
}

rl_err
rl_store_append(rl_txn *txn, rl_table t, rl_bytes key, rl_bytes val)
{
	return store_write(txn, t, key, val, MDB_APPEND);
}

rl_err
rl_store_del(rl_txn *txn, rl_table t, rl_bytes key)
{
	MDB_val k;
	rl_err e;
	int rc;

	assert(txn != NULL && txn->write && (unsigned)t < RL_T__COUNT);
	if ((e = txn->err) != RL_OK)
		goto fail;
	if ((e = store_key(key, &k)) != RL_OK) {
		txn_fail(txn, e);
		goto fail;
	}
	rc = mdb_del(txn->txn, txn->st->dbi[t], &k, NULL);
	/* An absent key is an answer, not a failure of the transaction. */
	if (rc == MDB_NOTFOUND)
		e = RL_ENOTFOUND;
	else if (rc != 0)
		e = txn_fail(txn, store_err(rc));
fail:
	return e;
}

rl_err
rl_store_count(rl_txn *txn, rl_table t, size_t *n)
{
	MDB_stat ms;
	rl_err e;
	int rc;

	assert(txn != NULL && (unsigned)t < RL_T__COUNT && n != NULL);
	if ((e = txn->err) != RL_OK)
		goto fail;
	if ((rc = mdb_stat(txn->txn, txn->st->dbi[t], &ms)) != 0) {
		e = txn_fail(txn, store_err(rc));
		goto fail;
	}
	*n = ms.ms_entries;
fail:
	return e;
}

/* ---- cursors ---- */

rl_err
rl_cursor_open(rl_txn *txn, rl_table t, rl_cursor **out)
{
	rl_cursor *c = NULL;
	rl_err e;
	int rc;

	assert(txn != NULL && (unsigned)t < RL_T__COUNT && out != NULL);
	if ((e = txn->err) != RL_OK)
		goto fail;
	if ((c = calloc(1, sizeof *c)) == NULL) {
		e = RL_ENOMEM;
		goto fail;
	}
	if ((rc = mdb_cursor_open(txn->txn, txn->st->dbi[t], &c->cur)) != 0) {
		e = store_err(rc);
		goto fail;
	}
	c->txn = txn;
	c->t = t;
	c->next = txn->cursors;
	if (c->next != NULL)
		c->next->prev = c;
	txn->cursors = c;
	*out = c;
	c = NULL;
fail:
	free(c);
	return e;
}

void
rl_cursor_close(rl_cursor *c)
{
	if (c == NULL)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->txn->cursors = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	mdb_cursor_close(c->cur);
	free(c);
}

/*
 * Moves c with op and returns the entry. *k is set even when the value does
 * not verify, so a caller may delete or report the damaged entry.
 */
static rl_err
cursor_get(rl_cursor *c, MDB_val *mk, MDB_cursor_op op, rl_bytes *k, rl_buf *v)
{
	MDB_val mv;
	rl_err e;
	int rc;

	if ((e = c->txn->err) != RL_OK)
		goto fail;
	rc = mdb_cursor_get(c->cur, mk, &mv, op);
	if (rc == MDB_NOTFOUND) {
		e = RL_ENOTFOUND;
		goto fail;
	}
	if (rc != 0) {
		e = txn_fail(c->txn, store_err(rc));
		goto fail;
	}
	if (k != NULL)
		*k = (rl_bytes){ mk->mv_data, mk->mv_size };
	if (v != NULL)
		e = store_unseal(c->txn->st, c->t, mk, &mv, v);
fail:
	return e;
}

rl_err
rl_cursor_seek(rl_cursor *c, rl_bytes key, rl_bytes *k, rl_buf *v)
{
	MDB_val mk = { 0, NULL };
	rl_err e = RL_OK;

	assert(c != NULL);
	if (key.len == 0)
		e = cursor_get(c, &mk, MDB_FIRST, k, v);
	else if ((e = store_key(key, &mk)) == RL_OK)
		e = cursor_get(c, &mk, MDB_SET_RANGE, k, v);
	return e;
}

rl_err
rl_cursor_next(rl_cursor *c, rl_bytes *k, rl_buf *v)
{
	MDB_val mk = { 0, NULL };

	assert(c != NULL);
	return cursor_get(c, &mk, MDB_NEXT, k, v);
}

rl_err
rl_cursor_last(rl_cursor *c, rl_bytes *k, rl_buf *v)
{
	MDB_val mk = { 0, NULL };

	assert(c != NULL);
	return cursor_get(c, &mk, MDB_LAST, k, v);
}

rl_err
rl_cursor_del(rl_cursor *c)
{
	rl_err e;
	int rc;

	assert(c != NULL && c->txn->write);
	if ((e = c->txn->err) != RL_OK)
		goto fail;
	/* LMDB leaves the cursor on the following entry: the next
	 * rl_cursor_next returns it, so deleting while walking works. */
	if ((rc = mdb_cursor_del(c->cur, 0)) != 0)
		e = txn_fail(c->txn, store_err(rc));
fail:
	return e;
}
