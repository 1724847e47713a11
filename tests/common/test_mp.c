/*
 * test_mp.c - msgpack writer golden vectors and the bounded reader.
 *
 * The writer must pick the shortest encoding for every value (canonical
 * record encodings and state hashes depend on it), so each case below gives
 * the exact bytes expected. The reader is fed every prefix of a message,
 * containers claiming more elements than the bytes left, lengths over the
 * caller's maximum and nesting past RL_MP_MAX_DEPTH; it must fail cleanly
 * (RL_EPROTO, sticky) and never read past the input, which the ASan build
 * checks by giving it exactly-sized heap copies.
 */
#include "rl_test.h"

#include "common/crypto.h"
#include "common/mp.h"

/* ---- helpers ---- */

/* A heap copy of exactly n bytes, so ASan catches any read past the end. */
static uint8_t *
dup_exact(const void *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	assert_non_null(c);
	if (n)
		memcpy(c, p, n);
	return c;
}

static void
assert_bytes(const rl_buf *b, const uint8_t *want, size_t n, const char *what)
{
	if (b->len != n || memcmp(b->data, want, n) != 0) {
		char got[256], exp[256];

		for (size_t i = 0; i < b->len && i < 100; i++)
			snprintf(got + 2 * i, 3, "%02x", b->data[i]);
		got[b->len < 100 ? 2 * b->len : 200] = '\0';
		for (size_t i = 0; i < n && i < 100; i++)
			snprintf(exp + 2 * i, 3, "%02x", want[i]);
		exp[n < 100 ? 2 * n : 200] = '\0';
		fail_msg("%s: got %s (%zu bytes), want %s (%zu bytes)", what, got, b->len, exp, n);
	}
}

/* ---- writer golden vectors ---- */

typedef struct uvec {
	uint64_t v;
	uint8_t len;
	uint8_t b[9];
} uvec;

static const uvec uint_vectors[] = {
	{ 0, 1, { 0x00 } },
	{ 1, 1, { 0x01 } },
	{ 127, 1, { 0x7f } },
	{ 128, 2, { 0xcc, 0x80 } },
	{ 255, 2, { 0xcc, 0xff } },
	{ 256, 3, { 0xcd, 0x01, 0x00 } },
	{ 65535, 3, { 0xcd, 0xff, 0xff } },
	{ 65536, 5, { 0xce, 0x00, 0x01, 0x00, 0x00 } },
	{ 0xffffffffu, 5, { 0xce, 0xff, 0xff, 0xff, 0xff } },
	{ 0x100000000u, 9, { 0xcf, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00 } },
	{ 0x0123456789abcdefu, 9, { 0xcf, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef } },
	{ UINT64_MAX, 9, { 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } },
};

typedef struct ivec {
	int64_t v;
	uint8_t len;
	uint8_t b[9];
} ivec;

static const ivec int_vectors[] = {
	{ 0, 1, { 0x00 } },
	{ 5, 1, { 0x05 } },
	{ 127, 1, { 0x7f } },
	{ 128, 2, { 0xcc, 0x80 } },
	{ 65536, 5, { 0xce, 0x00, 0x01, 0x00, 0x00 } },
	{ INT64_MAX, 9, { 0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } },
	{ -1, 1, { 0xff } },
	{ -32, 1, { 0xe0 } },
	{ -33, 2, { 0xd0, 0xdf } },
	{ -128, 2, { 0xd0, 0x80 } },
	{ -129, 3, { 0xd1, 0xff, 0x7f } },
	{ -32768, 3, { 0xd1, 0x80, 0x00 } },
	{ -32769, 5, { 0xd2, 0xff, 0xff, 0x7f, 0xff } },
	{ INT32_MIN, 5, { 0xd2, 0x80, 0x00, 0x00, 0x00 } },
	{ (int64_t)INT32_MIN - 1, 9, { 0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff } },
	{ INT64_MIN, 9, { 0xd3, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 } },
};

static void
test_golden_uint(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(uint_vectors) / sizeof(uint_vectors[0]); i++) {
		const uvec *t = &uint_vectors[i];
		char what[64];
		rl_buf b;
		rl_mpw w;
		rl_mpr r;
		uint64_t got;
		uint8_t *in;

		rl_buf_init(&b);
		rl_mpw_init(&w, &b);
		rl_mpw_uint(&w, t->v);
		RL_PASS(rl_mpw_err(&w));
		snprintf(what, sizeof(what), "uint %llu", (unsigned long long)t->v);
		assert_bytes(&b, t->b, t->len, what);

		/* And it reads back, exactly, from an exactly-sized copy. */
		in = dup_exact(b.data, b.len);
		rl_mpr_init(&r, in, b.len);
		assert_int_equal(rl_mpr_peek(&r), RL_MP_UINT);
		RL_PASS(rl_mpr_uint(&r, UINT64_MAX, &got));
		assert_true(got == t->v);
		RL_PASS(rl_mpr_done(&r));

		/* One below the value as maximum must refuse it. */
		if (t->v > 0) {
			rl_mpr_init(&r, in, b.len);
			RL_FAIL(rl_mpr_uint(&r, t->v - 1, &got), RL_EPROTO);
		}
		/* Every strict prefix fails. */
		for (size_t k = 0; k < b.len; k++) {
			rl_mpr_init(&r, in, k);
			RL_FAIL(rl_mpr_uint(&r, UINT64_MAX, &got), RL_EPROTO);
		}
		free(in);
		rl_buf_fini(&b);
	}
}

static void
test_golden_int(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(int_vectors) / sizeof(int_vectors[0]); i++) {
		const ivec *t = &int_vectors[i];
		char what[64];
		rl_buf b;
		rl_mpw w;
		rl_mpr r;
		int64_t got;
		uint64_t u;
		uint8_t *in;

		rl_buf_init(&b);
		rl_mpw_init(&w, &b);
		rl_mpw_int(&w, t->v);
		RL_PASS(rl_mpw_err(&w));
		snprintf(what, sizeof(what), "int %lld", (long long)t->v);
		assert_bytes(&b, t->b, t->len, what);

		in = dup_exact(b.data, b.len);
		rl_mpr_init(&r, in, b.len);
		RL_PASS(rl_mpr_int(&r, &got));
		assert_true(got == t->v);
		RL_PASS(rl_mpr_done(&r));

		/* Negative values are not unsigned; non-negative ones are. */
		rl_mpr_init(&r, in, b.len);
		if (t->v < 0) {
			assert_int_equal(rl_mpr_peek(&r), RL_MP_NINT);
			RL_FAIL(rl_mpr_uint(&r, UINT64_MAX, &u), RL_EPROTO);
		} else {
			RL_PASS(rl_mpr_uint(&r, UINT64_MAX, &u));
			assert_true(u == (uint64_t)t->v);
		}
		for (size_t k = 0; k < b.len; k++) {
			rl_mpr_init(&r, in, k);
			RL_FAIL(rl_mpr_int(&r, &got), RL_EPROTO);
		}
		free(in);
		rl_buf_fini(&b);
	}
}

/* Signed encodings of non-negative values are read (by int and uint) even
 * though our writer never makes them; every width sign-extends correctly. */
static void
test_read_all_int_widths(void **state)
{
	static const struct {
		uint8_t len;
		uint8_t b[9];
		int64_t v;
	} cases[] = {
		{ 2, { 0xd0, 0x05 }, 5 },
		{ 2, { 0xd0, 0xff }, -1 },
		{ 3, { 0xd1, 0x00, 0x7f }, 127 },
		{ 3, { 0xd1, 0xff, 0xfe }, -2 },
		{ 5, { 0xd2, 0x00, 0x00, 0x01, 0x00 }, 256 },
		{ 5, { 0xd2, 0xff, 0xff, 0xff, 0xfd }, -3 },
		{ 9, { 0xd3, 0x00, 0, 0, 0, 0, 0, 0, 0x07 }, 7 },
		{ 9, { 0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc }, -4 },
		{ 2, { 0xcc, 0x00 }, 0 },
		{ 3, { 0xcd, 0x00, 0x01 }, 1 },
		{ 5, { 0xce, 0x00, 0x00, 0x00, 0x02 }, 2 },
		{ 9, { 0xcf, 0, 0, 0, 0, 0, 0, 0, 0x03 }, 3 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *in = dup_exact(cases[i].b, cases[i].len);
		rl_mpr r;
		int64_t v;
		uint64_t u;

		rl_mpr_init(&r, in, cases[i].len);
		RL_PASS(rl_mpr_int(&r, &v));
		assert_true(v == cases[i].v);
		RL_PASS(rl_mpr_done(&r));
		rl_mpr_init(&r, in, cases[i].len);
		if (cases[i].v < 0)
			RL_FAIL(rl_mpr_uint(&r, UINT64_MAX, &u), RL_EPROTO);
		else {
			RL_PASS(rl_mpr_uint(&r, UINT64_MAX, &u));
			assert_true(u == (uint64_t)cases[i].v);
		}
		rl_mpr_init(&r, in, cases[i].len);
		RL_PASS(rl_mpr_skip(&r));
		RL_PASS(rl_mpr_done(&r));
		free(in);
	}
}

/* A uint64 above INT64_MAX is a valid uint but not an int64. */
static void
test_int_overflow(void **state)
{
	static const uint8_t big[] = { 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0 };
	rl_mpr r;
	int64_t v;
	uint64_t u;

	(void)state;
	rl_mpr_init(&r, big, sizeof(big));
	RL_FAIL(rl_mpr_int(&r, &v), RL_EPROTO);
	rl_mpr_init(&r, big, sizeof(big));
	RL_PASS(rl_mpr_uint(&r, UINT64_MAX, &u));
	assert_true(u == (uint64_t)1 << 63);
}

static void
test_golden_other(void **state)
{
	uint8_t s31[31], s32[32], s255[255], s256[256];
	static uint8_t s65536[65536];
	rl_buf b;
	rl_mpw w;

	(void)state;
	memset(s31, 'a', sizeof(s31));
	memset(s32, 'b', sizeof(s32));
	memset(s255, 'c', sizeof(s255));
	memset(s256, 'd', sizeof(s256));
	memset(s65536, 'e', sizeof(s65536));

	/* Scalars. */
	{
		static const uint8_t want[] = { 0xc0, 0xc3, 0xc2 };

		rl_buf_init(&b);
		rl_mpw_init(&w, &b);
		rl_mpw_nil(&w);
		rl_mpw_bool(&w, true);
		rl_mpw_bool(&w, false);
		RL_PASS(rl_mpw_err(&w));
		assert_bytes(&b, want, sizeof(want), "nil true false");
		rl_buf_fini(&b);
	}
	/* Containers: fix forms, 16-bit and 32-bit counts. */
	{
		static const uint8_t want[] = { 0x90, 0x9f, 0xdc, 0x00, 0x10, 0xdc, 0xff, 0xff,
			                            0xdd, 0x00, 0x01, 0x00, 0x00, 0x80, 0x8f, 0xde,
			                            0x00, 0x10, 0xdf, 0x00, 0x01, 0x00, 0x00 };

		rl_buf_init(&b);
		rl_mpw_init(&w, &b);
		rl_mpw_array(&w, 0);
		rl_mpw_array(&w, 15);
		rl_mpw_array(&w, 16);
		rl_mpw_array(&w, 65535);
		rl_mpw_array(&w, 65536);
		rl_mpw_map(&w, 0);
		rl_mpw_map(&w, 15);
		rl_mpw_map(&w, 16);
		rl_mpw_map(&w, 65536);
		RL_PASS(rl_mpw_err(&w));
		assert_bytes(&b, want, sizeof(want), "container headers");
		rl_buf_fini(&b);
	}
	/* Strings: fixstr, str8, str16, str32 boundaries. */
	{
		static const struct {
			size_t n;
			uint8_t hlen;
			uint8_t h[5];
		} strs[] = {
			{ 0, 1, { 0xa0 } },
			{ 31, 1, { 0xbf } },
			{ 32, 2, { 0xd9, 0x20 } },
			{ 255, 2, { 0xd9, 0xff } },
			{ 256, 3, { 0xda, 0x01, 0x00 } },
			{ 65536, 5, { 0xdb, 0x00, 0x01, 0x00, 0x00 } },
		};
		for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
			const uint8_t *body = strs[i].n == 0     ? s31
			                      : strs[i].n == 31  ? s31
			                      : strs[i].n == 32  ? s32
			                      : strs[i].n == 255 ? s255
			                      : strs[i].n == 256 ? s256
			                                         : s65536;
			char what[32];

			rl_buf_init(&b);
			rl_mpw_init(&w, &b);
			rl_mpw_str(&w, body, strs[i].n);
			RL_PASS(rl_mpw_err(&w));
			snprintf(what, sizeof(what), "str %zu", strs[i].n);
			assert_int_equal(b.len, strs[i].hlen + strs[i].n);
			assert_bytes(&(rl_buf){ b.data, strs[i].hlen, 0 }, strs[i].h, strs[i].hlen, what);
			assert_memory_equal(b.data + strs[i].hlen, body, strs[i].n);
			rl_buf_fini(&b);
		}
	}
	/* Binary: bin8 from length 0, bin16, bin32. */
	{
		static const struct {
			size_t n;
			uint8_t hlen;
			uint8_t h[5];
		} bins[] = {
			{ 0, 2, { 0xc4, 0x00 } },
			{ 1, 2, { 0xc4, 0x01 } },
			{ 255, 2, { 0xc4, 0xff } },
			{ 256, 3, { 0xc5, 0x01, 0x00 } },
			{ 65536, 5, { 0xc6, 0x00, 0x01, 0x00, 0x00 } },
		};
		for (size_t i = 0; i < sizeof(bins) / sizeof(bins[0]); i++) {
			const uint8_t *body = bins[i].n <= 255   ? s255
			                      : bins[i].n == 256 ? s256
			                                         : s65536;
			char what[32];

			rl_buf_init(&b);
			rl_mpw_init(&w, &b);
			rl_mpw_bin(&w, body, bins[i].n);
			RL_PASS(rl_mpw_err(&w));
			snprintf(what, sizeof(what), "bin %zu", bins[i].n);
			assert_int_equal(b.len, bins[i].hlen + bins[i].n);
			assert_bytes(&(rl_buf){ b.data, bins[i].hlen, 0 }, bins[i].h, bins[i].hlen, what);
			assert_memory_equal(b.data + bins[i].hlen, body, bins[i].n);
			rl_buf_fini(&b);
		}
	}
	/* cstr and a small composite, checked whole. */
	{
		static const uint8_t want[] = { 0x93, 0xa3, 'a', 'b', 'c', 0x81, 0x01, 0xc4,
			                            0x02, 0xde, 0xad, 0xd0, 0x9c };

		rl_buf_init(&b);
		rl_mpw_init(&w, &b);
		rl_mpw_array(&w, 3);
		rl_mpw_cstr(&w, "abc");
		rl_mpw_map(&w, 1);
		rl_mpw_uint(&w, 1);
		rl_mpw_bin(&w, "\xde\xad", 2);
		rl_mpw_int(&w, -100);
		RL_PASS(rl_mpw_err(&w));
		assert_bytes(&b, want, sizeof(want), "composite");
		rl_buf_fini(&b);
	}
}

/* A length past 32 bits is refused before any byte is touched. */
static void
test_writer_too_big(void **state)
{
	static const uint8_t dummy[1];
	rl_buf b;
	rl_mpw w;

	(void)state;
	if (SIZE_MAX <= UINT32_MAX)
		skip();
	rl_buf_init(&b);
	rl_mpw_init(&w, &b);
	rl_mpw_bin(&w, dummy, (size_t)UINT32_MAX + 1);
	RL_FAIL(rl_mpw_err(&w), RL_ETOOBIG);
	rl_mpw_init(&w, &b);
	rl_mpw_str(&w, dummy, (size_t)UINT32_MAX + 1);
	RL_FAIL(rl_mpw_err(&w), RL_ETOOBIG);
	/* The error is sticky: later values are not written. */
	rl_mpw_uint(&w, 1);
	RL_FAIL(rl_mpw_err(&w), RL_ETOOBIG);
	assert_int_equal(b.len, 0);
	rl_buf_fini(&b);
}

/* ---- reader ---- */

/* A message with one of everything, read back by read_sample(). */
static void
write_sample(rl_buf *b)
{
	rl_mpw w;
	uint8_t blob[300];

	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)i;
	rl_mpw_init(&w, b);
	rl_mpw_array(&w, 9);
	rl_mpw_uint(&w, 300);
	rl_mpw_int(&w, -70000);
	rl_mpw_bool(&w, true);
	rl_mpw_nil(&w);
	rl_mpw_cstr(&w, "situation");
	rl_mpw_bin(&w, blob, sizeof(blob));
	rl_mpw_map(&w, 2);
	rl_mpw_cstr(&w, "k");
	rl_mpw_uint(&w, UINT64_MAX);
	rl_mpw_cstr(&w, "l");
	rl_mpw_array(&w, 2);
	rl_mpw_int(&w, -1);
	rl_mpw_array(&w, 0);
	rl_mpw_array(&w, 20);
	for (int i = 0; i < 20; i++)
		rl_mpw_uint(&w, (uint64_t)i * 1000);
	rl_mpw_str(&w, "", 0);
	assert_int_equal(rl_mpw_err(&w), RL_OK);
}

static rl_err
read_sample(const uint8_t *p, size_t len)
{
	rl_mpr r;
	uint32_t n;
	uint64_t u;
	int64_t i;
	bool bv, nil;
	rl_bytes s;

	rl_mpr_init(&r, p, len);
	rl_mpr_array_n(&r, 9);
	rl_mpr_uint(&r, 1000, &u);
	if (r.err == RL_OK)
		assert_int_equal(u, 300);
	rl_mpr_int(&r, &i);
	if (r.err == RL_OK)
		assert_true(i == -70000);
	rl_mpr_bool(&r, &bv);
	if (rl_mpr_nil(&r, &nil) == RL_OK && !nil)
		return RL_EPROTO; /* a truncated nil reads as "not nil" */
	rl_mpr_str(&r, 64, &s);
	if (r.err == RL_OK)
		assert_true(s.len == 9 && memcmp(s.p, "situation", 9) == 0);
	rl_mpr_bin(&r, 300, &s);
	if (r.err == RL_OK)
		assert_true(s.len == 300 && s.p[299] == (uint8_t)299);
	rl_mpr_map(&r, 2, &n);
	rl_mpr_str(&r, 1, &s);
	rl_mpr_uint(&r, UINT64_MAX, &u);
	rl_mpr_str(&r, 1, &s);
	rl_mpr_array_n(&r, 2);
	rl_mpr_int(&r, &i);
	rl_mpr_array(&r, 5, &n);
	if (rl_mpr_array(&r, 20, &n) == RL_OK)
		for (uint32_t k = 0; k < n; k++)
			rl_mpr_uint(&r, UINT64_MAX, &u);
	rl_mpr_str(&r, 0, &s);
	return rl_mpr_done(&r);
}

static void
test_truncated_every_prefix(void **state)
{
	rl_buf b;

	(void)state;
	rl_buf_init(&b);
	write_sample(&b);
	{
		uint8_t *in = dup_exact(b.data, b.len);

		RL_PASS(read_sample(in, b.len));
		free(in);
	}
	for (size_t k = 0; k < b.len; k++) {
		uint8_t *in = dup_exact(b.data, k);
		rl_mpr r;

		if (read_sample(in, k) == RL_OK)
			fail_msg("prefix of %zu/%zu bytes read as complete", k, b.len);
		/* Skipping the truncated value fails too, or leaves bytes short. */
		rl_mpr_init(&r, in, k);
		assert_int_not_equal(rl_mpr_skip(&r), RL_OK);
		assert_int_not_equal(rl_mpr_done(&r), RL_OK);
		free(in);
	}
	/* A trailing byte is not "done". */
	{
		uint8_t *in;
		rl_mpr r;

		RL_PASS(rl_buf_append(&b, "\xc0", 1));
		in = dup_exact(b.data, b.len);
		RL_FAIL(read_sample(in, b.len), RL_EPROTO);
		rl_mpr_init(&r, in, b.len);
		RL_PASS(rl_mpr_skip(&r));
		RL_FAIL(rl_mpr_done(&r), RL_EPROTO);
		free(in);
	}
	rl_buf_fini(&b);
}

/* Containers cannot claim more elements than there are bytes left. */
static void
test_container_counts(void **state)
{
	static const uint8_t arr32[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02 };
	static const uint8_t arr16[] = { 0xdc, 0x00, 0x03, 0x01, 0x02 };
	static const uint8_t map32[] = { 0xdf, 0x7f, 0xff, 0xff, 0xff, 0x01, 0x02 };
	static const uint8_t map16[] = { 0xde, 0x00, 0x02, 0x01, 0x02, 0x03 };
	static const uint8_t fixmap[] = { 0x82, 0x01, 0x02, 0x03 };
	static const uint8_t fixarr15[] = { 0x9f, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };
	uint32_t n;
	rl_mpr r;
	uint8_t *in;

	(void)state;
	rl_mpr_init(&r, (in = dup_exact(arr32, sizeof(arr32))), sizeof(arr32));
	RL_FAIL(rl_mpr_array(&r, UINT32_MAX, &n), RL_EPROTO);
	rl_mpr_init(&r, in, sizeof(arr32));
	RL_FAIL(rl_mpr_skip(&r), RL_EPROTO);
	free(in);

	rl_mpr_init(&r, (in = dup_exact(arr16, sizeof(arr16))), sizeof(arr16));
	RL_FAIL(rl_mpr_array(&r, UINT32_MAX, &n), RL_EPROTO);
	free(in);

	rl_mpr_init(&r, (in = dup_exact(map32, sizeof(map32))), sizeof(map32));
	RL_FAIL(rl_mpr_map(&r, UINT32_MAX, &n), RL_EPROTO);
	rl_mpr_init(&r, in, sizeof(map32));
	RL_FAIL(rl_mpr_skip(&r), RL_EPROTO);
	free(in);

	/* Two entries need four bytes: three are too few. */
	rl_mpr_init(&r, (in = dup_exact(map16, sizeof(map16))), sizeof(map16));
	RL_FAIL(rl_mpr_map(&r, UINT32_MAX, &n), RL_EPROTO);
	free(in);
	rl_mpr_init(&r, (in = dup_exact(fixmap, sizeof(fixmap))), sizeof(fixmap));
	RL_FAIL(rl_mpr_map(&r, UINT32_MAX, &n), RL_EPROTO);
	rl_mpr_init(&r, in, 3);
	RL_FAIL(rl_mpr_skip(&r), RL_EPROTO);
	free(in);

	/* Exactly enough bytes is fine; one fewer is not. */
	rl_mpr_init(&r, (in = dup_exact(fixarr15, sizeof(fixarr15))), sizeof(fixarr15));
	RL_PASS(rl_mpr_array(&r, 15, &n));
	assert_int_equal(n, 15);
	rl_mpr_init(&r, in, sizeof(fixarr15));
	RL_PASS(rl_mpr_skip(&r));
	RL_PASS(rl_mpr_done(&r));
	rl_mpr_init(&r, in, sizeof(fixarr15) - 1);
	RL_FAIL(rl_mpr_array(&r, 15, &n), RL_EPROTO);
	/* Over the caller's maximum. */
	rl_mpr_init(&r, in, sizeof(fixarr15));
	RL_FAIL(rl_mpr_array(&r, 14, &n), RL_EPROTO);
	rl_mpr_init(&r, in, sizeof(fixarr15));
	RL_FAIL(rl_mpr_array_n(&r, 14), RL_EPROTO);
	rl_mpr_init(&r, in, sizeof(fixarr15));
	RL_FAIL(rl_mpr_array_n(&r, 16), RL_EPROTO);
	rl_mpr_init(&r, in, sizeof(fixarr15));
	RL_PASS(rl_mpr_array_n(&r, 15));
	/* An array is not a map, nor the other way round. */
	rl_mpr_init(&r, in, sizeof(fixarr15));
	RL_FAIL(rl_mpr_map(&r, UINT32_MAX, &n), RL_EPROTO);
	free(in);
}

static void
test_over_max_lengths(void **state)
{
	uint8_t buf[70000];
	rl_bytes s;
	rl_mpr r;
	rl_buf b;
	rl_mpw w;
	uint64_t u;

	(void)state;
	memset(buf, 'x', sizeof(buf));
	rl_buf_init(&b);
	rl_mpw_init(&w, &b);
	rl_mpw_bin(&w, buf, 65537);
	rl_mpw_str(&w, buf, 40);
	rl_mpw_uint(&w, 1000);
	RL_PASS(rl_mpw_err(&w));

	rl_mpr_init(&r, b.data, b.len);
	RL_FAIL(rl_mpr_bin(&r, 65536, &s), RL_EPROTO);
	/* Sticky: the rest fails even though it is well formed. */
	RL_FAIL(rl_mpr_str(&r, 100, &s), RL_EPROTO);
	RL_FAIL(rl_mpr_uint(&r, 10000, &u), RL_EPROTO);
	RL_FAIL(rl_mpr_done(&r), RL_EPROTO);
	assert_int_equal(rl_mpr_peek(&r), RL_MP_NONE);

	rl_mpr_init(&r, b.data, b.len);
	RL_PASS(rl_mpr_bin(&r, 65537, &s));
	assert_int_equal(s.len, 65537);
	RL_FAIL(rl_mpr_str(&r, 39, &s), RL_EPROTO);

	rl_mpr_init(&r, b.data, b.len);
	RL_PASS(rl_mpr_bin(&r, SIZE_MAX, &s));
	RL_PASS(rl_mpr_str(&r, 40, &s));
	RL_FAIL(rl_mpr_uint(&r, 999, &u), RL_EPROTO);

	/* Exact-size binaries: one byte off either way fails. */
	rl_buf_reset(&b);
	rl_mpw_init(&w, &b);
	rl_mpw_bin(&w, buf, 16);
	rl_mpr_init(&r, b.data, b.len);
	RL_FAIL(rl_mpr_bin_n(&r, 15, buf), RL_EPROTO);
	rl_mpr_init(&r, b.data, b.len);
	RL_FAIL(rl_mpr_bin_n(&r, 17, buf), RL_EPROTO);
	rl_mpr_init(&r, b.data, b.len);
	RL_PASS(rl_mpr_bin_n(&r, 16, buf));
	RL_PASS(rl_mpr_done(&r));

	/* A bin/str header claiming more bytes than there are. */
	{
		static const uint8_t lie32[] = { 0xc6, 0xff, 0xff, 0xff, 0xf0, 'a' };
		static const uint8_t lie8[] = { 0xd9, 0x05, 'a', 'b', 'c', 'd' };
		static const uint8_t lie5[] = { 0xa5, 'a', 'b', 'c', 'd' };

		rl_mpr_init(&r, lie32, sizeof(lie32));
		RL_FAIL(rl_mpr_bin(&r, SIZE_MAX, &s), RL_EPROTO);
		rl_mpr_init(&r, lie32, sizeof(lie32));
		RL_FAIL(rl_mpr_skip(&r), RL_EPROTO);
		rl_mpr_init(&r, lie8, sizeof(lie8));
		RL_FAIL(rl_mpr_str(&r, SIZE_MAX, &s), RL_EPROTO);
		rl_mpr_init(&r, lie5, sizeof(lie5));
		RL_FAIL(rl_mpr_str(&r, SIZE_MAX, &s), RL_EPROTO);
		rl_mpr_init(&r, lie5, sizeof(lie5));
		RL_FAIL(rl_mpr_skip(&r), RL_EPROTO);
	}
	rl_buf_fini(&b);
}

/* Type confusion: each reader accepts only its own type. */
static void
test_wrong_types(void **state)
{
	static const uint8_t str[] = { 0xa1, 'a' };
	static const uint8_t bin[] = { 0xc4, 0x01, 'a' };
	static const uint8_t nil[] = { 0xc0 };
	static const uint8_t flt[] = { 0xca, 0, 0, 0, 0 };
	static const uint8_t never[] = { 0xc1 };
	rl_bytes s;
	rl_mpr r;
	bool b;
	uint64_t u;
	int64_t i;

	(void)state;
	rl_mpr_init(&r, str, sizeof(str));
	RL_FAIL(rl_mpr_bin(&r, 10, &s), RL_EPROTO);
	rl_mpr_init(&r, bin, sizeof(bin));
	RL_FAIL(rl_mpr_str(&r, 10, &s), RL_EPROTO);
	rl_mpr_init(&r, nil, sizeof(nil));
	RL_FAIL(rl_mpr_bool(&r, &b), RL_EPROTO);
	rl_mpr_init(&r, nil, sizeof(nil));
	RL_FAIL(rl_mpr_uint(&r, UINT64_MAX, &u), RL_EPROTO);
	rl_mpr_init(&r, flt, sizeof(flt));
	RL_FAIL(rl_mpr_int(&r, &i), RL_EPROTO);
	rl_mpr_init(&r, str, sizeof(str));
	RL_FAIL(rl_mpr_int(&r, &i), RL_EPROTO);
	rl_mpr_init(&r, never, sizeof(never));
	assert_int_equal(rl_mpr_peek(&r), RL_MP_NONE);
	RL_FAIL(rl_mpr_skip(&r), RL_EPROTO);

	/* nil is optional: a non-nil is left for the next reader. */
	rl_mpr_init(&r, str, sizeof(str));
	RL_PASS(rl_mpr_nil(&r, &b));
	assert_false(b);
	RL_PASS(rl_mpr_str(&r, 1, &s));
	RL_PASS(rl_mpr_done(&r));
	rl_mpr_init(&r, nil, sizeof(nil));
	RL_PASS(rl_mpr_nil(&r, &b));
	assert_true(b);
	RL_PASS(rl_mpr_done(&r));

	/* Peek names every type. */
	{
		static const struct {
			uint8_t b;
			rl_mp_type t;
		} peeks[] = {
			{ 0x00, RL_MP_UINT }, { 0x7f, RL_MP_UINT },  { 0xcf, RL_MP_UINT },
			{ 0xe0, RL_MP_NINT }, { 0xd3, RL_MP_NINT },  { 0xc0, RL_MP_NIL },
			{ 0xc2, RL_MP_BOOL }, { 0xc3, RL_MP_BOOL },  { 0xca, RL_MP_FLOAT },
			{ 0xcb, RL_MP_FLOAT }, { 0xa0, RL_MP_STR },  { 0xdb, RL_MP_STR },
			{ 0xc4, RL_MP_BIN },  { 0xc6, RL_MP_BIN },   { 0x90, RL_MP_ARRAY },
			{ 0xdd, RL_MP_ARRAY }, { 0x80, RL_MP_MAP },  { 0xdf, RL_MP_MAP },
			{ 0xd4, RL_MP_EXT },  { 0xc9, RL_MP_EXT },
		};
		for (size_t k = 0; k < sizeof(peeks) / sizeof(peeks[0]); k++) {
			rl_mpr_init(&r, &peeks[k].b, 1);
			assert_int_equal(rl_mpr_peek(&r), peeks[k].t);
			assert_int_equal(r.pos, 0);
		}
		rl_mpr_init(&r, NULL, 0);
		assert_int_equal(rl_mpr_peek(&r), RL_MP_NONE);
		RL_PASS(rl_mpr_done(&r));
	}
}

/* Skip walks every type, including floats and exts we never write. */
static void
test_skip_all_types(void **state)
{
	static const uint8_t msg[] = {
		0xdc, 0x00, 0x0b,                         /* array16 of 11 */
		0xca, 0x3f, 0x80, 0x00, 0x00,             /* float32 */
		0xcb, 0, 0, 0, 0, 0, 0, 0, 0,             /* float64 */
		0xd4, 0x01, 0xaa,                         /* fixext1 */
		0xd8, 0x02, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, /* fixext16 */
		0xc7, 0x02, 0x05, 0xaa, 0xbb,             /* ext8 */
		0xc8, 0x00, 0x01, 0x05, 0xaa,             /* ext16 */
		0xc9, 0x00, 0x00, 0x00, 0x00, 0x05,       /* ext32, empty */
		0x81, 0xa1, 'k', 0x91, 0xc3,              /* {"k": [true]} */
		0xd1, 0xff, 0x00,                         /* int16 */
		0xdb, 0x00, 0x00, 0x00, 0x01, 'z',        /* str32 */
		0xc5, 0x00, 0x02, 1, 2,                   /* bin16 */
	};
	uint8_t *in;
	rl_mpr r;

	(void)state;
	in = dup_exact(msg, sizeof(msg));
	rl_mpr_init(&r, in, sizeof(msg));
	RL_PASS(rl_mpr_skip(&r));
	RL_PASS(rl_mpr_done(&r));
	/* Every prefix fails to skip. */
	for (size_t k = 0; k < sizeof(msg); k++) {
		free(in);
		in = dup_exact(msg, k);
		rl_mpr_init(&r, in, k);
		RL_FAIL(rl_mpr_skip(&r), RL_EPROTO);
	}
	free(in);
	/* An ext claiming more bytes than there are. */
	{
		static const uint8_t ext[] = { 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00 };

		rl_mpr_init(&r, ext, sizeof(ext));
		RL_FAIL(rl_mpr_skip(&r), RL_EPROTO);
	}
}

/* n nested one-element arrays around a nil (or an empty innermost array). */
static uint8_t *
nested(size_t n, bool empty_inner, size_t *len)
{
	uint8_t *p = malloc(n + 1);

	assert_non_null(p);
	memset(p, 0x91, n);
	if (empty_inner) {
		p[n - 1] = 0x90;
		*len = n;
	} else {
		p[n] = 0xc0;
		*len = n + 1;
	}
	return p;
}

static void
test_skip_depth(void **state)
{
	size_t len;
	uint8_t *p;
	rl_mpr r;

	(void)state;
	/* RL_MP_MAX_DEPTH nested containers are fine, one more is not,
	 * whether the innermost holds a value or nothing. */
	for (int empty = 0; empty <= 1; empty++) {
		p = nested(RL_MP_MAX_DEPTH, empty, &len);
		rl_mpr_init(&r, p, len);
		RL_PASS(rl_mpr_skip(&r));
		RL_PASS(rl_mpr_done(&r));
		free(p);

		p = nested(RL_MP_MAX_DEPTH + 1, empty, &len);
		rl_mpr_init(&r, p, len);
		if (rl_mpr_skip(&r) == RL_OK)
			fail_msg("%d nested %s arrays skipped", RL_MP_MAX_DEPTH + 1,
			         empty ? "empty" : "non-empty");
		free(p);
	}
	/* Maps count too. */
	{
		uint8_t m[2 * (RL_MP_MAX_DEPTH + 1) + 1];
		size_t k = 0;

		for (int i = 0; i <= RL_MP_MAX_DEPTH; i++) {
			m[k++] = 0x81;
			m[k++] = 0x00; /* key */
		}
		m[k++] = 0xc0;
		rl_mpr_init(&r, m, k);
		RL_FAIL(rl_mpr_skip(&r), RL_EPROTO);
		/* One map level less is fine. */
		rl_mpr_init(&r, m + 2, k - 2);
		RL_PASS(rl_mpr_skip(&r));
		RL_PASS(rl_mpr_done(&r));
	}
	/* A nesting bomb fails fast, without exhausting the stack. */
	p = nested(1000000, false, &len);
	rl_mpr_init(&r, p, len);
	RL_FAIL(rl_mpr_skip(&r), RL_EPROTO);
	free(p);
}

/* Random bytes: the reader never crashes, never runs past the input. */
static void
test_skip_random(void **state)
{
	uint8_t *p;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		size_t n = rl_random_uniform(40);
		rl_mpr r;

		p = malloc(n ? n : 1);
		assert_non_null(p);
		rl_random(p, n);
		/* Bias towards container and length headers. */
		if (n > 0 && i % 2)
			p[0] = (uint8_t)(0x90 | (p[0] & 0x0f));
		rl_mpr_init(&r, p, n);
		while (rl_mpr_skip(&r) == RL_OK && r.pos < r.len)
			;
		assert_true(r.pos <= r.len);
		free(p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_uint),
		cmocka_unit_test(test_golden_int),
		cmocka_unit_test(test_read_all_int_widths),
		cmocka_unit_test(test_int_overflow),
		cmocka_unit_test(test_golden_other),
		cmocka_unit_test(test_writer_too_big),
		cmocka_unit_test(test_truncated_every_prefix),
		cmocka_unit_test(test_container_counts),
		cmocka_unit_test(test_over_max_lengths),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_skip_all_types),
		cmocka_unit_test(test_skip_depth),
		cmocka_unit_test(test_skip_random),
	};

	if (rl_crypto_init() != RL_OK) {
		fprintf(stderr, "rl_crypto_init failed\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
