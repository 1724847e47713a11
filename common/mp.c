/*
 * mp.c - msgpack writer on msgpack-c's packer, and a bounded pull reader.
 *
 * The reader decodes the msgpack format directly: each call reads one header,
 * checks the declared length against the bytes that remain and against the
 * caller's maximum, and advances. An array or map cannot claim more elements
 * than there are bytes left (each element takes at least one byte), which is
 * the check msgpack-c's unpacker lacks.
 */
#include <string.h>

#include <msgpack.h>

#include "mp.h"

_Static_assert(sizeof(((rl_mpw *)0)->pk) >= sizeof(msgpack_packer), "packer storage");

static int
mpw_write(void *data, const char *buf, size_t len)
{
	rl_mpw *w = data;
	rl_err e;

	if (w->err != RL_OK)
		return -1;
	if ((e = rl_buf_append(w->out, buf, len)) != RL_OK) {
		w->err = e;
		return -1;
	}
	return 0;
}

#define PK(w) ((msgpack_packer *)(void *)(w)->pk)

void
rl_mpw_init(rl_mpw *w, rl_buf *out)
{
	w->out = out;
	w->err = RL_OK;
	msgpack_packer_init(PK(w), w, mpw_write);
}

void
rl_mpw_array(rl_mpw *w, uint32_t n)
{
	msgpack_pack_array(PK(w), n);
}

void
rl_mpw_map(rl_mpw *w, uint32_t n)
{
	msgpack_pack_map(PK(w), n);
}

void
rl_mpw_uint(rl_mpw *w, uint64_t v)
{
	msgpack_pack_uint64(PK(w), v);
}

void
rl_mpw_int(rl_mpw *w, int64_t v)
{
	msgpack_pack_int64(PK(w), v);
}

void
rl_mpw_bool(rl_mpw *w, bool v)
{
	if (v)
		msgpack_pack_true(PK(w));
	else
		msgpack_pack_false(PK(w));
}

void
rl_mpw_nil(rl_mpw *w)
{
	msgpack_pack_nil(PK(w));
}

void
rl_mpw_bin(rl_mpw *w, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		w->err = RL_ETOOBIG;
		return;
	}
	msgpack_pack_bin(PK(w), n);
	msgpack_pack_bin_body(PK(w), p, n);
}

void
rl_mpw_str(rl_mpw *w, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		w->err = RL_ETOOBIG;
		return;
	}
	msgpack_pack_str(PK(w), n);
	msgpack_pack_str_body(PK(w), p, n);
}

void
rl_mpw_cstr(rl_mpw *w, const char *s)
{
	rl_mpw_str(w, s, strlen(s));
}

rl_err
rl_mpw_err(const rl_mpw *w)
{
	return w->err;
}

/* ---- reader ---- */

void
rl_mpr_init(rl_mpr *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
	r->err = RL_OK;
}

static size_t
mpr_left(const rl_mpr *r)
{
	return r->len - r->pos;
}

static rl_err
mpr_fail(rl_mpr *r)
{
	if (r->err == RL_OK)
		r->err = RL_EPROTO;
	return r->err;
}

/* Reads an n-byte big-endian integer (n <= 8). */
static bool
mpr_be(rl_mpr *r, size_t n, uint64_t *v)
{
	if (mpr_left(r) < n)
		return false;
	*v = 0;
	for (size_t i = 0; i < n; i++)
		*v = (*v << 8) | r->p[r->pos + i];
	r->pos += n;
	return true;
}

rl_mp_type
rl_mpr_peek(rl_mpr *r)
{
	uint8_t b;

	if (r->err != RL_OK || mpr_left(r) == 0)
		return RL_MP_NONE;
	b = r->p[r->pos];
	if (b <= 0x7f || b == 0xcc || b == 0xcd || b == 0xce || b == 0xcf)
		return RL_MP_UINT;
	if (b >= 0xe0 || (b >= 0xd0 && b <= 0xd3))
		return RL_MP_NINT; /* may still be non-negative: rl_mpr_int sorts it */
	if ((b & 0xf0) == 0x80 || b == 0xde || b == 0xdf)
		return RL_MP_MAP;
	if ((b & 0xf0) == 0x90 || b == 0xdc || b == 0xdd)
		return RL_MP_ARRAY;
	if ((b & 0xe0) == 0xa0 || (b >= 0xd9 && b <= 0xdb))
		return RL_MP_STR;
	switch (b) {
	case 0xc0: return RL_MP_NIL;
	case 0xc2:
	case 0xc3: return RL_MP_BOOL;
	case 0xc4:
	case 0xc5:
	case 0xc6: return RL_MP_BIN;
	case 0xca:
	case 0xcb: return RL_MP_FLOAT;
	case 0xc7:
	case 0xc8:
	case 0xc9:
	case 0xd4:
	case 0xd5:
	case 0xd6:
	case 0xd7:
	case 0xd8: return RL_MP_EXT;
	default: return RL_MP_NONE; /* 0xc1 is never used */
	}
}

/* Container header: fix form mask/base, 16-bit and 32-bit markers. */
static rl_err
mpr_container(rl_mpr *r, uint8_t fixbase, uint8_t m16, uint8_t m32, uint32_t max, uint32_t *n)
{
	uint8_t b;
	uint64_t v;

	if (r->err != RL_OK || mpr_left(r) == 0)
		return mpr_fail(r);
	b = r->p[r->pos++];
	if ((b & 0xf0) == fixbase)
		v = b & 0x0f;
	else if (b == m16) {
		if (!mpr_be(r, 2, &v))
			return mpr_fail(r);
	} else if (b == m32) {
		if (!mpr_be(r, 4, &v))
			return mpr_fail(r);
	} else
		return mpr_fail(r);
	/* Every element takes at least one byte (two for a map entry). */
	if (v > max || v > mpr_left(r) || (fixbase == 0x80 && v > mpr_left(r) / 2))
		return mpr_fail(r);
	*n = (uint32_t)v;
	return RL_OK;
}

rl_err
rl_mpr_array(rl_mpr *r, uint32_t max, uint32_t *n)
{
	return mpr_container(r, 0x90, 0xdc, 0xdd, max, n);
}

rl_err
rl_mpr_map(rl_mpr *r, uint32_t max, uint32_t *n)
{
	return mpr_container(r, 0x80, 0xde, 0xdf, max, n);
}

rl_err
rl_mpr_array_n(rl_mpr *r, uint32_t n)
{
	uint32_t got;

	if (rl_mpr_array(r, n, &got) != RL_OK || got != n)
		return mpr_fail(r);
	return RL_OK;
}

rl_err
rl_mpr_int(rl_mpr *r, int64_t *v)
{
	uint8_t b;
	uint64_t u;

	if (r->err != RL_OK || mpr_left(r) == 0)
		return mpr_fail(r);
	b = r->p[r->pos++];
	if (b <= 0x7f) {
		*v = b;
		return RL_OK;
	}
	if (b >= 0xe0) {
		*v = (int8_t)b;
		return RL_OK;
	}
	switch (b) {
	case 0xcc: case 0xcd: case 0xce: case 0xcf:
		if (!mpr_be(r, (size_t)1 << (b - 0xcc), &u) || u > INT64_MAX)
			return mpr_fail(r);
		*v = (int64_t)u;
		return RL_OK;
	case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
		size_t n = (size_t)1 << (b - 0xd0);

		if (!mpr_be(r, n, &u))
			return mpr_fail(r);
		/* Sign-extend from n bytes. */
		if (n < 8 && (u >> (8 * n - 1)) & 1)
			u |= ~(uint64_t)0 << (8 * n);
		*v = (int64_t)u;
		return RL_OK;
	}
	default:
		return mpr_fail(r);
	}
}

rl_err
rl_mpr_uint(rl_mpr *r, uint64_t max, uint64_t *v)
{
	uint8_t b;
	uint64_t u;

	if (r->err != RL_OK || mpr_left(r) == 0)
		return mpr_fail(r);
	b = r->p[r->pos];
	if (b >= 0xcc && b <= 0xcf) {
		r->pos++;
		if (!mpr_be(r, (size_t)1 << (b - 0xcc), &u))
			return mpr_fail(r);
	} else {
		int64_t s;

		if (rl_mpr_int(r, &s) != RL_OK || s < 0)
			return mpr_fail(r);
		u = (uint64_t)s;
	}
	if (u > max)
		return mpr_fail(r);
	*v = u;
	return RL_OK;
}

rl_err
rl_mpr_bool(rl_mpr *r, bool *v)
{
	if (r->err != RL_OK || mpr_left(r) == 0)
		return mpr_fail(r);
	if (r->p[r->pos] != 0xc2 && r->p[r->pos] != 0xc3)
		return mpr_fail(r);
	*v = r->p[r->pos++] == 0xc3;
	return RL_OK;
}

rl_err
rl_mpr_nil(rl_mpr *r, bool *was_nil)
{
	*was_nil = false; /* defined even after an error: callers branch on it */
	if (r->err != RL_OK)
		return r->err;
	*was_nil = mpr_left(r) > 0 && r->p[r->pos] == 0xc0;
	if (*was_nil)
		r->pos++;
	return RL_OK;
}

/* bin or str body: 8/16/32-bit length markers and an optional fix form. */
static rl_err
mpr_blob(rl_mpr *r, bool str, size_t max, rl_bytes *out)
{
	uint8_t b;
	uint64_t n;

	if (r->err != RL_OK || mpr_left(r) == 0)
		return mpr_fail(r);
	b = r->p[r->pos++];
	if (str && (b & 0xe0) == 0xa0)
		n = b & 0x1f;
	else if (b == (str ? 0xd9 : 0xc4) || b == (str ? 0xda : 0xc5) || b == (str ? 0xdb : 0xc6)) {
		size_t w = (size_t)1 << (b - (str ? 0xd9 : 0xc4));

		if (!mpr_be(r, w, &n))
			return mpr_fail(r);
	} else
		return mpr_fail(r);
	if (n > max || n > mpr_left(r))
		return mpr_fail(r);
	out->p = r->p + r->pos;
	out->len = (size_t)n;
	r->pos += (size_t)n;
	return RL_OK;
}

rl_err
rl_mpr_bin(rl_mpr *r, size_t max, rl_bytes *out)
{
	return mpr_blob(r, false, max, out);
}

rl_err
rl_mpr_str(rl_mpr *r, size_t max, rl_bytes *out)
{
	return mpr_blob(r, true, max, out);
}

rl_err
rl_mpr_bin_n(rl_mpr *r, size_t n, uint8_t *out)
{
	rl_bytes b;

	if (mpr_blob(r, false, n, &b) != RL_OK || b.len != n)
		return mpr_fail(r);
	memcpy(out, b.p, n);
	return RL_OK;
}

static rl_err
mpr_skip(rl_mpr *r, int depth)
{
	rl_mp_type t = rl_mpr_peek(r);
	uint8_t b;
	uint64_t n;
	uint32_t cnt;
	rl_bytes ignored;

	switch (t) {
	case RL_MP_NIL:
	case RL_MP_BOOL:
		r->pos++;
		return RL_OK;
	case RL_MP_UINT:
	case RL_MP_NINT:
		b = r->p[r->pos++];
		if (b <= 0x7f || b >= 0xe0)
			return RL_OK;
		n = (uint64_t)1 << (b >= 0xd0 ? b - 0xd0 : b - 0xcc);
		break;
	case RL_MP_FLOAT:
		b = r->p[r->pos++];
		n = b == 0xca ? 4 : 8;
		break;
	case RL_MP_STR:
		return rl_mpr_str(r, SIZE_MAX, &ignored);
	case RL_MP_BIN:
		return rl_mpr_bin(r, SIZE_MAX, &ignored);
	case RL_MP_ARRAY:
		/* depth counts the containers around this one: at most
		 * RL_MP_MAX_DEPTH containers nest, empty or not. */
		if (depth >= RL_MP_MAX_DEPTH)
			return mpr_fail(r);
		if (rl_mpr_array(r, UINT32_MAX, &cnt) != RL_OK)
			return r->err;
		for (uint32_t i = 0; i < cnt; i++)
			if (mpr_skip(r, depth + 1) != RL_OK)
				return r->err;
		return RL_OK;
	case RL_MP_MAP:
		if (depth >= RL_MP_MAX_DEPTH)
			return mpr_fail(r);
		if (rl_mpr_map(r, UINT32_MAX, &cnt) != RL_OK)
			return r->err;
		for (uint32_t i = 0; i < 2 * cnt; i++)
			if (mpr_skip(r, depth + 1) != RL_OK)
				return r->err;
		return RL_OK;
	case RL_MP_EXT:
		b = r->p[r->pos++];
		if (b >= 0xd4 && b <= 0xd8)
			n = 1 + ((uint64_t)1 << (b - 0xd4));
		else {
			uint64_t len;

			if (!mpr_be(r, (size_t)1 << (b - 0xc7), &len))
				return mpr_fail(r);
			n = 1 + len;
		}
		break;
	default:
		return mpr_fail(r);
	}
	if (n > mpr_left(r))
		return mpr_fail(r);
	r->pos += (size_t)n;
	return RL_OK;
}

rl_err
rl_mpr_skip(rl_mpr *r)
{
	return mpr_skip(r, 0);
}

rl_err
rl_mpr_done(const rl_mpr *r)
{
	if (r->err != RL_OK)
		return r->err;
	return r->pos == r->len ? RL_OK : RL_EPROTO;
}
