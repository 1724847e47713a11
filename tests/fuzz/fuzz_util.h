/*
 * fuzz_util.h - shared helpers of the libFuzzer targets and of mkseeds.
 *
 * Fixed keys, so that seeds made by mkseeds (valid WELCOME, ENROLLED and
 * sealed frames) still verify in the targets, which rebuild the same client
 * handshake state and sessions for every input; and a structural equality of
 * operations for the round-trip checks. Everything here is static: each
 * target is one translation unit.
 *
 * FZ_CHECK aborts (libFuzzer reports it as a crash, with the input saved)
 * when an invariant fails.
 */
#ifndef RL_FUZZ_UTIL_H
#define RL_FUZZ_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/mp.h"
#include "common/record.h"
#include "proto/session.h"

#define FZ_CHECK(cond)                                                               \
	do {                                                                             \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                 \
		}                                                                            \
	} while (0)

#define FZ_FILL(byte) { [0 ... 31] = (byte) }

/* The fixed secrets. Only the fuzz targets and mkseeds use them. */
static const uint8_t fz_client_sk[RL_SK_BYTES] = FZ_FILL(0x11);
static const uint8_t fz_client_eph_sk[RL_SK_BYTES] = FZ_FILL(0x22);
static const uint8_t fz_server_sk[RL_SK_BYTES] = FZ_FILL(0x33);
static const uint8_t fz_k_c2s[RL_KEY_BYTES] = FZ_FILL(0x55);
static const uint8_t fz_k_s2c[RL_KEY_BYTES] = FZ_FILL(0x66);
static const uint8_t fz_device_pk[RL_PK_BYTES] = FZ_FILL(0x88);
static const uint8_t fz_token_secret[RL_TOKEN_SECRET_BYTES] = { [0 ... 15] = 0x77 };
static const uint8_t fz_session_id[RL_SESSION_ID_BYTES] = { [0 ... 15] = 0x44 };

/*
 * The client's HELLO (deterministic: fixed ephemeral key) into out, and the
 * matching handshake state into hs. out holds RL_HELLO_MAX bytes.
 */
static inline size_t
fz_hello(rl_hs_client *hs, uint8_t *out)
{
	uint8_t server_pk[RL_PK_BYTES];
	rl_hello h;
	rl_buf b;
	rl_mpw w;
	size_t n;

	memset(hs, 0, sizeof(*hs));
	memcpy(hs->static_sk, fz_client_sk, RL_SK_BYTES);
	memcpy(hs->eph_sk, fz_client_eph_sk, RL_SK_BYTES);
	rl_dh_public(hs->static_pk, hs->static_sk);
	rl_dh_public(hs->eph_pk, hs->eph_sk);
	rl_dh_public(server_pk, fz_server_sk);
	memcpy(hs->server_pk, server_pk, RL_PK_BYTES);
	rl_buf_init(&b);
	FZ_CHECK(rl_buf_append(&b, "H", 1) == RL_OK);
	rl_mpw_init(&w, &b);
	rl_mpw_array(&w, 4);
	rl_mpw_uint(&w, RL_PROTO_VERSION);
	rl_mpw_uint(&w, RL_PROTO_VERSION);
	rl_mpw_bin(&w, hs->static_pk, RL_PK_BYTES);
	rl_mpw_bin(&w, hs->eph_pk, RL_PK_BYTES);
	FZ_CHECK(rl_mpw_err(&w) == RL_OK && b.len <= RL_HELLO_MAX);
	FZ_CHECK(rl_hs_parse_hello(rl_buf_view(&b), &h) == RL_OK);
	memcpy(hs->hello_hash, h.hash, RL_HASH_BYTES);
	memcpy(out, b.data, b.len);
	n = b.len;
	rl_buf_fini(&b);
	return n;
}

/* An established session with fixed keys: the server's side (expects
 * counter 1 next) or the client's (has sent counter 1). */
static inline void
fz_session(rl_session *s, bool server)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->id, fz_session_id, RL_SESSION_ID_BYTES);
	memcpy(s->k_send, server ? fz_k_s2c : fz_k_c2s, RL_KEY_BYTES);
	memcpy(s->k_recv, server ? fz_k_c2s : fz_k_s2c, RL_KEY_BYTES);
	s->is_server = server;
	s->version = RL_PROTO_VERSION;
	s->send_ctr = server ? 0 : 1;
	s->recv_ctr = server ? 0 : 0;
}

static inline bool
fz_opid_eq(const rl_opid *a, const rl_opid *b)
{
	return memcmp(a->dev, b->dev, RL_DEV_BYTES) == 0 && a->ctr == b->ctr;
}

/* Structural equality of two operations (the situation too if with_sit). */
static inline bool
fz_op_eq(const rl_op *a, const rl_op *b, bool with_sit)
{
	if (with_sit && memcmp(a->sit, b->sit, RL_SIT_BYTES) != 0)
		return false;
	if (!fz_opid_eq(&a->id, &b->id) || a->hlc != b->hlc || a->kind != b->kind ||
	    a->field != b->field || a->has_target != b->has_target || a->date != b->date ||
	    a->value.len != b->value.len || a->nrefs != b->nrefs)
		return false;
	if (a->has_target && !fz_opid_eq(&a->target, &b->target))
		return false;
	if (a->value.len && memcmp(a->value.p, b->value.p, a->value.len) != 0)
		return false;
	for (uint32_t i = 0; i < a->nrefs; i++)
		if (!fz_opid_eq(&a->refs[i], &b->refs[i]))
			return false;
	return true;
}

#endif
