/*
 * crypto.h - the only door to libsodium.
 *
 * Everything relais needs from cryptography, in relais terms: random bytes,
 * BLAKE2b hashing, XChaCha20-Poly1305 sealing (random or explicit nonce),
 * X25519 key pairs and Diffie-Hellman, argon2id passphrase derivation,
 * wiping and constant-time comparison. Only crypto.c includes sodium.h.
 *
 * rl_crypto_init() must have been called once (from main) before any other
 * function here.
 */
#ifndef RL_CRYPTO_H
#define RL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define RL_KEY_BYTES 32      /* symmetric key */
#define RL_HASH_BYTES 32     /* BLAKE2b-256 digest */
#define RL_NONCE_BYTES 24    /* XChaCha20-Poly1305 nonce */
#define RL_TAG_BYTES 16      /* Poly1305 tag */
#define RL_SEAL_OVERHEAD (RL_NONCE_BYTES + RL_TAG_BYTES)
#define RL_PK_BYTES 32       /* X25519 public key */
#define RL_SK_BYTES 32       /* X25519 secret key */
#define RL_SALT_BYTES 16     /* argon2id salt */

/* Initialises libsodium. RL_EIO if it cannot. Call once, from main(). */
rl_err rl_crypto_init(void);

/* Fills p with n unpredictable bytes. */
void rl_random(void *p, size_t n);

/* Uniform random integer in [0, upper). upper > 0. */
uint32_t rl_random_uniform(uint32_t upper);

/* Wipes n bytes at p (not optimised away). NULL-safe when n is 0. */
void rl_wipe(void *p, size_t n);

/* Constant-time equality of two n-byte ranges: 1 if equal, else 0. */
int rl_memeq(const void *a, const void *b, size_t n);

/* BLAKE2b-256 of p[0..n). */
void rl_hash(const void *p, size_t n, uint8_t out[RL_HASH_BYTES]);

/* Incremental BLAKE2b-256. The state is caller-owned storage. */
typedef struct rl_hash_state {
	_Alignas(64) uint8_t opaque[384];
} rl_hash_state;
void rl_hash_init(rl_hash_state *st);
void rl_hash_update(rl_hash_state *st, const void *p, size_t n);
void rl_hash_final(rl_hash_state *st, uint8_t out[RL_HASH_BYTES]);

/* Keyed BLAKE2b-256 (a MAC or a KDF step): out = H_key(p). */
void rl_hash_keyed(const uint8_t key[RL_KEY_BYTES], const void *p, size_t n,
                   uint8_t out[RL_HASH_BYTES]);

/*
 * Seals pt with XChaCha20-Poly1305 under key, binding ad (may be NULL/0).
 * Writes nonce || ciphertext || tag to out, which must hold
 * ptlen + RL_SEAL_OVERHEAD bytes; the nonce is random. pt and out must not
 * overlap.
 */
void rl_seal(const uint8_t key[RL_KEY_BYTES], const uint8_t *ad, size_t adlen,
             const uint8_t *pt, size_t ptlen, uint8_t *out);

/*
 * Opens what rl_seal() made. out must hold ctlen - RL_SEAL_OVERHEAD bytes.
 * Returns RL_EPROTO if ctlen < RL_SEAL_OVERHEAD, RL_ECRYPTO if the tag does
 * not verify (wrong key, tampered bytes or wrong ad); out is then wiped.
 */
rl_err rl_open(const uint8_t key[RL_KEY_BYTES], const uint8_t *ad, size_t adlen,
               const uint8_t *ct, size_t ctlen, uint8_t *out);

/*
 * Same AEAD with an explicit nonce (transport: the nonce is a message
 * counter and is not sent). out holds ptlen + RL_TAG_BYTES (seal) or
 * ctlen - RL_TAG_BYTES (open). rl_open_n returns RL_EPROTO or RL_ECRYPTO as
 * rl_open.
 */
void rl_seal_n(const uint8_t key[RL_KEY_BYTES], const uint8_t nonce[RL_NONCE_BYTES],
               const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t ptlen,
               uint8_t *out);
rl_err rl_open_n(const uint8_t key[RL_KEY_BYTES], const uint8_t nonce[RL_NONCE_BYTES],
                 const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t ctlen,
                 uint8_t *out);

/* X25519: a fresh key pair; DH shared secret (RL_ECRYPTO on a weak point). */
void rl_dh_keypair(uint8_t pk[RL_PK_BYTES], uint8_t sk[RL_SK_BYTES]);
rl_err rl_dh(uint8_t out[32], const uint8_t sk[RL_SK_BYTES], const uint8_t pk[RL_PK_BYTES]);
/* The public key of a secret key. */
void rl_dh_public(uint8_t pk[RL_PK_BYTES], const uint8_t sk[RL_SK_BYTES]);

/* argon2id cost presets. */
typedef enum rl_kdf_cost {
	RL_KDF_INTERACTIVE, /* ~90 ms, 64 MiB here: default for stores */
	RL_KDF_MIN,         /* the minimum argon2id allows: tests only */
} rl_kdf_cost;

/*
 * Derives a key from a passphrase with argon2id. ops/mem are recorded with
 * the salt so the same cost is used again when opening. RL_ENOMEM if the
 * memory cost cannot be allocated.
 */
rl_err rl_kdf_pass(const char *pass, size_t passlen, const uint8_t salt[RL_SALT_BYTES],
                   uint64_t ops, uint64_t mem, uint8_t out[RL_KEY_BYTES]);
void rl_kdf_params(rl_kdf_cost cost, uint64_t *ops, uint64_t *mem);

/* Secret memory: guarded, locked when possible, wiped on free. */
void *rl_secret_alloc(size_t n);
void rl_secret_free(void *p);

#endif
