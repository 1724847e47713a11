/*
 * fuzz_op.c - libFuzzer target for rl_op_decode, with and without the
 * situation id.
 *
 * The whole input is decoded both ways (as a change on the wire or in an
 * outbox, and as an op inside a record state). Whatever decodes must
 * validate, survive rl_op_dup, re-encode to bytes that decode to the same
 * op, and merge into an empty record whose state then decodes again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/record.h"
#include "fuzz_util.h"

static rl_opid scratch[RL_MAX_REFS], scratch2[RL_MAX_REFS];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return rl_crypto_init() == RL_OK ? 0 : 1;
}

/* Re-encodes op, decodes the bytes again and compares. */
static void
check_round_trip(const rl_op *op, bool with_sit)
{
	rl_op again;
	rl_buf b;
	rl_mpw w;
	rl_mpr r;

	rl_buf_init(&b);
	rl_mpw_init(&w, &b);
	rl_op_encode(&w, op, with_sit);
	FZ_CHECK(rl_mpw_err(&w) == RL_OK);
	memset(&again, 0, sizeof(again));
	memcpy(again.sit, op->sit, RL_SIT_BYTES);
	rl_mpr_init(&r, b.data, b.len);
	FZ_CHECK(rl_op_decode(&r, &again, scratch2, with_sit) == RL_OK);
	FZ_CHECK(rl_mpr_done(&r) == RL_OK);
	FZ_CHECK(fz_op_eq(op, &again, true));
	rl_buf_fini(&b);
}

/* A copy, and a record holding only this op, which must encode and decode. */
static void
check_dup_and_apply(const rl_op *op)
{
	rl_record rec, back;
	rl_op *copy;
	rl_buf b;
	bool changed;

	copy = rl_op_dup(op);
	FZ_CHECK(copy != NULL);
	FZ_CHECK(fz_op_eq(op, copy, true));
	FZ_CHECK(rl_op_validate(copy) == RL_OK);
	rl_record_init(&rec, op->sit);
	FZ_CHECK(rl_record_apply(&rec, copy, &changed) == RL_OK && changed);
	FZ_CHECK(rl_record_has(&rec, op));
	FZ_CHECK(rl_record_apply(&rec, op, &changed) == RL_OK && !changed);
	free(copy);
	rl_buf_init(&b);
	FZ_CHECK(rl_record_encode(&rec, &b) == RL_OK);
	FZ_CHECK(rl_record_decode(rl_buf_view(&b), &back) == RL_OK);
	FZ_CHECK(back.nops == 1 && fz_op_eq(back.ops[0], op, true));
	rl_record_fini(&back);
	rl_buf_fini(&b);
	rl_record_fini(&rec);
}

static void
one(const uint8_t *data, size_t size, bool with_sit)
{
	rl_op op;
	rl_mpr r;
	rl_err e;

	memset(&op, 0, sizeof(op));
	memset(op.sit, 0xab, RL_SIT_BYTES); /* with_sit false leaves it alone */
	rl_mpr_init(&r, data, size);
	e = rl_op_decode(&r, &op, scratch, with_sit);
	FZ_CHECK(r.pos <= r.len);
	if (e != RL_OK)
		return;
	FZ_CHECK(rl_op_validate(&op) == RL_OK);
	FZ_CHECK(op.value.len == 0 || (op.value.p >= data && op.value.p + op.value.len <= data + size));
	FZ_CHECK(op.nrefs <= RL_MAX_REFS);
	check_round_trip(&op, with_sit);
	check_dup_and_apply(&op);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, true);
	one(data, size, false);
	return 0;
}
