/*
 * fuzz_record.c - libFuzzer target for rl_record_decode (a stored state).
 *
 * Whatever decodes must: re-encode to bytes that decode to the same state
 * (and re-encode to the very same bytes: the encoding is canonical), hash
 * the same before and after, be rebuilt identically by applying its ops one
 * by one to an empty record (merge is set union), and answer every view
 * (registers, sets, journal, alerts) without tripping the sanitizers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/record.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return rl_crypto_init() == RL_OK ? 0 : 1;
}

static void
check_same(const rl_record *a, const rl_record *b)
{
	FZ_CHECK(memcmp(a->sit, b->sit, RL_SIT_BYTES) == 0);
	FZ_CHECK(a->erased == b->erased && a->nops == b->nops);
	for (size_t i = 0; i < a->nops; i++) {
		FZ_CHECK(memcmp(a->ops[i]->sit, a->sit, RL_SIT_BYTES) == 0);
		FZ_CHECK(fz_op_eq(a->ops[i], b->ops[i], true));
	}
}

/* Every view of the record: they must not read out of bounds. */
static void
exercise_views(const rl_record *rec)
{
	rl_regval vals[4];
	rl_bytes *elems;
	const rl_op **list;
	rl_opid adds[4];
	size_t n, m;

	for (uint8_t f = RL_F_KIND; f < RL_F__SITUATION_END; f++) {
		n = rl_record_reg(rec, NULL, f, vals, 4);
		for (size_t i = 0; i < n && i < 4; i++)
			FZ_CHECK(vals[i].value.len <= RL_MAX_VALUE);
		(void)rl_record_get(rec, f);
	}
	for (uint8_t s = RL_SET_PROBLEMS; s < RL_SET__END; s++) {
		FZ_CHECK(rl_record_set(rec, s, &elems, &n) == RL_OK);
		for (size_t i = 0; i < n; i++) {
			m = rl_record_set_adds(rec, s, elems[i], adds, 4);
			FZ_CHECK(m >= 1);
		}
		free(elems);
	}
	FZ_CHECK(rl_record_list(rec, RL_OP_JOURNAL, &list, &n) == RL_OK);
	for (size_t i = 0; i < n; i++)
		FZ_CHECK(rl_record_find(rec, &list[i]->id) != NULL);
	free(list);
	FZ_CHECK(rl_record_list(rec, RL_OP_ALERT, &list, &n) == RL_OK);
	for (size_t i = 0; i < n; i++)
		for (uint8_t f = RL_F_ALERT_DUE; f < RL_F__ALERT_END; f++)
			(void)rl_record_reg(rec, &list[i]->id, f, vals, 4);
	free(list);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t h1[RL_HASH_BYTES], h2[RL_HASH_BYTES], h3[RL_HASH_BYTES];
	rl_record rec, back, rebuilt;
	rl_buf b1, b2, b3;

	if (rl_record_decode(RL_BYTES(data, size), &rec) != RL_OK)
		return 0;
	rl_buf_init(&b1);
	rl_buf_init(&b2);
	rl_buf_init(&b3);

	/* decode -> encode -> decode -> encode */
	FZ_CHECK(rl_record_encode(&rec, &b1) == RL_OK);
	FZ_CHECK(rl_record_decode(rl_buf_view(&b1), &back) == RL_OK);
	check_same(&rec, &back);
	FZ_CHECK(rl_record_encode(&back, &b2) == RL_OK);
	FZ_CHECK(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
	FZ_CHECK(rl_record_hash(&rec, h1) == RL_OK);
	FZ_CHECK(rl_record_hash(&back, h2) == RL_OK);
	FZ_CHECK(memcmp(h1, h2, RL_HASH_BYTES) == 0);

	/* The same state, rebuilt op by op (in reverse, to exercise inserts). */
	rl_record_init(&rebuilt, rec.sit);
	for (size_t i = rec.nops; i-- > 0;) {
		bool changed;

		FZ_CHECK(rl_record_apply(&rebuilt, rec.ops[i], &changed) == RL_OK && changed);
	}
	FZ_CHECK(rl_record_merge(&rebuilt, &rec) == RL_OK);
	check_same(&rec, &rebuilt);
	FZ_CHECK(rl_record_encode(&rebuilt, &b3) == RL_OK);
	FZ_CHECK(b1.len == b3.len && memcmp(b1.data, b3.data, b1.len) == 0);
	FZ_CHECK(rl_record_hash(&rebuilt, h3) == RL_OK);
	FZ_CHECK(memcmp(h1, h3, RL_HASH_BYTES) == 0);

	exercise_views(&rec);

	rl_record_fini(&rebuilt);
	rl_record_fini(&back);
	rl_record_fini(&rec);
	rl_buf_fini(&b3);
	rl_buf_fini(&b2);
	rl_buf_fini(&b1);
	return 0;
}
