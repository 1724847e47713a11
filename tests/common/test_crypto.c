/*
 * test_crypto.c - unit tests for common/crypto.c.
 *
 * Known-answer checks where a published vector exists (BLAKE2b-256 of the
 * empty string), otherwise round trips plus the failure cases that matter:
 * any tampered byte, a wrong key or wrong associated data must fail to open.
 */
#include "rl_test.h"

#include "common/buf.h"
#include "common/crypto.h"

static void
test_hash(void **state)
{
	static const char empty_hex[] =
	    "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8";
	uint8_t h[RL_HASH_BYTES], h2[RL_HASH_BYTES], k[RL_KEY_BYTES] = { 1 };
	char hex[2 * RL_HASH_BYTES + 1];
	rl_hash_state st;

	(void)state;
	rl_hash("", 0, h);
	rl_hex_encode(h, sizeof h, hex);
	assert_string_equal(hex, empty_hex);

	/* Incremental equals one-shot. */
	rl_hash("hello world", 11, h);
	rl_hash_init(&st);
	rl_hash_update(&st, "hello ", 6);
	rl_hash_update(&st, "world", 5);
	rl_hash_final(&st, h2);
	assert_memory_equal(h, h2, sizeof h);

	/* Keyed differs from unkeyed and depends on the key. */
	rl_hash_keyed(k, "hello world", 11, h2);
	assert_memory_not_equal(h, h2, sizeof h);
	k[0] = 2;
	rl_hash_keyed(k, "hello world", 11, h);
	assert_memory_not_equal(h, h2, sizeof h);
}

static void
test_seal_open(void **state)
{
	uint8_t key[RL_KEY_BYTES], key2[RL_KEY_BYTES];
	uint8_t pt[100], ct[100 + RL_SEAL_OVERHEAD], ct2[sizeof ct], out[100];
	static const uint8_t ad[] = "table|key";

	(void)state;
	rl_random(key, sizeof key);
	rl_random(key2, sizeof key2);
	rl_random(pt, sizeof pt);
	rl_seal(key, ad, sizeof ad, pt, sizeof pt, ct);
	RL_PASS(rl_open(key, ad, sizeof ad, ct, sizeof ct, out));
	assert_memory_equal(out, pt, sizeof pt);

	/* Random nonces: sealing twice differs. */
	rl_seal(key, ad, sizeof ad, pt, sizeof pt, ct2);
	assert_memory_not_equal(ct, ct2, sizeof ct);

	/* Every byte is authenticated (nonce, ciphertext and tag). */
	for (size_t i = 0; i < sizeof ct; i++) {
		memcpy(ct2, ct, sizeof ct);
		ct2[i] ^= 0x01;
		RL_FAIL(rl_open(key, ad, sizeof ad, ct2, sizeof ct2, out), RL_ECRYPTO);
	}
	RL_FAIL(rl_open(key2, ad, sizeof ad, ct, sizeof ct, out), RL_ECRYPTO);
	RL_FAIL(rl_open(key, ad, sizeof ad - 1, ct, sizeof ct, out), RL_ECRYPTO);
	RL_FAIL(rl_open(key, NULL, 0, ct, sizeof ct, out), RL_ECRYPTO);
	RL_FAIL(rl_open(key, ad, sizeof ad, ct, sizeof ct - 1, out), RL_ECRYPTO);
	RL_FAIL(rl_open(key, ad, sizeof ad, ct, RL_SEAL_OVERHEAD - 1, out), RL_EPROTO);

	/* Empty plaintext. */
	rl_seal(key, NULL, 0, NULL, 0, ct);
	RL_PASS(rl_open(key, NULL, 0, ct, RL_SEAL_OVERHEAD, out));
}

static void
test_seal_nonce(void **state)
{
	uint8_t key[RL_KEY_BYTES], n[RL_NONCE_BYTES] = { 0 }, n2[RL_NONCE_BYTES] = { 1 };
	uint8_t ct[5 + RL_TAG_BYTES], ct2[sizeof ct], out[5];

	(void)state;
	rl_random(key, sizeof key);
	rl_seal_n(key, n, NULL, 0, (const uint8_t *)"hello", 5, ct);
	rl_seal_n(key, n, NULL, 0, (const uint8_t *)"hello", 5, ct2);
	assert_memory_equal(ct, ct2, sizeof ct); /* deterministic */
	RL_PASS(rl_open_n(key, n, NULL, 0, ct, sizeof ct, out));
	assert_memory_equal(out, "hello", 5);
	RL_FAIL(rl_open_n(key, n2, NULL, 0, ct, sizeof ct, out), RL_ECRYPTO);
	RL_FAIL(rl_open_n(key, n, NULL, 0, ct, RL_TAG_BYTES - 1, out), RL_EPROTO);
}

static void
test_dh(void **state)
{
	uint8_t apk[RL_PK_BYTES], ask[RL_SK_BYTES], bpk[RL_PK_BYTES], bsk[RL_SK_BYTES];
	uint8_t s1[32], s2[32], pk[RL_PK_BYTES], zero[RL_PK_BYTES] = { 0 };

	(void)state;
	rl_dh_keypair(apk, ask);
	rl_dh_keypair(bpk, bsk);
	RL_PASS(rl_dh(s1, ask, bpk));
	RL_PASS(rl_dh(s2, bsk, apk));
	assert_memory_equal(s1, s2, sizeof s1);
	rl_dh_public(pk, ask);
	assert_memory_equal(pk, apk, sizeof pk);
	RL_FAIL(rl_dh(s1, ask, zero), RL_ECRYPTO); /* low-order point */
}

static void
test_kdf(void **state)
{
	uint8_t salt[RL_SALT_BYTES] = { 7 }, k1[RL_KEY_BYTES], k2[RL_KEY_BYTES];
	uint64_t ops, mem;

	(void)state;
	rl_kdf_params(RL_KDF_MIN, &ops, &mem);
	RL_PASS(rl_kdf_pass("pass", 4, salt, ops, mem, k1));
	RL_PASS(rl_kdf_pass("pass", 4, salt, ops, mem, k2));
	assert_memory_equal(k1, k2, sizeof k1);
	RL_PASS(rl_kdf_pass("pasS", 4, salt, ops, mem, k2));
	assert_memory_not_equal(k1, k2, sizeof k1);
	salt[0] = 8;
	RL_PASS(rl_kdf_pass("pass", 4, salt, ops, mem, k2));
	assert_memory_not_equal(k1, k2, sizeof k1);
	/* Costs outside the bounds a store header may ask for. */
	RL_FAIL(rl_kdf_pass("pass", 4, salt, 0, mem, k2), RL_EPROTO);
	RL_FAIL(rl_kdf_pass("pass", 4, salt, 65, mem, k2), RL_EPROTO);
	RL_FAIL(rl_kdf_pass("pass", 4, salt, ops, 1024, k2), RL_EPROTO);
	RL_FAIL(rl_kdf_pass("pass", 4, salt, ops, (uint64_t)1 << 40, k2), RL_EPROTO);
	rl_kdf_params(RL_KDF_INTERACTIVE, &ops, &mem);
	assert_true(ops >= 2 && mem >= ((uint64_t)32 << 20));
}

static void
test_misc(void **state)
{
	uint8_t a[16] = { 1, 2, 3 }, b[16] = { 1, 2, 3 };
	uint8_t *s;

	(void)state;
	assert_int_equal(rl_memeq(a, b, sizeof a), 1);
	b[15] = 1;
	assert_int_equal(rl_memeq(a, b, sizeof a), 0);
	rl_wipe(a, sizeof a);
	rl_wipe(NULL, 0);
	for (size_t i = 0; i < sizeof a; i++)
		assert_int_equal(a[i], 0);
	for (int i = 0; i < 1000; i++)
		assert_true(rl_random_uniform(7) < 7);
	assert_int_equal(rl_random_uniform(1), 0);
	s = rl_secret_alloc(RL_KEY_BYTES);
	assert_non_null(s);
	memset(s, 0xaa, RL_KEY_BYTES);
	rl_secret_free(s);
	rl_secret_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash),    cmocka_unit_test(test_seal_open),
		cmocka_unit_test(test_seal_nonce), cmocka_unit_test(test_dh),
		cmocka_unit_test(test_kdf),     cmocka_unit_test(test_misc),
	};

	if (rl_crypto_init() != RL_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
