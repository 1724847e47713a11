/*
 * replica.c - device identity, local edits and received operations on top
 * of the store and the record model.
 *
 * An edit keeps the record in memory while it is built: each new operation
 * is merged into it (so the next write supersedes what the previous one
 * wrote) and appended to the outbox inside the edit's write transaction.
 * Commit writes the state and the clock and makes it all durable at once.
 * The outbox key is the operation's counter, big-endian, so the outbox reads
 * in the order the operations were made and acknowledging a prefix is a
 * range delete.
 */
#include <stdlib.h>
#include <string.h>

#include "replica.h"

struct rl_replica {
	rl_store *st;
	uint8_t pk[RL_DEV_BYTES];
	uint8_t *sk; /* RL_SK_BYTES, secret memory */
	char antenna[RL_ANTENNA_MAX + 1];
	rl_role role;
	uint64_t fixed_wall;
};

struct rl_edit {
	rl_replica *rp;
	rl_txn *txn;
	bool own_txn; /* false: the caller's transaction (rl_edit_begin_in) */
	rl_record rec;
	rl_clock clock;
	uint64_t counter;
	rl_buf enc;
	rl_opid *refs; /* RL_MAX_REFS */
};

static const char *const role_names[] = {
	[RL_ROLE_ANTENNA] = "antenna",
	[RL_ROLE_MOBILE] = "mobile",
	[RL_ROLE_HQ] = "hq",
	[RL_ROLE_SERVER] = "server",
};

const char *
rl_role_name(rl_role r)
{
	return r >= RL_ROLE_ANTENNA && r <= RL_ROLE_SERVER ? role_names[r] : "?";
}

rl_role
rl_role_parse(const char *s)
{
	for (int r = RL_ROLE_ANTENNA; r <= RL_ROLE_SERVER; r++)
		if (strcmp(s, role_names[r]) == 0)
			return (rl_role)r;
	return 0;
}

bool
rl_antenna_valid(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];

		if (n >= RL_ANTENNA_MAX ||
		    !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return n > 0;
}

/* ---- metadata ---- */

rl_err
rl_meta_get(rl_txn *txn, const char *name, rl_buf *out)
{
	return rl_store_get(txn, RL_T_META, RL_BYTES(name, strlen(name)), out);
}

rl_err
rl_meta_put(rl_txn *txn, const char *name, rl_bytes val)
{
	return rl_store_put(txn, RL_T_META, RL_BYTES(name, strlen(name)), val);
}

rl_err
rl_meta_get_u64(rl_txn *txn, const char *name, uint64_t *v)
{
	rl_buf b;
	rl_err e;

	rl_buf_init(&b);
	e = rl_meta_get(txn, name, &b);
	if (e == RL_ENOTFOUND) {
		*v = 0;
		e = RL_OK;
	} else if (e == RL_OK)
		*v = b.len == 8 ? rl_get_be64(b.data) : (e = RL_ECORRUPT, 0);
	rl_buf_fini(&b);
	return e;
}

rl_err
rl_meta_put_u64(rl_txn *txn, const char *name, uint64_t v)
{
	uint8_t k[8];

	rl_put_be64(k, v);
	return rl_meta_put(txn, name, RL_BYTES(k, 8));
}

/* ---- create / open ---- */

rl_err
rl_replica_create(const char *dir, const rl_secret *s, const rl_store_opts *opts,
                  const char *antenna, rl_role role)
{
	uint8_t pk[RL_PK_BYTES], sk[RL_SK_BYTES];
	rl_store *st = NULL;
	rl_txn *txn = NULL;
	const char *rname = rl_role_name(role);
	rl_err e;

	if (!rl_antenna_valid(antenna) || rname[0] == '?')
		return RL_EINVAL;
	if ((e = rl_store_create(dir, s, opts)) != RL_OK)
		return e;
	if ((e = rl_store_open(dir, s, opts, &st)) != RL_OK)
		return e;
	if ((e = rl_store_begin(st, true, &txn)) != RL_OK)
		goto fail;
	rl_dh_keypair(pk, sk);
	if ((e = rl_meta_put(txn, "device_sk", RL_BYTES(sk, sizeof(sk)))) != RL_OK ||
	    (e = rl_meta_put(txn, "device_pk", RL_BYTES(pk, sizeof(pk)))) != RL_OK ||
	    (e = rl_meta_put(txn, "antenna", RL_BYTES(antenna, strlen(antenna)))) != RL_OK ||
	    (e = rl_meta_put(txn, "role", RL_BYTES(rname, strlen(rname)))) != RL_OK ||
	    (e = rl_meta_put_u64(txn, "counter", 0)) != RL_OK ||
	    (e = rl_meta_put_u64(txn, "clock", 0)) != RL_OK)
		goto fail;
	e = rl_store_commit(txn);
	txn = NULL;
fail:
	rl_wipe(sk, sizeof(sk));
	rl_store_abort(txn);
	rl_store_close(st);
	return e;
}

static rl_err
replica_load_identity(rl_replica *rp, rl_txn *txn)
{
	rl_buf b;
	rl_err e;

	rl_buf_init(&b);
	if ((e = rl_meta_get(txn, "device_sk", &b)) != RL_OK || b.len != RL_SK_BYTES)
		goto bad;
	memcpy(rp->sk, b.data, RL_SK_BYTES);
	if ((e = rl_meta_get(txn, "device_pk", &b)) != RL_OK || b.len != RL_DEV_BYTES)
		goto bad;
	memcpy(rp->pk, b.data, RL_DEV_BYTES);
	if ((e = rl_meta_get(txn, "antenna", &b)) != RL_OK || b.len == 0 || b.len > RL_ANTENNA_MAX)
		goto bad;
	memcpy(rp->antenna, b.data, b.len);
	rp->antenna[b.len] = '\0';
	if ((e = rl_meta_get(txn, "role", &b)) != RL_OK || b.len > 15)
		goto bad;
	{
		char r[16];

		memcpy(r, b.data, b.len);
		r[b.len] = '\0';
		rp->role = rl_role_parse(r);
	}
	if (rp->role == 0 || !rl_antenna_valid(rp->antenna))
		goto bad;
	rl_buf_fini(&b);
	return RL_OK;
bad:
	rl_buf_fini(&b);
	return e == RL_OK || e == RL_ENOTFOUND ? RL_ECORRUPT : e;
}

rl_err
rl_replica_open(const char *dir, const rl_secret *s, const rl_store_opts *opts, rl_replica **out)
{
	rl_replica *rp;
	rl_txn *txn = NULL;
	rl_err e;

	*out = NULL;
	if ((rp = calloc(1, sizeof(*rp))) == NULL)
		return RL_ENOMEM;
	if ((rp->sk = rl_secret_alloc(RL_SK_BYTES)) == NULL) {
		free(rp);
		return RL_ENOMEM;
	}
	if ((e = rl_store_open(dir, s, opts, &rp->st)) != RL_OK)
		goto fail;
	if ((e = rl_store_begin(rp->st, false, &txn)) != RL_OK)
		goto fail;
	e = replica_load_identity(rp, txn);
	rl_store_abort(txn);
	if (e != RL_OK)
		goto fail;
	*out = rp;
	return RL_OK;
fail:
	rl_replica_close(rp);
	return e;
}

void
rl_replica_close(rl_replica *rp)
{
	if (rp == NULL)
		return;
	rl_store_close(rp->st);
	rl_secret_free(rp->sk);
	free(rp);
}

rl_store *
rl_replica_store(rl_replica *rp)
{
	return rp->st;
}

const uint8_t *
rl_replica_device(const rl_replica *rp)
{
	return rp->pk;
}

const uint8_t *
rl_replica_secret_key(const rl_replica *rp)
{
	return rp->sk;
}

const char *
rl_replica_antenna(const rl_replica *rp)
{
	return rp->antenna;
}

rl_role
rl_replica_role(const rl_replica *rp)
{
	return rp->role;
}

void
rl_replica_set_wall(rl_replica *rp, uint64_t wall_ms)
{
	rp->fixed_wall = wall_ms;
}

/* ---- states ---- */

rl_err
rl_state_load(rl_txn *txn, const uint8_t sit[RL_SIT_BYTES], rl_record *rec)
{
	rl_buf b;
	rl_err e;

	rl_buf_init(&b);
	e = rl_store_get(txn, RL_T_STATES, RL_BYTES(sit, RL_SIT_BYTES), &b);
	if (e == RL_OK) {
		e = rl_record_decode(rl_buf_view(&b), rec);
		if (e == RL_OK && memcmp(rec->sit, sit, RL_SIT_BYTES) != 0) {
			rl_record_fini(rec);
			e = RL_ECORRUPT;
		} else if (e != RL_OK && e != RL_ENOMEM)
			e = RL_ECORRUPT;
	}
	if (e != RL_OK)
		rl_record_init(rec, sit);
	rl_buf_fini(&b);
	return e;
}

rl_err
rl_state_save(rl_txn *txn, const rl_record *rec)
{
	rl_buf b;
	rl_err e;

	rl_buf_init(&b);
	if ((e = rl_record_encode(rec, &b)) == RL_OK)
		e = rl_store_put(txn, RL_T_STATES, RL_BYTES(rec->sit, RL_SIT_BYTES), rl_buf_view(&b));
	rl_buf_fini(&b);
	return e;
}

/* ---- edits ---- */

static rl_err
edit_start(rl_replica *rp, rl_txn *txn, const uint8_t *sit, rl_edit **out)
{
	uint8_t fresh[RL_SIT_BYTES];
	rl_edit *ed;
	rl_err e;

	*out = NULL;
	if ((ed = calloc(1, sizeof(*ed))) == NULL)
		return RL_ENOMEM;
	ed->rp = rp;
	rl_buf_init(&ed->enc);
	if ((ed->refs = malloc(RL_MAX_REFS * sizeof(rl_opid))) == NULL) {
		free(ed);
		return RL_ENOMEM;
	}
	ed->own_txn = txn == NULL;
	if (txn != NULL)
		ed->txn = txn;
	else if ((e = rl_store_begin(rp->st, true, &ed->txn)) != RL_OK)
		goto fail;
	if ((e = rl_meta_get_u64(ed->txn, "counter", &ed->counter)) != RL_OK ||
	    (e = rl_meta_get_u64(ed->txn, "clock", &ed->clock.last)) != RL_OK)
		goto fail;
	if (sit == NULL) {
		rl_random(fresh, sizeof(fresh));
		rl_record_init(&ed->rec, fresh);
	} else {
		if ((e = rl_state_load(ed->txn, sit, &ed->rec)) != RL_OK)
			goto fail;
		if (ed->rec.erased) {
			e = RL_EERASED;
			goto fail;
		}
	}
	*out = ed;
	return RL_OK;
fail:
	rl_edit_abort(ed);
	return e;
}

rl_err
rl_edit_begin(rl_replica *rp, const uint8_t *sit, rl_edit **out)
{
	return edit_start(rp, NULL, sit, out);
}

rl_err
rl_edit_begin_in(rl_replica *rp, rl_txn *txn, const uint8_t *sit, rl_edit **out)
{
	return edit_start(rp, txn, sit, out);
}

const rl_record *
rl_edit_record(const rl_edit *ed)
{
	return &ed->rec;
}

/* Stamps op with the next id and timestamp, merges it and queues it. */
static rl_err
edit_push(rl_edit *ed, rl_op *op)
{
	uint64_t wall = ed->rp->fixed_wall ? ed->rp->fixed_wall : rl_wall_ms();
	uint8_t key[8];
	rl_mpw w;
	rl_err e;

	/* After an erase nothing may be added: the op would be ignored by the
	 * record but would still reach the outbox, content and all. */
	if (ed->rec.erased)
		return RL_EERASED;
	memcpy(op->sit, ed->rec.sit, RL_SIT_BYTES);
	memcpy(op->id.dev, ed->rp->pk, RL_DEV_BYTES);
	op->id.ctr = ed->counter + 1;
	op->hlc = rl_hlc_now(&ed->clock, wall);
	if ((e = rl_op_validate(op)) != RL_OK)
		return e;
	rl_buf_reset(&ed->enc);
	rl_mpw_init(&w, &ed->enc);
	rl_op_encode(&w, op, true);
	if ((e = rl_mpw_err(&w)) != RL_OK)
		return e;
	/* Record first: it can refuse (RL_ETOOBIG, RL_ENOMEM) and leave the edit
	 * usable. Were the op queued first, a commit after that error would send
	 * an op the state lacks. A failed append fails the txn, so the op merged
	 * here is then never stored. */
	if ((e = rl_record_apply(&ed->rec, op, NULL)) != RL_OK)
		return e;
	rl_put_be64(key, op->id.ctr);
	if ((e = rl_store_append(ed->txn, RL_T_OUTBOX, RL_BYTES(key, 8), rl_buf_view(&ed->enc))) !=
	    RL_OK)
		return e;
	ed->counter++;
	return RL_OK;
}

rl_err
rl_edit_reg(rl_edit *ed, const rl_opid *target, uint8_t field, rl_bytes value)
{
	rl_regval *vals;
	size_t n;
	rl_op op = { 0 };
	rl_err e;

	if ((vals = malloc(RL_MAX_REFS * sizeof(*vals))) == NULL)
		return RL_ENOMEM;
	n = rl_record_reg(&ed->rec, target, field, vals, RL_MAX_REFS);
	if (n > RL_MAX_REFS) {
		free(vals);
		return RL_ETOOBIG;
	}
	for (size_t i = 0; i < n; i++)
		ed->refs[i] = vals[i].op->id;
	free(vals);
	op.kind = RL_OP_REG;
	op.field = field;
	if (target != NULL) {
		op.has_target = true;
		op.target = *target;
	}
	op.value = value;
	op.nrefs = (uint32_t)n;
	op.refs = ed->refs;
	e = edit_push(ed, &op);
	return e;
}

rl_err
rl_edit_add(rl_edit *ed, uint8_t set, rl_bytes elem)
{
	rl_op op = { 0 };

	if (elem.len > 0 && rl_record_set_adds(&ed->rec, set, elem, ed->refs, RL_MAX_REFS) > 0)
		return RL_OK;
	op.kind = RL_OP_ADD;
	op.field = set;
	op.value = elem;
	return edit_push(ed, &op);
}

rl_err
rl_edit_rem(rl_edit *ed, uint8_t set, rl_bytes elem)
{
	rl_op op = { 0 };
	size_t n = rl_record_set_adds(&ed->rec, set, elem, ed->refs, RL_MAX_REFS);

	if (n == 0)
		return RL_ENOTFOUND;
	if (n > RL_MAX_REFS)
		return RL_ETOOBIG;
	op.kind = RL_OP_REM;
	op.field = set;
	op.value = elem;
	op.nrefs = (uint32_t)n;
	op.refs = ed->refs;
	return edit_push(ed, &op);
}

rl_err
rl_edit_journal(rl_edit *ed, uint8_t jtype, uint32_t date, rl_bytes text, const rl_opid *amends,
                rl_opid *id)
{
	rl_op op = { 0 };
	rl_err e;

	if (amends != NULL) {
		const rl_op *t = rl_record_find(&ed->rec, amends);

		if (t == NULL || t->kind != RL_OP_JOURNAL)
			return RL_ENOTFOUND;
		op.has_target = true;
		op.target = *amends;
	}
	op.kind = RL_OP_JOURNAL;
	op.field = jtype;
	op.date = date;
	op.value = text;
	if ((e = edit_push(ed, &op)) == RL_OK && id != NULL)
		*id = op.id;
	return e;
}

rl_err
rl_edit_alert(rl_edit *ed, uint32_t due, rl_bytes text, rl_opid *id)
{
	rl_op op = { 0 };
	rl_err e;

	op.kind = RL_OP_ALERT;
	op.date = due;
	op.value = text;
	if ((e = edit_push(ed, &op)) == RL_OK && id != NULL)
		*id = op.id;
	return e;
}

static rl_err outbox_purge_sit(rl_txn *txn, const uint8_t sit[RL_SIT_BYTES]);

rl_err
rl_edit_erase(rl_edit *ed)
{
	rl_op op = { 0 };
	rl_err e;

	op.kind = RL_OP_ERASE;
	if ((e = edit_push(ed, &op)) != RL_OK)
		return e;
	/* Pending changes of an erased situation hold content that must go. */
	return outbox_purge_sit(ed->txn, ed->rec.sit);
}

rl_err
rl_edit_commit(rl_edit *ed)
{
	rl_err e;

	if ((e = rl_state_save(ed->txn, &ed->rec)) != RL_OK ||
	    (e = rl_meta_put_u64(ed->txn, "counter", ed->counter)) != RL_OK ||
	    (e = rl_meta_put_u64(ed->txn, "clock", ed->clock.last)) != RL_OK) {
		rl_edit_abort(ed);
		return e;
	}
	e = ed->own_txn ? rl_store_commit(ed->txn) : RL_OK;
	ed->txn = NULL;
	rl_edit_abort(ed);
	return e;
}

void
rl_edit_abort(rl_edit *ed)
{
	if (ed == NULL)
		return;
	if (ed->own_txn)
		rl_store_abort(ed->txn);
	rl_record_fini(&ed->rec);
	rl_buf_fini(&ed->enc);
	free(ed->refs);
	free(ed);
}

/* ---- received operations ---- */

/* Sort key of a received operation: its situation, then its position. */
typedef struct sit_idx {
	const uint8_t *sit;
	size_t i;
} sit_idx;

static int
sit_idx_cmp(const void *a, const void *b)
{
	const sit_idx *x = a, *y = b;
	int c = memcmp(x->sit, y->sit, RL_SIT_BYTES);

	if (c != 0)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

static rl_err outbox_kept(rl_txn *txn, uint64_t *acked, uint64_t *kept);

/* Deletes the outbox entries of an erased situation, pending or
 * acknowledged, but the erase itself: their content must go. */
static rl_err
outbox_purge_sit(rl_txn *txn, const uint8_t sit[RL_SIT_BYTES])
{
	uint64_t acked, kept, dropped = 0;
	rl_cursor *c;
	rl_bytes k;
	rl_buf v;
	rl_err e;

	if ((e = outbox_kept(txn, &acked, &kept)) != RL_OK)
		return e;
	if ((e = rl_cursor_open(txn, RL_T_OUTBOX, &c)) != RL_OK)
		return e;
	rl_buf_init(&v);
	for (e = rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, &v); e == RL_OK;
	     e = rl_cursor_next(c, &k, &v)) {
		rl_mpr r;
		uint8_t s[RL_SIT_BYTES];

		/* An outbox entry starts with [array, bin16 sit, ...]. */
		rl_mpr_init(&r, v.data, v.len);
		if (rl_mpr_array_n(&r, 10) != RL_OK || rl_mpr_bin_n(&r, RL_SIT_BYTES, s) != RL_OK)
			continue;
		if (memcmp(s, sit, RL_SIT_BYTES) == 0) {
			/* Keep the erase itself: the server must hear of it. */
			rl_op op;
			rl_opid *scratch = malloc(RL_MAX_REFS * sizeof(*scratch));

			if (scratch == NULL) {
				e = RL_ENOMEM;
				break;
			}
			rl_mpr_init(&r, v.data, v.len);
			if (rl_op_decode(&r, &op, scratch, true) != RL_OK || op.kind != RL_OP_ERASE) {
				if (k.len == 8 && rl_get_be64(k.p) <= acked)
					dropped++;
				e = rl_cursor_del(c);
			}
			free(scratch);
			if (e != RL_OK)
				break;
		}
	}
	rl_buf_fini(&v);
	rl_cursor_close(c);
	if (e != RL_OK && e != RL_ENOTFOUND)
		return e;
	if (dropped == 0)
		return RL_OK;
	return rl_meta_put_u64(txn, "acked_n", dropped > kept ? 0 : kept - dropped);
}

rl_err
rl_replica_apply_txn(rl_replica *rp, rl_txn *txn, const rl_op *ops, size_t n, size_t *napplied)
{
	sit_idx *idx = NULL;
	size_t applied = 0;
	rl_record rec;
	bool have = false, was_erased = false;
	rl_clock clock;
	rl_err e = RL_OK;

	(void)rp;
	if (napplied)
		*napplied = 0;
	if (n == 0)
		return RL_OK;
	if ((idx = malloc(n * sizeof(*idx))) == NULL)
		return RL_ENOMEM;
	/* Grouped by situation, each record is loaded and saved once. */
	for (size_t i = 0; i < n; i++) {
		idx[i].sit = ops[i].sit;
		idx[i].i = i;
	}
	qsort(idx, n, sizeof(*idx), sit_idx_cmp);
	if ((e = rl_meta_get_u64(txn, "clock", &clock.last)) != RL_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const rl_op *op = &ops[idx[i].i];
		bool changed;

		if (have && memcmp(rec.sit, op->sit, RL_SIT_BYTES) != 0) {
			e = rl_state_save(txn, &rec);
			if (e == RL_OK && rec.erased && !was_erased)
				e = outbox_purge_sit(txn, rec.sit);
			rl_record_fini(&rec);
			have = false;
			if (e != RL_OK)
				goto out;
		}
		if (!have) {
			e = rl_state_load(txn, op->sit, &rec);
			if (e != RL_OK && e != RL_ENOTFOUND)
				goto out;
			have = true;
			was_erased = rec.erased;
		}
		if ((e = rl_record_apply(&rec, op, &changed)) != RL_OK)
			goto out;
		rl_hlc_observe(&clock, op->hlc);
		applied += changed;
	}
	e = rl_state_save(txn, &rec);
	if (e == RL_OK && rec.erased && !was_erased)
		e = outbox_purge_sit(txn, rec.sit);
	if (e == RL_OK)
		e = rl_meta_put_u64(txn, "clock", clock.last);
out:
	if (have)
		rl_record_fini(&rec);
	free(idx);
	if (e == RL_OK && napplied)
		*napplied = applied;
	return e;
}

rl_err
rl_replica_apply(rl_replica *rp, const rl_op *ops, size_t n, size_t *napplied)
{
	rl_txn *txn;
	rl_err e;

	if ((e = rl_store_begin(rp->st, true, &txn)) != RL_OK)
		return e;
	if ((e = rl_replica_apply_txn(rp, txn, ops, n, napplied)) != RL_OK) {
		rl_store_abort(txn);
		return e;
	}
	return rl_store_commit(txn);
}

rl_err
rl_replica_drop_txn(rl_txn *txn, const uint8_t sit[RL_SIT_BYTES])
{
	rl_err e = rl_store_del(txn, RL_T_STATES, RL_BYTES(sit, RL_SIT_BYTES));

	return e == RL_ENOTFOUND ? RL_OK : e;
}

rl_err
rl_outbox_acked_txn(rl_txn *txn, uint64_t *acked)
{
	rl_err e = rl_meta_get_u64(txn, "acked", acked);

	if (e == RL_ENOTFOUND) {
		*acked = 0;
		e = RL_OK;
	}
	return e;
}

/* Counts the outbox keys in (lo, hi]. */
static rl_err
outbox_count_range(rl_txn *txn, uint64_t lo, uint64_t hi, size_t *n)
{
	uint8_t from[8];
	rl_cursor *c;
	rl_bytes k;
	rl_err e;

	*n = 0;
	if (lo == UINT64_MAX || lo >= hi)
		return RL_OK;
	if ((e = rl_cursor_open(txn, RL_T_OUTBOX, &c)) != RL_OK)
		return e;
	rl_put_be64(from, lo + 1);
	for (e = rl_cursor_seek(c, RL_BYTES(from, 8), &k, NULL); e == RL_OK;
	     e = rl_cursor_next(c, &k, NULL)) {
		if (k.len != 8) {
			e = RL_ECORRUPT;
			break;
		}
		if (rl_get_be64(k.p) > hi)
			break;
		(*n)++;
	}
	rl_cursor_close(c);
	return e == RL_ENOTFOUND ? RL_OK : e;
}

/* The acknowledged counter and how many entries at or below it the outbox
 * keeps ("acked_n", maintained by ack, purge and requeue; counted once if
 * absent). */
static rl_err
outbox_kept(rl_txn *txn, uint64_t *acked, uint64_t *kept)
{
	size_t n;
	rl_err e;

	*kept = 0;
	if ((e = rl_outbox_acked_txn(txn, acked)) != RL_OK || *acked == 0)
		return e;
	if ((e = rl_meta_get_u64(txn, "acked_n", kept)) != RL_ENOTFOUND)
		return e;
	if ((e = outbox_count_range(txn, 0, *acked, &n)) != RL_OK)
		return e;
	*kept = n;
	return RL_OK;
}

rl_err
rl_outbox_count_txn(rl_txn *txn, size_t *pending, size_t *sent)
{
	uint64_t acked, kept;
	size_t total;
	rl_err e;

	if ((e = outbox_kept(txn, &acked, &kept)) != RL_OK ||
	    (e = rl_store_count(txn, RL_T_OUTBOX, &total)) != RL_OK)
		return e;
	if (kept > total)
		return RL_ECORRUPT;
	*pending = total - (size_t)kept;
	if (sent != NULL)
		*sent = (size_t)kept;
	return RL_OK;
}

rl_err
rl_outbox_count(rl_replica *rp, size_t *n)
{
	rl_txn *txn;
	rl_err e;

	if ((e = rl_store_begin(rp->st, false, &txn)) != RL_OK)
		return e;
	e = rl_outbox_count_txn(txn, n, NULL);
	rl_store_abort(txn);
	return e;
}

rl_err
rl_outbox_ack_txn(rl_txn *txn, uint64_t upto)
{
	uint64_t acked, kept, last;
	rl_cursor *c;
	rl_bytes k;
	size_t n;
	rl_err e;

	if ((e = outbox_kept(txn, &acked, &kept)) != RL_OK)
		return e;
	/* Never past the last entry: edits made later get greater counters
	 * and must stay pending whatever bound the caller gave. */
	if ((e = rl_cursor_open(txn, RL_T_OUTBOX, &c)) != RL_OK)
		return e;
	e = rl_cursor_last(c, &k, NULL);
	rl_cursor_close(c);
	if (e == RL_ENOTFOUND)
		return RL_OK;
	if (e != RL_OK)
		return e;
	if (k.len != 8)
		return RL_ECORRUPT;
	last = rl_get_be64(k.p);
	if (upto > last)
		upto = last;
	if (upto <= acked)
		return RL_OK;
	if ((e = outbox_count_range(txn, acked, upto, &n)) != RL_OK ||
	    (e = rl_meta_put_u64(txn, "acked_n", kept + n)) != RL_OK)
		return e;
	return rl_meta_put_u64(txn, "acked", upto);
}

rl_err
rl_outbox_requeue_txn(rl_txn *txn, size_t *n)
{
	uint64_t acked, kept;
	rl_err e;

	*n = 0;
	if ((e = outbox_kept(txn, &acked, &kept)) != RL_OK || acked == 0)
		return e;
	*n = (size_t)kept;
	if ((e = rl_meta_put_u64(txn, "acked_n", 0)) != RL_OK)
		return e;
	return rl_meta_put_u64(txn, "acked", 0);
}

rl_err
rl_replica_restamp(rl_replica *rp, rl_hlc above, uint64_t base_ms, size_t *n)
{
	rl_opid *scratch = NULL;
	rl_clock clock = { rl_hlc_make(base_ms, 0) };
	uint8_t from[8];
	uint64_t acked;
	rl_txn *txn = NULL;
	rl_cursor *c = NULL;
	rl_buf v, enc;
	rl_bytes k;
	rl_err e;

	*n = 0;
	rl_buf_init(&v);
	rl_buf_init(&enc);
	if ((scratch = malloc(RL_MAX_REFS * sizeof(*scratch))) == NULL)
		return RL_ENOMEM;
	if ((e = rl_store_begin(rp->st, true, &txn)) != RL_OK ||
	    (e = rl_outbox_acked_txn(txn, &acked)) != RL_OK ||
	    (e = rl_cursor_open(txn, RL_T_OUTBOX, &c)) != RL_OK)
		goto out;
	/* Only pending changes: the server has the acknowledged ones. */
	rl_put_be64(from, acked == UINT64_MAX ? acked : acked + 1);
	for (e = rl_cursor_seek(c, RL_BYTES(from, 8), &k, &v); e == RL_OK;
	     e = rl_cursor_next(c, &k, &v)) {
		uint8_t key[8];
		rl_record rec;
		rl_hlc old;
		rl_mpr r;
		rl_mpw w;
		rl_op op;

		if (k.len != 8) {
			e = RL_ECORRUPT;
			break;
		}
		memcpy(key, k.p, 8);
		rl_mpr_init(&r, v.data, v.len);
		if ((e = rl_op_decode(&r, &op, scratch, true)) != RL_OK)
			break;
		if (op.hlc <= above)
			continue;
		old = op.hlc;
		op.hlc = rl_hlc_now(&clock, base_ms);
		/* The state first: an erased or dropped record simply lacks it. */
		e = rl_state_load(txn, op.sit, &rec);
		if (e == RL_OK) {
			e = rl_record_restamp(&rec, old, &op.id, op.hlc);
			if (e == RL_OK)
				e = rl_state_save(txn, &rec);
			else if (e == RL_ENOTFOUND)
				e = RL_OK;
		} else if (e == RL_ENOTFOUND)
			e = RL_OK;
		rl_record_fini(&rec);
		if (e != RL_OK)
			break;
		rl_buf_reset(&enc);
		rl_mpw_init(&w, &enc);
		rl_op_encode(&w, &op, true);
		if ((e = rl_mpw_err(&w)) != RL_OK ||
		    (e = rl_store_put(txn, RL_T_OUTBOX, RL_BYTES(key, 8), rl_buf_view(&enc))) != RL_OK)
			break;
		(*n)++;
	}
	rl_cursor_close(c);
	c = NULL;
	if (e == RL_ENOTFOUND)
		e = RL_OK;
	if (e == RL_OK && (e = rl_meta_put_u64(txn, "clock", clock.last)) == RL_OK) {
		e = rl_store_commit(txn);
		txn = NULL;
	}
out:
	rl_cursor_close(c);
	rl_store_abort(txn);
	rl_buf_fini(&v);
	rl_buf_fini(&enc);
	free(scratch);
	if (e != RL_OK)
		*n = 0;
	return e;
}
