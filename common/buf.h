/*
 * buf.h - byte ranges.
 *
 * rl_bytes is a borrowed view (pointer plus length); the owner of the memory
 * states its lifetime. rl_buf is a growable heap buffer owned by whoever
 * declared it: rl_buf_init() it, append to it, rl_buf_fini() it.
 */
#ifndef RL_BUF_H
#define RL_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct rl_bytes {
	const uint8_t *p;
	size_t len;
} rl_bytes;

typedef struct rl_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
} rl_buf;

#define RL_BYTES(ptr, n) ((rl_bytes){ (const uint8_t *)(ptr), (n) })

void rl_buf_init(rl_buf *b);

/* Frees the memory, wiping it first (it may hold plaintext). NULL-safe. */
void rl_buf_fini(rl_buf *b);

/* Makes room for at least n more bytes. RL_ENOMEM, RL_ETOOBIG on overflow. */
rl_err rl_buf_reserve(rl_buf *b, size_t n);

/* Appends n bytes. RL_ENOMEM. On error b is unchanged. */
rl_err rl_buf_append(rl_buf *b, const void *p, size_t n);

/* Sets len to 0, keeps the memory. */
void rl_buf_reset(rl_buf *b);

static inline rl_bytes
rl_buf_view(const rl_buf *b)
{
	return (rl_bytes){ b->data, b->len };
}

/* Big-endian fixed-width helpers (LMDB keys sort as memcmp). */
void rl_put_be64(uint8_t out[8], uint64_t v);
uint64_t rl_get_be64(const uint8_t in[8]);

/* Lowercase hex. out must hold 2*n+1 bytes; it is NUL-terminated. */
void rl_hex_encode(const uint8_t *in, size_t n, char *out);

/* The value of one hex digit (either case), or -1. */
int rl_hex_digit(char c);

/* Decodes exactly n bytes from 2*n hex characters (either case) in s, which
 * must be exactly that long. RL_EINVAL on bad length or character. */
rl_err rl_hex_decode(const char *s, size_t slen, uint8_t *out, size_t n);

#endif
