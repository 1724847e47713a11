/*
 * fuzz_handshake.c - libFuzzer target for the plaintext handshake frames
 * and the sealed-frame opener of proto/session.c.
 *
 * Input: one selector byte (taken modulo 8), then the frame:
 *   0 HELLO      rl_hs_parse_hello, then the server's WELCOME to it
 *   1 WELCOME    rl_hs_client_finish with a fixed client state (fuzz_util.h;
 *                an ERROR frame goes through the same call)
 *   2 ENROLL     rl_enroll_parse, then rl_enroll_verify with a fixed secret
 *   3 ENROLLED   rl_enroll_finish with the fixed secret and device key
 *   4 SEALED     rl_session_open on a fixed server session
 *   5 SEALED     rl_session_open on a fixed client session
 *   6 ERROR      rl_frame_parse_error
 *   7 any        rl_session_frame_id
 * The client state and sessions are rebuilt from constants for every input,
 * so nothing carries over between runs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/msg.h"
#include "proto/session.h"
#include "fuzz_util.h"

static rl_hs_client hs_template; /* read-only after LLVMFuzzerInitialize */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t hello[RL_HELLO_MAX];

	(void)argc;
	(void)argv;
	if (rl_crypto_init() != RL_OK)
		return 1;
	(void)fz_hello(&hs_template, hello);
	return 0;
}

static bool
inside(rl_bytes v, rl_bytes frame)
{
	return v.len == 0 || (v.p >= frame.p && v.p + v.len <= frame.p + frame.len);
}

static void
fuzz_hello(rl_bytes frame)
{
	rl_session s;
	rl_hello h;
	rl_buf b;

	if (rl_hs_parse_hello(frame, &h) != RL_OK)
		return;
	FZ_CHECK(h.vmin <= RL_PROTO_VERSION && h.vmax >= RL_PROTO_VERSION);
	/* The server answers any well-formed HELLO from a known device: its
	 * keys may be weak points, which rl_dh must refuse. */
	rl_buf_init(&b);
	if (rl_hs_server_welcome(&h, fz_server_sk, 1, &s, &b) == RL_OK) {
		FZ_CHECK(b.len <= RL_HELLO_MAX && b.data[0] == RL_FRAME_WELCOME);
		FZ_CHECK(!s.failed && s.is_server);
	} else
		FZ_CHECK(s.failed);
	rl_session_wipe(&s);
	rl_buf_fini(&b);
}

static void
fuzz_welcome(rl_bytes frame)
{
	rl_hs_client hs = hs_template;
	uint64_t server_time;
	rl_session s;
	static const uint8_t zero[sizeof(hs)];

	if (rl_hs_client_finish(&hs, frame, &s, &server_time) == RL_OK) {
		FZ_CHECK(!s.failed && !s.is_server && s.version == RL_PROTO_VERSION);
		FZ_CHECK(s.send_ctr == 0);
	} else
		FZ_CHECK(s.failed);
	/* The handshake secrets are wiped whatever the result. */
	FZ_CHECK(memcmp(&hs, zero, sizeof(hs)) == 0);
	rl_session_wipe(&s);
}

static void
fuzz_enroll(rl_bytes frame)
{
	rl_enroll_req q;

	if (rl_enroll_parse(frame, &q) != RL_OK)
		return;
	FZ_CHECK(strlen(q.name) <= 64);
	FZ_CHECK(inside(q.signed_part, frame));
	(void)rl_enroll_verify(&q, fz_token_secret);
}

static void
fuzz_enrolled(rl_bytes frame)
{
	uint8_t server_pk[RL_PK_BYTES];
	char antenna[33], role[16];

	if (rl_enroll_finish(frame, fz_token_secret, fz_device_pk, server_pk, antenna, role) !=
	    RL_OK)
		return;
	FZ_CHECK(strlen(antenna) <= 32 && strlen(role) <= 15);
}

static void
fuzz_open(rl_bytes frame, bool server)
{
	rl_session s;
	rl_buf out;
	uint32_t type;
	rl_err e;

	fz_session(&s, server);
	rl_buf_init(&out);
	e = rl_session_open(&s, frame, &out);
	if (e == RL_OK) {
		FZ_CHECK(!s.failed);
		FZ_CHECK(out.len == frame.len - RL_SEALED_HEADER - RL_TAG_BYTES);
		(void)rl_msg_type(rl_buf_view(&out), &type);
		/* The same frame again is a replay: the server refuses it and
		 * the session is dead from then on. */
		if (server) {
			FZ_CHECK(rl_session_open(&s, frame, &out) == RL_ECRYPTO && s.failed);
			FZ_CHECK(rl_session_open(&s, frame, &out) == RL_ECLOSED);
		}
	} else {
		FZ_CHECK(s.failed);
		FZ_CHECK(rl_session_open(&s, frame, &out) == RL_ECLOSED);
	}
	rl_session_wipe(&s);
	rl_buf_fini(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t id[RL_SESSION_ID_BYTES];
	uint32_t code;
	rl_bytes frame, text;

	if (size < 1)
		return 0;
	frame = RL_BYTES(data + 1, size - 1);
	switch (data[0] & 7) {
	case 0:
		fuzz_hello(frame);
		break;
	case 1:
		fuzz_welcome(frame);
		break;
	case 2:
		fuzz_enroll(frame);
		break;
	case 3:
		fuzz_enrolled(frame);
		break;
	case 4:
		fuzz_open(frame, true);
		break;
	case 5:
		fuzz_open(frame, false);
		break;
	case 6:
		if (rl_frame_parse_error(frame, &code, &text) == RL_OK)
			FZ_CHECK(text.len <= 200 && inside(text, frame));
		break;
	case 7:
		if (rl_session_frame_id(frame, id) == RL_OK)
			FZ_CHECK(frame.len >= RL_SEALED_HEADER + RL_TAG_BYTES);
		break;
	}
	return 0;
}
