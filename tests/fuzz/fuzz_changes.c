/*
 * fuzz_changes.c - libFuzzer target for the changes file read by
 * `relais import-changes` (rl_changes_decode, client/changes.c).
 *
 * The input is the whole file. Whatever decodes must hold valid ops only,
 * and writing them back in the same format (as export-changes does) must
 * decode to the same device id and ops. The checks import-changes makes
 * against the local store afterwards (own counter, clock skew) need a
 * store and are covered by tests/integration/test_client_merge.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rl_changes ch, again;
	rl_buf b;
	rl_mpw w;

	if (rl_changes_decode(RL_BYTES(data, size), &ch) != RL_OK) {
		FZ_CHECK(ch.n == 0 && ch.ops == NULL);
		return 0;
	}
	rl_buf_init(&b);
	rl_mpw_init(&w, &b);
	rl_mpw_array(&w, 4);
	rl_mpw_cstr(&w, "relais-changes");
	rl_mpw_uint(&w, 1);
	rl_mpw_bin(&w, ch.device, RL_DEV_BYTES);
	rl_mpw_array(&w, (uint32_t)ch.n);
	for (size_t i = 0; i < ch.n; i++) {
		FZ_CHECK(rl_op_validate(ch.ops[i]) == RL_OK);
		rl_op_encode(&w, ch.ops[i], true);
	}
	FZ_CHECK(rl_mpw_err(&w) == RL_OK);
	FZ_CHECK(rl_changes_decode(rl_buf_view(&b), &again) == RL_OK);
	FZ_CHECK(again.n == ch.n && memcmp(again.device, ch.device, RL_DEV_BYTES) == 0);
	for (size_t i = 0; i < ch.n; i++)
		FZ_CHECK(fz_op_eq(ch.ops[i], again.ops[i], true));
	rl_changes_free(&again);
	rl_changes_free(&ch);
	rl_buf_fini(&b);
	return 0;
}
