/*
 * buf.c - growable buffers, big-endian helpers and hex.
 *
 * Buffers grow by doubling; sizes are computed with overflow checks. The
 * memory is wiped before it is freed or moved, since buffers routinely hold
 * decrypted situation content.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"

void
rl_buf_init(rl_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
rl_buf_fini(rl_buf *b)
{
	if (b == NULL)
		return;
	if (b->data != NULL) {
		rl_wipe(b->data, b->cap);
		free(b->data);
	}
	rl_buf_init(b);
}

rl_err
rl_buf_reserve(rl_buf *b, size_t n)
{
	size_t need, cap;
	uint8_t *p;

	if (__builtin_add_overflow(b->len, n, &need))
		return RL_ETOOBIG;
	if (need <= b->cap)
		return RL_OK;
	cap = b->cap ? b->cap : 64;
	while (cap < need) {
		if (__builtin_mul_overflow(cap, 2, &cap))
			return RL_ETOOBIG;
	}
	/* Not realloc: the old block may hold plaintext and must be wiped. */
	p = malloc(cap);
	if (p == NULL)
		return RL_ENOMEM;
	if (b->data != NULL) {
		memcpy(p, b->data, b->len);
		rl_wipe(b->data, b->cap);
		free(b->data);
	}
	b->data = p;
	b->cap = cap;
	return RL_OK;
}

rl_err
rl_buf_append(rl_buf *b, const void *p, size_t n)
{
	rl_err e;

	if (n == 0)
		return RL_OK;
	if ((e = rl_buf_reserve(b, n)) != RL_OK)
		return e;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return RL_OK;
}

void
rl_buf_reset(rl_buf *b)
{
	b->len = 0;
}

void
rl_put_be64(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

uint64_t
rl_get_be64(const uint8_t in[8])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | in[i];
	return v;
}

void
rl_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
rl_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

rl_err
rl_hex_decode(const char *s, size_t slen, uint8_t *out, size_t n)
{
	if (slen != 2 * n)
		return RL_EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = rl_hex_digit(s[2 * i]), lo = rl_hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return RL_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return RL_OK;
}
