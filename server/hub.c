/*
 * hub.c - the HQ store: registry, tokens, ingest into feeds, pulls, audit.
 *
 * See hub.h for the layout. Ingest (rl_hub_push) is two passes over a
 * change-set inside the writer's transaction: the check refuses the whole
 * set if any change is forged, from a clock too far ahead, or outside the
 * device's scope (nothing is written then), and the merge routes. Each
 * state is loaded once, by the check, and kept for the merge. A
 * change that does not alter a state (a duplicate, a replayed batch, a late
 * change to an erased situation) gets no sequence number and reaches no
 * feed, which is what makes ingest idempotent.
 */
#include <stdlib.h>
#include <string.h>

#include "common/mp.h"
#include "hub.h"
#include "proto/msg.h"

#define KEY_MAX (1 + RL_SIT_BYTES + RL_ANTENNA_MAX + 1 + 8)

rl_err
rl_hub_open(const char *dir, const rl_secret *s, const rl_store_opts *opts, rl_hub *hub)
{
	rl_store_opts so = { RL_HUB_DEFAULT_MAP, RL_KDF_INTERACTIVE };
	rl_txn *txn;
	rl_err e;

	if (opts != NULL) {
		so = *opts;
		if (so.map_bytes == 0)
			so.map_bytes = RL_HUB_DEFAULT_MAP;
	}
	memset(hub, 0, sizeof(*hub));
	hub->skew_ms = RL_DEFAULT_SKEW_MS;
	if ((e = rl_replica_open(dir, s, &so, &hub->rp)) != RL_OK)
		return e;
	if (rl_replica_role(hub->rp) != RL_ROLE_SERVER) {
		rl_replica_close(hub->rp);
		hub->rp = NULL;
		return RL_EINVAL;
	}
	hub->st = rl_replica_store(hub->rp);
	if ((e = rl_store_begin(hub->st, false, &txn)) != RL_OK)
		goto fail;
	e = rl_meta_get_u64(txn, "seq", &hub->seq);
	rl_store_abort(txn);
	if (e == RL_OK)
		return RL_OK;
fail:
	rl_replica_close(hub->rp);
	hub->rp = NULL;
	return e;
}

void
rl_hub_close(rl_hub *hub)
{
	rl_replica_close(hub->rp);
	hub->rp = NULL;
}

rl_err
rl_hub_save_seq(rl_hub *hub, rl_txn *txn)
{
	return rl_meta_put_u64(txn, "seq", hub->seq);
}

/* ---- devices ---- */

rl_err
rl_hub_device_get(rl_txn *txn, const uint8_t pk_in[RL_DEV_BYTES], rl_device *d)
{
	uint8_t pk[RL_DEV_BYTES];
	uint64_t role, v[4];
	rl_bytes ant, name;
	rl_buf b;
	rl_mpr r;
	rl_err e;

	memcpy(pk, pk_in, RL_DEV_BYTES); /* pk_in may point into d */
	rl_buf_init(&b);
	if ((e = rl_store_get(txn, RL_T_DEVICES, RL_BYTES(pk, RL_DEV_BYTES), &b)) != RL_OK)
		goto out;
	memset(d, 0, sizeof(*d));
	memcpy(d->pk, pk, RL_DEV_BYTES);
	rl_mpr_init(&r, b.data, b.len);
	rl_mpr_array_n(&r, 7);
	rl_mpr_str(&r, RL_ANTENNA_MAX, &ant);
	rl_mpr_uint(&r, RL_ROLE_SERVER, &role);
	rl_mpr_str(&r, 64, &name);
	for (int i = 0; i < 4; i++)
		rl_mpr_uint(&r, UINT64_MAX, &v[i]);
	if (rl_mpr_done(&r) != RL_OK) {
		e = RL_ECORRUPT;
		goto out;
	}
	memcpy(d->antenna, ant.p, ant.len);
	memcpy(d->name, name.p, name.len);
	d->role = (rl_role)role;
	d->enrolled_ms = v[0];
	d->last_seen_ms = v[1];
	d->changes = v[2];
	d->revoked_ms = v[3];
out:
	rl_buf_fini(&b);
	return e;
}

rl_err
rl_hub_device_put(rl_txn *txn, const rl_device *d)
{
	rl_buf b;
	rl_mpw w;
	rl_err e;

	rl_buf_init(&b);
	rl_mpw_init(&w, &b);
	rl_mpw_array(&w, 7);
	rl_mpw_cstr(&w, d->antenna);
	rl_mpw_uint(&w, d->role);
	rl_mpw_cstr(&w, d->name);
	rl_mpw_uint(&w, d->enrolled_ms);
	rl_mpw_uint(&w, d->last_seen_ms);
	rl_mpw_uint(&w, d->changes);
	rl_mpw_uint(&w, d->revoked_ms);
	if ((e = rl_mpw_err(&w)) == RL_OK)
		e = rl_store_put(txn, RL_T_DEVICES, RL_BYTES(d->pk, RL_DEV_BYTES), rl_buf_view(&b));
	rl_buf_fini(&b);
	return e;
}

/* ---- tokens ---- */

static void
token_name(const uint8_t id[RL_TOKEN_ID_BYTES], char out[4 + 2 * RL_TOKEN_ID_BYTES + 1])
{
	memcpy(out, "tok:", 4);
	rl_hex_encode(id, RL_TOKEN_ID_BYTES, out + 4);
}

rl_err
rl_hub_token_create(rl_hub *hub, const char *antenna, rl_role role, const char *name,
                    uint64_t ttl_ms, char token[RL_TOKEN_HEX + 1])
{
	uint8_t id[RL_TOKEN_ID_BYTES], secret[RL_TOKEN_SECRET_BYTES];
	char tname[4 + 2 * RL_TOKEN_ID_BYTES + 1];
	rl_txn *txn;
	rl_buf b;
	rl_mpw w;
	rl_err e;

	if (!rl_antenna_valid(antenna) || role < RL_ROLE_ANTENNA || role > RL_ROLE_HQ ||
	    strlen(name) > 64)
		return RL_EINVAL;
	rl_random(id, sizeof(id));
	rl_random(secret, sizeof(secret));
	/* The secret itself is kept (META values are sealed): the server needs
	 * it to check the client's MAC and to MAC its reply. */
	rl_buf_init(&b);
	rl_mpw_init(&w, &b);
	rl_mpw_array(&w, 6);
	rl_mpw_bin(&w, secret, sizeof(secret));
	rl_mpw_cstr(&w, antenna);
	rl_mpw_uint(&w, role);
	rl_mpw_cstr(&w, name);
	rl_mpw_uint(&w, rl_wall_ms() + ttl_ms);
	rl_mpw_bool(&w, false);
	if ((e = rl_mpw_err(&w)) != RL_OK)
		goto out;
	token_name(id, tname);
	if ((e = rl_store_begin(hub->st, true, &txn)) != RL_OK)
		goto out;
	if ((e = rl_meta_put(txn, tname, rl_buf_view(&b))) != RL_OK) {
		rl_store_abort(txn);
		goto out;
	}
	if ((e = rl_store_commit(txn)) != RL_OK)
		goto out;
	rl_hex_encode(id, sizeof(id), token);
	rl_hex_encode(secret, sizeof(secret), token + 2 * RL_TOKEN_ID_BYTES);
out:
	rl_wipe(secret, sizeof(secret));
	rl_buf_fini(&b);
	return e;
}

/* Token record: [secret, antenna, role, name, expires, used]. */
typedef struct token_rec {
	uint8_t secret[RL_TOKEN_SECRET_BYTES];
	char antenna[RL_ANTENNA_MAX + 1];
	rl_role role;
	char name[65];
	uint64_t expires;
	bool used;
} token_rec;

static rl_err
token_decode(rl_bytes in, token_rec *t)
{
	uint64_t role;
	rl_bytes ant, name;
	rl_mpr r;

	memset(t, 0, sizeof(*t));
	rl_mpr_init(&r, in.p, in.len);
	rl_mpr_array_n(&r, 6);
	rl_mpr_bin_n(&r, RL_TOKEN_SECRET_BYTES, t->secret);
	rl_mpr_str(&r, RL_ANTENNA_MAX, &ant);
	rl_mpr_uint(&r, RL_ROLE_HQ, &role);
	rl_mpr_str(&r, 64, &name);
	rl_mpr_uint(&r, UINT64_MAX, &t->expires);
	rl_mpr_bool(&r, &t->used);
	if (rl_mpr_done(&r) != RL_OK)
		return RL_ECORRUPT;
	memcpy(t->antenna, ant.p, ant.len);
	memcpy(t->name, name.p, name.len);
	t->role = (rl_role)role;
	return RL_OK;
}

static rl_err
token_encode(const token_rec *t, rl_buf *out)
{
	rl_mpw w;

	rl_mpw_init(&w, out);
	rl_mpw_array(&w, 6);
	rl_mpw_bin(&w, t->secret, RL_TOKEN_SECRET_BYTES);
	rl_mpw_cstr(&w, t->antenna);
	rl_mpw_uint(&w, t->role);
	rl_mpw_cstr(&w, t->name);
	rl_mpw_uint(&w, t->expires);
	rl_mpw_bool(&w, t->used);
	return rl_mpw_err(&w);
}

rl_err
rl_hub_enroll(rl_hub *hub, rl_bytes frame, uint64_t now, rl_buf *reply)
{
	char tname[4 + 2 * RL_TOKEN_ID_BYTES + 1];
	rl_enroll_req q;
	token_rec t;
	rl_device d;
	rl_txn *txn = NULL;
	rl_buf b;
	rl_err e;

	if ((e = rl_enroll_parse(frame, &q)) != RL_OK)
		return e;
	rl_buf_init(&b);
	token_name(q.token_id, tname);
	if ((e = rl_store_begin(hub->st, true, &txn)) != RL_OK)
		goto out;
	if ((e = rl_meta_get(txn, tname, &b)) != RL_OK) {
		e = e == RL_ENOTFOUND ? RL_EKEY : e;
		goto out;
	}
	if ((e = token_decode(rl_buf_view(&b), &t)) != RL_OK)
		goto out;
	if (t.used || now > t.expires || rl_enroll_verify(&q, t.secret) != RL_OK) {
		e = RL_EKEY;
		goto out;
	}
	if (rl_hub_device_get(txn, q.device_pk, &d) == RL_OK) {
		e = RL_EEXIST;
		goto out;
	}
	memset(&d, 0, sizeof(d));
	memcpy(d.pk, q.device_pk, RL_DEV_BYTES);
	memcpy(d.antenna, t.antenna, sizeof(d.antenna));
	d.role = t.role;
	memcpy(d.name, q.name[0] ? q.name : t.name, sizeof(d.name));
	if (t.name[0])
		memcpy(d.name, t.name, sizeof(d.name));
	d.enrolled_ms = now;
	t.used = true;
	rl_buf_reset(&b);
	if ((e = token_encode(&t, &b)) != RL_OK || (e = rl_meta_put(txn, tname, rl_buf_view(&b))) ||
	    (e = rl_hub_device_put(txn, &d)) != RL_OK ||
	    (e = rl_hub_audit(hub, txn, now, d.pk, "enroll", 0, RL_BYTES(NULL, 0))) != RL_OK)
		goto out;
	if ((e = rl_enroll_reply(t.secret, d.pk, rl_replica_device(hub->rp), d.antenna,
	                         rl_role_name(d.role), reply)) != RL_OK)
		goto out;
	e = rl_store_commit(txn);
	txn = NULL;
out:
	rl_wipe(&t, sizeof(t));
	rl_store_abort(txn);
	rl_buf_fini(&b);
	return e;
}

rl_err
rl_hub_revoke(rl_hub *hub, const uint8_t pk[RL_DEV_BYTES], uint64_t now)
{
	rl_device d;
	rl_txn *txn;
	rl_err e;

	if ((e = rl_store_begin(hub->st, true, &txn)) != RL_OK)
		return e;
	if ((e = rl_hub_device_get(txn, pk, &d)) != RL_OK)
		goto fail;
	if (d.revoked_ms == 0)
		d.revoked_ms = now;
	if ((e = rl_hub_device_put(txn, &d)) != RL_OK ||
	    (e = rl_hub_audit(hub, txn, now, pk, "revoke", 0, RL_BYTES(NULL, 0))) != RL_OK)
		goto fail;
	return rl_store_commit(txn);
fail:
	rl_store_abort(txn);
	return e;
}

/* ---- audit ---- */

rl_err
rl_hub_audit(rl_hub *hub, rl_txn *txn, uint64_t now, const uint8_t dev[RL_DEV_BYTES],
             const char *kind, uint64_t count, rl_bytes sits)
{
	uint8_t key[8];
	uint64_t n;
	rl_cursor *c;
	rl_bytes k;
	rl_buf b;
	rl_mpw w;
	rl_err e;

	(void)hub;
	/* Audit keys follow the last one (the audit table is append-only). */
	if ((e = rl_cursor_open(txn, RL_T_AUDIT, &c)) != RL_OK)
		return e;
	e = rl_cursor_last(c, &k, NULL);
	n = e == RL_OK && k.len == 8 ? rl_get_be64(k.p) + 1 : 1;
	rl_cursor_close(c);
	if (e != RL_OK && e != RL_ENOTFOUND)
		return e;
	rl_put_be64(key, n);
	rl_buf_init(&b);
	rl_mpw_init(&w, &b);
	rl_mpw_array(&w, 5);
	rl_mpw_uint(&w, now);
	rl_mpw_bin(&w, dev, RL_DEV_BYTES);
	rl_mpw_cstr(&w, kind);
	rl_mpw_uint(&w, count);
	rl_mpw_array(&w, (uint32_t)(sits.len / RL_SIT_BYTES));
	for (size_t i = 0; i + RL_SIT_BYTES <= sits.len; i += RL_SIT_BYTES)
		rl_mpw_bin(&w, sits.p + i, RL_SIT_BYTES);
	if ((e = rl_mpw_err(&w)) == RL_OK)
		e = rl_store_append(txn, RL_T_AUDIT, RL_BYTES(key, 8), rl_buf_view(&b));
	rl_buf_fini(&b);
	return e;
}

/* ---- keys ---- */

static size_t
key_feed(uint8_t *k, const char *antenna, uint64_t seq)
{
	size_t n = strlen(antenna);

	k[0] = 'f';
	memcpy(k + 1, antenna, n);
	k[1 + n] = 0;
	rl_put_be64(k + 2 + n, seq);
	return 2 + n + 8;
}

/* An antenna write's value as an antenna code into out: only a value that
 * is a valid code as a whole (no truncation, no NUL inside) names one; out
 * is empty otherwise. Ownership, scope and erasure all read values so. */
static bool
antenna_of(rl_bytes v, char out[RL_ANTENNA_MAX + 1])
{
	out[0] = '\0';
	if (v.len == 0 || v.len > RL_ANTENNA_MAX || memchr(v.p, '\0', v.len) != NULL)
		return false;
	memcpy(out, v.p, v.len);
	out[v.len] = '\0';
	if (rl_antenna_valid(out))
		return true;
	out[0] = '\0';
	return false;
}

/* The displayed antenna of a record into out (empty if none). */
static void
record_antenna(const rl_record *rec, char out[RL_ANTENNA_MAX + 1])
{
	antenna_of(rl_record_get(rec, RL_F_ANTENNA), out);
}

/* Whether op is an antenna write naming antenna. */
static bool
names_antenna(const rl_op *op, const char *antenna)
{
	char a[RL_ANTENNA_MAX + 1];

	return op->kind == RL_OP_REG && op->field == RL_F_ANTENNA && antenna_of(op->value, a) &&
	       strcmp(a, antenna) == 0;
}

/* Whether the situation was ever assigned to antenna: some antenna write
 * the state holds (superseded ones included) names it. */
static bool
record_had_antenna(const rl_record *rec, const char *antenna)
{
	for (size_t i = 0; i < rec->nops; i++)
		if (names_antenna(rec->ops[i], antenna))
			return true;
	return false;
}

/* The distinct valid antennas the situation was ever assigned to, into a
 * heap array (free() it). */
static rl_err
record_antennas(const rl_record *rec, char (**out)[RL_ANTENNA_MAX + 1], size_t *n)
{
	char (*ants)[RL_ANTENNA_MAX + 1] = NULL;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < rec->nops; i++) {
		const rl_op *op = rec->ops[i];
		char a[RL_ANTENNA_MAX + 1];
		bool seen = false;
		void *p;

		if (op->kind != RL_OP_REG || op->field != RL_F_ANTENNA || !antenna_of(op->value, a))
			continue;
		for (size_t k = 0; k < *n && !seen; k++)
			seen = strcmp(ants[k], a) == 0;
		if (seen)
			continue;
		if ((p = realloc(ants, (*n + 1) * sizeof(*ants))) == NULL) {
			free(ants);
			*n = 0;
			return RL_ENOMEM;
		}
		ants = p;
		memcpy(ants[(*n)++], a, sizeof(a));
	}
	*out = ants;
	return RL_OK;
}

/* ---- ingest ---- */

static int
op_sit_cmp(const void *a, const void *b)
{
	const rl_op *x = *(const rl_op *const *)a, *y = *(const rl_op *const *)b;
	int c = memcmp(x->sit, y->sit, RL_SIT_BYTES);

	if (c != 0)
		return c;
	return x < y ? -1 : x > y; /* keep the pushed order within a situation */
}

/* Pointers to ops sorted by situation (heap array, free() it). */
static const rl_op **
ops_by_sit(const rl_op *ops, size_t n)
{
	const rl_op **v = malloc((n + 1) * sizeof(*v));

	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		v[i] = &ops[i];
	qsort(v, n, sizeof(*v), op_sit_cmp);
	return v;
}

/* The per-change bounds of a change-set: author, counter, clock. */
static rl_err
check_ops(rl_hub *hub, const rl_device *dev, const rl_op *ops, size_t n, uint64_t now)
{
	for (size_t k = 0; k < n; k++) {
		if (memcmp(ops[k].id.dev, dev->pk, RL_DEV_BYTES) != 0)
			return RL_EPERM;
		if (ops[k].id.ctr == 0)
			return RL_EINVAL;
		if (rl_hlc_ms(ops[k].hlc) > now + hub->skew_ms)
			return RL_ECLOCK;
		/* An antenna write must name an antenna code: ownership, scope
		 * and erasure routing all read it. */
		if (ops[k].kind == RL_OP_REG && ops[k].field == RL_F_ANTENNA) {
			char a[RL_ANTENNA_MAX + 1];

			if (!antenna_of(ops[k].value, a))
				return RL_EINVAL;
		}
	}
	return RL_OK;
}

/* Whether id names one of the n changes v (all of one situation). */
static bool
ops_have(const rl_op **v, size_t n, const rl_opid *id)
{
	for (size_t k = 0; k < n; k++)
		if (rl_opid_cmp(&v[k]->id, id) == 0)
			return true;
	return false;
}

/*
 * Whether dev may write the situation's n changes v (sorted by situation,
 * all of one situation) given its state rec as it stands: RL_EPERM when
 * outside the device's scope, RL_ETOOBIG when the record would overflow.
 */
static rl_err
check_sit(const rl_device *dev, const rl_record *rec, const rl_op **v, size_t n)
{
	char owner[RL_ANTENNA_MAX + 1];
	const rl_op *first = NULL;

	record_antenna(rec, owner);
	/* A change-set that would overflow a record is refused alone, here,
	 * rather than failing the whole commit group later. */
	if (rec->nops + n > RL_MAX_RECORD_OPS)
		return RL_ETOOBIG;
	if (rec->erased)
		return RL_OK; /* late changes to an erased situation: accepted, dropped */
	if (owner[0] != '\0') {
		/* Any device that had the situation (it was assigned to its
		 * antenna at some point) may still write to it: late offline
		 * work is not lost after a reassignment. */
		if (dev->role != RL_ROLE_HQ && !record_had_antenna(rec, dev->antenna))
			return RL_EPERM;
		return RL_OK;
	}
	/*
	 * No owner: only the opening may write, so that no state ever exists
	 * without an owner (feeds route by owner). The client writes a new
	 * situation's antenna first, so the first change-set that carries the
	 * situation carries it. Its first antenna value must be the device's
	 * own antenna unless the device is hq (a later one in the same set may
	 * reassign it), and it may supersede only changes the server holds or
	 * the set carries: a reassignment resent after a server restore, before
	 * the opening it supersedes, waits for it. Other devices' writes wait
	 * likewise (the client still pulls meanwhile). An erasure needs no
	 * opening: a situation erased before it was ever pushed leaves only
	 * its tombstone in the device's outbox.
	 */
	for (size_t k = 0; k < n; k++) {
		if (v[k]->kind == RL_OP_ERASE)
			return RL_OK;
		/* The first by the author's counter, not by clock: every
		 * change of the set is the pusher's (check_ops), and a clock
		 * repair restamps some of them out of their order. */
		if (v[k]->kind == RL_OP_REG && v[k]->field == RL_F_ANTENNA &&
		    (first == NULL || v[k]->id.ctr < first->id.ctr))
			first = v[k];
	}
	if (first == NULL)
		return RL_EPERM;
	if (dev->role != RL_ROLE_HQ && !names_antenna(first, dev->antenna))
		return RL_EPERM;
	for (uint32_t r = 0; r < first->nrefs; r++)
		if (rl_record_find(rec, &first->refs[r]) == NULL && !ops_have(v, n, &first->refs[r]))
			return RL_EPERM;
	return RL_OK;
}

/* A change as the log and the feeds refer to it: situation, clock and id.
 * The change itself stays in the situation's state, so an erasure, which
 * purges the state, leaves nothing of it behind. */
#define REF_BYTES (RL_SIT_BYTES + 8 + RL_DEV_BYTES + 8)

static void
ref_make(uint8_t ref[REF_BYTES], const rl_op *op)
{
	memcpy(ref, op->sit, RL_SIT_BYTES);
	rl_put_be64(ref + RL_SIT_BYTES, op->hlc);
	memcpy(ref + RL_SIT_BYTES + 8, op->id.dev, RL_DEV_BYTES);
	rl_put_be64(ref + RL_SIT_BYTES + 8 + RL_DEV_BYTES, op->id.ctr);
}

static rl_err
feed_put(rl_hub *hub, rl_txn *txn, const char *antenna, uint8_t tag, const uint8_t *ref,
         size_t reflen)
{
	uint8_t key[KEY_MAX], val[1 + REF_BYTES];

	if (antenna[0] == '\0')
		return RL_OK;
	val[0] = tag;
	memcpy(val + 1, ref, reflen);
	hub->seq++;
	return rl_store_put(txn, RL_T_INDEX, RL_BYTES(key, key_feed(key, antenna, hub->seq)),
	                    RL_BYTES(val, 1 + reflen));
}

/* Sends every change the state holds to antenna's feed, tagged 'C' (copies
 * for a new owner) or 'P' (first routing of a new situation). */
static rl_err
feed_copy_all(rl_hub *hub, rl_txn *txn, const rl_record *rec, const char *antenna, uint8_t tag)
{
	uint8_t ref[REF_BYTES];
	rl_err e = RL_OK;

	for (size_t i = 0; i < rec->nops && e == RL_OK; i++) {
		ref_make(ref, rec->ops[i]);
		e = feed_put(hub, txn, antenna, tag, ref, REF_BYTES);
	}
	return e;
}

/* The erase goes to every antenna the situation was ever assigned to
 * (ants, collected before the erase purged the state). */
static rl_err
feed_erase(rl_hub *hub, rl_txn *txn, const rl_op *erase, char (*ants)[RL_ANTENNA_MAX + 1],
           size_t n)
{
	uint8_t ref[REF_BYTES];
	rl_err e = RL_OK;

	ref_make(ref, erase);
	for (size_t i = 0; e == RL_OK && i < n; i++)
		e = feed_put(hub, txn, ants[i], 'P', ref, REF_BYTES);
	return e;
}

/* Appends a change to the global log (what hq devices read). */
static rl_err
log_put(rl_hub *hub, rl_txn *txn, const rl_op *op)
{
	uint8_t key[8], ref[REF_BYTES];

	ref_make(ref, op);
	hub->seq++;
	rl_put_be64(key, hub->seq);
	/* Sequence numbers only grow: always past the log's last entry. */
	return rl_store_append(txn, RL_T_LOG, RL_BYTES(key, 8), RL_BYTES(ref, REF_BYTES));
}

/* Merges one situation's ops into its state rec (as loaded; consumed) and
 * routes each change to the feeds. */
static rl_err
apply_sit(rl_hub *hub, rl_txn *txn, const rl_op **v, size_t n, rl_record *prec,
          size_t *applied)
{
	char before[RL_ANTENNA_MAX + 1], after[RL_ANTENNA_MAX + 1];
	rl_record rec = *prec;
	bool dirty = false;
	rl_err e = RL_OK;

	record_antenna(&rec, before);
	for (size_t i = 0; i < n; i++) {
		char (*ants)[RL_ANTENNA_MAX + 1] = NULL;
		size_t nants = 0;
		uint8_t ref[REF_BYTES];
		bool changed;

		/* An erase purges the antenna writes that say whom to tell. */
		if (v[i]->kind == RL_OP_ERASE && !rec.erased &&
		    (e = record_antennas(&rec, &ants, &nants)) != RL_OK)
			goto out;
		if ((e = rl_record_apply(&rec, v[i], &changed)) != RL_OK || !changed) {
			free(ants);
			if (e != RL_OK)
				goto out;
			continue;
		}
		dirty = true;
		if ((e = log_put(hub, txn, v[i])) != RL_OK) {
			free(ants);
			goto out;
		}
		(*applied)++;
		if (rec.erased) {
			e = feed_erase(hub, txn, rec.ops[0], ants, nants);
			free(ants);
			if (e != RL_OK)
				goto out;
			continue;
		}
		free(ants);
		record_antenna(&rec, after);
		ref_make(ref, v[i]);
		if (strcmp(before, after) == 0) {
			e = feed_put(hub, txn, after, 'P', ref, REF_BYTES);
		} else if (before[0] == '\0') {
			/* The situation now has an owner: it gets everything so far
			 * (changes made before the antenna was written included). */
			e = feed_copy_all(hub, txn, &rec, after, 'P');
		} else {
			/* Reassigned: the old antenna drops it, the new one gets all. */
			if ((e = feed_put(hub, txn, before, 'D', rec.sit, RL_SIT_BYTES)) == RL_OK)
				e = feed_copy_all(hub, txn, &rec, after, 'C');
		}
		if (e != RL_OK)
			goto out;
		memcpy(before, after, sizeof(before));
	}
	if (dirty)
		e = rl_state_save(txn, &rec);
out:
	rl_record_fini(&rec);
	return e;
}

/* States loaded by the check and kept for the merge, up to this many
 * operations in all; past it a state is loaded again (memory stays bounded
 * whatever the records' sizes). */
#define PUSH_KEEP_OPS (256 * 1024)

rl_err
rl_hub_push(rl_hub *hub, rl_txn *txn, rl_device *dev, const rl_op *ops, size_t n, uint64_t now,
            rl_err *refused, size_t *applied, uint64_t *upto)
{
	const rl_op **v = NULL;
	rl_record *recs = NULL;
	bool *kept = NULL;
	size_t ngroups = 0, keep_ops = 0, i, j, g;
	rl_buf sits;
	rl_err e = RL_OK;

	*refused = RL_OK;
	*applied = 0;
	*upto = 0;
	rl_buf_init(&sits);
	if ((*refused = check_ops(hub, dev, ops, n, now)) != RL_OK)
		return RL_OK;
	for (size_t k = 0; k < n; k++)
		if (ops[k].id.ctr > *upto)
			*upto = ops[k].id.ctr;
	if ((v = ops_by_sit(ops, n)) == NULL || (recs = malloc((n + 1) * sizeof(*recs))) == NULL ||
	    (kept = calloc(n + 1, sizeof(*kept))) == NULL) {
		e = RL_ENOMEM;
		goto out;
	}
	/* The check, per situation, against its state as it stands: nothing is
	 * written unless every situation passes. */
	for (i = 0, j = 0; i < n; i = j, ngroups++) {
		while (j < n && memcmp(v[j]->sit, v[i]->sit, RL_SIT_BYTES) == 0)
			j++;
		if ((e = rl_state_load(txn, v[i]->sit, &recs[ngroups])) != RL_OK &&
		    e != RL_ENOTFOUND) {
			/* A state that does not load (damaged, no memory) refuses
			 * this change-set only, not the commit group. */
			*refused = e;
			e = RL_OK;
			goto out;
		}
		e = RL_OK;
		*refused = check_sit(dev, &recs[ngroups], &v[i], j - i);
		if (*refused == RL_OK && keep_ops + recs[ngroups].nops <= PUSH_KEEP_OPS) {
			keep_ops += recs[ngroups].nops;
			kept[ngroups] = true;
		} else
			rl_record_fini(&recs[ngroups]);
		if (*refused != RL_OK)
			goto out;
	}
	/* The merge and the routing. */
	for (i = 0, j = 0, g = 0; i < n && e == RL_OK; i = j, g++) {
		while (j < n && memcmp(v[j]->sit, v[i]->sit, RL_SIT_BYTES) == 0)
			j++;
		if (!kept[g] && (e = rl_state_load(txn, v[i]->sit, &recs[g])) != RL_OK &&
		    e != RL_ENOTFOUND)
			break;
		kept[g] = false; /* apply_sit consumes it */
		if ((e = apply_sit(hub, txn, &v[i], j - i, &recs[g], applied)) == RL_OK)
			e = rl_buf_append(&sits, v[i]->sit, RL_SIT_BYTES);
	}
	if (e == RL_OK) {
		dev->changes += *applied;
		dev->last_seen_ms = now;
		if ((e = rl_hub_device_put(txn, dev)) == RL_OK)
			e = rl_hub_audit(hub, txn, now, dev->pk, "push", *applied, rl_buf_view(&sits));
	}
out:
	for (g = 0; kept != NULL && g < ngroups; g++)
		if (kept[g])
			rl_record_fini(&recs[g]);
	free(v);
	free(recs);
	free(kept);
	rl_buf_fini(&sits);
	if (*refused != RL_OK)
		*applied = 0;
	return e;
}

/* ---- pull ---- */

/* Decoded states kept while a pull walks the log: consecutive references
 * mostly name the same few situations. Direct-mapped by the id's first byte. */
#define PULL_CACHE 64

typedef struct pull_cache {
	rl_record rec[PULL_CACHE];
	bool used[PULL_CACHE];
} pull_cache;

static rl_err
cache_get(pull_cache *pc, rl_txn *txn, const uint8_t sit[RL_SIT_BYTES], const rl_record **out)
{
	size_t slot = sit[0] % PULL_CACHE;
	rl_err e;

	if (pc->used[slot] && memcmp(pc->rec[slot].sit, sit, RL_SIT_BYTES) == 0) {
		*out = &pc->rec[slot];
		return RL_OK;
	}
	if (pc->used[slot])
		rl_record_fini(&pc->rec[slot]);
	pc->used[slot] = false;
	e = rl_state_load(txn, sit, &pc->rec[slot]);
	if (e != RL_OK && e != RL_ENOTFOUND) {
		rl_record_fini(&pc->rec[slot]);
		return e;
	}
	pc->used[slot] = true;
	*out = &pc->rec[slot];
	return RL_OK;
}

static void
cache_fini(pull_cache *pc)
{
	for (size_t i = 0; i < PULL_CACHE; i++)
		if (pc->used[i])
			rl_record_fini(&pc->rec[i]);
}

static int
sit_cmp(const void *a, const void *b)
{
	return memcmp(a, b, RL_SIT_BYTES);
}

/* Sorts and dedups a buffer of 16-byte situation ids. */
static void
sits_unique(rl_buf *sits)
{
	size_t n = sits->len / RL_SIT_BYTES, u = 0;

	if (n == 0)
		return; /* data may be NULL, which qsort must not get (UBSan) */
	qsort(sits->data, n, RL_SIT_BYTES, sit_cmp);
	for (size_t i = 0; i < n; i++)
		if (u == 0 || memcmp(sits->data + (u - 1) * RL_SIT_BYTES,
		                     sits->data + i * RL_SIT_BYTES, RL_SIT_BYTES) != 0)
			memmove(sits->data + u++ * RL_SIT_BYTES, sits->data + i * RL_SIT_BYTES,
			        RL_SIT_BYTES);
	sits->len = u * RL_SIT_BYTES;
}

/*
 * Appends the change a reference names, if it still exists (an erasure
 * removes it from the state) and, for 'P' references, if the puller did not
 * write it. *sent tells whether something was appended.
 */
static rl_err
pull_ref(pull_cache *pc, rl_txn *txn, const rl_device *dev, uint8_t tag, const uint8_t *ref,
         rl_buf *entries, rl_buf *sits, bool *sent)
{
	const rl_record *rec;
	const rl_op *op;
	rl_opid id;
	rl_mpw w;
	rl_err e;

	*sent = false;
	memcpy(id.dev, ref + RL_SIT_BYTES + 8, RL_DEV_BYTES);
	id.ctr = rl_get_be64(ref + RL_SIT_BYTES + 8 + RL_DEV_BYTES);
	if (tag == 'P' && memcmp(id.dev, dev->pk, RL_DEV_BYTES) == 0)
		return RL_OK;
	if ((e = cache_get(pc, txn, ref, &rec)) != RL_OK)
		return e;
	if (dev->role != RL_ROLE_HQ && !rec->erased) {
		char owner[RL_ANTENNA_MAX + 1];

		/* Need-to-know: a feed still holds the changes of a situation
		 * reassigned away since; they are not sent (a device that holds
		 * it drops it at the 'D' further on, and one enrolled after the
		 * move never sees its content). An erasure always goes out. */
		record_antenna(rec, owner);
		if (strcmp(owner, dev->antenna) != 0)
			return RL_OK;
	}
	if ((op = rl_record_lookup(rec, rl_get_be64(ref + RL_SIT_BYTES), &id)) == NULL)
		return RL_OK;
	rl_mpw_init(&w, entries);
	rl_op_encode(&w, op, true);
	if ((e = rl_mpw_err(&w)) != RL_OK)
		return e;
	*sent = true;
	return rl_buf_append(sits, ref, RL_SIT_BYTES);
}

rl_err
rl_hub_pull(rl_hub *hub, const rl_device *dev, uint64_t cursor, uint32_t max, rl_buf *out,
            rl_buf *sits)
{
	bool hq = dev->role == RL_ROLE_HQ, more = false;
	uint8_t start[KEY_MAX];
	size_t plen, klen;
	uint64_t next = cursor;
	uint32_t count = 0;
	pull_cache *pc;
	rl_txn *txn = NULL;
	rl_cursor *c = NULL;
	rl_buf entries, val;
	rl_bytes k;
	rl_err e;

	if ((pc = calloc(1, sizeof(*pc))) == NULL)
		return RL_ENOMEM;
	rl_buf_init(&entries);
	rl_buf_init(&val);
	if ((e = rl_store_begin(hub->st, false, &txn)) != RL_OK)
		goto out;
	/* hq devices read the global log (plain be64 keys), the others their
	 * antenna's feed (a prefix, then be64). */
	if (hq) {
		rl_put_be64(start, cursor + 1);
		klen = 8;
	} else
		klen = key_feed(start, dev->antenna, cursor + 1);
	plen = klen - 8;
	if ((e = rl_cursor_open(txn, hq ? RL_T_LOG : RL_T_INDEX, &c)) != RL_OK)
		goto out;
	for (e = rl_cursor_seek(c, RL_BYTES(start, klen), &k, &val); e == RL_OK;
	     e = rl_cursor_next(c, &k, &val)) {
		bool sent = false;

		if (k.len != plen + 8 || memcmp(k.p, start, plen) != 0)
			break;
		if (count >= max || entries.len >= RL_BATCH_MAX_BYTES) {
			more = true;
			break;
		}
		next = rl_get_be64(k.p + plen);
		if (hq && val.len == REF_BYTES)
			e = pull_ref(pc, txn, dev, 'P', val.data, &entries, sits, &sent);
		else if (!hq && val.len == 1 + RL_SIT_BYTES && val.data[0] == 'D') {
			e = rl_msg_pull_ok_drop(&entries, val.data + 1);
			sent = true;
		} else if (!hq && val.len == 1 + REF_BYTES && (val.data[0] == 'P' || val.data[0] == 'C'))
			e = pull_ref(pc, txn, dev, val.data[0], val.data + 1, &entries, sits, &sent);
		else
			e = RL_ECORRUPT;
		if (e != RL_OK)
			break;
		/* After the first entry, room for a full answer at this entry's
		 * size (within the bounds): the buffer then grows once instead of
		 * doubling a dozen times, each a copy and fresh pages. A pull with
		 * nothing to send reserves nothing. */
		if (sent && count == 0 && entries.len > 0) {
			uint64_t want = (uint64_t)entries.len *
			                (max < RL_PULL_MAX_ENTRIES ? max : RL_PULL_MAX_ENTRIES);

			if (want > RL_BATCH_MAX_BYTES + 64 * 1024)
				want = RL_BATCH_MAX_BYTES + 64 * 1024;
			if ((e = rl_buf_reserve(&entries, (size_t)want)) != RL_OK)
				break;
		}
		count += sent;
	}
	if (e == RL_ENOTFOUND)
		e = RL_OK;
	if (e != RL_OK)
		goto out;
	sits_unique(sits);
	if ((e = rl_msg_pull_ok_begin(out, next, more, count)) == RL_OK)
		e = rl_buf_append(out, entries.data, entries.len);
out:
	rl_cursor_close(c);
	rl_store_abort(txn);
	cache_fini(pc);
	free(pc);
	rl_buf_fini(&entries);
	rl_buf_fini(&val);
	return e;
}
