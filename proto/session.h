/*
 * session.h - the handshake and the sealed framing of relais sessions.
 *
 * Pure computation, no I/O: the caller moves the bytes (over NNG). Every
 * frame starts with a type byte:
 *
 *   'H' HELLO    client -> server, plaintext: versions, static and ephemeral keys
 *   'W' WELCOME  server -> client, plaintext: version, session id, ephemeral
 *                key, key confirmation, server time, store epoch and sequence
 *   'S' SEALED   either way: session id, counter, XChaCha20-Poly1305 ciphertext
 *   'E' ENROLL   client -> server: token id, device key, name, token MAC
 *   'e' ENROLLED server -> client: server key, antenna, role, token MAC
 *   'X' ERROR    server -> client, plaintext: code and text (before a session)
 *
 * Keys: the session keys are derived from three X25519 results,
 * ee = DH(client eph, server eph) for forward secrecy, se = DH(client static,
 * server eph) which only the real client can compute, and es = DH(client
 * eph, server static) which only the real server can compute, hashed with the
 * transcript (HELLO bytes, session id, server ephemeral key, version, store
 * epoch and sequence). The
 * server proves its key with the confirmation tag in WELCOME; the client
 * proves its key by sealing its first request. PROTOCOL.md has the details.
 *
 * Sealed frames carry a 64-bit counter per direction; the nonce is built from
 * the direction and the counter, the associated data binds the session id and
 * the counter. A receiver accepts only the counter it expects next, so a
 * replayed, reordered or dropped-then-reinjected frame is rejected.
 */
#ifndef RL_SESSION_H
#define RL_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "common/err.h"

#define RL_PROTO_VERSION 1
#define RL_SESSION_ID_BYTES 16
#define RL_SEALED_HEADER (1 + RL_SESSION_ID_BYTES + 8)
#define RL_HELLO_MAX 256     /* bound on plaintext handshake frames */
#define RL_TOKEN_ID_BYTES 16
#define RL_TOKEN_SECRET_BYTES 16
#define RL_TOKEN_HEX (2 * (RL_TOKEN_ID_BYTES + RL_TOKEN_SECRET_BYTES))
#define RL_EPOCH_BYTES 16    /* the server store's history id, in WELCOME */

enum {
	RL_FRAME_HELLO = 'H',
	RL_FRAME_WELCOME = 'W',
	RL_FRAME_SEALED = 'S',
	RL_FRAME_ENROLL = 'E',
	RL_FRAME_ENROLLED = 'e',
	RL_FRAME_ERROR = 'X',
};

/* Keys and counters of an established session (either side). */
typedef struct rl_session {
	uint8_t id[RL_SESSION_ID_BYTES];
	uint8_t k_send[RL_KEY_BYTES];
	uint8_t k_recv[RL_KEY_BYTES];
	uint64_t send_ctr; /* client: last counter sent; server: last answered */
	uint64_t recv_ctr; /* client: unused; server: last counter accepted */
	bool is_server;
	bool failed;       /* set on the first bad frame: the session is dead */
	uint32_t version;
} rl_session;

/* Client side of the handshake in progress. */
typedef struct rl_hs_client {
	uint8_t static_pk[RL_PK_BYTES];
	uint8_t static_sk[RL_SK_BYTES];
	uint8_t eph_pk[RL_PK_BYTES];
	uint8_t eph_sk[RL_SK_BYTES];
	uint8_t server_pk[RL_PK_BYTES]; /* pinned at enrollment */
	uint8_t hello_hash[RL_HASH_BYTES];
} rl_hs_client;

/* Builds HELLO into out (appended). */
rl_err rl_hs_client_hello(rl_hs_client *hs, const uint8_t static_pk[RL_PK_BYTES],
                          const uint8_t static_sk[RL_SK_BYTES],
                          const uint8_t server_pk[RL_PK_BYTES], rl_buf *out);

/*
 * What WELCOME says about the server besides the session: its clock, and
 * where its store's history stands. The epoch is a random id the server
 * draws when its store is created and again when it first serves a store
 * restored from a backup; seq is the last sequence number it committed
 * (feed cursors never exceed it). A client whose cursor is past seq, or
 * that knew another epoch, talks to a server that lost changes it had
 * acknowledged (see PROTOCOL.md, "Server restores"). Both are bound into
 * the transcript, so the key confirmation authenticates them.
 */
typedef struct rl_hs_server_info {
	uint64_t time_ms;               /* server clock, ms since the epoch */
	uint8_t epoch[RL_EPOCH_BYTES];  /* store history id */
	uint64_t seq;                   /* last committed sequence number */
} rl_hs_server_info;

/*
 * Checks WELCOME (or turns an ERROR frame into its code) and derives the
 * session; *info receives what the server said. Errors: RL_EPROTO,
 * RL_ECRYPTO (the server does not hold the pinned key, or the frame was
 * altered), RL_EVERSION, or the error the server sent (RL_EPERM unknown
 * device, RL_EREVOKED...). The handshake secrets are wiped whatever the
 * result.
 */
rl_err rl_hs_client_finish_info(rl_hs_client *hs, rl_bytes frame, rl_session *s,
                                rl_hs_server_info *info);

/* The same, keeping only the server's clock (ms) in *server_time. */
rl_err rl_hs_client_finish(rl_hs_client *hs, rl_bytes frame, rl_session *s,
                           uint64_t *server_time);

/* What the server learns from a HELLO, before it decides to answer. */
typedef struct rl_hello {
	uint32_t vmin, vmax;
	uint8_t client_pk[RL_PK_BYTES];
	uint8_t client_eph[RL_PK_BYTES];
	uint8_t hash[RL_HASH_BYTES];
} rl_hello;

/* Parses a HELLO frame. RL_EPROTO, RL_EVERSION (no common version). */
rl_err rl_hs_parse_hello(rl_bytes frame, rl_hello *h);

/*
 * Server: answers a parsed HELLO from a known device with WELCOME (appended
 * to out) and fills the session. server_sk is the server's static key; info
 * is what WELCOME tells the client (clock, store epoch and sequence).
 */
rl_err rl_hs_server_welcome_info(const rl_hello *h, const uint8_t server_sk[RL_SK_BYTES],
                                 const rl_hs_server_info *info, rl_session *s, rl_buf *out);

/* The same with a zero epoch and sequence (tests, fuzzing). */
rl_err rl_hs_server_welcome(const rl_hello *h, const uint8_t server_sk[RL_SK_BYTES],
                            uint64_t server_time, rl_session *s, rl_buf *out);

/* Builds an ERROR frame (plaintext) with a wire error code and a text. */
rl_err rl_frame_error(uint32_t code, const char *text, rl_buf *out);
/* Parses an ERROR frame. */
rl_err rl_frame_parse_error(rl_bytes frame, uint32_t *code, rl_bytes *text);

/*
 * Seals a message body: client frames take the next counter, server frames
 * reuse the counter of the request they answer. Appends the frame to out.
 */
rl_err rl_session_seal(rl_session *s, rl_bytes body, rl_buf *out);

/* The session id of a sealed frame, to find the session. RL_EPROTO. */
rl_err rl_session_frame_id(rl_bytes frame, uint8_t id[RL_SESSION_ID_BYTES]);

/*
 * Opens a sealed frame into out (replaced). The server accepts only
 * recv_ctr + 1; the client only the counter it last sent. Any failure marks
 * the session failed (RL_ECRYPTO for a bad tag, replay or reorder;
 * RL_EPROTO for a malformed frame); every later call returns RL_ECLOSED.
 */
rl_err rl_session_open(rl_session *s, rl_bytes frame, rl_buf *out);

/* Wipes a session's keys. */
void rl_session_wipe(rl_session *s);

/* ---- enrollment (token as a pre-shared MAC key) ---- */

/* Parses a token string (RL_TOKEN_HEX hex characters). RL_EINVAL. */
rl_err rl_token_parse(const char *s, uint8_t id[RL_TOKEN_ID_BYTES],
                      uint8_t secret[RL_TOKEN_SECRET_BYTES]);

/* Client: ENROLL frame. */
rl_err rl_enroll_request(const uint8_t id[RL_TOKEN_ID_BYTES],
                         const uint8_t secret[RL_TOKEN_SECRET_BYTES],
                         const uint8_t device_pk[RL_PK_BYTES], const char *name, rl_buf *out);

typedef struct rl_enroll_req {
	uint8_t token_id[RL_TOKEN_ID_BYTES];
	uint8_t device_pk[RL_PK_BYTES];
	char name[65];
	uint8_t mac[RL_HASH_BYTES];
	rl_bytes signed_part; /* what the MAC covers, borrowed from the frame */
} rl_enroll_req;

/* Server: parses ENROLL (no MAC check: needs the token secret). */
rl_err rl_enroll_parse(rl_bytes frame, rl_enroll_req *r);
/* Server: checks the MAC with the token secret. RL_ECRYPTO. */
rl_err rl_enroll_verify(const rl_enroll_req *r, const uint8_t secret[RL_TOKEN_SECRET_BYTES]);
/* Server: ENROLLED reply. */
rl_err rl_enroll_reply(const uint8_t secret[RL_TOKEN_SECRET_BYTES],
                       const uint8_t device_pk[RL_PK_BYTES],
                       const uint8_t server_pk[RL_PK_BYTES], const char *antenna,
                       const char *role, rl_buf *out);
/* Client: checks the reply and extracts the server key, antenna and role
 * (NUL-terminated, antenna up to 32 chars, role up to 15). */
rl_err rl_enroll_finish(rl_bytes frame, const uint8_t secret[RL_TOKEN_SECRET_BYTES],
                        const uint8_t device_pk[RL_PK_BYTES], uint8_t server_pk[RL_PK_BYTES],
                        char antenna[33], char role[16]);

#endif
