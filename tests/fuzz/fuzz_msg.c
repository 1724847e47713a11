/*
 * fuzz_msg.c - libFuzzer target for the message decoders of proto/msg.c
 * (the plaintext of sealed frames, from either side).
 *
 * Input: one selector byte, then the message body. The selector's low three
 * bits choose the decoder: 0 PUSH, 1 PUSH_OK, 2 PULL, 3 PULL_OK, 4 ERROR,
 * 5 PUSH and 6 PULL_OK with a small capacity and ref pool (taken from the
 * selector's high bits), 7 rl_msg_type only. rl_msg_type runs on every
 * body. Whatever decodes is encoded again and must decode to the same
 * values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/msg.h"
#include "fuzz_util.h"

/* Scratch arrays as large as the callers' (server/run.c, client/sync.c);
 * every run overwrites what it reads. */
static rl_op ops[RL_BATCH_MAX_OPS], ops2[RL_BATCH_MAX_OPS];
static rl_pull_entry entries[RL_PULL_MAX_ENTRIES], entries2[RL_PULL_MAX_ENTRIES];
static rl_opid pool[RL_BATCH_MAX_REFS], pool2[RL_BATCH_MAX_REFS];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return rl_crypto_init() == RL_OK ? 0 : 1;
}

static bool
inside(rl_bytes v, rl_bytes body)
{
	return v.len == 0 || (v.p >= body.p && v.p + v.len <= body.p + body.len);
}

static void
fuzz_push(rl_bytes body, size_t cap, size_t pool_cap)
{
	size_t n, n2, refs = 0;
	rl_buf b;

	if (rl_msg_push_decode(body, ops, cap, &n, pool, pool_cap) != RL_OK)
		return;
	FZ_CHECK(n <= cap && n <= RL_BATCH_MAX_OPS);
	for (size_t i = 0; i < n; i++) {
		FZ_CHECK(rl_op_validate(&ops[i]) == RL_OK);
		FZ_CHECK(inside(ops[i].value, body));
		refs += ops[i].nrefs;
	}
	FZ_CHECK(refs <= pool_cap);
	rl_buf_init(&b);
	FZ_CHECK(rl_msg_push_encode(ops, n, &b) == RL_OK);
	FZ_CHECK(rl_msg_push_decode(rl_buf_view(&b), ops2, RL_BATCH_MAX_OPS, &n2, pool2,
	                            RL_BATCH_MAX_REFS) == RL_OK);
	FZ_CHECK(n2 == n);
	for (size_t i = 0; i < n; i++)
		FZ_CHECK(fz_op_eq(&ops[i], &ops2[i], true));
	rl_buf_fini(&b);
}

static void
fuzz_pull_ok(rl_bytes body, size_t cap, size_t pool_cap)
{
	uint64_t next, next2;
	bool more, more2;
	size_t n, n2;
	rl_buf b, one;
	rl_mpw w;

	if (rl_msg_pull_ok_decode(body, &next, &more, entries, cap, &n, pool, pool_cap) != RL_OK)
		return;
	FZ_CHECK(n <= cap && n <= RL_PULL_MAX_ENTRIES);
	rl_buf_init(&b);
	rl_buf_init(&one);
	FZ_CHECK(rl_msg_pull_ok_begin(&b, next, more, (uint32_t)n) == RL_OK);
	for (size_t i = 0; i < n; i++) {
		if (entries[i].drop) {
			FZ_CHECK(rl_msg_pull_ok_drop(&b, entries[i].sit) == RL_OK);
			continue;
		}
		FZ_CHECK(rl_op_validate(&entries[i].op) == RL_OK);
		FZ_CHECK(inside(entries[i].op.value, body));
		rl_buf_reset(&one);
		rl_mpw_init(&w, &one);
		rl_op_encode(&w, &entries[i].op, true);
		FZ_CHECK(rl_mpw_err(&w) == RL_OK);
		FZ_CHECK(rl_msg_pull_ok_op_raw(&b, rl_buf_view(&one)) == RL_OK);
	}
	FZ_CHECK(rl_msg_pull_ok_decode(rl_buf_view(&b), &next2, &more2, entries2,
	                               RL_PULL_MAX_ENTRIES, &n2, pool2,
	                               RL_BATCH_MAX_REFS) == RL_OK);
	FZ_CHECK(n2 == n && next2 == next && more2 == more);
	for (size_t i = 0; i < n; i++) {
		FZ_CHECK(entries[i].drop == entries2[i].drop);
		if (entries[i].drop)
			FZ_CHECK(memcmp(entries[i].sit, entries2[i].sit, RL_SIT_BYTES) == 0);
		else
			FZ_CHECK(fz_op_eq(&entries[i].op, &entries2[i].op, true));
	}
	rl_buf_fini(&one);
	rl_buf_fini(&b);
}

static void
fuzz_small(rl_bytes body, uint8_t sel)
{
	uint64_t a, u, a2, u2;
	uint32_t m, m2, code, code2;
	rl_bytes text, text2;
	char cstr[256];
	rl_buf b;

	rl_buf_init(&b);
	switch (sel) {
	case 1:
		if (rl_msg_push_ok_decode(body, &a, &u) != RL_OK)
			break;
		FZ_CHECK(rl_msg_push_ok_encode(a, u, &b) == RL_OK);
		FZ_CHECK(rl_msg_push_ok_decode(rl_buf_view(&b), &a2, &u2) == RL_OK);
		FZ_CHECK(a == a2 && u == u2);
		break;
	case 2:
		if (rl_msg_pull_decode(body, &a, &m) != RL_OK)
			break;
		FZ_CHECK(m >= 1 && m <= RL_PULL_MAX_ENTRIES);
		FZ_CHECK(rl_msg_pull_encode(a, m, &b) == RL_OK);
		FZ_CHECK(rl_msg_pull_decode(rl_buf_view(&b), &a2, &m2) == RL_OK);
		FZ_CHECK(a == a2 && m == m2);
		break;
	case 4:
		if (rl_msg_error_decode(body, &code, &text) != RL_OK)
			break;
		FZ_CHECK(text.len <= 200 && inside(text, body));
		(void)rl_wire_err(code);
		if (memchr(text.p, 0, text.len) != NULL)
			break; /* the encoder takes a C string */
		memcpy(cstr, text.p, text.len);
		cstr[text.len] = '\0';
		FZ_CHECK(rl_msg_error_encode(code, cstr, &b) == RL_OK);
		FZ_CHECK(rl_msg_error_decode(rl_buf_view(&b), &code2, &text2) == RL_OK);
		FZ_CHECK(code == code2 && text.len == text2.len &&
		         memcmp(text.p, text2.p, text.len) == 0);
		break;
	}
	rl_buf_fini(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t sel, hi;
	uint32_t type;
	rl_bytes body;

	if (size < 1)
		return 0;
	sel = data[0] & 7;
	hi = data[0] >> 3;
	body = RL_BYTES(data + 1, size - 1); /* ends where libFuzzer's buffer ends */
	if (rl_msg_type(body, &type) == RL_OK)
		FZ_CHECK(type <= 255);
	switch (sel) {
	case 0:
		fuzz_push(body, RL_BATCH_MAX_OPS, RL_BATCH_MAX_REFS);
		break;
	case 3:
		fuzz_pull_ok(body, RL_PULL_MAX_ENTRIES, RL_BATCH_MAX_REFS);
		break;
	case 5:
		fuzz_push(body, (size_t)(hi & 3), (size_t)(hi >> 2));
		break;
	case 6:
		fuzz_pull_ok(body, (size_t)(hi & 3), (size_t)(hi >> 2));
		break;
	case 7:
		break;
	default:
		fuzz_small(body, sel);
		break;
	}
	return 0;
}
