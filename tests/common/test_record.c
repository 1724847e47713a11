/*
 * test_record.c - operations, the situation record, its merge and views.
 *
 * Operations are built by hand with chosen devices, counters and clocks, so
 * each case states exactly which write saw which: concurrency is spelled out
 * rather than produced by timing. Decoders get every truncation and random
 * byte flips, on exactly-sized heap copies so the ASan build catches any
 * read past the end.
 */
#include "rl_test.h"

#include "common/crypto.h"
#include "common/record.h"

static const uint8_t SIT[RL_SIT_BYTES] = { 0x51, 0x7a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };

/* ---- helpers ---- */

static rl_opid
oid(uint8_t dev, uint64_t ctr)
{
	rl_opid id;

	memset(id.dev, dev, RL_DEV_BYTES);
	id.ctr = ctr;
	return id;
}

/* An operation of kind by device dev (all bytes equal to dev). */
static rl_op
mkop(uint8_t kind, uint8_t dev, uint64_t ctr, rl_hlc hlc)
{
	rl_op op;

	memset(&op, 0, sizeof(op));
	memcpy(op.sit, SIT, RL_SIT_BYTES);
	op.id = oid(dev, ctr);
	op.hlc = hlc;
	op.kind = kind;
	return op;
}

static rl_op
mkreg(uint8_t dev, uint64_t ctr, rl_hlc hlc, uint8_t field, const char *value,
      const rl_opid *refs, uint32_t nrefs)
{
	rl_op op = mkop(RL_OP_REG, dev, ctr, hlc);

	op.field = field;
	op.value = RL_BYTES(value, strlen(value));
	op.refs = refs;
	op.nrefs = nrefs;
	return op;
}

static rl_op
mkset(uint8_t kind, uint8_t dev, uint64_t ctr, rl_hlc hlc, uint8_t set, const char *elem,
      const rl_opid *refs, uint32_t nrefs)
{
	rl_op op = mkop(kind, dev, ctr, hlc);

	op.field = set;
	op.value = RL_BYTES(elem, strlen(elem));
	op.refs = refs;
	op.nrefs = nrefs;
	return op;
}

static rl_op
mkjournal(uint8_t dev, uint64_t ctr, rl_hlc hlc, uint32_t date, const char *text)
{
	rl_op op = mkop(RL_OP_JOURNAL, dev, ctr, hlc);

	op.field = RL_J_NOTE;
	op.date = date;
	op.value = RL_BYTES(text, strlen(text));
	return op;
}

static void
apply(rl_record *rec, const rl_op *op, bool want_changed)
{
	bool changed;

	RL_PASS(rl_record_apply(rec, op, &changed));
	if (changed != want_changed)
		fail_msg("apply kind %d ctr %llu: changed %d, want %d", op->kind,
		         (unsigned long long)op->id.ctr, changed, want_changed);
}

static bool
bytes_is(rl_bytes b, const char *s)
{
	return b.len == strlen(s) && (b.len == 0 || memcmp(b.p, s, b.len) == 0);
}

/*
 * Checks the live values of a register, in order (winner first): want is a
 * NULL-terminated list.
 */
#define assert_reg(rec, target, field, ...) \
	check_reg(rec, target, field, (const char *const[]){ __VA_ARGS__ }, __LINE__)
#define assert_set(rec, set, ...) check_set(rec, set, (const char *const[]){ __VA_ARGS__ }, __LINE__)

static void
check_reg(const rl_record *rec, const rl_opid *target, uint8_t field, const char *const *want,
          int line)
{
	rl_regval vals[8];
	size_t n = rl_record_reg(rec, target, field, vals, 8), k = 0;

	while (want[k] != NULL)
		k++;
	if (n != k)
		fail_msg("line %d: field %s: %zu live values, want %zu", line, rl_field_name(field), n,
		         k);
	for (size_t i = 0; i < n; i++)
		if (!bytes_is(vals[i].value, want[i]))
			fail_msg("line %d: field %s value %zu: got '%.*s', want '%s'", line,
			         rl_field_name(field), i,
			         (int)vals[i].value.len, (const char *)vals[i].value.p, want[i]);
}

static void
check_set(const rl_record *rec, uint8_t set, const char *const *want, int line)
{
	rl_bytes *v;
	size_t n, k = 0;

	RL_PASS(rl_record_set(rec, set, &v, &n));
	while (want[k] != NULL)
		k++;
	if (n != k)
		fail_msg("line %d: set %d: %zu elements, want %zu", line, set, n, k);
	for (size_t i = 0; i < n; i++)
		if (!bytes_is(v[i], want[i]))
			fail_msg("line %d: set %d element %zu: got '%.*s', want '%s'", line, set, i,
			         (int)v[i].len,
			         (const char *)v[i].p, want[i]);
	free(v);
}

static void
encode_rec(const rl_record *rec, rl_buf *b)
{
	rl_buf_init(b);
	RL_PASS(rl_record_encode(rec, b));
}

static void
assert_same_state(const rl_record *a, const rl_record *b)
{
	uint8_t ha[RL_HASH_BYTES], hb[RL_HASH_BYTES];
	rl_buf ea, eb;

	RL_PASS(rl_record_hash(a, ha));
	RL_PASS(rl_record_hash(b, hb));
	assert_memory_equal(ha, hb, RL_HASH_BYTES);
	encode_rec(a, &ea);
	encode_rec(b, &eb);
	assert_int_equal(ea.len, eb.len);
	assert_memory_equal(ea.data, eb.data, ea.len);
	rl_buf_fini(&ea);
	rl_buf_fini(&eb);
}

static uint8_t *
dup_exact(const void *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	assert_non_null(c);
	if (n)
		memcpy(c, p, n);
	return c;
}

/* A record with one of every kind of operation. */
static void
sample_record(rl_record *rec)
{
	rl_opid refs[2];
	rl_op op;

	rl_record_init(rec, SIT);
	op = mkreg(1, 1, 100, RL_F_CONSENT, "oui", NULL, 0);
	apply(rec, &op, true);
	refs[0] = oid(1, 1);
	op = mkreg(2, 1, 110, RL_F_CONSENT, "non", refs, 1);
	apply(rec, &op, true);
	op = mkreg(3, 1, 105, RL_F_CONSENT, "en_attente", NULL, 0);
	apply(rec, &op, true);
	op = mkset(RL_OP_ADD, 1, 2, 101, RL_SET_PROBLEMS, "logement", NULL, 0);
	apply(rec, &op, true);
	op = mkset(RL_OP_ADD, 1, 3, 102, RL_SET_PROBLEMS, "justice", NULL, 0);
	apply(rec, &op, true);
	refs[0] = oid(1, 3);
	op = mkset(RL_OP_REM, 2, 2, 111, RL_SET_PROBLEMS, "justice", refs, 1);
	apply(rec, &op, true);
	op = mkjournal(1, 4, 103, 20250301, "visite a domicile");
	op.field = RL_J_VAD;
	apply(rec, &op, true);
	op = mkjournal(2, 3, 112, 20250302, "correction: visite le 2 mars");
	op.has_target = true;
	op.target = oid(1, 4);
	apply(rec, &op, true);
	op = mkop(RL_OP_ALERT, 1, 5, 104);
	op.date = 20250401;
	op.value = RL_BYTES("RDV CMP", 7);
	apply(rec, &op, true);
	refs[0] = oid(1, 5);
	op = mkreg(2, 4, 113, RL_F_ALERT_DONE, "oui", refs, 1);
	op.has_target = true;
	op.target = oid(1, 5);
	apply(rec, &op, true);
}

/* ---- names and dates ---- */

static void
test_names(void **state)
{
	(void)state;
	assert_int_equal(rl_field_parse("consent"), RL_F_CONSENT);
	assert_int_equal(rl_field_parse("due"), RL_F_ALERT_DUE);
	assert_int_equal(rl_field_parse("nope"), 0);
	assert_int_equal(rl_field_parse(""), 0);
	assert_string_equal(rl_field_name(RL_F_CLOSED), "closed");
	assert_string_equal(rl_field_name(0), "?");
	assert_string_equal(rl_field_name(RL_F__SITUATION_END), "?");
	assert_string_equal(rl_field_name(255), "?");
	for (uint8_t f = RL_F_KIND; f < RL_F__SITUATION_END; f++)
		assert_int_equal(rl_field_parse(rl_field_name(f)), f);
	for (uint8_t f = RL_F_ALERT_DUE; f < RL_F__ALERT_END; f++)
		assert_int_equal(rl_field_parse(rl_field_name(f)), f);
	for (uint8_t t = RL_J_VAD; t < RL_J__END; t++)
		assert_int_equal(rl_jtype_parse(rl_jtype_name(t)), t);
	assert_int_equal(rl_jtype_parse("vad"), RL_J_VAD);
	assert_int_equal(rl_jtype_parse("VAD"), 0);
	assert_string_equal(rl_jtype_name(0), "?");
	assert_string_equal(rl_jtype_name(RL_J__END), "?");
}

static void
test_dates(void **state)
{
	static const struct {
		const char *s;
		uint32_t ymd; /* 0: invalid */
	} cases[] = {
		{ "2025-03-15", 20250315 }, { "2024-02-29", 20240229 }, { "2000-02-29", 20000229 },
		{ "1900-01-01", 19000101 }, { "2999-12-31", 29991231 }, { "2025-12-31", 20251231 },
		{ "2025-02-30", 0 },        { "2025-02-29", 0 },        { "1900-02-29", 0 },
		{ "2100-02-29", 0 },        { "2025-04-31", 0 },        { "2025-13-01", 0 },
		{ "2025-00-10", 0 },        { "2025-01-00", 0 },        { "2025-01-32", 0 },
		{ "1899-12-31", 0 },        { "3000-01-01", 0 },        { "2025-1-01", 0 },
		{ "2025/01/01", 0 },        { "2025-01-011", 0 },       { "+025-01-01", 0 },
		{ " 025-01-01", 0 },        { "2025-01-0a", 0 },        { "", 0 },
		{ "20250101", 0 },          { "2025--1-01", 0 },
	};
	char out[11];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t ymd = 12345;
		rl_err e = rl_date_parse(cases[i].s, strlen(cases[i].s), &ymd);

		if (cases[i].ymd == 0) {
			if (e != RL_EINVAL)
				fail_msg("'%s' parsed (%s)", cases[i].s, rl_strerror(e));
			assert_int_equal(ymd, 12345); /* untouched on error */
			continue;
		}
		if (e != RL_OK)
			fail_msg("'%s': %s", cases[i].s, rl_strerror(e));
		assert_int_equal(ymd, cases[i].ymd);
		assert_true(rl_date_valid(ymd));
		rl_date_format(ymd, out);
		assert_string_equal(out, cases[i].s);
	}
	/* Only the given length is read. */
	RL_PASS(rl_date_parse("2025-03-15garbage", 10, &(uint32_t){ 0 }));
	RL_FAIL(rl_date_parse("2025-03-1", 9, &(uint32_t){ 0 }), RL_EINVAL);

	assert_false(rl_date_valid(0));
	assert_false(rl_date_valid(20250230));
	assert_false(rl_date_valid(20251301));
	assert_false(rl_date_valid(UINT32_MAX));
	/* Every day of a leap and a common year round-trips. */
	for (uint32_t y = 2023; y <= 2024; y++) {
		int days = 0;

		for (uint32_t m = 1; m <= 12; m++)
			for (uint32_t d = 1; d <= 31; d++) {
				uint32_t ymd = y * 10000 + m * 100 + d, back;

				if (!rl_date_valid(ymd))
					continue;
				days++;
				rl_date_format(ymd, out);
				RL_PASS(rl_date_parse(out, 10, &back));
				assert_int_equal(back, ymd);
			}
		assert_int_equal(days, y == 2024 ? 366 : 365);
	}
}

/* ---- operations ---- */

static void
test_op_roundtrip(void **state)
{
	rl_record rec;

	(void)state;
	sample_record(&rec);
	for (size_t i = 0; i < rec.nops; i++) {
		for (int with_sit = 0; with_sit <= 1; with_sit++) {
			const rl_op *op = rec.ops[i];
			rl_opid scratch[RL_MAX_REFS];
			rl_op got;
			rl_buf b, b2;
			rl_mpw w;
			rl_mpr r;
			uint8_t *in;

			rl_buf_init(&b);
			rl_mpw_init(&w, &b);
			rl_op_encode(&w, op, with_sit);
			RL_PASS(rl_mpw_err(&w));
			in = dup_exact(b.data, b.len);
			memset(&got, 0xee, sizeof(got));
			if (!with_sit)
				memcpy(got.sit, SIT, RL_SIT_BYTES);
			rl_mpr_init(&r, in, b.len);
			RL_PASS(rl_op_decode(&r, &got, scratch, with_sit));
			RL_PASS(rl_mpr_done(&r));
			assert_memory_equal(got.sit, op->sit, RL_SIT_BYTES);
			assert_int_equal(rl_opid_cmp(&got.id, &op->id), 0);
			assert_true(got.hlc == op->hlc);
			assert_int_equal(got.kind, op->kind);
			assert_int_equal(got.field, op->field);
			assert_int_equal(got.has_target, op->has_target);
			if (op->has_target)
				assert_int_equal(rl_opid_cmp(&got.target, &op->target), 0);
			assert_int_equal(got.date, op->date);
			assert_int_equal(got.value.len, op->value.len);
			if (op->value.len)
				assert_memory_equal(got.value.p, op->value.p, op->value.len);
			assert_int_equal(got.nrefs, op->nrefs);
			for (uint32_t k = 0; k < op->nrefs; k++)
				assert_int_equal(rl_opid_cmp(&got.refs[k], &op->refs[k]), 0);
			assert_int_equal(rl_op_cmp(&got, op), 0);

			/* Re-encoding gives the same bytes. */
			rl_buf_init(&b2);
			rl_mpw_init(&w, &b2);
			rl_op_encode(&w, &got, with_sit);
			assert_int_equal(b2.len, b.len);
			assert_memory_equal(b2.data, b.data, b.len);
			rl_buf_fini(&b2);
			free(in);
			rl_buf_fini(&b);
		}
	}
	rl_record_fini(&rec);
}

/* A fixed encoding: the wire format of an op must not drift unnoticed. */
static void
test_op_golden(void **state)
{
	static const uint8_t want[] = {
		0x9a,                                     /* array of 10 */
		0xc4, 0x10, 0x51, 0x7a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, /* sit */
		0xc4, 0x20, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07,
		0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07,
		0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, /* device */
		0x2a,                                     /* counter 42 */
		0xcf, 0x00, 0x00, 0x00, 0x01, 0x95, 0x00, 0x00, 0x03, /* hlc */
		0x01,                                     /* RL_OP_REG */
		0x21,                                     /* RL_F_ALERT_TEXT */
		0x92, 0xc4, 0x20, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
		0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
		0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x05, /* target */
		0x00,                                     /* date */
		0xc4, 0x02, 'h', 'i',                     /* value */
		0x91, 0x92, 0xc4, 0x20, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
		0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
		0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x05, /* refs */
	};
	rl_opid ref = oid(8, 5);
	rl_op op = mkreg(7, 42, rl_hlc_make(0x19500, 3), RL_F_ALERT_TEXT, "hi", &ref, 1);
	rl_buf b;
	rl_mpw w;

	(void)state;
	op.has_target = true;
	op.target = oid(8, 5);
	RL_PASS(rl_op_validate(&op));
	rl_buf_init(&b);
	rl_mpw_init(&w, &b);
	rl_op_encode(&w, &op, true);
	RL_PASS(rl_mpw_err(&w));
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	rl_buf_fini(&b);
}

/* Decodes bytes that may be anything: must fail or give a valid op. */
static void
decode_any(const uint8_t *p, size_t n, bool with_sit)
{
	uint8_t *in = dup_exact(p, n);
	rl_opid scratch[RL_MAX_REFS];
	rl_op op;
	rl_mpr r;

	memset(&op, 0, sizeof(op));
	rl_mpr_init(&r, in, n);
	if (rl_op_decode(&r, &op, scratch, with_sit) == RL_OK) {
		rl_buf b;
		rl_mpw w;

		RL_PASS(rl_op_validate(&op));
		assert_true(op.nrefs <= RL_MAX_REFS);
		assert_true(op.value.len <= RL_MAX_VALUE);
		if (op.value.len)
			assert_true(op.value.p >= in && op.value.p + op.value.len <= in + n);
		/* A decoded op can be re-encoded and copied. */
		rl_buf_init(&b);
		rl_mpw_init(&w, &b);
		rl_op_encode(&w, &op, with_sit);
		RL_PASS(rl_mpw_err(&w));
		rl_buf_fini(&b);
		free(rl_op_dup(&op));
	}
	free(in);
}

static void
test_op_decode_malformed(void **state)
{
	rl_record rec;
	uint64_t accepted = 0;

	(void)state;
	sample_record(&rec);
	for (size_t i = 0; i < rec.nops; i++) {
		for (int with_sit = 0; with_sit <= 1; with_sit++) {
			rl_opid scratch[RL_MAX_REFS];
			rl_buf b;
			rl_mpw w;

			rl_buf_init(&b);
			rl_mpw_init(&w, &b);
			rl_op_encode(&w, rec.ops[i], with_sit);
			RL_PASS(rl_mpw_err(&w));
			/* Every truncation fails. */
			for (size_t k = 0; k < b.len; k++) {
				uint8_t *in = dup_exact(b.data, k);
				rl_op op;
				rl_mpr r;

				rl_mpr_init(&r, in, k);
				if (rl_op_decode(&r, &op, scratch, with_sit) == RL_OK)
					fail_msg("op %zu truncated to %zu/%zu bytes decoded", i, k, b.len);
				free(in);
			}
			/* Random byte flips, one to three at a time. */
			for (int t = 0; t < 3000; t++) {
				uint8_t *m = dup_exact(b.data, b.len);
				uint32_t flips = 1 + rl_random_uniform(3);

				for (uint32_t f = 0; f < flips; f++)
					m[rl_random_uniform((uint32_t)b.len)] ^=
					    (uint8_t)(1 + rl_random_uniform(255));
				decode_any(m, b.len, with_sit);
				{
					rl_op op;
					rl_mpr r;

					rl_mpr_init(&r, m, b.len);
					accepted += rl_op_decode(&r, &op, scratch, with_sit) == RL_OK;
				}
				free(m);
			}
			/* Random bytes after a valid array header. */
			for (int t = 0; t < 500; t++) {
				uint8_t m[64];
				size_t n = 1 + rl_random_uniform(sizeof(m) - 1);

				rl_random(m, n);
				m[0] = with_sit ? 0x9a : 0x99;
				decode_any(m, n, with_sit);
			}
			rl_buf_fini(&b);
		}
	}
	/* Flips in counters, clocks and text leave valid ops: some must pass. */
	assert_true(accepted > 0);
	rl_record_fini(&rec);
}

static void
test_op_decode_bounds(void **state)
{
	static uint8_t big[RL_MAX_VALUE + 1];
	rl_opid *refs = calloc(RL_MAX_REFS + 1, sizeof(*refs));
	rl_opid scratch[RL_MAX_REFS];
	rl_op op, got;
	rl_buf b;
	rl_mpw w;
	rl_mpr r;

	(void)state;
	assert_non_null(refs);
	/* A value one byte over the maximum is refused by the reader. */
	op = mkjournal(1, 1, 1, 20250101, "");
	op.value = RL_BYTES(big, RL_MAX_VALUE + 1);
	rl_buf_init(&b);
	rl_mpw_init(&w, &b);
	rl_op_encode(&w, &op, true);
	rl_mpr_init(&r, b.data, b.len);
	RL_FAIL(rl_op_decode(&r, &got, scratch, true), RL_EPROTO);
	/* Exactly the maximum is fine. */
	op.value.len = RL_MAX_VALUE;
	rl_buf_reset(&b);
	rl_mpw_init(&w, &b);
	rl_op_encode(&w, &op, true);
	rl_mpr_init(&r, b.data, b.len);
	RL_PASS(rl_op_decode(&r, &got, scratch, true));
	assert_int_equal(got.value.len, RL_MAX_VALUE);

	/* More refs than RL_MAX_REFS: refused before the scratch overflows. */
	op = mkreg(1, 1, 1, RL_F_AGE, "42", refs, RL_MAX_REFS + 1);
	rl_buf_reset(&b);
	rl_mpw_init(&w, &b);
	rl_op_encode(&w, &op, true);
	rl_mpr_init(&r, b.data, b.len);
	RL_FAIL(rl_op_decode(&r, &got, scratch, true), RL_EPROTO);
	op.nrefs = RL_MAX_REFS;
	rl_buf_reset(&b);
	rl_mpw_init(&w, &b);
	rl_op_encode(&w, &op, true);
	rl_mpr_init(&r, b.data, b.len);
	RL_PASS(rl_op_decode(&r, &got, scratch, true));
	assert_int_equal(got.nrefs, RL_MAX_REFS);

	/* Well-formed msgpack, invalid op: the validator's error comes back. */
	op = mkjournal(1, 1, 1, 20250230, "bad date");
	rl_buf_reset(&b);
	rl_mpw_init(&w, &b);
	rl_op_encode(&w, &op, true);
	rl_mpr_init(&r, b.data, b.len);
	RL_FAIL(rl_op_decode(&r, &got, scratch, true), RL_EINVAL);

	/* Kind and field wider than a byte are malformed, not truncated. */
	op = mkjournal(1, 1, 1, 20250101, "x");
	rl_buf_reset(&b);
	rl_mpw_init(&w, &b);
	rl_mpw_array(&w, 10);
	rl_mpw_bin(&w, SIT, RL_SIT_BYTES);
	rl_mpw_bin(&w, op.id.dev, RL_DEV_BYTES);
	rl_mpw_uint(&w, 1);
	rl_mpw_uint(&w, 1);
	rl_mpw_uint(&w, 256 + RL_OP_JOURNAL);
	rl_mpw_uint(&w, RL_J_NOTE);
	rl_mpw_nil(&w);
	rl_mpw_uint(&w, 20250101);
	rl_mpw_bin(&w, "x", 1);
	rl_mpw_array(&w, 0);
	RL_PASS(rl_mpw_err(&w));
	rl_mpr_init(&r, b.data, b.len);
	RL_FAIL(rl_op_decode(&r, &got, scratch, true), RL_EPROTO);

	rl_buf_fini(&b);
	free(refs);
}

static void
test_op_validate(void **state)
{
	static uint8_t big[RL_MAX_VALUE + 1];
	rl_opid ref = oid(2, 1);
	rl_op op;

	(void)state;
	/* Valid ones, as a baseline. */
	op = mkreg(1, 1, 1, RL_F_CONSENT, "oui", NULL, 0);
	RL_PASS(rl_op_validate(&op));
	op = mkop(RL_OP_ERASE, 1, 1, 1);
	RL_PASS(rl_op_validate(&op));

	/* Bad kinds. */
	op.kind = 0;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op.kind = RL_OP_ERASE + 1;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op.kind = 255;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);

	/* Registers: the field must match the target. */
	op = mkreg(1, 1, 1, 0, "x", NULL, 0);
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op.field = RL_F__SITUATION_END;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op.field = RL_F_ALERT_DUE; /* alert field without an alert */
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op.field = RL_F_CONSENT;
	op.has_target = true; /* situation field with a target */
	op.target = ref;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op.field = RL_F_ALERT_DONE;
	RL_PASS(rl_op_validate(&op));
	op.field = RL_F__ALERT_END;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op = mkreg(1, 1, 1, RL_F_AGE, "40", NULL, 0);
	op.date = 20250101; /* a date on a register write */
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);

	/* Sizes: 64 KiB is the maximum, one more byte is too big. */
	op = mkreg(1, 1, 1, RL_F_HISTORY, "", NULL, 0);
	op.value = RL_BYTES(big, RL_MAX_VALUE);
	RL_PASS(rl_op_validate(&op));
	op.value.len = RL_MAX_VALUE + 1;
	RL_FAIL(rl_op_validate(&op), RL_ETOOBIG);
	op = mkjournal(1, 1, 1, 20250101, "");
	op.value = RL_BYTES(big, RL_MAX_VALUE + 1);
	RL_FAIL(rl_op_validate(&op), RL_ETOOBIG);
	op.value.len = RL_MAX_VALUE;
	RL_PASS(rl_op_validate(&op));
	op = mkop(RL_OP_ALERT, 1, 1, 1);
	op.date = 20250101;
	op.value = RL_BYTES(big, RL_MAX_VALUE + 1);
	RL_FAIL(rl_op_validate(&op), RL_ETOOBIG);
	op = mkreg(1, 1, 1, RL_F_AGE, "40", &ref, RL_MAX_REFS + 1);
	RL_FAIL(rl_op_validate(&op), RL_ETOOBIG);

	/* Sets. */
	op = mkset(RL_OP_ADD, 1, 1, 1, RL_SET_PROBLEMS, "logement", NULL, 0);
	RL_PASS(rl_op_validate(&op));
	op.field = 0;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op.field = RL_SET__END;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op.field = RL_SET_PROS;
	op.value.len = 0; /* empty element */
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op.value = RL_BYTES(big, RL_MAX_ELEM);
	RL_PASS(rl_op_validate(&op));
	op.value.len = RL_MAX_ELEM + 1;
	RL_FAIL(rl_op_validate(&op), RL_ETOOBIG);
	op = mkset(RL_OP_ADD, 1, 1, 1, RL_SET_PROBLEMS, "x", &ref, 1); /* add with refs */
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op = mkset(RL_OP_REM, 1, 1, 1, RL_SET_PROBLEMS, "x", NULL, 0); /* remove of nothing */
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op = mkset(RL_OP_REM, 1, 1, 1, RL_SET_PROBLEMS, "x", &ref, 1);
	RL_PASS(rl_op_validate(&op));
	op.has_target = true;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op.has_target = false;
	op.date = 20250101;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);

	/* Journal: type, date, no refs. */
	op = mkjournal(1, 1, 1, 20250228, "ok");
	RL_PASS(rl_op_validate(&op));
	op.date = 20250230;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op.date = 20240229;
	RL_PASS(rl_op_validate(&op));
	op.date = 20230229;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op.date = 0;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op.date = 20250101;
	op.field = 0;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op.field = RL_J__END;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op.field = RL_J_VAD;
	op.refs = &ref;
	op.nrefs = 1;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op.nrefs = 0;
	op.has_target = true; /* an amendment */
	op.target = ref;
	RL_PASS(rl_op_validate(&op));

	/* Alerts. */
	op = mkop(RL_OP_ALERT, 1, 1, 1);
	op.date = 20250315;
	RL_PASS(rl_op_validate(&op));
	op.date = 20250431;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op.date = 20250315;
	op.field = RL_F_ALERT_DUE;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op.field = 0;
	op.has_target = true;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op.has_target = false;
	op.refs = &ref;
	op.nrefs = 1;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);

	/* Erase carries nothing. */
	op = mkop(RL_OP_ERASE, 1, 1, 1);
	op.value = RL_BYTES("x", 1);
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op = mkop(RL_OP_ERASE, 1, 1, 1);
	op.date = 20250101;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op = mkop(RL_OP_ERASE, 1, 1, 1);
	op.field = 1;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op = mkop(RL_OP_ERASE, 1, 1, 1);
	op.has_target = true;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
	op = mkop(RL_OP_ERASE, 1, 1, 1);
	op.refs = &ref;
	op.nrefs = 1;
	RL_FAIL(rl_op_validate(&op), RL_EINVAL);
}

static void
test_op_order_and_dup(void **state)
{
	rl_op a = mkop(RL_OP_ERASE, 1, 9, 100), b = mkop(RL_OP_ERASE, 2, 1, 100);
	rl_op c = mkop(RL_OP_ERASE, 1, 1, 101), d = mkop(RL_OP_ERASE, 1, 10, 100);
	rl_opid refs[3] = { oid(1, 1), oid(2, 2), oid(3, 3) };
	rl_op r = mkreg(4, 4, 4, RL_F_COMMUNE, "Rennes", refs, 3), *copy;

	(void)state;
	/* hlc first, then device, then counter. */
	assert_true(rl_op_cmp(&a, &b) < 0);
	assert_true(rl_op_cmp(&b, &c) < 0);
	assert_true(rl_op_cmp(&a, &c) < 0);
	assert_true(rl_op_cmp(&a, &d) < 0);
	assert_true(rl_op_cmp(&d, &b) < 0);
	assert_true(rl_op_cmp(&c, &a) > 0);
	assert_int_equal(rl_op_cmp(&a, &a), 0);

	copy = rl_op_dup(&r);
	assert_non_null(copy);
	assert_ptr_not_equal(copy->refs, refs);
	assert_ptr_not_equal(copy->value.p, r.value.p);
	assert_int_equal(copy->nrefs, 3);
	assert_int_equal(rl_opid_cmp(&copy->refs[2], &refs[2]), 0);
	assert_true(bytes_is(copy->value, "Rennes"));
	free(copy);
}

/* ---- registers ---- */

static void
test_register_sequential(void **state)
{
	rl_opid s1 = oid(1, 1), s2 = oid(2, 1);
	rl_op w1 = mkreg(1, 1, 100, RL_F_STATUS, "open", NULL, 0);
	rl_op w2 = mkreg(2, 1, 200, RL_F_STATUS, "closed", &s1, 1);
	rl_op w3 = mkreg(1, 2, 300, RL_F_STATUS, "open", &s2, 1);
	rl_record a, b;

	(void)state;
	rl_record_init(&a, SIT);
	assert_int_equal(rl_record_reg(&a, NULL, RL_F_STATUS, NULL, 0), 0);
	assert_int_equal(rl_record_get(&a, RL_F_STATUS).len, 0);
	apply(&a, &w1, true);
	assert_reg(&a, NULL, RL_F_STATUS, "open", NULL);
	apply(&a, &w2, true);
	assert_reg(&a, NULL, RL_F_STATUS, "closed", NULL);
	apply(&a, &w3, true);
	assert_reg(&a, NULL, RL_F_STATUS, "open", NULL);
	assert_true(bytes_is(rl_record_get(&a, RL_F_STATUS), "open"));
	/* Other fields are untouched. */
	assert_int_equal(rl_record_reg(&a, NULL, RL_F_CONSENT, NULL, 0), 0);

	/* Out of causal order: w1 is live until the write that superseded it
	 * arrives (supersession is by present writes only), w3 still wins. */
	rl_record_init(&b, SIT);
	apply(&b, &w3, true);
	apply(&b, &w1, true);
	assert_reg(&b, NULL, RL_F_STATUS, "open", "open", NULL);
	assert_true(bytes_is(rl_record_get(&b, RL_F_STATUS), "open"));
	apply(&b, &w2, true);
	apply(&b, &w2, false); /* duplicate */
	assert_reg(&b, NULL, RL_F_STATUS, "open", NULL);
	assert_same_state(&a, &b);
	{
		rl_regval v;

		assert_int_equal(rl_record_reg(&b, NULL, RL_F_STATUS, &v, 1), 1);
		assert_int_equal(rl_opid_cmp(&v.op->id, &w3.id), 0);
	}
	rl_record_fini(&a);
	rl_record_fini(&b);
}

static void
test_register_concurrent(void **state)
{
	/* Two devices write without seeing each other. */
	rl_op x = mkreg(1, 1, 100, RL_F_CONSENT, "oui", NULL, 0);
	rl_op y = mkreg(2, 1, 100, RL_F_CONSENT, "non", NULL, 0);
	rl_op later = mkreg(1, 2, 101, RL_F_CONSENT, "en_attente", NULL, 0);
	rl_opid both[2] = { oid(1, 1), oid(2, 1) }, onlyx = oid(1, 1);
	rl_op z = mkreg(3, 1, 150, RL_F_CONSENT, "oui", both, 2);
	rl_op partial = mkreg(3, 2, 160, RL_F_CONSENT, "non", &onlyx, 1);
	rl_record a, b;

	(void)state;
	rl_record_init(&a, SIT);
	rl_record_init(&b, SIT);
	apply(&a, &x, true);
	apply(&a, &y, true);
	apply(&b, &y, true);
	apply(&b, &x, true);
	/* Both kept; same hlc: the greater device wins. */
	assert_reg(&a, NULL, RL_F_CONSENT, "non", "oui", NULL);
	assert_reg(&b, NULL, RL_F_CONSENT, "non", "oui", NULL);
	assert_true(bytes_is(rl_record_get(&a, RL_F_CONSENT), "non"));
	assert_same_state(&a, &b);

	/* A third concurrent write with a greater clock wins from a smaller
	 * device: the clock comes first. */
	apply(&a, &later, true);
	assert_reg(&a, NULL, RL_F_CONSENT, "en_attente", "non", "oui", NULL);

	/* A write that saw both values (not the third) resolves only those. */
	apply(&b, &z, true);
	assert_reg(&b, NULL, RL_F_CONSENT, "oui", NULL);
	apply(&b, &later, true);
	assert_reg(&b, NULL, RL_F_CONSENT, "oui", "en_attente", NULL);
	apply(&a, &z, true);
	assert_same_state(&a, &b);

	/* A write superseding one of two concurrent values leaves the other. */
	{
		rl_record c;

		rl_record_init(&c, SIT);
		apply(&c, &x, true);
		apply(&c, &y, true);
		apply(&c, &partial, true);
		assert_reg(&c, NULL, RL_F_CONSENT, "non", "non", NULL);
		{
			rl_regval v[2];

			assert_int_equal(rl_record_reg(&c, NULL, RL_F_CONSENT, v, 2), 2);
			assert_int_equal(rl_opid_cmp(&v[0].op->id, &partial.id), 0);
			assert_int_equal(rl_opid_cmp(&v[1].op->id, &y.id), 0);
			/* cap smaller than the count: the count is still right. */
			assert_int_equal(rl_record_reg(&c, NULL, RL_F_CONSENT, v, 1), 2);
		}
		rl_record_fini(&c);
	}
	/* Same clock, same device, different counter: the counter decides. */
	{
		rl_record c;
		rl_op p = mkreg(5, 7, 100, RL_F_SEX, "F", NULL, 0);
		rl_op q = mkreg(5, 8, 100, RL_F_SEX, "M", NULL, 0);

		rl_record_init(&c, SIT);
		apply(&c, &q, true);
		apply(&c, &p, true);
		assert_reg(&c, NULL, RL_F_SEX, "M", "F", NULL);
		rl_record_fini(&c);
	}
	/* A ref to a write of another field does not supersede anything here. */
	{
		rl_record c;
		rl_op age = mkreg(1, 1, 100, RL_F_AGE, "40", NULL, 0);
		rl_opid ageid = oid(1, 1);
		rl_op sex = mkreg(2, 1, 110, RL_F_SEX, "X", &ageid, 1);

		rl_record_init(&c, SIT);
		apply(&c, &age, true);
		apply(&c, &sex, true);
		assert_reg(&c, NULL, RL_F_AGE, "40", NULL);
		assert_reg(&c, NULL, RL_F_SEX, "X", NULL);
		rl_record_fini(&c);
	}
	rl_record_fini(&a);
	rl_record_fini(&b);
}

/* ---- sets ---- */

static void
test_set_add_wins(void **state)
{
	rl_op add1 = mkset(RL_OP_ADD, 1, 1, 100, RL_SET_PROBLEMS, "logement", NULL, 0);
	rl_op add2 = mkset(RL_OP_ADD, 2, 1, 110, RL_SET_PROBLEMS, "logement", NULL, 0);
	rl_opid seen1 = oid(1, 1), seen2 = oid(2, 1), both[2] = { oid(1, 1), oid(2, 1) };
	rl_op rem1 = mkset(RL_OP_REM, 3, 1, 120, RL_SET_PROBLEMS, "logement", &seen1, 1);
	rl_op rem12 = mkset(RL_OP_REM, 3, 2, 130, RL_SET_PROBLEMS, "logement", both, 2);
	rl_op other = mkset(RL_OP_ADD, 1, 2, 101, RL_SET_PROBLEMS, "addiction", NULL, 0);
	rl_op ref = mkset(RL_OP_ADD, 1, 3, 102, RL_SET_REFERRERS, "logement", NULL, 0);
	rl_op wrongset = mkset(RL_OP_REM, 4, 1, 140, RL_SET_REFERRERS, "logement", &seen2, 1);
	rl_record a, b;
	rl_opid adds[4];

	(void)state;
	rl_record_init(&a, SIT);
	apply(&a, &add1, true);
	apply(&a, &other, true);
	apply(&a, &ref, true);
	assert_set(&a, RL_SET_PROBLEMS, "addiction", "logement", NULL);
	assert_set(&a, RL_SET_PROS, NULL);
	/* Remove what was seen: gone. */
	apply(&a, &rem1, true);
	assert_set(&a, RL_SET_PROBLEMS, "addiction", NULL);
	assert_int_equal(rl_record_set_adds(&a, RL_SET_PROBLEMS, RL_BYTES("logement", 8), adds, 4), 0);
	/* The same element in another set is another element. */
	assert_set(&a, RL_SET_REFERRERS, "logement", NULL);

	/* A concurrent add the remover had not seen: add wins. */
	apply(&a, &add2, true);
	assert_set(&a, RL_SET_PROBLEMS, "addiction", "logement", NULL);
	assert_int_equal(rl_record_set_adds(&a, RL_SET_PROBLEMS, RL_BYTES("logement", 8), adds, 4), 1);
	assert_int_equal(rl_opid_cmp(&adds[0], &seen2), 0);
	/* Removing in another set does not touch this one. */
	apply(&a, &wrongset, true);
	assert_set(&a, RL_SET_PROBLEMS, "addiction", "logement", NULL);
	/* A remove that saw both adds removes it. */
	apply(&a, &rem12, true);
	assert_set(&a, RL_SET_PROBLEMS, "addiction", NULL);

	/* Same operations, reverse order: same state. */
	rl_record_init(&b, SIT);
	apply(&b, &rem12, true);
	apply(&b, &wrongset, true);
	apply(&b, &add2, true);
	apply(&b, &rem1, true);
	apply(&b, &ref, true);
	apply(&b, &other, true);
	apply(&b, &add1, true);
	assert_set(&b, RL_SET_PROBLEMS, "addiction", NULL);
	assert_same_state(&a, &b);
	rl_record_fini(&a);
	rl_record_fini(&b);
}

static void
test_set_listing(void **state)
{
	static const char *const elems[] = { "precarite", "addiction", "justice", "addiction",
		                                 "soins_somatiques", "justice", "a", "ab" };
	rl_record rec;
	rl_opid adds[4];

	(void)state;
	rl_record_init(&rec, SIT);
	for (size_t i = 0; i < sizeof(elems) / sizeof(elems[0]); i++) {
		rl_op op = mkset(RL_OP_ADD, 1, i + 1, 100 + i, RL_SET_PROBLEMS, elems[i], NULL, 0);

		apply(&rec, &op, true);
	}
	/* Sorted bytewise (a prefix first), without duplicates. */
	assert_set(&rec, RL_SET_PROBLEMS,
	           "a", "ab", "addiction", "justice", "precarite",
	                             "soins_somatiques", NULL);
	/* Two live adds of "justice": a remove must name both. */
	assert_int_equal(rl_record_set_adds(&rec, RL_SET_PROBLEMS, RL_BYTES("justice", 7), adds, 4),
	                 2);
	assert_int_equal(rl_record_set_adds(&rec, RL_SET_PROBLEMS, RL_BYTES("justice", 7), adds, 1),
	                 2);
	{
		rl_opid one = oid(1, 3);
		rl_op rem = mkset(RL_OP_REM, 2, 1, 200, RL_SET_PROBLEMS, "justice", &one, 1);

		apply(&rec, &rem, true);
		assert_set(&rec, RL_SET_PROBLEMS,
		           "a", "ab", "addiction", "justice", "precarite",
		                             "soins_somatiques", NULL);
	}
	rl_record_fini(&rec);
}

/* ---- journal ---- */

static void
test_journal(void **state)
{
	rl_op e1 = mkjournal(1, 1, 100, 20250310, "reunion de synthese");
	rl_op e2 = mkjournal(2, 1, 101, 20250101, "premier appel");
	rl_op e3 = mkjournal(1, 2, 102, 20250201, "VAD");
	rl_op e4 = mkjournal(3, 1, 99, 20250201, "note du meme jour, plus ancienne");
	rl_op amend = mkjournal(2, 2, 200, 20250310, "correction: synthese le 11");
	const rl_op **list;
	size_t n;
	rl_record rec, other;

	(void)state;
	amend.has_target = true;
	amend.target = e1.id;
	rl_record_init(&rec, SIT);
	rl_record_init(&other, SIT);
	apply(&rec, &e1, true);
	apply(&rec, &e2, true);
	apply(&rec, &e3, true);
	apply(&rec, &e4, true);
	apply(&rec, &amend, true);
	apply(&other, &amend, true);
	apply(&other, &e4, true);
	apply(&other, &e3, true);
	apply(&other, &e2, true);
	apply(&other, &e1, true);
	assert_same_state(&rec, &other);

	RL_PASS(rl_record_list(&rec, RL_OP_JOURNAL, &list, &n));
	assert_int_equal(n, 5);
	/* By date, then in (hlc, device, counter) order within a date. */
	assert_true(bytes_is(list[0]->value, "premier appel"));
	assert_true(bytes_is(list[1]->value, "note du meme jour, plus ancienne"));
	assert_true(bytes_is(list[2]->value, "VAD"));
	assert_true(bytes_is(list[3]->value, "reunion de synthese"));
	assert_true(bytes_is(list[4]->value, "correction: synthese le 11"));
	/* The amendment is a new entry: the original stays. */
	assert_true(list[4]->has_target);
	assert_int_equal(rl_opid_cmp(&list[4]->target, &e1.id), 0);
	assert_false(list[3]->has_target);
	free(list);

	/* Listing a kind with no entries gives an empty array. */
	RL_PASS(rl_record_list(&rec, RL_OP_ALERT, &list, &n));
	assert_int_equal(n, 0);
	free(list);
	assert_non_null(rl_record_find(&rec, &e3.id));
	assert_true(bytes_is(rl_record_find(&rec, &e3.id)->value, "VAD"));
	{
		rl_opid none = oid(9, 9);

		assert_null(rl_record_find(&rec, &none));
	}
	rl_record_fini(&rec);
	rl_record_fini(&other);
}

/* ---- alerts ---- */

static void
test_alerts(void **state)
{
	rl_op al = mkop(RL_OP_ALERT, 1, 1, 100);
	rl_op al2 = mkop(RL_OP_ALERT, 2, 1, 90);
	rl_opid alid = oid(1, 1), al2id = oid(2, 1);
	rl_op done = mkreg(2, 2, 110, RL_F_ALERT_DONE, "oui", &alid, 1);
	rl_op due_a = mkreg(2, 3, 120, RL_F_ALERT_DUE, "2025-04-01", &alid, 1);
	rl_op due_b = mkreg(3, 1, 121, RL_F_ALERT_DUE, "2025-04-02", &alid, 1);
	rl_op text = mkreg(3, 2, 122, RL_F_ALERT_TEXT, "RDV CMP deplace", &alid, 1);
	rl_op situation_text = mkreg(3, 3, 123, RL_F_HISTORY, "histoire", NULL, 0);
	const rl_op **list;
	size_t n;
	rl_record rec;

	(void)state;
	al.date = 20250315;
	al.value = RL_BYTES("RDV CMP", 7);
	al2.date = 20250601;
	al2.value = RL_BYTES("suivi post-hospitalisation", 26);
	done.has_target = due_a.has_target = due_b.has_target = text.has_target = true;
	done.target = due_a.target = due_b.target = text.target = alid;

	rl_record_init(&rec, SIT);
	apply(&rec, &al, true);
	apply(&rec, &al2, true);
	/* The alert op is the initial value of its registers. */
	assert_reg(&rec, &alid, RL_F_ALERT_DUE, "2025-03-15", NULL);
	assert_reg(&rec, &alid, RL_F_ALERT_TEXT, "RDV CMP", NULL);
	assert_reg(&rec, &alid, RL_F_ALERT_DONE, "non", NULL);
	assert_reg(&rec, &al2id, RL_F_ALERT_DUE, "2025-06-01", NULL);
	/* Alert fields have no situation-level value. */
	assert_int_equal(rl_record_reg(&rec, NULL, RL_F_ALERT_DUE, NULL, 0), 0);
	/* A situation field asked of an alert has none. */
	assert_int_equal(rl_record_reg(&rec, &alid, RL_F_HISTORY, NULL, 0), 0);

	/* A later write on one field supersedes only that field. */
	apply(&rec, &done, true);
	assert_reg(&rec, &alid, RL_F_ALERT_DONE, "oui", NULL);
	assert_reg(&rec, &alid, RL_F_ALERT_DUE, "2025-03-15", NULL);
	assert_reg(&rec, &alid, RL_F_ALERT_TEXT, "RDV CMP", NULL);
	assert_reg(&rec, &al2id, RL_F_ALERT_DONE, "non", NULL);

	/* Two concurrent moves of the due date: a conflict, both kept. */
	apply(&rec, &due_a, true);
	apply(&rec, &due_b, true);
	assert_reg(&rec, &alid, RL_F_ALERT_DUE, "2025-04-02", "2025-04-01", NULL);
	apply(&rec, &text, true);
	assert_reg(&rec, &alid, RL_F_ALERT_TEXT, "RDV CMP deplace", NULL);
	apply(&rec, &situation_text, true);
	assert_reg(&rec, &alid, RL_F_ALERT_TEXT, "RDV CMP deplace", NULL);
	assert_true(bytes_is(rl_record_get(&rec, RL_F_HISTORY), "histoire"));

	/* The winner's op is the alert op itself while it is live. */
	{
		rl_regval v;

		assert_int_equal(rl_record_reg(&rec, &al2id, RL_F_ALERT_TEXT, &v, 1), 1);
		assert_int_equal(v.op->kind, RL_OP_ALERT);
	}
	RL_PASS(rl_record_list(&rec, RL_OP_ALERT, &list, &n));
	assert_int_equal(n, 2);
	/* In op order: al2 is older, though its device sorts after al's. */
	assert_int_equal(rl_opid_cmp(&list[0]->id, &al2id), 0);
	assert_int_equal(rl_opid_cmp(&list[1]->id, &alid), 0);
	free(list);
	rl_record_fini(&rec);
}

/* ---- erase ---- */

static void
test_erase(void **state)
{
	rl_op e1 = mkop(RL_OP_ERASE, 2, 5, 500);
	rl_op e0 = mkop(RL_OP_ERASE, 3, 1, 400);
	rl_op e2 = mkop(RL_OP_ERASE, 1, 9, 600);
	rl_op late = mkjournal(1, 50, 1000, 20250101, "arrive apres l'effacement");
	rl_op early = mkjournal(1, 51, 1, 20250101, "ecrit avant, recu apres");
	rl_record rec, b, c;
	rl_bytes *elems;
	size_t n;

	(void)state;
	sample_record(&rec);
	assert_true(rec.nops > 5);
	apply(&rec, &e1, true);
	assert_true(rec.erased);
	assert_int_equal(rec.nops, 1);
	assert_int_equal(rec.ops[0]->kind, RL_OP_ERASE);
	/* Content is purged. */
	assert_int_equal(rl_record_get(&rec, RL_F_CONSENT).len, 0);
	RL_PASS(rl_record_set(&rec, RL_SET_PROBLEMS, &elems, &n));
	assert_int_equal(n, 0);
	free(elems);
	/* Late and early ops are ignored. */
	apply(&rec, &late, false);
	apply(&rec, &early, false);
	assert_int_equal(rec.nops, 1);
	assert_false(rl_record_has(&rec, &late));
	/* A greater erase changes nothing; a smaller one is kept instead. */
	apply(&rec, &e2, false);
	apply(&rec, &e1, false);
	assert_int_equal(rl_op_cmp(rec.ops[0], &e1), 0);
	apply(&rec, &e0, true);
	assert_int_equal(rec.nops, 1);
	assert_int_equal(rl_op_cmp(rec.ops[0], &e0), 0);

	/* Erases arriving in another order, mixed with content: same state. */
	rl_record_init(&b, SIT);
	apply(&b, &e2, true);
	apply(&b, &late, false);
	apply(&b, &e0, true);
	apply(&b, &e1, false);
	assert_same_state(&rec, &b);

	/* Merge into an erased record, and of an erased record. */
	sample_record(&c);
	RL_PASS(rl_record_merge(&c, &b));
	assert_true(c.erased);
	assert_same_state(&c, &b);
	{
		rl_record d;

		sample_record(&d);
		RL_PASS(rl_record_merge(&b, &d));
		assert_same_state(&c, &b);
		rl_record_fini(&d);
	}
	/* An erased record survives encode/decode. */
	{
		rl_record d;
		rl_buf enc;

		encode_rec(&b, &enc);
		RL_PASS(rl_record_decode(rl_buf_view(&enc), &d));
		assert_true(d.erased);
		assert_same_state(&d, &b);
		apply(&d, &late, false);
		rl_record_fini(&d);
		rl_buf_fini(&enc);
	}
	rl_record_fini(&rec);
	rl_record_fini(&b);
	rl_record_fini(&c);
}

static void
test_apply_rejects(void **state)
{
	rl_record rec, before;
	rl_op op = mkjournal(1, 1, 1, 20250101, "x");
	bool changed = true;

	(void)state;
	sample_record(&rec);
	sample_record(&before);
	op.sit[0] ^= 1;
	RL_FAIL(rl_record_apply(&rec, &op, &changed), RL_EINVAL);
	assert_false(changed);
	op.sit[0] ^= 1;
	op.date = 20250230;
	RL_FAIL(rl_record_apply(&rec, &op, &changed), RL_EINVAL);
	op.date = 20250101;
	op.value.len = RL_MAX_VALUE + 1;
	RL_FAIL(rl_record_apply(&rec, &op, NULL), RL_ETOOBIG);
	assert_same_state(&rec, &before);
	rl_record_fini(&rec);
	rl_record_fini(&before);
}

/* ---- record encoding ---- */

static void
test_record_roundtrip(void **state)
{
	rl_record rec, got;
	rl_buf a, b;

	(void)state;
	sample_record(&rec);
	encode_rec(&rec, &a);
	{
		uint8_t *in = dup_exact(a.data, a.len);

		RL_PASS(rl_record_decode(RL_BYTES(in, a.len), &got));
		free(in);
	}
	/* Decoded ops own their memory: the input is gone. */
	assert_memory_equal(got.sit, SIT, RL_SIT_BYTES);
	assert_false(got.erased);
	assert_int_equal(got.nops, rec.nops);
	encode_rec(&got, &b);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	assert_reg(&got, NULL, RL_F_CONSENT, "non", "en_attente", NULL);
	assert_set(&got, RL_SET_PROBLEMS, "logement", NULL);
	{
		rl_opid alid = oid(1, 5);

		assert_reg(&got, &alid, RL_F_ALERT_DONE, "oui", NULL);
	}
	rl_record_fini(&got);
	rl_buf_fini(&b);

	/* Empty record. */
	{
		rl_record e;

		rl_record_init(&e, SIT);
		encode_rec(&e, &b);
		RL_PASS(rl_record_decode(rl_buf_view(&b), &got));
		assert_int_equal(got.nops, 0);
		assert_same_state(&e, &got);
		rl_record_fini(&got);
		rl_record_fini(&e);
		rl_buf_fini(&b);
	}
	rl_buf_fini(&a);
	rl_record_fini(&rec);
}

/* Writes a record state by hand: ops in the given order, erased flag as given. */
static void
encode_raw(rl_buf *b, uint64_t version, bool erased, const rl_op *const *ops, size_t n)
{
	rl_mpw w;

	rl_buf_init(b);
	rl_mpw_init(&w, b);
	rl_mpw_array(&w, 4);
	rl_mpw_uint(&w, version);
	rl_mpw_bin(&w, SIT, RL_SIT_BYTES);
	rl_mpw_bool(&w, erased);
	rl_mpw_array(&w, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		rl_op_encode(&w, ops[i], false);
	assert_int_equal(rl_mpw_err(&w), RL_OK);
}

static void
expect_decode(const rl_buf *b, rl_err want)
{
	uint8_t *in = dup_exact(b->data, b->len);
	rl_record rec;
	rl_err e = rl_record_decode(RL_BYTES(in, b->len), &rec);

	if (e != want)
		fail_msg("decode: got %s, want %s", rl_strerror(e), rl_strerror(want));
	if (e == RL_OK)
		rl_record_fini(&rec);
	else
		assert_int_equal(rec.nops, 0);
	free(in);
}

static void
test_record_decode_rejects(void **state)
{
	rl_op j1 = mkjournal(1, 1, 100, 20250101, "a");
	rl_op j2 = mkjournal(1, 2, 200, 20250102, "b");
	rl_op er = mkop(RL_OP_ERASE, 1, 3, 300);
	rl_op bad = mkjournal(1, 4, 400, 20250230, "bad date");
	rl_buf b;

	(void)state;
	encode_raw(&b, RL_RECORD_VERSION, false, (const rl_op *[]){ &j1, &j2 }, 2);
	expect_decode(&b, RL_OK);
	rl_buf_fini(&b);
	/* Unsorted. */
	encode_raw(&b, RL_RECORD_VERSION, false, (const rl_op *[]){ &j2, &j1 }, 2);
	expect_decode(&b, RL_EPROTO);
	rl_buf_fini(&b);
	/* A duplicate. */
	encode_raw(&b, RL_RECORD_VERSION, false, (const rl_op *[]){ &j1, &j1 }, 2);
	expect_decode(&b, RL_EPROTO);
	rl_buf_fini(&b);
	/* Erased with extra ops, in either position. */
	encode_raw(&b, RL_RECORD_VERSION, true, (const rl_op *[]){ &j1, &er }, 2);
	expect_decode(&b, RL_EPROTO);
	rl_buf_fini(&b);
	encode_raw(&b, RL_RECORD_VERSION, true, (const rl_op *[]){ &er, &j2 }, 2);
	expect_decode(&b, RL_EPROTO);
	rl_buf_fini(&b);
	/* Erased without its erase, or with no op at all. */
	encode_raw(&b, RL_RECORD_VERSION, true, (const rl_op *[]){ &j1 }, 1);
	expect_decode(&b, RL_EPROTO);
	rl_buf_fini(&b);
	encode_raw(&b, RL_RECORD_VERSION, true, NULL, 0);
	expect_decode(&b, RL_EPROTO);
	rl_buf_fini(&b);
	/* An erase in a record not marked erased. */
	encode_raw(&b, RL_RECORD_VERSION, false, (const rl_op *[]){ &j1, &er }, 2);
	expect_decode(&b, RL_EPROTO);
	rl_buf_fini(&b);
	encode_raw(&b, RL_RECORD_VERSION, true, (const rl_op *[]){ &er }, 1);
	expect_decode(&b, RL_OK);
	rl_buf_fini(&b);
	/* An invalid op. */
	encode_raw(&b, RL_RECORD_VERSION, false, (const rl_op *[]){ &j1, &bad }, 2);
	expect_decode(&b, RL_EINVAL);
	rl_buf_fini(&b);
	/* Another version. */
	encode_raw(&b, RL_RECORD_VERSION + 1, false, (const rl_op *[]){ &j1 }, 1);
	expect_decode(&b, RL_EVERSION);
	rl_buf_fini(&b);
	/* Trailing garbage. */
	encode_raw(&b, RL_RECORD_VERSION, false, (const rl_op *[]){ &j1 }, 1);
	RL_PASS(rl_buf_append(&b, "\x00", 1));
	expect_decode(&b, RL_EPROTO);
	rl_buf_fini(&b);
	/* A count claiming more ops than there are. */
	{
		static const uint8_t liar[] = { 0x94, 0x01, 0xc4, 0x10, 0x51, 0x7a, 1, 2, 3, 4, 5, 6,
			                            7, 8, 9, 10, 11, 12, 13, 14, 0xc2, 0xdd, 0x00, 0x03,
			                            0x0d, 0x40 };

		b.data = (uint8_t *)liar;
		b.len = sizeof(liar);
		expect_decode(&b, RL_EPROTO);
	}
}

static void
test_record_decode_malformed(void **state)
{
	rl_record rec;
	rl_buf enc;
	int accepted = 0;

	(void)state;
	sample_record(&rec);
	encode_rec(&rec, &enc);
	/* Every truncation fails and leaves nothing to free. */
	for (size_t k = 0; k < enc.len; k++) {
		uint8_t *in = dup_exact(enc.data, k);
		rl_record got;

		if (rl_record_decode(RL_BYTES(in, k), &got) == RL_OK)
			fail_msg("state truncated to %zu/%zu bytes decoded", k, enc.len);
		assert_int_equal(got.nops, 0);
		free(in);
	}
	/* Random flips: fail, or a canonical state whose ops all validate. */
	for (int t = 0; t < 20000; t++) {
		uint8_t *in = dup_exact(enc.data, enc.len);
		uint32_t flips = 1 + rl_random_uniform(4);
		rl_record got;

		for (uint32_t f = 0; f < flips; f++)
			in[rl_random_uniform((uint32_t)enc.len)] ^= (uint8_t)(1 + rl_random_uniform(255));
		if (rl_record_decode(RL_BYTES(in, enc.len), &got) == RL_OK) {
			rl_buf again;

			accepted++;
			for (size_t i = 0; i < got.nops; i++) {
				RL_PASS(rl_op_validate(got.ops[i]));
				if (i > 0)
					assert_true(rl_op_cmp(got.ops[i - 1], got.ops[i]) < 0);
			}
			/* Views work on whatever decoded. */
			{
				rl_bytes *v;
				size_t n;
				const rl_op **l;

				RL_PASS(rl_record_set(&got, RL_SET_PROBLEMS, &v, &n));
				free(v);
				RL_PASS(rl_record_list(&got, RL_OP_JOURNAL, &l, &n));
				free(l);
				(void)rl_record_get(&got, RL_F_CONSENT);
			}
			/* Re-encoding and decoding again is a fixed point. */
			encode_rec(&got, &again);
			{
				rl_record twice;
				rl_buf third;

				RL_PASS(rl_record_decode(rl_buf_view(&again), &twice));
				encode_rec(&twice, &third);
				assert_int_equal(third.len, again.len);
				assert_memory_equal(third.data, again.data, again.len);
				rl_buf_fini(&third);
				rl_record_fini(&twice);
			}
			rl_buf_fini(&again);
			rl_record_fini(&got);
		} else
			assert_int_equal(got.nops, 0);
		free(in);
	}
	assert_true(accepted > 0);
	rl_buf_fini(&enc);
	rl_record_fini(&rec);
}

/* ---- hashes ---- */

static void
test_hash_order_independent(void **state)
{
	rl_record ref;
	rl_op *ops[32];
	size_t n;
	uint8_t h0[RL_HASH_BYTES];

	(void)state;
	sample_record(&ref);
	n = ref.nops;
	for (size_t i = 0; i < n; i++)
		ops[i] = rl_op_dup(ref.ops[i]);
	RL_PASS(rl_record_hash(&ref, h0));
	for (int t = 0; t < 200; t++) {
		rl_record rec;
		uint8_t h[RL_HASH_BYTES];

		/* Fisher-Yates, then apply with random duplicates. */
		for (size_t i = n - 1; i > 0; i--) {
			size_t j = rl_random_uniform((uint32_t)(i + 1));
			rl_op *tmp = ops[i];

			ops[i] = ops[j];
			ops[j] = tmp;
		}
		rl_record_init(&rec, SIT);
		for (size_t i = 0; i < n; i++) {
			RL_PASS(rl_record_apply(&rec, ops[i], NULL));
			if (rl_random_uniform(3) == 0)
				RL_PASS(rl_record_apply(&rec, ops[rl_random_uniform((uint32_t)(i + 1))], NULL));
		}
		RL_PASS(rl_record_hash(&rec, h));
		assert_memory_equal(h, h0, RL_HASH_BYTES);
		assert_same_state(&rec, &ref);
		rl_record_fini(&rec);
	}
	/* A different set hashes differently. */
	{
		rl_record less;
		uint8_t h[RL_HASH_BYTES];

		rl_record_init(&less, SIT);
		for (size_t i = 1; i < n; i++)
			RL_PASS(rl_record_apply(&less, ops[i], NULL));
		RL_PASS(rl_record_hash(&less, h));
		assert_memory_not_equal(h, h0, RL_HASH_BYTES);
		rl_record_fini(&less);
	}
	for (size_t i = 0; i < n; i++)
		free(ops[i]);
	rl_record_fini(&ref);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_op_roundtrip),
		cmocka_unit_test(test_op_golden),
		cmocka_unit_test(test_op_decode_malformed),
		cmocka_unit_test(test_op_decode_bounds),
		cmocka_unit_test(test_op_validate),
		cmocka_unit_test(test_op_order_and_dup),
		cmocka_unit_test(test_register_sequential),
		cmocka_unit_test(test_register_concurrent),
		cmocka_unit_test(test_set_add_wins),
		cmocka_unit_test(test_set_listing),
		cmocka_unit_test(test_journal),
		cmocka_unit_test(test_alerts),
		cmocka_unit_test(test_erase),
		cmocka_unit_test(test_apply_rejects),
		cmocka_unit_test(test_record_roundtrip),
		cmocka_unit_test(test_record_decode_rejects),
		cmocka_unit_test(test_record_decode_malformed),
		cmocka_unit_test(test_hash_order_independent),
	};

	if (rl_crypto_init() != RL_OK) {
		fprintf(stderr, "rl_crypto_init failed\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
