/*
 * test_replica.c - replicas on real LMDB stores: identity, edits, outbox,
 * received operations, erasure, and what reaches the disk.
 *
 * Each test gets a fresh mkdtemp directory holding one or two stores, made
 * with the minimum argon2id cost. Outbox entries are read back with a cursor
 * and decoded, so the tests check the bytes a sync would send, not a count
 * alone.
 */
#include "rl_test.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/record.h"
#include "common/replica.h"
#include "common/store.h"

#define PASS "correct horse battery staple"
#define CANARY "CANARY-7f3a-situation"

static const rl_store_opts opts_min = { 0, RL_KDF_MIN };

typedef struct fx {
	char base[64];
	char a[128]; /* store of replica A */
	char b[128]; /* store of replica B */
} fx;

static rl_secret
pass_secret(const char *p)
{
	return (rl_secret){ p, strlen(p), NULL };
}

static void
rm_tree(const char *path)
{
	struct stat sb;
	struct dirent *de;
	char sub[512];
	DIR *d;

	if (lstat(path, &sb) != 0)
		return;
	if (S_ISDIR(sb.st_mode) && (d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			rm_tree(sub);
		}
		closedir(d);
		rmdir(path);
	} else
		unlink(path);
}

static int
setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->base, sizeof(f->base), "/tmp/rl_test_replica_XXXXXX");
	assert_non_null(mkdtemp(f->base));
	snprintf(f->a, sizeof(f->a), "%s/a", f->base);
	snprintf(f->b, sizeof(f->b), "%s/b", f->base);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	rm_tree(f->base);
	free(f);
	return 0;
}

/* Creates and opens a replica in dir. */
static rl_replica *
new_replica(const char *dir, const char *antenna)
{
	rl_secret s = pass_secret(PASS);
	rl_replica *rp;

	RL_PASS(rl_replica_create(dir, &s, &opts_min, antenna, RL_ROLE_MOBILE));
	RL_PASS(rl_replica_open(dir, &s, &opts_min, &rp));
	return rp;
}

static rl_replica *
reopen(rl_replica *rp, const char *dir)
{
	rl_secret s = pass_secret(PASS);

	rl_replica_close(rp);
	RL_PASS(rl_replica_open(dir, &s, &opts_min, &rp));
	return rp;
}

/* Loads a situation's state in a read transaction; returns the error. */
static rl_err
load(rl_replica *rp, const uint8_t sit[RL_SIT_BYTES], rl_record *rec)
{
	rl_txn *txn;
	rl_err e;

	RL_PASS(rl_store_begin(rl_replica_store(rp), false, &txn));
	e = rl_state_load(txn, sit, rec);
	rl_store_abort(txn);
	return e;
}

static void
state_hash(rl_replica *rp, const uint8_t sit[RL_SIT_BYTES], uint8_t h[RL_HASH_BYTES])
{
	rl_record rec;

	RL_PASS(load(rp, sit, &rec));
	RL_PASS(rl_record_hash(&rec, h));
	rl_record_fini(&rec);
}

/* The outbox, decoded: each op a deep copy (free() each, then the array). */
typedef struct outbox {
	size_t n;
	uint64_t keys[512];
	rl_op *ops[512];
} outbox;

/* Reads the outbox's pending entries, or (sent) the acknowledged ones it
 * keeps. */
static void
read_table(rl_replica *rp, bool sent, outbox *ob)
{
	uint64_t acked;
	rl_opid *scratch = malloc(RL_MAX_REFS * sizeof(*scratch));
	rl_cursor *c;
	rl_txn *txn;
	rl_bytes k;
	rl_buf v;
	rl_err e;

	assert_non_null(scratch);
	ob->n = 0;
	rl_buf_init(&v);
	RL_PASS(rl_store_begin(rl_replica_store(rp), false, &txn));
	RL_PASS(rl_outbox_acked_txn(txn, &acked));
	RL_PASS(rl_cursor_open(txn, RL_T_OUTBOX, &c));
	for (e = rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, &v); e == RL_OK;
	     e = rl_cursor_next(c, &k, &v)) {
		rl_op op;
		rl_mpr r;

		assert_true(ob->n < 512);
		assert_int_equal(k.len, 8);
		if ((rl_get_be64(k.p) <= acked) != sent)
			continue;
		ob->keys[ob->n] = rl_get_be64(k.p);
		rl_mpr_init(&r, v.data, v.len);
		RL_PASS(rl_op_decode(&r, &op, scratch, true));
		RL_PASS(rl_mpr_done(&r));
		assert_non_null(ob->ops[ob->n] = rl_op_dup(&op));
		ob->n++;
	}
	RL_FAIL(e, RL_ENOTFOUND);
	rl_cursor_close(c);
	/* The counts kept alongside (status, sync progress) agree with the
	 * entries themselves. */
	{
		size_t pending, kept;

		RL_PASS(rl_outbox_count_txn(txn, &pending, &kept));
		assert_int_equal(sent ? kept : pending, ob->n);
	}
	rl_store_abort(txn);
	rl_buf_fini(&v);
	free(scratch);
}

static void
read_outbox(rl_replica *rp, outbox *ob)
{
	read_table(rp, false, ob);
}

static void
free_outbox(outbox *ob)
{
	for (size_t i = 0; i < ob->n; i++)
		free(ob->ops[i]);
	ob->n = 0;
}

/* Applies ops[from..to) of an outbox to rp, as a batch of structs. */
static size_t
apply_ops(rl_replica *rp, rl_op *const *ops, size_t n)
{
	rl_op *batch = calloc(n ? n : 1, sizeof(*batch));
	size_t applied = 12345;

	assert_non_null(batch);
	for (size_t i = 0; i < n; i++)
		batch[i] = *ops[i];
	RL_PASS(rl_replica_apply(rp, batch, n, &applied));
	free(batch);
	return applied;
}

static size_t
outbox_count(rl_replica *rp)
{
	size_t n = 0;

	RL_PASS(rl_outbox_count(rp, &n));
	return n;
}

static bool
bytes_is(rl_bytes b, const char *s)
{
	return b.len == strlen(s) && (b.len == 0 || memcmp(b.p, s, b.len) == 0);
}

#define B(s) RL_BYTES(s, strlen(s))

/* A new situation with some of everything; returns its id. */
static void
make_situation(rl_replica *rp, uint8_t sit[RL_SIT_BYTES], const char *journal_text,
               rl_opid *alert)
{
	rl_edit *ed;

	RL_PASS(rl_edit_begin(rp, NULL, &ed));
	memcpy(sit, rl_edit_record(ed)->sit, RL_SIT_BYTES);
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_KIND, B("coordination")));
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_STATUS, B("open")));
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_CONSENT, B("en_attente")));
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_INITIALS, B("J.D.")));
	RL_PASS(rl_edit_add(ed, RL_SET_PROBLEMS, B("logement")));
	RL_PASS(rl_edit_add(ed, RL_SET_PROBLEMS, B("precarite")));
	RL_PASS(rl_edit_add(ed, RL_SET_REFERRERS, B("CMP Nord")));
	RL_PASS(rl_edit_journal(ed, RL_J_VAD, 20250310, B(journal_text), NULL, NULL));
	RL_PASS(rl_edit_alert(ed, 20250401, B("RDV CMP"), alert));
	RL_PASS(rl_edit_commit(ed));
}

#define SITUATION_OPS 9 /* ops make_situation makes */

/* ---- identity ---- */

static void
test_create_open(void **state)
{
	fx *f = *state;
	rl_secret s = pass_secret(PASS);
	uint8_t dev[RL_DEV_BYTES], pk[RL_PK_BYTES];
	rl_replica *rp;
	char bad[160];

	RL_PASS(rl_replica_create(f->a, &s, &opts_min, "antenne_nord-1", RL_ROLE_ANTENNA));
	RL_FAIL(rl_replica_create(f->a, &s, &opts_min, "antenne_nord-1", RL_ROLE_ANTENNA),
	        RL_EEXIST);
	snprintf(bad, sizeof(bad), "%s/bad", f->base);
	RL_FAIL(rl_replica_create(bad, &s, &opts_min, "nord est", RL_ROLE_ANTENNA), RL_EINVAL);
	RL_FAIL(rl_replica_create(bad, &s, &opts_min, "", RL_ROLE_ANTENNA), RL_EINVAL);
	RL_FAIL(rl_replica_create(bad, &s, &opts_min, "nord", (rl_role)0), RL_EINVAL);
	RL_FAIL(rl_replica_open(bad, &s, &opts_min, &rp), RL_ENOSTORE);

	RL_PASS(rl_replica_open(f->a, &s, &opts_min, &rp));
	memcpy(dev, rl_replica_device(rp), RL_DEV_BYTES);
	assert_string_equal(rl_replica_antenna(rp), "antenne_nord-1");
	assert_int_equal(rl_replica_role(rp), RL_ROLE_ANTENNA);
	/* The device id is the public key of the stored secret key. */
	rl_dh_public(pk, rl_replica_secret_key(rp));
	assert_memory_equal(pk, dev, RL_DEV_BYTES);
	rl_replica_close(rp);

	/* Persisted: the same identity after reopening. */
	RL_PASS(rl_replica_open(f->a, &s, &opts_min, &rp));
	assert_memory_equal(rl_replica_device(rp), dev, RL_DEV_BYTES);
	assert_string_equal(rl_replica_antenna(rp), "antenne_nord-1");
	assert_int_equal(rl_replica_role(rp), RL_ROLE_ANTENNA);
	rl_replica_close(rp);

	/* Another replica has another identity. */
	RL_PASS(rl_replica_create(f->b, &s, &opts_min, "sud", RL_ROLE_HQ));
	RL_PASS(rl_replica_open(f->b, &s, &opts_min, &rp));
	assert_memory_not_equal(rl_replica_device(rp), dev, RL_DEV_BYTES);
	assert_int_equal(rl_replica_role(rp), RL_ROLE_HQ);
	rl_replica_close(rp);
	rl_replica_close(NULL);
}

static void
test_wrong_passphrase(void **state)
{
	fx *f = *state;
	rl_secret s = pass_secret(PASS), wrong = pass_secret("correct horse battery stapler");
	rl_secret empty = pass_secret("");
	rl_replica *rp = (rl_replica *)1;

	RL_PASS(rl_replica_create(f->a, &s, &opts_min, "nord", RL_ROLE_MOBILE));
	RL_FAIL(rl_replica_open(f->a, &wrong, &opts_min, &rp), RL_EKEY);
	assert_null(rp);
	RL_FAIL(rl_replica_open(f->a, &empty, &opts_min, &rp), RL_EKEY);
	RL_PASS(rl_replica_open(f->a, &s, &opts_min, &rp));
	rl_replica_close(rp);
}

static void
test_names(void **state)
{
	(void)state;
	assert_true(rl_antenna_valid("nord"));
	assert_true(rl_antenna_valid("A-b_9"));
	assert_true(rl_antenna_valid("12345678901234567890123456789012"));
	assert_false(rl_antenna_valid("123456789012345678901234567890123"));
	assert_false(rl_antenna_valid(""));
	assert_false(rl_antenna_valid("nord/est"));
	assert_false(rl_antenna_valid("é"));
	for (int r = RL_ROLE_ANTENNA; r <= RL_ROLE_SERVER; r++)
		assert_int_equal(rl_role_parse(rl_role_name((rl_role)r)), r);
	assert_int_equal(rl_role_parse("admin"), 0);
	assert_string_equal(rl_role_name((rl_role)0), "?");
}

/* ---- edits ---- */

static void
test_edit_commit_reopen(void **state)
{
	fx *f = *state;
	rl_replica *rp = new_replica(f->a, "nord");
	uint8_t sit[RL_SIT_BYTES], none[RL_SIT_BYTES] = { 0 };
	rl_opid alert, j1, amend;
	rl_record rec;
	rl_edit *ed;

	make_situation(rp, sit, "premiere visite", &alert);
	rp = reopen(rp, f->a);

	RL_PASS(load(rp, sit, &rec));
	assert_false(rec.erased);
	assert_int_equal(rec.nops, SITUATION_OPS);
	assert_true(bytes_is(rl_record_get(&rec, RL_F_STATUS), "open"));
	assert_true(bytes_is(rl_record_get(&rec, RL_F_INITIALS), "J.D."));
	{
		rl_bytes *v;
		size_t n;

		RL_PASS(rl_record_set(&rec, RL_SET_PROBLEMS, &v, &n));
		assert_int_equal(n, 2);
		assert_true(bytes_is(v[0], "logement") && bytes_is(v[1], "precarite"));
		free(v);
	}
	{
		const rl_op **l;
		size_t n;

		RL_PASS(rl_record_list(&rec, RL_OP_JOURNAL, &l, &n));
		assert_int_equal(n, 1);
		assert_true(bytes_is(l[0]->value, "premiere visite"));
		assert_memory_equal(l[0]->id.dev, rl_replica_device(rp), RL_DEV_BYTES);
		j1 = l[0]->id;
		free(l);
	}
	{
		rl_regval v;

		assert_int_equal(rl_record_reg(&rec, &alert, RL_F_ALERT_DUE, &v, 1), 1);
		assert_true(bytes_is(v.value, "2025-04-01"));
	}
	rl_record_fini(&rec);

	/* Edit it again: supersede, remove, amend, close the alert. */
	RL_PASS(rl_edit_begin(rp, sit, &ed));
	assert_int_equal(rl_edit_record(ed)->nops, SITUATION_OPS);
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_STATUS, B("closed")));
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_CLOSED, B("2025-03-20")));
	RL_PASS(rl_edit_rem(ed, RL_SET_PROBLEMS, B("logement")));
	RL_FAIL(rl_edit_rem(ed, RL_SET_PROBLEMS, B("justice")), RL_ENOTFOUND);
	RL_PASS(rl_edit_add(ed, RL_SET_PROBLEMS, B("precarite"))); /* present: no op */
	RL_PASS(rl_edit_journal(ed, RL_J_NOTE, 20250311, B("correction: visite le 11"), &j1,
	                        &amend));
	RL_FAIL(rl_edit_journal(ed, RL_J_NOTE, 20250311, B("amends an alert"), &alert, NULL),
	        RL_ENOTFOUND);
	RL_FAIL(rl_edit_journal(ed, RL_J_NOTE, 20250230, B("bad date"), NULL, NULL), RL_EINVAL);
	RL_PASS(rl_edit_reg(ed, &alert, RL_F_ALERT_DONE, B("oui")));
	RL_PASS(rl_edit_commit(ed));

	rp = reopen(rp, f->a);
	RL_PASS(load(rp, sit, &rec));
	assert_int_equal(rec.nops, SITUATION_OPS + 5);
	{
		rl_regval v[4];

		assert_int_equal(rl_record_reg(&rec, NULL, RL_F_STATUS, v, 4), 1);
		assert_true(bytes_is(v[0].value, "closed"));
		assert_int_equal(rl_record_reg(&rec, &alert, RL_F_ALERT_DONE, v, 4), 1);
		assert_true(bytes_is(v[0].value, "oui"));
		assert_int_equal(rl_record_reg(&rec, &alert, RL_F_ALERT_TEXT, v, 4), 1);
		assert_true(bytes_is(v[0].value, "RDV CMP"));
	}
	{
		rl_bytes *v;
		size_t n;

		RL_PASS(rl_record_set(&rec, RL_SET_PROBLEMS, &v, &n));
		assert_int_equal(n, 1);
		assert_true(bytes_is(v[0], "precarite"));
		free(v);
	}
	assert_non_null(rl_record_find(&rec, &amend));
	rl_record_fini(&rec);

	/* Unknown situations. */
	RL_FAIL(rl_edit_begin(rp, none, &ed), RL_ENOTFOUND);
	assert_null(ed);
	RL_FAIL(load(rp, none, &rec), RL_ENOTFOUND);
	assert_int_equal(rec.nops, 0);
	rl_record_fini(&rec);
	rl_replica_close(rp);
}

/* The outbox holds exactly the ops made, in the order made. */
static void
test_outbox(void **state)
{
	fx *f = *state;
	rl_replica *rp = new_replica(f->a, "nord");
	uint8_t s1[RL_SIT_BYTES], s2[RL_SIT_BYTES];
	rl_record r1, r2;
	rl_opid alert;
	outbox ob;
	rl_txn *txn;

	make_situation(rp, s1, "un", &alert);
	make_situation(rp, s2, "deux", &alert);
	{
		rl_edit *ed;

		RL_PASS(rl_edit_begin(rp, s1, &ed));
		RL_PASS(rl_edit_reg(ed, NULL, RL_F_AGE, B("41")));
		RL_PASS(rl_edit_commit(ed));
	}
	rp = reopen(rp, f->a);
	assert_int_equal(outbox_count(rp), 2 * SITUATION_OPS + 1);
	read_outbox(rp, &ob);
	assert_int_equal(ob.n, 2 * SITUATION_OPS + 1);
	RL_PASS(load(rp, s1, &r1));
	RL_PASS(load(rp, s2, &r2));
	for (size_t i = 0; i < ob.n; i++) {
		const rl_op *op = ob.ops[i];
		const rl_record *rec = memcmp(op->sit, s1, RL_SIT_BYTES) == 0 ? &r1 : &r2;

		/* Keyed by this device's counter, 1, 2, 3... */
		assert_int_equal(ob.keys[i], i + 1);
		assert_int_equal(op->id.ctr, i + 1);
		assert_memory_equal(op->id.dev, rl_replica_device(rp), RL_DEV_BYTES);
		assert_true(memcmp(op->sit, s1, RL_SIT_BYTES) == 0 ||
		            memcmp(op->sit, s2, RL_SIT_BYTES) == 0);
		/* It is in the state, and the state holds nothing else. */
		assert_true(rl_record_has(rec, op));
		assert_int_equal(rl_op_cmp(rl_record_find(rec, &op->id), op), 0);
		/* Timestamps increase with the counter. */
		if (i > 0)
			assert_true(op->hlc > ob.ops[i - 1]->hlc);
	}
	assert_int_equal(r1.nops + r2.nops, ob.n);
	assert_int_equal(ob.ops[ob.n - 1]->kind, RL_OP_REG);
	assert_int_equal(ob.ops[ob.n - 1]->field, RL_F_AGE);
	rl_record_fini(&r1);
	rl_record_fini(&r2);
	free_outbox(&ob);

	/* Acknowledging a prefix removes exactly it. */
	RL_PASS(rl_store_begin(rl_replica_store(rp), true, &txn));
	RL_PASS(rl_outbox_ack_txn(txn, 5));
	RL_PASS(rl_store_commit(txn));
	read_outbox(rp, &ob);
	assert_int_equal(ob.n, 2 * SITUATION_OPS + 1 - 5);
	assert_int_equal(ob.keys[0], 6);
	assert_int_equal(ob.ops[0]->id.ctr, 6);
	free_outbox(&ob);
	/* Again with the same bound: nothing changes. */
	RL_PASS(rl_store_begin(rl_replica_store(rp), true, &txn));
	RL_PASS(rl_outbox_ack_txn(txn, 5));
	RL_PASS(rl_store_commit(txn));
	assert_int_equal(outbox_count(rp), 2 * SITUATION_OPS + 1 - 5);
	/* Acknowledged in an aborted txn: nothing removed. */
	RL_PASS(rl_store_begin(rl_replica_store(rp), true, &txn));
	RL_PASS(rl_outbox_ack_txn(txn, 100));
	rl_store_abort(txn);
	assert_int_equal(outbox_count(rp), 2 * SITUATION_OPS + 1 - 5);
	/* Past the end: empty; new edits continue the counter. */
	RL_PASS(rl_store_begin(rl_replica_store(rp), true, &txn));
	RL_PASS(rl_outbox_ack_txn(txn, UINT64_MAX));
	RL_PASS(rl_store_commit(txn));
	assert_int_equal(outbox_count(rp), 0);
	{
		rl_edit *ed;

		RL_PASS(rl_edit_begin(rp, s2, &ed));
		RL_PASS(rl_edit_reg(ed, NULL, RL_F_AGE, B("17")));
		RL_PASS(rl_edit_commit(ed));
	}
	read_outbox(rp, &ob);
	assert_int_equal(ob.n, 1);
	assert_int_equal(ob.keys[0], 2 * SITUATION_OPS + 2);
	free_outbox(&ob);
	/* An empty outbox acknowledges fine. */
	RL_PASS(rl_store_begin(rl_replica_store(rp), true, &txn));
	RL_PASS(rl_outbox_ack_txn(txn, UINT64_MAX));
	RL_PASS(rl_outbox_ack_txn(txn, UINT64_MAX));
	RL_PASS(rl_store_commit(txn));
	rl_replica_close(rp);
}

/* Acknowledged changes stay in the outbox, sealed, past the acknowledged
 * counter, and become pending again when a restored server needs them; an
 * erasure purges both kinds. */
static void
test_sent_requeue(void **state)
{
	fx *f = *state;
	rl_replica *rp = new_replica(f->a, "nord");
	uint8_t s1[RL_SIT_BYTES], s2[RL_SIT_BYTES];
	rl_opid alert;
	outbox ob, sent;
	rl_edit *ed;
	rl_txn *txn;
	size_t n;

	make_situation(rp, s1, "un", &alert);
	make_situation(rp, s2, "deux", &alert);
	RL_PASS(rl_store_begin(rl_replica_store(rp), true, &txn));
	RL_PASS(rl_outbox_ack_txn(txn, SITUATION_OPS + 2));
	RL_PASS(rl_store_commit(txn));
	read_outbox(rp, &ob);
	read_table(rp, true, &sent);
	assert_int_equal(ob.n, SITUATION_OPS - 2);
	assert_int_equal(sent.n, SITUATION_OPS + 2);
	for (size_t i = 0; i < sent.n; i++) {
		assert_int_equal(sent.keys[i], i + 1);
		assert_int_equal(sent.ops[i]->id.ctr, i + 1);
	}
	assert_int_equal(outbox_count(rp), SITUATION_OPS - 2);
	free_outbox(&ob);
	free_outbox(&sent);

	/* Erasing s1 (all sent) and s2 (partly sent) leaves their erases only. */
	RL_PASS(rl_edit_begin(rp, s1, &ed));
	RL_PASS(rl_edit_erase(ed));
	RL_PASS(rl_edit_commit(ed));
	read_table(rp, true, &sent);
	assert_int_equal(sent.n, 2); /* s2's first two ops */
	for (size_t i = 0; i < sent.n; i++)
		assert_memory_equal(sent.ops[i]->sit, s2, RL_SIT_BYTES);
	free_outbox(&sent);
	RL_PASS(rl_edit_begin(rp, s2, &ed));
	RL_PASS(rl_edit_erase(ed));
	RL_PASS(rl_edit_commit(ed));
	read_table(rp, true, &sent);
	assert_int_equal(sent.n, 0);
	read_outbox(rp, &ob);
	assert_int_equal(ob.n, 2);
	assert_int_equal(ob.ops[0]->kind, RL_OP_ERASE);
	assert_int_equal(ob.ops[1]->kind, RL_OP_ERASE);
	free_outbox(&ob);

	/* A third situation, acknowledged with the erases, then requeued: the
	 * outbox holds everything not erased, in counter order, once. */
	make_situation(rp, s1, "trois", &alert);
	RL_PASS(rl_store_begin(rl_replica_store(rp), true, &txn));
	RL_PASS(rl_outbox_ack_txn(txn, UINT64_MAX));
	RL_PASS(rl_store_commit(txn));
	assert_int_equal(outbox_count(rp), 0);
	RL_PASS(rl_store_begin(rl_replica_store(rp), true, &txn));
	RL_PASS(rl_outbox_requeue_txn(txn, &n));
	RL_PASS(rl_store_commit(txn));
	assert_int_equal(n, SITUATION_OPS + 2);
	rp = reopen(rp, f->a);
	read_outbox(rp, &ob);
	read_table(rp, true, &sent);
	assert_int_equal(ob.n, SITUATION_OPS + 2);
	assert_int_equal(sent.n, 0);
	for (size_t i = 1; i < ob.n; i++)
		assert_true(ob.keys[i] > ob.keys[i - 1]);
	free_outbox(&ob);
	/* A batch acknowledged after an erasure purged part of it: the purged
	 * entries stay gone, the erase made meanwhile stays pending. */
	{
		uint8_t s3[RL_SIT_BYTES];
		uint64_t last;

		make_situation(rp, s3, "quatre", &alert);
		read_outbox(rp, &ob);
		last = ob.keys[ob.n - 1]; /* the last change of s3, as pushed */
		free_outbox(&ob);
		RL_PASS(rl_edit_begin(rp, s3, &ed));
		RL_PASS(rl_edit_erase(ed));
		RL_PASS(rl_edit_commit(ed));
		RL_PASS(rl_store_begin(rl_replica_store(rp), true, &txn));
		RL_PASS(rl_outbox_ack_txn(txn, last));
		RL_PASS(rl_store_commit(txn));
		read_outbox(rp, &ob);
		assert_int_equal(ob.n, 1); /* the erase of s3 */
		assert_int_equal(ob.ops[0]->kind, RL_OP_ERASE);
		assert_true(ob.keys[0] > last);
		free_outbox(&ob);
		read_table(rp, true, &sent);
		assert_int_equal(sent.n, SITUATION_OPS + 2);
		for (size_t i = 0; i < sent.n; i++)
			assert_memory_not_equal(sent.ops[i]->sit, s3, RL_SIT_BYTES);
		free_outbox(&sent);
		RL_PASS(rl_store_begin(rl_replica_store(rp), true, &txn));
		RL_PASS(rl_outbox_requeue_txn(txn, &n));
		RL_PASS(rl_store_commit(txn));
		assert_int_equal(n, SITUATION_OPS + 2);
	}
	/* Requeueing with nothing acknowledged is a no-op. */
	RL_PASS(rl_store_begin(rl_replica_store(rp), true, &txn));
	RL_PASS(rl_outbox_requeue_txn(txn, &n));
	RL_PASS(rl_store_commit(txn));
	assert_int_equal(n, 0);
	assert_int_equal(outbox_count(rp), SITUATION_OPS + 3);
	rl_replica_close(rp);
}

/* Restamping (a clock that ran ahead) touches the pending changes only:
 * the server already has the acknowledged ones with their clocks. */
static void
test_restamp_pending_only(void **state)
{
	fx *f = *state;
	rl_replica *rp = new_replica(f->a, "nord");
	uint8_t s1[RL_SIT_BYTES];
	outbox before, after, sent;
	rl_opid alert;
	rl_txn *txn;
	size_t n;

	make_situation(rp, s1, "un", &alert);
	RL_PASS(rl_store_begin(rl_replica_store(rp), true, &txn));
	RL_PASS(rl_outbox_ack_txn(txn, 3));
	RL_PASS(rl_store_commit(txn));
	read_table(rp, true, &sent);
	read_outbox(rp, &before);
	assert_int_equal(sent.n, 3);
	assert_int_equal(before.n, SITUATION_OPS - 3);
	free_outbox(&sent);
	/* Every change is above 0: all pending ones move to a clock at 1000. */
	RL_PASS(rl_replica_restamp(rp, 0, 1000, &n));
	assert_int_equal(n, SITUATION_OPS - 3);
	read_table(rp, true, &sent);
	read_outbox(rp, &after);
	assert_int_equal(sent.n, 3);
	assert_int_equal(after.n, before.n);
	for (size_t i = 0; i < sent.n; i++)
		assert_true(rl_hlc_ms(sent.ops[i]->hlc) > 1000000); /* today's, untouched */
	for (size_t i = 0; i < after.n; i++) {
		assert_int_equal(after.keys[i], before.keys[i]);
		assert_true(rl_hlc_ms(after.ops[i]->hlc) < 1000000);
	}
	free_outbox(&sent);
	free_outbox(&before);
	free_outbox(&after);
	rl_replica_close(rp);
}

static void
test_edit_abort(void **state)
{
	fx *f = *state;
	rl_replica *rp = new_replica(f->a, "nord");
	uint8_t sit[RL_SIT_BYTES], fresh[RL_SIT_BYTES];
	uint8_t before[RL_HASH_BYTES], after[RL_HASH_BYTES];
	rl_opid alert;
	rl_record rec;
	rl_edit *ed;
	outbox ob;

	make_situation(rp, sit, "garde", &alert);
	state_hash(rp, sit, before);

	/* A new situation, aborted: no state, no outbox entries. */
	RL_PASS(rl_edit_begin(rp, NULL, &ed));
	memcpy(fresh, rl_edit_record(ed)->sit, RL_SIT_BYTES);
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_STATUS, B("open")));
	RL_PASS(rl_edit_journal(ed, RL_J_NOTE, 20250101, B("jamais ecrit"), NULL, NULL));
	rl_edit_abort(ed);
	RL_FAIL(load(rp, fresh, &rec), RL_ENOTFOUND);
	rl_record_fini(&rec);
	assert_int_equal(outbox_count(rp), SITUATION_OPS);

	/* An existing one, aborted: unchanged. */
	RL_PASS(rl_edit_begin(rp, sit, &ed));
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_STATUS, B("closed")));
	RL_PASS(rl_edit_rem(ed, RL_SET_PROBLEMS, B("logement")));
	rl_edit_abort(ed);
	rl_edit_abort(NULL);
	rp = reopen(rp, f->a);
	state_hash(rp, sit, after);
	assert_memory_equal(before, after, RL_HASH_BYTES);
	assert_int_equal(outbox_count(rp), SITUATION_OPS);

	/* The counter did not move: the next op takes the next number. */
	RL_PASS(rl_edit_begin(rp, sit, &ed));
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_AGE, B("30")));
	RL_PASS(rl_edit_commit(ed));
	read_outbox(rp, &ob);
	assert_int_equal(ob.n, SITUATION_OPS + 1);
	assert_int_equal(ob.ops[SITUATION_OPS]->id.ctr, SITUATION_OPS + 1);
	free_outbox(&ob);
	rl_replica_close(rp);
}

/* A full disk in the middle of an edit or of its commit stores nothing of
 * it; the replica goes on once there is room. */
static void
test_edit_store_full(void **state)
{
	fx *f = *state;
	rl_replica *rp = new_replica(f->a, "nord");
	uint8_t sit[RL_SIT_BYTES], before[RL_HASH_BYTES], after[RL_HASH_BYTES];
	rl_opid alert;
	rl_edit *ed;
	outbox ob;

	make_situation(rp, sit, "avant", &alert);
	state_hash(rp, sit, before);

	/* The second op's outbox append fails. */
	rl_store_fault_full_after(rl_replica_store(rp), 1);
	RL_PASS(rl_edit_begin(rp, sit, &ed));
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_STATUS, B("closed")));
	RL_FAIL(rl_edit_journal(ed, RL_J_NOTE, 20250401, B("perdu"), NULL, NULL), RL_EFULL);
	RL_FAIL(rl_edit_commit(ed), RL_EFULL);

	/* The ops fit, the commit's state write does not. */
	rl_store_fault_full_after(rl_replica_store(rp), 2);
	RL_PASS(rl_edit_begin(rp, sit, &ed));
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_STATUS, B("closed")));
	RL_PASS(rl_edit_journal(ed, RL_J_NOTE, 20250401, B("perdu"), NULL, NULL));
	RL_FAIL(rl_edit_commit(ed), RL_EFULL);

	rl_store_fault_full_after(rl_replica_store(rp), -1);
	rp = reopen(rp, f->a);
	state_hash(rp, sit, after);
	assert_memory_equal(before, after, RL_HASH_BYTES);
	assert_int_equal(outbox_count(rp), SITUATION_OPS);

	/* Room again: the next edit goes through, numbered after the last
	 * committed op. */
	RL_PASS(rl_edit_begin(rp, sit, &ed));
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_STATUS, B("closed")));
	RL_PASS(rl_edit_commit(ed));
	read_outbox(rp, &ob);
	assert_int_equal(ob.n, SITUATION_OPS + 1);
	assert_int_equal(ob.ops[SITUATION_OPS]->id.ctr, SITUATION_OPS + 1);
	free_outbox(&ob);
	rl_replica_close(rp);
}

/* A record at RL_MAX_RECORD_OPS refuses one more op; the edit stays
 * consistent: what commits is in the state and the outbox alike. */
static void
test_edit_record_full(void **state)
{
	fx *f = *state;
	rl_replica *rp = new_replica(f->a, "nord");
	uint8_t sit[RL_SIT_BYTES];
	rl_record rec;
	rl_edit *ed;
	size_t n = 0;

	RL_PASS(rl_edit_begin(rp, NULL, &ed));
	memcpy(sit, rl_edit_record(ed)->sit, RL_SIT_BYTES);
	for (size_t i = 0; i < RL_MAX_RECORD_OPS; i++)
		RL_PASS(rl_edit_journal(ed, RL_J_NOTE, 20250101, B("n"), NULL, NULL));
	RL_FAIL(rl_edit_journal(ed, RL_J_NOTE, 20250101, B("de trop"), NULL, NULL), RL_ETOOBIG);
	RL_PASS(rl_edit_commit(ed));
	RL_PASS(load(rp, sit, &rec));
	assert_int_equal(rec.nops, RL_MAX_RECORD_OPS);
	rl_record_fini(&rec);
	RL_PASS(rl_outbox_count(rp, &n));
	assert_int_equal(n, RL_MAX_RECORD_OPS);
	rl_replica_close(rp);
}

/* ---- received operations ---- */


static void
test_apply_converges(void **state)
{
	fx *f = *state;
	rl_replica *a = new_replica(f->a, "nord"), *b = new_replica(f->b, "nord");
	uint8_t sit[RL_SIT_BYTES], ha[RL_HASH_BYTES], hb[RL_HASH_BYTES];
	rl_opid alert;
	rl_record ra, rb;
	outbox oa, ob;
	rl_edit *ed;

	make_situation(a, sit, "vue par A", &alert);
	read_outbox(a, &oa);
	assert_int_equal(apply_ops(b, oa.ops, oa.n), oa.n);
	state_hash(a, sit, ha);
	state_hash(b, sit, hb);
	assert_memory_equal(ha, hb, RL_HASH_BYTES);
	/* Received ops are not B's to send. */
	assert_int_equal(outbox_count(b), 0);
	/* Idempotent: again, and again in reverse order, changes nothing. */
	assert_int_equal(apply_ops(b, oa.ops, oa.n), 0);
	{
		rl_op *rev[64] = { 0 };

		assert_true(oa.n <= 64);
		for (size_t i = 0; i < oa.n; i++)
			rev[i] = oa.ops[oa.n - 1 - i];
		assert_int_equal(apply_ops(b, rev, oa.n), 0);
	}
	state_hash(b, sit, hb);
	assert_memory_equal(ha, hb, RL_HASH_BYTES);
	free_outbox(&oa);

	/* Both edit the same register without syncing: after exchanging
	 * outboxes both hold both values, identically. */
	RL_PASS(rl_edit_begin(a, sit, &ed));
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_CONSENT, B("oui")));
	RL_PASS(rl_edit_journal(ed, RL_J_APPEL, 20250312, B("appel de A"), NULL, NULL));
	RL_PASS(rl_edit_commit(ed));
	RL_PASS(rl_edit_begin(b, sit, &ed));
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_CONSENT, B("non")));
	RL_PASS(rl_edit_journal(ed, RL_J_APPEL, 20250312, B("appel de B"), NULL, NULL));
	RL_PASS(rl_edit_rem(ed, RL_SET_PROBLEMS, B("logement")));
	RL_PASS(rl_edit_commit(ed));
	read_outbox(a, &oa);
	read_outbox(b, &ob);
	assert_int_equal(ob.n, 3);
	assert_int_equal(apply_ops(a, ob.ops, ob.n), 3);
	assert_int_equal(apply_ops(b, oa.ops, oa.n), 2); /* the rest it had */
	state_hash(a, sit, ha);
	state_hash(b, sit, hb);
	assert_memory_equal(ha, hb, RL_HASH_BYTES);
	RL_PASS(load(a, sit, &ra));
	assert_int_equal(rl_record_reg(&ra, NULL, RL_F_CONSENT, NULL, 0), 2);
	rl_record_fini(&ra);
	free_outbox(&oa);
	free_outbox(&ob);

	/* A resolves the conflict; B receives the resolution. */
	RL_PASS(rl_edit_begin(a, sit, &ed));
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_CONSENT, B("oui")));
	RL_PASS(rl_edit_commit(ed));
	read_outbox(a, &oa);
	assert_int_equal(oa.ops[oa.n - 1]->nrefs, 2);
	assert_int_equal(apply_ops(b, oa.ops, oa.n), 1);
	free_outbox(&oa);
	RL_PASS(load(a, sit, &ra));
	RL_PASS(load(b, sit, &rb));
	assert_int_equal(rl_record_reg(&rb, NULL, RL_F_CONSENT, NULL, 0), 1);
	assert_true(bytes_is(rl_record_get(&rb, RL_F_CONSENT), "oui"));
	{
		const rl_op **l;
		size_t n;

		RL_PASS(rl_record_list(&rb, RL_OP_JOURNAL, &l, &n));
		assert_int_equal(n, 3); /* nothing written is lost */
		free(l);
	}
	rl_record_fini(&ra);
	rl_record_fini(&rb);

	/* A clock far ahead: B's later writes still order after A's, also
	 * after B reopens (the observed clock is stored). */
	rl_replica_set_wall(a, rl_wall_ms() + 86400000ull * 30);
	RL_PASS(rl_edit_begin(a, sit, &ed));
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_AGE, B("52")));
	RL_PASS(rl_edit_commit(ed));
	read_outbox(a, &oa);
	assert_int_equal(apply_ops(b, oa.ops, oa.n), 1);
	b = reopen(b, f->b);
	RL_PASS(rl_edit_begin(b, sit, &ed));
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_AGE, B("53")));
	RL_PASS(rl_edit_commit(ed));
	read_outbox(b, &ob);
	assert_true(ob.ops[ob.n - 1]->hlc > oa.ops[oa.n - 1]->hlc);
	assert_int_equal(ob.ops[ob.n - 1]->nrefs, 1);
	assert_int_equal(apply_ops(a, ob.ops, ob.n), 1);
	RL_PASS(load(a, sit, &ra));
	assert_true(bytes_is(rl_record_get(&ra, RL_F_AGE), "53"));
	rl_record_fini(&ra);
	state_hash(a, sit, ha);
	state_hash(b, sit, hb);
	assert_memory_equal(ha, hb, RL_HASH_BYTES);
	free_outbox(&oa);
	free_outbox(&ob);
	rl_replica_close(a);
	rl_replica_close(b);
}

/* One bad op fails the whole batch and changes nothing. */
static void
test_apply_invalid(void **state)
{
	fx *f = *state;
	rl_replica *a = new_replica(f->a, "nord"), *b = new_replica(f->b, "nord");
	uint8_t sit[RL_SIT_BYTES];
	rl_opid alert;
	rl_record rec;
	outbox oa;
	rl_op *batch;
	size_t applied = 99;

	make_situation(a, sit, "x", &alert);
	read_outbox(a, &oa);
	batch = calloc(oa.n, sizeof(*batch));
	assert_non_null(batch);
	for (size_t i = 0; i < oa.n; i++)
		batch[i] = *oa.ops[i];
	batch[oa.n - 1].date = 20250230;
	RL_FAIL(rl_replica_apply(b, batch, oa.n, &applied), RL_EINVAL);
	RL_FAIL(load(b, sit, &rec), RL_ENOTFOUND);
	rl_record_fini(&rec);
	batch[oa.n - 1] = *oa.ops[oa.n - 1];
	RL_PASS(rl_replica_apply(b, batch, 0, &applied));
	assert_int_equal(applied, 0);
	RL_PASS(rl_replica_apply(b, batch, oa.n, NULL));
	RL_PASS(load(b, sit, &rec));
	assert_int_equal(rec.nops, oa.n);
	rl_record_fini(&rec);
	free(batch);
	free_outbox(&oa);
	rl_replica_close(a);
	rl_replica_close(b);
}

static size_t
outbox_count_sit(const outbox *ob, const uint8_t sit[RL_SIT_BYTES], size_t *erases)
{
	size_t n = 0;

	*erases = 0;
	for (size_t i = 0; i < ob->n; i++)
		if (memcmp(ob->ops[i]->sit, sit, RL_SIT_BYTES) == 0) {
			n++;
			*erases += ob->ops[i]->kind == RL_OP_ERASE;
		}
	return n;
}

static void
test_erase(void **state)
{
	fx *f = *state;
	rl_replica *a = new_replica(f->a, "nord"), *b = new_replica(f->b, "nord");
	uint8_t s1[RL_SIT_BYTES], s2[RL_SIT_BYTES], ha[RL_HASH_BYTES], hb[RL_HASH_BYTES];
	rl_opid alert;
	rl_record rec;
	outbox oa, ob, late;
	rl_edit *ed;
	size_t erases;

	make_situation(a, s1, "a effacer", &alert);
	make_situation(a, s2, "a garder", &alert);
	read_outbox(a, &oa);
	assert_int_equal(apply_ops(b, oa.ops, oa.n), 2 * SITUATION_OPS);
	free_outbox(&oa);
	/* B's own pending changes on both situations. */
	RL_PASS(rl_edit_begin(b, s1, &ed));
	RL_PASS(rl_edit_journal(ed, RL_J_NOTE, 20250313, B("note de B sur s1"), NULL, NULL));
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_AGE, B("60")));
	RL_PASS(rl_edit_commit(ed));
	RL_PASS(rl_edit_begin(b, s2, &ed));
	RL_PASS(rl_edit_journal(ed, RL_J_NOTE, 20250313, B("note de B sur s2"), NULL, NULL));
	RL_PASS(rl_edit_commit(ed));
	read_outbox(b, &late); /* kept to replay late */
	assert_int_equal(late.n, 3);

	/* A erases s1: its state is the erase alone, its outbox keeps only the
	 * erase of s1 and everything of s2. */
	RL_PASS(rl_edit_begin(a, s1, &ed));
	RL_PASS(rl_edit_erase(ed));
	/* Nothing can be added to an erased situation, even in the same edit. */
	RL_FAIL(rl_edit_journal(ed, RL_J_NOTE, 20250314, B("apres effacement"), NULL, NULL),
	        RL_EERASED);
	RL_FAIL(rl_edit_reg(ed, NULL, RL_F_STATUS, B("open")), RL_EERASED);
	RL_PASS(rl_edit_commit(ed));
	RL_PASS(load(a, s1, &rec));
	assert_true(rec.erased);
	assert_int_equal(rec.nops, 1);
	assert_int_equal(rec.ops[0]->kind, RL_OP_ERASE);
	rl_record_fini(&rec);
	read_outbox(a, &oa);
	assert_int_equal(outbox_count_sit(&oa, s1, &erases), 1);
	assert_int_equal(erases, 1);
	assert_int_equal(outbox_count_sit(&oa, s2, &erases), SITUATION_OPS);
	assert_int_equal(oa.n, SITUATION_OPS + 1);
	RL_FAIL(rl_edit_begin(a, s1, &ed), RL_EERASED);
	assert_null(ed);

	/* B receives it: state purged, B's pending s1 changes gone, s2 kept. */
	RL_PASS(rl_replica_apply(b, (rl_op[]){ *oa.ops[0] }, 0, NULL));
	{
		size_t n = apply_ops(b, oa.ops, oa.n);

		assert_int_equal(n, 1);
	}
	RL_PASS(load(b, s1, &rec));
	assert_true(rec.erased);
	assert_int_equal(rec.nops, 1);
	rl_record_fini(&rec);
	read_outbox(b, &ob);
	assert_int_equal(outbox_count_sit(&ob, s1, &erases), 0);
	assert_int_equal(outbox_count_sit(&ob, s2, &erases), 1);
	assert_int_equal(ob.n, 1);
	free_outbox(&ob);
	state_hash(a, s1, ha);
	state_hash(b, s1, hb);
	assert_memory_equal(ha, hb, RL_HASH_BYTES);

	/* Late ops for s1 (B's, made before the erase) never bring it back. */
	assert_int_equal(apply_ops(a, late.ops, late.n), 1); /* only s2's */
	state_hash(a, s1, hb);
	assert_memory_equal(ha, hb, RL_HASH_BYTES);
	a = reopen(a, f->a);
	RL_PASS(load(a, s1, &rec));
	assert_true(rec.erased);
	assert_int_equal(rec.nops, 1);
	rl_record_fini(&rec);
	RL_PASS(load(a, s2, &rec));
	assert_int_equal(rec.nops, SITUATION_OPS + 1);
	rl_record_fini(&rec);
	free_outbox(&late);
	free_outbox(&oa);

	/* Made and erased in one edit: only the erase goes out. */
	{
		size_t before = outbox_count(a);
		uint8_t s3[RL_SIT_BYTES];

		RL_PASS(rl_edit_begin(a, NULL, &ed));
		memcpy(s3, rl_edit_record(ed)->sit, RL_SIT_BYTES);
		RL_PASS(rl_edit_reg(ed, NULL, RL_F_INITIALS, B("X.Y.")));
		RL_PASS(rl_edit_journal(ed, RL_J_NOTE, 20250101, B("erreur de saisie"), NULL, NULL));
		RL_PASS(rl_edit_erase(ed));
		RL_PASS(rl_edit_commit(ed));
		read_outbox(a, &oa);
		assert_int_equal(oa.n, before + 1);
		assert_int_equal(outbox_count_sit(&oa, s3, &erases), 1);
		assert_int_equal(erases, 1);
		free_outbox(&oa);
	}
	rl_replica_close(a);
	rl_replica_close(b);
}

/* ---- what reaches the disk ---- */

static bool
contains(const uint8_t *p, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (p[i] == (uint8_t)needle[0] && memcmp(p + i, needle, k) == 0)
			return true;
	return false;
}

/* Counts the files under dir whose raw bytes contain needle; *nfiles gets
 * the number of files read. */
static int
files_containing(const char *dir, const char *needle, int *nfiles)
{
	struct dirent *de;
	int hits = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char path[512];
		struct stat sb;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		assert_int_equal(lstat(path, &sb), 0);
		if (S_ISDIR(sb.st_mode)) {
			hits += files_containing(path, needle, nfiles);
		} else if (S_ISREG(sb.st_mode)) {
			FILE *fp = fopen(path, "rb");
			uint8_t *buf = malloc((size_t)sb.st_size + 1);
			size_t got;

			assert_non_null(fp);
			assert_non_null(buf);
			got = fread(buf, 1, (size_t)sb.st_size, fp);
			assert_int_equal(got, (size_t)sb.st_size);
			fclose(fp);
			if (contains(buf, got, needle)) {
				fprintf(stderr, "'%s' found in %s\n", needle, path);
				hits++;
			}
			free(buf);
			(*nfiles)++;
		}
	}
	closedir(d);
	return hits;
}

static void
test_canary(void **state)
{
	fx *f = *state;
	rl_replica *rp = new_replica(f->a, "nord");
	uint8_t sit[RL_SIT_BYTES];
	rl_opid alert;
	rl_edit *ed;
	outbox ob;
	int nfiles = 0;

	make_situation(rp, sit, CANARY, &alert);
	RL_PASS(rl_edit_begin(rp, sit, &ed));
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_HISTORY, B(CANARY " historique")));
	RL_PASS(rl_edit_add(ed, RL_SET_PROS, B(CANARY)));
	RL_PASS(rl_edit_reg(ed, &alert, RL_F_ALERT_TEXT, B(CANARY " alerte")));
	RL_PASS(rl_edit_commit(ed));
	/* The canary is really in the store (not a vacuous test). */
	read_outbox(rp, &ob);
	{
		int found = 0;

		for (size_t i = 0; i < ob.n; i++)
			found += contains(ob.ops[i]->value.p, ob.ops[i]->value.len, CANARY);
		assert_int_equal(found, 4);
	}
	free_outbox(&ob);
	/* Committed, store still open. */
	assert_int_equal(files_containing(f->a, CANARY, &nfiles), 0);
	assert_true(nfiles >= 1);
	rl_replica_close(rp);
	/* Closed. Neither the text nor the passphrase is on disk. */
	nfiles = 0;
	assert_int_equal(files_containing(f->a, CANARY, &nfiles), 0);
	assert_int_equal(files_containing(f->a, PASS, &nfiles), 0);
	assert_int_equal(files_containing(f->a, "RDV CMP", &nfiles), 0);
	assert_int_equal(files_containing(f->a, "J.D.", &nfiles), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_passphrase, setup, teardown),
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_edit_commit_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sent_requeue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restamp_pending_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_store_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_record_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_converges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_erase, setup, teardown),
		cmocka_unit_test_setup_teardown(test_canary, setup, teardown),
	};

	if (rl_crypto_init() != RL_OK) {
		fprintf(stderr, "rl_crypto_init failed\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
