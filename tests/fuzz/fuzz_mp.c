/*
 * fuzz_mp.c - libFuzzer target for the bounded msgpack reader (common/mp.c).
 *
 * Input: byte 0 is the length k of a "program" (bytes 1..k, clipped to the
 * input), the rest is msgpack data. Three checks per input:
 *
 *   1. The program drives a random sequence of reader calls over the data
 *      (each byte: a call, and a bound chosen from a table). After every
 *      call: the position stays in range, errors are sticky and leave the
 *      position alone, lengths and counts respect their bound and the bytes
 *      left, borrowed ranges lie inside the input, and a successful typed
 *      read consumes what rl_mpr_skip would have.
 *   2. Differential: when rl_mpr_skip accepts a value at the start of the
 *      data, msgpack-c's unpacker must parse one value of the same length
 *      and type (msgpack-c is only called then: on hostile counts it would
 *      allocate gigabytes, see DEPS.md).
 *   3. Round trip: the program and the data drive the writer (rl_mpw_*),
 *      and reading back the same sequence gives the same values.
 *
 * This test file includes msgpack.h for the differential only.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/mp.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint64_t bounds[] = {
	0, 1, 2, 3, 15, 16, 31, 32, 64, 127, 128, 255, 256, 65535, 65536, UINT32_MAX,
	(uint64_t)UINT32_MAX + 1, INT64_MAX, UINT64_MAX,
};
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))

static bool
inside(rl_bytes v, const uint8_t *p, size_t len)
{
	return v.len == 0 || (v.p >= p && v.p + v.len <= p + len);
}

/* Where rl_mpr_skip would land from r's position (SIZE_MAX: it fails). */
static size_t
skip_end(const rl_mpr *r)
{
	rl_mpr c = *r;

	return rl_mpr_skip(&c) == RL_OK ? c.pos : SIZE_MAX;
}

static void
run_program(const uint8_t *prog, size_t k, const uint8_t *p, size_t len)
{
	rl_mpr r;

	rl_mpr_init(&r, p, len);
	for (size_t i = 0; i < k; i++) {
		uint8_t op = prog[i] % 13;
		uint64_t bound = bounds[(prog[i] / 13) % NBOUNDS];
		uint32_t b32 = bound > UINT32_MAX ? UINT32_MAX : (uint32_t)bound;
		size_t pos0 = r.pos, left0 = r.len - r.pos, skip = skip_end(&r);
		rl_err err0 = r.err, e = RL_OK;
		rl_mp_type t;
		uint32_t n;
		uint64_t u;
		int64_t s;
		bool bo, typed = false, container = false;
		rl_bytes by;
		uint8_t fixed[64];

		switch (op) {
		case 0:
			t = rl_mpr_peek(&r);
			FZ_CHECK(r.pos == pos0);
			if (err0 == RL_OK && left0 > 0 && t == RL_MP_NONE)
				FZ_CHECK(p[pos0] == 0xc1);
			if (t != RL_MP_NONE && skip != SIZE_MAX)
				FZ_CHECK(skip > pos0);
			continue;
		case 1:
		case 2:
			e = op == 1 ? rl_mpr_array(&r, b32, &n) : rl_mpr_map(&r, b32, &n);
			if (e == RL_OK) {
				FZ_CHECK(n <= b32);
				FZ_CHECK((uint64_t)n * (op == 2 ? 2 : 1) <= r.len - r.pos);
			}
			container = true;
			break;
		case 3:
			e = rl_mpr_array_n(&r, b32 > 16 ? 16 : b32);
			container = true;
			break;
		case 4:
			if ((e = rl_mpr_uint(&r, bound, &u)) == RL_OK)
				FZ_CHECK(u <= bound);
			typed = true;
			break;
		case 5:
			e = rl_mpr_int(&r, &s);
			typed = true;
			break;
		case 6:
			e = rl_mpr_bool(&r, &bo);
			typed = true;
			break;
		case 7:
			e = rl_mpr_nil(&r, &bo);
			FZ_CHECK(e == err0);
			if (e == RL_OK)
				FZ_CHECK(r.pos == pos0 + (bo ? 1 : 0));
			else
				FZ_CHECK(!bo);
			continue;
		case 8:
		case 9:
			e = op == 8 ? rl_mpr_bin(&r, (size_t)bound, &by) : rl_mpr_str(&r, (size_t)bound, &by);
			if (e == RL_OK)
				FZ_CHECK(by.len <= bound && inside(by, p, len));
			typed = true;
			break;
		case 10:
			e = rl_mpr_bin_n(&r, bound > sizeof(fixed) ? sizeof(fixed) : (size_t)bound, fixed);
			typed = true;
			break;
		case 11:
			e = rl_mpr_skip(&r);
			FZ_CHECK(e != RL_OK || r.pos == skip);
			break;
		case 12:
			e = rl_mpr_done(&r);
			FZ_CHECK(r.pos == pos0 && r.err == err0);
			FZ_CHECK((e == RL_OK) == (err0 == RL_OK && pos0 == len));
			continue;
		}
		FZ_CHECK(r.pos <= r.len);
		if (err0 != RL_OK) {
			/* Sticky: the first error stays, nothing moves. */
			FZ_CHECK(e == err0 && r.err == err0 && r.pos == pos0);
			continue;
		}
		FZ_CHECK((e == RL_OK) == (r.err == RL_OK));
		if (e == RL_OK && typed)
			FZ_CHECK(r.pos == skip);
		if (e == RL_OK && container)
			FZ_CHECK(r.pos > pos0 && (skip == SIZE_MAX || r.pos <= skip));
	}
}

static bool
types_agree(rl_mp_type t, const msgpack_object *o)
{
	switch (t) {
	case RL_MP_NIL: return o->type == MSGPACK_OBJECT_NIL;
	case RL_MP_BOOL: return o->type == MSGPACK_OBJECT_BOOLEAN;
	case RL_MP_UINT: return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
	case RL_MP_NINT:
		return o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
		       o->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
	case RL_MP_FLOAT:
		return o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64;
	case RL_MP_STR: return o->type == MSGPACK_OBJECT_STR;
	case RL_MP_BIN: return o->type == MSGPACK_OBJECT_BIN;
	case RL_MP_ARRAY: return o->type == MSGPACK_OBJECT_ARRAY;
	case RL_MP_MAP: return o->type == MSGPACK_OBJECT_MAP;
	case RL_MP_EXT: return o->type == MSGPACK_OBJECT_EXT;
	default: return false;
	}
}

static void
differential(const uint8_t *p, size_t len)
{
	msgpack_unpacked up;
	msgpack_unpack_return ret;
	size_t off = 0;
	rl_mp_type t;
	rl_mpr r;

	rl_mpr_init(&r, p, len);
	t = rl_mpr_peek(&r);
	if (rl_mpr_skip(&r) != RL_OK)
		return;
	msgpack_unpacked_init(&up);
	ret = msgpack_unpack_next(&up, (const char *)p, len, &off);
	FZ_CHECK(ret == MSGPACK_UNPACK_SUCCESS);
	FZ_CHECK(off == r.pos);
	FZ_CHECK(types_agree(t, &up.data));
	if (t == RL_MP_UINT || t == RL_MP_NINT) {
		int64_t s;

		rl_mpr_init(&r, p, len);
		if (rl_mpr_int(&r, &s) == RL_OK) {
			if (up.data.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
				FZ_CHECK(s >= 0 && (uint64_t)s == up.data.via.u64);
			else
				FZ_CHECK(s == up.data.via.i64);
		}
	}
	msgpack_unpacked_destroy(&up);
}

/* Reads n bytes from the data stream (zeros past its end). */
static uint64_t
take(const uint8_t **p, size_t *len, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		v = (v << 8) | (*len ? **p : 0);
		if (*len) {
			(*p)++;
			(*len)--;
		}
	}
	return v;
}

static void
round_trip(const uint8_t *prog, size_t k, const uint8_t *p, size_t len)
{
	const uint8_t *q = p;
	size_t qlen = len, blobs = 0;
	uint64_t vals[256];
	size_t offs[256];
	rl_buf b;
	rl_mpw w;
	rl_mpr r;

	if (k > 256)
		k = 256;
	rl_buf_init(&b);
	rl_mpw_init(&w, &b);
	for (size_t i = 0; i < k; i++) {
		switch (prog[i] % 8) {
		case 0: rl_mpw_uint(&w, vals[i] = take(&q, &qlen, 1 + prog[i] / 8 % 8)); break;
		case 1: rl_mpw_int(&w, (int64_t)(vals[i] = take(&q, &qlen, 1 + prog[i] / 8 % 8))); break;
		case 2: rl_mpw_bool(&w, (vals[i] = prog[i] & 8) != 0); break;
		case 3: rl_mpw_nil(&w); break;
		case 4:
		case 5:
			vals[i] = take(&q, &qlen, 1) % 40;
			if (vals[i] > qlen)
				vals[i] = qlen;
			offs[i] = (size_t)(q - p);
			if (prog[i] % 8 == 4)
				rl_mpw_bin(&w, q, (size_t)vals[i]);
			else
				rl_mpw_str(&w, q, (size_t)vals[i]);
			q += vals[i];
			qlen -= (size_t)vals[i];
			blobs += (size_t)vals[i];
			break;
		case 6: rl_mpw_array(&w, (uint32_t)(vals[i] = prog[i] / 8 % 16)); break;
		case 7: rl_mpw_map(&w, (uint32_t)(vals[i] = prog[i] / 8 % 16)); break;
		}
	}
	FZ_CHECK(rl_mpw_err(&w) == RL_OK);
	FZ_CHECK(blobs <= len);

	rl_mpr_init(&r, b.data, b.len);
	for (size_t i = 0; i < k; i++) {
		size_t pos0 = r.pos;
		uint64_t u;
		int64_t s;
		bool bo;
		rl_bytes by;
		uint32_t n;

		switch (prog[i] % 8) {
		case 0:
			FZ_CHECK(rl_mpr_uint(&r, UINT64_MAX, &u) == RL_OK && u == vals[i]);
			break;
		case 1:
			FZ_CHECK(rl_mpr_int(&r, &s) == RL_OK && s == (int64_t)vals[i]);
			break;
		case 2:
			FZ_CHECK(rl_mpr_bool(&r, &bo) == RL_OK && bo == (vals[i] != 0));
			break;
		case 3:
			FZ_CHECK(rl_mpr_nil(&r, &bo) == RL_OK && bo);
			break;
		case 4:
		case 5:
			if (prog[i] % 8 == 4)
				FZ_CHECK(rl_mpr_bin(&r, SIZE_MAX, &by) == RL_OK);
			else
				FZ_CHECK(rl_mpr_str(&r, SIZE_MAX, &by) == RL_OK);
			FZ_CHECK(by.len == vals[i]);
			FZ_CHECK(by.len == 0 || memcmp(by.p, p + offs[i], by.len) == 0);
			break;
		case 6:
		case 7:
			/* A header may claim more elements than the bytes that follow:
			 * the reader must refuse exactly then. */
			if (prog[i] % 8 == 6) {
				bool ok = rl_mpr_array(&r, UINT32_MAX, &n) == RL_OK;

				FZ_CHECK(ok == (vals[i] <= b.len - pos0 - 1));
				if (!ok)
					goto out;
			} else {
				bool ok = rl_mpr_map(&r, UINT32_MAX, &n) == RL_OK;

				FZ_CHECK(ok == (2 * vals[i] <= b.len - pos0 - 1));
				if (!ok)
					goto out;
			}
			FZ_CHECK(n == vals[i]);
			break;
		}
	}
	FZ_CHECK(rl_mpr_done(&r) == RL_OK);
out:
	rl_buf_fini(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t k;

	if (size < 1)
		return 0;
	k = data[0] < size - 1 ? data[0] : size - 1;
	run_program(data + 1, k, data + 1 + k, size - 1 - k);
	differential(data + 1 + k, size - 1 - k);
	round_trip(data + 1, k, data + 1 + k, size - 1 - k);
	return 0;
}
