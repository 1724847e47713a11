/*
 * record.c - the situation record as a sorted set of operations.
 *
 * The state is the set of operations seen, sorted by (hlc, device, counter)
 * in an array of pointers; applying is a binary search and an insertion, so
 * merging is set union and the order of arrival cannot matter. Views
 * (registers, sets, journal, alerts) are computed from the set when asked:
 * records hold tens of operations, so quadratic scans over one record are
 * cheaper than keeping indexes consistent, and there is nothing derived to
 * get out of step.
 *
 * The erase rule keeps union semantics: an erased record holds exactly one
 * operation, the smallest erase it has seen, and ignores everything else. Any
 * two replicas that saw the same operations thus keep the same smallest
 * erase, whatever the order.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "record.h"

static const char *const field_names[] = {
	[RL_F_KIND] = "kind",
	[RL_F_STATUS] = "status",
	[RL_F_CONSENT] = "consent",
	[RL_F_ANTENNA] = "antenna",
	[RL_F_INITIALS] = "initials",
	[RL_F_SEX] = "sex",
	[RL_F_AGE] = "age",
	[RL_F_COMMUNE] = "commune",
	[RL_F_LIVING] = "living",
	[RL_F_HISTORY] = "history",
	[RL_F_EVOLUTION] = "evolution",
	[RL_F_OPENED] = "opened",
	[RL_F_CLOSE_REASON] = "close_reason",
	[RL_F_CLOSED] = "closed",
	[RL_F_ALERT_DUE] = "due",
	[RL_F_ALERT_TEXT] = "text",
	[RL_F_ALERT_DONE] = "done",
};

static const char *const jtype_names[] = {
	[RL_J_VAD] = "vad",
	[RL_J_APPEL] = "appel",
	[RL_J_REUNION] = "reunion",
	[RL_J_ORIENTATION] = "orientation",
	[RL_J_NOTE] = "note",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *
rl_field_name(uint8_t f)
{
	return f < NELEM(field_names) && field_names[f] ? field_names[f] : "?";
}

uint8_t
rl_field_parse(const char *s)
{
	for (size_t i = 1; i < NELEM(field_names); i++)
		if (field_names[i] && strcmp(field_names[i], s) == 0)
			return (uint8_t)i;
	return 0;
}

const char *
rl_jtype_name(uint8_t t)
{
	return t < NELEM(jtype_names) && jtype_names[t] ? jtype_names[t] : "?";
}

uint8_t
rl_jtype_parse(const char *s)
{
	for (size_t i = 1; i < NELEM(jtype_names); i++)
		if (jtype_names[i] && strcmp(jtype_names[i], s) == 0)
			return (uint8_t)i;
	return 0;
}

/* ---- dates ---- */

static unsigned
days_in_month(unsigned y, unsigned m)
{
	static const unsigned d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : d[m - 1];
}

bool
rl_date_valid(uint32_t ymd)
{
	unsigned y = ymd / 10000, m = ymd / 100 % 100, d = ymd % 100;

	return y >= 1900 && y <= 2999 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

rl_err
rl_date_parse(const char *s, size_t len, uint32_t *ymd)
{
	uint32_t v = 0;

	if (len != 10 || s[4] != '-' || s[7] != '-')
		return RL_EINVAL;
	for (size_t i = 0; i < 10; i++) {
		if (i == 4 || i == 7)
			continue;
		if (s[i] < '0' || s[i] > '9')
			return RL_EINVAL;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (!rl_date_valid(v))
		return RL_EINVAL;
	*ymd = v;
	return RL_OK;
}

uint32_t
rl_date_today(void)
{
	time_t now = time(NULL);
	struct tm tm;

	if (localtime_r(&now, &tm) == NULL)
		return 20000101;
	return (uint32_t)(tm.tm_year + 1900) * 10000 + (uint32_t)(tm.tm_mon + 1) * 100 +
	       (uint32_t)tm.tm_mday;
}

void
rl_date_format(uint32_t ymd, char out[11])
{
	static const char digits[] = "0123456789";
	uint32_t y = ymd / 10000 % 10000, m = ymd / 100 % 100, d = ymd % 100;

	out[0] = digits[y / 1000];
	out[1] = digits[y / 100 % 10];
	out[2] = digits[y / 10 % 10];
	out[3] = digits[y % 10];
	out[4] = '-';
	out[5] = digits[m / 10];
	out[6] = digits[m % 10];
	out[7] = '-';
	out[8] = digits[d / 10];
	out[9] = digits[d % 10];
	out[10] = '\0';
}

/* ---- operations ---- */

int
rl_opid_cmp(const rl_opid *a, const rl_opid *b)
{
	int c = memcmp(a->dev, b->dev, RL_DEV_BYTES);

	if (c != 0)
		return c;
	return a->ctr < b->ctr ? -1 : a->ctr > b->ctr;
}

int
rl_op_cmp(const rl_op *a, const rl_op *b)
{
	if (a->hlc != b->hlc)
		return a->hlc < b->hlc ? -1 : 1;
	return rl_opid_cmp(&a->id, &b->id);
}

static bool
is_situation_field(uint8_t f)
{
	return f >= RL_F_KIND && f < RL_F__SITUATION_END;
}

static bool
is_alert_field(uint8_t f)
{
	return f >= RL_F_ALERT_DUE && f < RL_F__ALERT_END;
}

rl_err
rl_op_validate(const rl_op *op)
{
	switch (op->kind) {
	case RL_OP_REG:
		if (op->has_target ? !is_alert_field(op->field) : !is_situation_field(op->field))
			return RL_EINVAL;
		if (op->date != 0)
			return RL_EINVAL;
		if (op->value.len > RL_MAX_VALUE || op->nrefs > RL_MAX_REFS)
			return RL_ETOOBIG;
		return RL_OK;
	case RL_OP_ADD:
	case RL_OP_REM:
		if (op->field < RL_SET_PROBLEMS || op->field >= RL_SET__END || op->has_target ||
		    op->date != 0 || op->value.len == 0)
			return RL_EINVAL;
		if (op->value.len > RL_MAX_ELEM || op->nrefs > RL_MAX_REFS)
			return RL_ETOOBIG;
		if ((op->kind == RL_OP_ADD) != (op->nrefs == 0))
			return RL_EINVAL;
		return RL_OK;
	case RL_OP_JOURNAL:
		if (op->field < RL_J_VAD || op->field >= RL_J__END || !rl_date_valid(op->date) ||
		    op->nrefs != 0)
			return RL_EINVAL;
		return op->value.len > RL_MAX_VALUE ? RL_ETOOBIG : RL_OK;
	case RL_OP_ALERT:
		if (op->field != 0 || op->has_target || !rl_date_valid(op->date) || op->nrefs != 0)
			return RL_EINVAL;
		return op->value.len > RL_MAX_VALUE ? RL_ETOOBIG : RL_OK;
	case RL_OP_ERASE:
		if (op->field != 0 || op->has_target || op->date != 0 || op->value.len != 0 ||
		    op->nrefs != 0)
			return RL_EINVAL;
		return RL_OK;
	default:
		return RL_EINVAL;
	}
}

static void
opid_encode(rl_mpw *w, const rl_opid *id)
{
	rl_mpw_array(w, 2);
	rl_mpw_bin(w, id->dev, RL_DEV_BYTES);
	rl_mpw_uint(w, id->ctr);
}

static rl_err
opid_decode(rl_mpr *r, rl_opid *id)
{
	rl_mpr_array_n(r, 2);
	rl_mpr_bin_n(r, RL_DEV_BYTES, id->dev);
	return rl_mpr_uint(r, UINT64_MAX, &id->ctr);
}

void
rl_op_encode(rl_mpw *w, const rl_op *op, bool with_sit)
{
	rl_mpw_array(w, with_sit ? 10 : 9);
	if (with_sit)
		rl_mpw_bin(w, op->sit, RL_SIT_BYTES);
	rl_mpw_bin(w, op->id.dev, RL_DEV_BYTES);
	rl_mpw_uint(w, op->id.ctr);
	rl_mpw_uint(w, op->hlc);
	rl_mpw_uint(w, op->kind);
	rl_mpw_uint(w, op->field);
	if (op->has_target)
		opid_encode(w, &op->target);
	else
		rl_mpw_nil(w);
	rl_mpw_uint(w, op->date);
	rl_mpw_bin(w, op->value.p, op->value.len);
	rl_mpw_array(w, op->nrefs);
	for (uint32_t i = 0; i < op->nrefs; i++)
		opid_encode(w, &op->refs[i]);
}

rl_err
rl_op_decode(rl_mpr *r, rl_op *op, rl_opid *scratch, bool with_sit)
{
	uint64_t v;
	uint32_t n;
	bool nil = true; /* rl_mpr_nil leaves it unset once r has failed */

	rl_mpr_array_n(r, with_sit ? 10 : 9);
	if (with_sit)
		rl_mpr_bin_n(r, RL_SIT_BYTES, op->sit);
	rl_mpr_bin_n(r, RL_DEV_BYTES, op->id.dev);
	rl_mpr_uint(r, UINT64_MAX, &op->id.ctr);
	rl_mpr_uint(r, UINT64_MAX, &op->hlc);
	if (rl_mpr_uint(r, 255, &v) == RL_OK)
		op->kind = (uint8_t)v;
	if (rl_mpr_uint(r, 255, &v) == RL_OK)
		op->field = (uint8_t)v;
	rl_mpr_nil(r, &nil);
	op->has_target = !nil;
	if (!nil)
		opid_decode(r, &op->target);
	else
		memset(&op->target, 0, sizeof(op->target));
	if (rl_mpr_uint(r, UINT32_MAX, &v) == RL_OK)
		op->date = (uint32_t)v;
	rl_mpr_bin(r, RL_MAX_VALUE, &op->value);
	if (rl_mpr_array(r, RL_MAX_REFS, &n) != RL_OK)
		return r->err;
	for (uint32_t i = 0; i < n; i++)
		if (opid_decode(r, &scratch[i]) != RL_OK)
			return r->err;
	op->nrefs = n;
	op->refs = scratch;
	if (r->err != RL_OK)
		return r->err;
	return rl_op_validate(op);
}

rl_op *
rl_op_dup(const rl_op *op)
{
	size_t refs = (size_t)op->nrefs * sizeof(rl_opid);
	rl_op *o = malloc(sizeof(*o) + refs + op->value.len);
	uint8_t *tail;

	if (o == NULL)
		return NULL;
	*o = *op;
	tail = (uint8_t *)(o + 1);
	if (refs) {
		memcpy(tail, op->refs, refs);
		o->refs = (const rl_opid *)(void *)tail;
	} else
		o->refs = NULL;
	if (op->value.len)
		memcpy(tail + refs, op->value.p, op->value.len);
	o->value.p = op->value.len ? tail + refs : NULL;
	return o;
}

static void
op_free(rl_op *op)
{
	if (op == NULL)
		return;
	rl_wipe(op, sizeof(*op) + (size_t)op->nrefs * sizeof(rl_opid) + op->value.len);
	free(op);
}

/* ---- records ---- */

void
rl_record_init(rl_record *rec, const uint8_t sit[RL_SIT_BYTES])
{
	memcpy(rec->sit, sit, RL_SIT_BYTES);
	rec->erased = false;
	rec->nops = 0;
	rec->cap = 0;
	rec->ops = NULL;
}

static void
record_purge(rl_record *rec)
{
	for (size_t i = 0; i < rec->nops; i++)
		op_free(rec->ops[i]);
	rec->nops = 0;
}

void
rl_record_fini(rl_record *rec)
{
	if (rec == NULL)
		return;
	record_purge(rec);
	free(rec->ops);
	rec->ops = NULL;
	rec->cap = 0;
}

/* Index of the first op >= op; *found tells whether it is equal. */
static size_t
record_search(const rl_record *rec, const rl_op *op, bool *found)
{
	size_t lo = 0, hi = rec->nops;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rl_op_cmp(rec->ops[mid], op) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < rec->nops && rl_op_cmp(rec->ops[lo], op) == 0;
	return lo;
}

static rl_err
record_reserve(rl_record *rec, size_t n)
{
	rl_op **p;
	size_t cap;

	if (n <= rec->cap)
		return RL_OK;
	cap = rec->cap ? rec->cap * 2 : 8;
	while (cap < n)
		cap *= 2;
	if ((p = realloc(rec->ops, cap * sizeof(*p))) == NULL)
		return RL_ENOMEM;
	rec->ops = p;
	rec->cap = cap;
	return RL_OK;
}

const rl_op *
rl_record_lookup(const rl_record *rec, rl_hlc hlc, const rl_opid *id)
{
	rl_op key;
	bool found;
	size_t at;

	key.hlc = hlc;
	key.id = *id;
	at = record_search(rec, &key, &found);
	return found ? rec->ops[at] : NULL;
}

bool
rl_record_has(const rl_record *rec, const rl_op *op)
{
	bool found;

	record_search(rec, op, &found);
	return found;
}

rl_err
rl_record_apply(rl_record *rec, const rl_op *op, bool *changed)
{
	bool found, dummy;
	size_t at;
	rl_op *copy;
	rl_err e;

	if (changed == NULL)
		changed = &dummy;
	*changed = false;
	if (memcmp(op->sit, rec->sit, RL_SIT_BYTES) != 0)
		return RL_EINVAL;
	if ((e = rl_op_validate(op)) != RL_OK)
		return e;
	if (rec->erased) {
		/* Keep only the smallest erase; everything else is ignored. */
		if (op->kind != RL_OP_ERASE || rl_op_cmp(op, rec->ops[0]) >= 0)
			return RL_OK;
		if ((copy = rl_op_dup(op)) == NULL)
			return RL_ENOMEM;
		op_free(rec->ops[0]);
		rec->ops[0] = copy;
		*changed = true;
		return RL_OK;
	}
	if (op->kind == RL_OP_ERASE) {
		if ((e = record_reserve(rec, 1)) != RL_OK)
			return e;
		if ((copy = rl_op_dup(op)) == NULL)
			return RL_ENOMEM;
		record_purge(rec);
		rec->ops[0] = copy;
		rec->nops = 1;
		rec->erased = true;
		*changed = true;
		return RL_OK;
	}
	at = record_search(rec, op, &found);
	if (found)
		return RL_OK;
	if (rec->nops >= RL_MAX_RECORD_OPS)
		return RL_ETOOBIG;
	if ((e = record_reserve(rec, rec->nops + 1)) != RL_OK)
		return e;
	if ((copy = rl_op_dup(op)) == NULL)
		return RL_ENOMEM;
	memmove(&rec->ops[at + 1], &rec->ops[at], (rec->nops - at) * sizeof(rec->ops[0]));
	rec->ops[at] = copy;
	rec->nops++;
	*changed = true;
	return RL_OK;
}

rl_err
rl_record_restamp(rl_record *rec, rl_hlc hlc, const rl_opid *id, rl_hlc new_hlc)
{
	rl_op key, *op;
	bool found;
	size_t at;

	key.hlc = hlc;
	key.id = *id;
	at = record_search(rec, &key, &found);
	if (!found)
		return RL_ENOTFOUND;
	op = rec->ops[at];
	memmove(&rec->ops[at], &rec->ops[at + 1], (rec->nops - at - 1) * sizeof(rec->ops[0]));
	rec->nops--;
	op->hlc = new_hlc;
	at = record_search(rec, op, &found);
	memmove(&rec->ops[at + 1], &rec->ops[at], (rec->nops - at) * sizeof(rec->ops[0]));
	rec->ops[at] = op;
	rec->nops++;
	return RL_OK;
}

rl_err
rl_record_merge(rl_record *rec, const rl_record *src)
{
	rl_err e;

	for (size_t i = 0; i < src->nops; i++)
		if ((e = rl_record_apply(rec, src->ops[i], NULL)) != RL_OK)
			return e;
	return RL_OK;
}

rl_err
rl_record_encode(const rl_record *rec, rl_buf *out)
{
	rl_mpw w;

	rl_mpw_init(&w, out);
	rl_mpw_array(&w, 4);
	rl_mpw_uint(&w, RL_RECORD_VERSION);
	rl_mpw_bin(&w, rec->sit, RL_SIT_BYTES);
	rl_mpw_bool(&w, rec->erased);
	rl_mpw_array(&w, (uint32_t)rec->nops);
	for (size_t i = 0; i < rec->nops; i++)
		rl_op_encode(&w, rec->ops[i], false);
	return rl_mpw_err(&w);
}

rl_err
rl_record_decode(rl_bytes in, rl_record *rec)
{
	static const uint8_t zero[RL_SIT_BYTES];
	rl_opid *scratch = NULL;
	uint8_t sit[RL_SIT_BYTES];
	uint64_t version;
	uint32_t n;
	rl_mpr r;
	rl_op op;
	rl_err e;

	rl_record_init(rec, zero);
	rl_mpr_init(&r, in.p, in.len);
	rl_mpr_array_n(&r, 4);
	rl_mpr_uint(&r, UINT64_MAX, &version);
	if (r.err == RL_OK && version != RL_RECORD_VERSION)
		return RL_EVERSION;
	rl_mpr_bin_n(&r, RL_SIT_BYTES, sit);
	rl_mpr_bool(&r, &rec->erased);
	if ((e = rl_mpr_array(&r, RL_MAX_RECORD_OPS, &n)) != RL_OK)
		goto fail;
	memcpy(rec->sit, sit, RL_SIT_BYTES);
	if ((rec->erased && n != 1) || (e = record_reserve(rec, n)) != RL_OK) {
		e = e ? e : RL_EPROTO;
		goto fail;
	}
	if ((scratch = malloc(RL_MAX_REFS * sizeof(*scratch))) == NULL) {
		e = RL_ENOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < n; i++) {
		memcpy(op.sit, sit, RL_SIT_BYTES);
		if ((e = rl_op_decode(&r, &op, scratch, false)) != RL_OK)
			goto fail;
		/* Canonical: strictly increasing, erase only in an erased record. */
		if ((i > 0 && rl_op_cmp(rec->ops[i - 1], &op) >= 0) ||
		    ((op.kind == RL_OP_ERASE) != rec->erased)) {
			e = RL_EPROTO;
			goto fail;
		}
		if ((rec->ops[i] = rl_op_dup(&op)) == NULL) {
			e = RL_ENOMEM;
			goto fail;
		}
		rec->nops = i + 1;
	}
	if ((e = rl_mpr_done(&r)) != RL_OK)
		goto fail;
	free(scratch);
	return RL_OK;
fail:
	free(scratch);
	rl_record_fini(rec);
	return e;
}

rl_err
rl_record_hash(const rl_record *rec, uint8_t out[RL_HASH_BYTES])
{
	rl_buf b;
	rl_err e;

	rl_buf_init(&b);
	if ((e = rl_record_encode(rec, &b)) == RL_OK)
		rl_hash(b.data, b.len, out);
	rl_buf_fini(&b);
	return e;
}

/* ---- views ---- */

const rl_op *
rl_record_find(const rl_record *rec, const rl_opid *id)
{
	for (size_t i = 0; i < rec->nops; i++)
		if (rl_opid_cmp(&rec->ops[i]->id, id) == 0)
			return rec->ops[i];
	return NULL;
}

/* Is op a write to the register (target, field)? */
static bool
reg_write_of(const rl_op *op, const rl_opid *target, uint8_t field)
{
	if (op->kind != RL_OP_REG || op->field != field || op->has_target != (target != NULL))
		return false;
	return target == NULL || rl_opid_cmp(&op->target, target) == 0;
}

static bool
reg_superseded(const rl_record *rec, const rl_opid *target, uint8_t field, const rl_opid *id)
{
	for (size_t i = 0; i < rec->nops; i++) {
		const rl_op *w = rec->ops[i];

		if (!reg_write_of(w, target, field))
			continue;
		for (uint32_t k = 0; k < w->nrefs; k++)
			if (rl_opid_cmp(&w->refs[k], id) == 0)
				return true;
	}
	return false;
}

static void
regval_fill(rl_regval *v, const rl_op *op, uint8_t field)
{
	v->op = op;
	if (op->kind == RL_OP_REG) {
		v->value = op->value;
		return;
	}
	/* The alert op is the initial value of its registers. */
	switch (field) {
	case RL_F_ALERT_DUE:
		rl_date_format(op->date, v->text);
		v->value = RL_BYTES(v->text, 10);
		break;
	case RL_F_ALERT_TEXT:
		v->value = op->value;
		break;
	default:
		memcpy(v->text, "non", 4);
		v->value = RL_BYTES(v->text, 3);
		break;
	}
}

size_t
rl_record_reg(const rl_record *rec, const rl_opid *target, uint8_t field, rl_regval *vals,
              size_t cap)
{
	size_t n = 0;

	/* Newest first, so the winner lands in vals[0]. */
	for (size_t i = rec->nops; i-- > 0;) {
		const rl_op *op = rec->ops[i];
		bool candidate = reg_write_of(op, target, field) ||
		                 (target != NULL && op->kind == RL_OP_ALERT &&
		                  is_alert_field(field) && rl_opid_cmp(&op->id, target) == 0);

		if (!candidate || reg_superseded(rec, target, field, &op->id))
			continue;
		if (n < cap)
			regval_fill(&vals[n], op, field);
		n++;
	}
	return n;
}

rl_bytes
rl_record_get(const rl_record *rec, uint8_t field)
{
	rl_regval v;

	if (rl_record_reg(rec, NULL, field, &v, 1) == 0)
		return RL_BYTES(NULL, 0);
	return v.value;
}

static bool
add_removed(const rl_record *rec, const rl_op *add)
{
	for (size_t i = 0; i < rec->nops; i++) {
		const rl_op *r = rec->ops[i];

		if (r->kind != RL_OP_REM || r->field != add->field || r->value.len != add->value.len ||
		    memcmp(r->value.p, add->value.p, add->value.len) != 0)
			continue;
		for (uint32_t k = 0; k < r->nrefs; k++)
			if (rl_opid_cmp(&r->refs[k], &add->id) == 0)
				return true;
	}
	return false;
}

static int
bytes_cmp(const void *a, const void *b)
{
	const rl_bytes *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, n);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

rl_err
rl_record_set(const rl_record *rec, uint8_t set, rl_bytes **out, size_t *n)
{
	rl_bytes *v;
	size_t k = 0, u = 0;

	*out = NULL;
	*n = 0;
	if ((v = malloc((rec->nops + 1) * sizeof(*v))) == NULL)
		return RL_ENOMEM;
	for (size_t i = 0; i < rec->nops; i++) {
		const rl_op *op = rec->ops[i];

		if (op->kind == RL_OP_ADD && op->field == set && !add_removed(rec, op))
			v[k++] = op->value;
	}
	qsort(v, k, sizeof(*v), bytes_cmp);
	for (size_t i = 0; i < k; i++)
		if (u == 0 || bytes_cmp(&v[u - 1], &v[i]) != 0)
			v[u++] = v[i];
	*out = v;
	*n = u;
	return RL_OK;
}

size_t
rl_record_set_adds(const rl_record *rec, uint8_t set, rl_bytes elem, rl_opid *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < rec->nops; i++) {
		const rl_op *op = rec->ops[i];

		if (op->kind != RL_OP_ADD || op->field != set || op->value.len != elem.len ||
		    memcmp(op->value.p, elem.p, elem.len) != 0 || add_removed(rec, op))
			continue;
		if (n < cap)
			out[n] = op->id;
		n++;
	}
	return n;
}

static int
journal_cmp(const void *a, const void *b)
{
	const rl_op *x = *(const rl_op *const *)a, *y = *(const rl_op *const *)b;

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return rl_op_cmp(x, y);
}

rl_err
rl_record_list(const rl_record *rec, uint8_t kind, const rl_op ***out, size_t *n)
{
	const rl_op **v;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if ((v = malloc((rec->nops + 1) * sizeof(*v))) == NULL)
		return RL_ENOMEM;
	for (size_t i = 0; i < rec->nops; i++)
		if (rec->ops[i]->kind == kind)
			v[k++] = rec->ops[i];
	if (kind == RL_OP_JOURNAL)
		qsort(v, k, sizeof(*v), journal_cmp);
	*out = v;
	*n = k;
	return RL_OK;
}
