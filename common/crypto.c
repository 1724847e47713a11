/*
 * crypto.c - relais' cryptography on libsodium 1.0.18.
 *
 * Thin wrappers that translate libsodium's int results into rl_err and keep
 * the primitive choices in one place: BLAKE2b-256 for hashing and keyed
 * derivation, XChaCha20-Poly1305 (IETF) for sealing, X25519 for key agreement
 * and argon2id for passphrases.
 */
#include <assert.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"

_Static_assert(sizeof(rl_hash_state) >= sizeof(crypto_generichash_state),
               "rl_hash_state too small");
_Static_assert(RL_NONCE_BYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce");
_Static_assert(RL_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag");
_Static_assert(RL_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key");
_Static_assert(RL_PK_BYTES == crypto_scalarmult_BYTES, "pk");
_Static_assert(RL_SALT_BYTES == crypto_pwhash_SALTBYTES, "salt");

rl_err
rl_crypto_init(void)
{
	return sodium_init() < 0 ? RL_EIO : RL_OK;
}

void
rl_random(void *p, size_t n)
{
	randombytes_buf(p, n);
}

uint32_t
rl_random_uniform(uint32_t upper)
{
	return randombytes_uniform(upper);
}

void
rl_wipe(void *p, size_t n)
{
	if (n > 0)
		sodium_memzero(p, n);
}

int
rl_memeq(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0;
}

void
rl_hash(const void *p, size_t n, uint8_t out[RL_HASH_BYTES])
{
	crypto_generichash(out, RL_HASH_BYTES, p, n, NULL, 0);
}

void
rl_hash_init(rl_hash_state *st)
{
	crypto_generichash_init((crypto_generichash_state *)st->opaque, NULL, 0, RL_HASH_BYTES);
}

void
rl_hash_update(rl_hash_state *st, const void *p, size_t n)
{
	crypto_generichash_update((crypto_generichash_state *)st->opaque, p, n);
}

void
rl_hash_final(rl_hash_state *st, uint8_t out[RL_HASH_BYTES])
{
	crypto_generichash_final((crypto_generichash_state *)st->opaque, out, RL_HASH_BYTES);
}

void
rl_hash_keyed(const uint8_t key[RL_KEY_BYTES], const void *p, size_t n,
              uint8_t out[RL_HASH_BYTES])
{
	crypto_generichash(out, RL_HASH_BYTES, p, n, key, RL_KEY_BYTES);
}

void
rl_seal(const uint8_t key[RL_KEY_BYTES], const uint8_t *ad, size_t adlen,
        const uint8_t *pt, size_t ptlen, uint8_t *out)
{
	randombytes_buf(out, RL_NONCE_BYTES);
	rl_seal_n(key, out, ad, adlen, pt, ptlen, out + RL_NONCE_BYTES);
}

rl_err
rl_open(const uint8_t key[RL_KEY_BYTES], const uint8_t *ad, size_t adlen,
        const uint8_t *ct, size_t ctlen, uint8_t *out)
{
	if (ctlen < RL_SEAL_OVERHEAD)
		return RL_EPROTO;
	return rl_open_n(key, ct, ad, adlen, ct + RL_NONCE_BYTES, ctlen - RL_NONCE_BYTES, out);
}

void
rl_seal_n(const uint8_t key[RL_KEY_BYTES], const uint8_t nonce[RL_NONCE_BYTES],
          const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t ptlen, uint8_t *out)
{
	unsigned long long clen;

	crypto_aead_xchacha20poly1305_ietf_encrypt(out, &clen, pt, ptlen, ad, adlen, NULL,
	                                           nonce, key);
}

rl_err
rl_open_n(const uint8_t key[RL_KEY_BYTES], const uint8_t nonce[RL_NONCE_BYTES],
          const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t ctlen, uint8_t *out)
{
	unsigned long long mlen;

	if (ctlen < RL_TAG_BYTES)
		return RL_EPROTO;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, NULL, ct, ctlen, ad, adlen,
	                                               nonce, key) != 0) {
		sodium_memzero(out, ctlen - RL_TAG_BYTES);
		return RL_ECRYPTO;
	}
	return RL_OK;
}

void
rl_dh_keypair(uint8_t pk[RL_PK_BYTES], uint8_t sk[RL_SK_BYTES])
{
	randombytes_buf(sk, RL_SK_BYTES);
	crypto_scalarmult_base(pk, sk);
}

void
rl_dh_public(uint8_t pk[RL_PK_BYTES], const uint8_t sk[RL_SK_BYTES])
{
	crypto_scalarmult_base(pk, sk);
}

rl_err
rl_dh(uint8_t out[32], const uint8_t sk[RL_SK_BYTES], const uint8_t pk[RL_PK_BYTES])
{
	/* Fails on low-order points (all-zero output). */
	return crypto_scalarmult(out, sk, pk) == 0 ? RL_OK : RL_ECRYPTO;
}

void
rl_kdf_params(rl_kdf_cost cost, uint64_t *ops, uint64_t *mem)
{
	switch (cost) {
	case RL_KDF_MIN:
		*ops = crypto_pwhash_OPSLIMIT_MIN;
		*mem = 8192;
		break;
	case RL_KDF_INTERACTIVE:
	default:
		*ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		*mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
		break;
	}
}

rl_err
rl_kdf_pass(const char *pass, size_t passlen, const uint8_t salt[RL_SALT_BYTES],
            uint64_t ops, uint64_t mem, uint8_t out[RL_KEY_BYTES])
{
	/* Bounds the cost a hostile store header may ask for. */
	if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > 64 || mem < 8192 ||
	    mem > ((uint64_t)1 << 30))
		return RL_EPROTO;
	if (crypto_pwhash(out, RL_KEY_BYTES, pass, passlen, salt, ops, (size_t)mem,
	                  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return RL_ENOMEM;
	return RL_OK;
}

void *
rl_secret_alloc(size_t n)
{
	return sodium_malloc(n);
}

void
rl_secret_free(void *p)
{
	sodium_free(p);
}
