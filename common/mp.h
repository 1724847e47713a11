/*
 * mp.h - msgpack writing (msgpack-c's packer) and bounded reading.
 *
 * Writing goes through msgpack-c, which always picks the shortest encoding,
 * so the same values always give the same bytes (our canonical encodings rely
 * on it). Reading does not use msgpack-c's unpacker: it has no size limits (a
 * 5-byte header can make it allocate gigabytes, see DEPS.md). rl_mpr is a
 * pull reader over a borrowed byte range that checks every length against
 * the bytes left and against a caller-given maximum before anything is
 * trusted, never allocates, and bounds nesting when skipping.
 *
 * Errors are sticky: after the first failure every call returns RL_EPROTO
 * (or the first error), so decoders can check once at the end.
 */
#ifndef RL_MP_H
#define RL_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define RL_MP_MAX_DEPTH 16

/* Writer: appends to a caller-owned rl_buf. */
typedef struct rl_mpw {
	rl_buf *out;
	rl_err err;
	void *pk[2]; /* msgpack_packer storage */
} rl_mpw;

void rl_mpw_init(rl_mpw *w, rl_buf *out);
void rl_mpw_array(rl_mpw *w, uint32_t n);
void rl_mpw_map(rl_mpw *w, uint32_t n);
void rl_mpw_uint(rl_mpw *w, uint64_t v);
void rl_mpw_int(rl_mpw *w, int64_t v);
void rl_mpw_bool(rl_mpw *w, bool v);
void rl_mpw_nil(rl_mpw *w);
void rl_mpw_bin(rl_mpw *w, const void *p, size_t n);
void rl_mpw_str(rl_mpw *w, const void *p, size_t n);
void rl_mpw_cstr(rl_mpw *w, const char *s);
/* First error met while writing (RL_ENOMEM, RL_ETOOBIG), else RL_OK. */
rl_err rl_mpw_err(const rl_mpw *w);

/* Reader over p[0..len), borrowed for the reader's life. */
typedef struct rl_mpr {
	const uint8_t *p;
	size_t len;
	size_t pos;
	rl_err err;
} rl_mpr;

typedef enum rl_mp_type {
	RL_MP_NONE, /* end of input or error */
	RL_MP_NIL,
	RL_MP_BOOL,
	RL_MP_UINT,
	RL_MP_NINT, /* negative integer */
	RL_MP_FLOAT,
	RL_MP_STR,
	RL_MP_BIN,
	RL_MP_ARRAY,
	RL_MP_MAP,
	RL_MP_EXT,
} rl_mp_type;

void rl_mpr_init(rl_mpr *r, const void *p, size_t len);

/* The type of the next value, without consuming it. */
rl_mp_type rl_mpr_peek(rl_mpr *r);

/* Array/map header with at most max elements (and no more than bytes left). */
rl_err rl_mpr_array(rl_mpr *r, uint32_t max, uint32_t *n);
rl_err rl_mpr_map(rl_mpr *r, uint32_t max, uint32_t *n);
/* Array header with exactly n elements. */
rl_err rl_mpr_array_n(rl_mpr *r, uint32_t n);

/* A non-negative integer at most max. */
rl_err rl_mpr_uint(rl_mpr *r, uint64_t max, uint64_t *v);
rl_err rl_mpr_int(rl_mpr *r, int64_t *v);
rl_err rl_mpr_bool(rl_mpr *r, bool *v);
/* Consumes a nil if one is next: *was_nil tells. */
rl_err rl_mpr_nil(rl_mpr *r, bool *was_nil);

/* bin (or str, for rl_mpr_str) of at most max bytes; *out points into the
 * input. rl_mpr_bin_n wants exactly n bytes. */
rl_err rl_mpr_bin(rl_mpr *r, size_t max, rl_bytes *out);
rl_err rl_mpr_bin_n(rl_mpr *r, size_t n, uint8_t *out);
rl_err rl_mpr_str(rl_mpr *r, size_t max, rl_bytes *out);

/* Skips one value of any type, nesting at most RL_MP_MAX_DEPTH. */
rl_err rl_mpr_skip(rl_mpr *r);

/* RL_EPROTO unless every byte was consumed without error. */
rl_err rl_mpr_done(const rl_mpr *r);

#endif
