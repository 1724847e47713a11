/*
 * mkseeds.c - writes the seed corpus of the fuzz targets.
 *
 * Usage: mkseeds DIR   (writes DIR/fuzz_<target>/<name>; tests/fuzz/corpus
 * is its output, committed). Each seed is a small valid input made with the
 * project's own encoders, with the selector byte the target expects where it
 * has one, so the fuzzers start from every message kind and every op kind.
 * Everything is deterministic except the WELCOME seed, whose server
 * ephemeral key and session id are random (it still verifies in
 * fuzz_handshake: the client state there is fixed).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "client/cli.h"
#include "common/record.h"
#include "proto/msg.h"
#include "proto/session.h"
#include "fuzz_util.h"

static const char *outdir;

static void
put(const char *target, const char *name, uint8_t sel, bool with_sel, rl_bytes b)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	if ((f = fopen(path, "wb")) == NULL || (with_sel && fwrite(&sel, 1, 1, f) != 1) ||
	    (b.len && fwrite(b.p, 1, b.len, f) != b.len) || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void
put_buf(const char *target, const char *name, rl_buf *b)
{
	put(target, name, 0, false, rl_buf_view(b));
	rl_buf_reset(b);
}

static void
put_sel(const char *target, const char *name, uint8_t sel, rl_buf *b)
{
	put(target, name, sel, true, rl_buf_view(b));
	rl_buf_reset(b);
}

#define CHECK(x)                                                          \
	do {                                                                  \
		if ((x) != RL_OK) {                                               \
			fprintf(stderr, "mkseeds: %s failed (line %d)\n", #x, __LINE__); \
			exit(1);                                                      \
		}                                                                 \
	} while (0)

static const uint8_t sit_a[RL_SIT_BYTES] = { 0x5a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
static const uint8_t sit_b[RL_SIT_BYTES] = { 0xb0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
static rl_opid refs[2];

/* A sample of every kind of op, all on sit_a, in increasing hlc. */
static size_t
sample_ops(rl_op *ops)
{
	rl_op base;
	size_t n = 0;

	memset(&base, 0, sizeof(base));
	memcpy(base.sit, sit_a, RL_SIT_BYTES);
	memset(base.id.dev, 0xd1, RL_DEV_BYTES);
	memset(refs[0].dev, 0xd2, RL_DEV_BYTES);
	refs[0].ctr = 7;
	memset(refs[1].dev, 0xd3, RL_DEV_BYTES);
	refs[1].ctr = 300;

	/* situation registers */
	ops[n] = base;
	ops[n].kind = RL_OP_REG;
	ops[n].field = RL_F_KIND;
	ops[n].value = RL_BYTES("coordination", 12);
	n++;
	ops[n] = base;
	ops[n].kind = RL_OP_REG;
	ops[n].field = RL_F_COMMUNE;
	ops[n].value = RL_BYTES("Aix", 3);
	ops[n].nrefs = 2;
	ops[n].refs = refs;
	n++;
	/* set add and remove */
	ops[n] = base;
	ops[n].kind = RL_OP_ADD;
	ops[n].field = RL_SET_PROBLEMS;
	ops[n].value = RL_BYTES("logement", 8);
	n++;
	ops[n] = base;
	ops[n].kind = RL_OP_REM;
	ops[n].field = RL_SET_PROBLEMS;
	ops[n].value = RL_BYTES("logement", 8);
	ops[n].nrefs = 1;
	ops[n].refs = refs;
	n++;
	/* journal entry, and an amendment of it */
	ops[n] = base;
	ops[n].kind = RL_OP_JOURNAL;
	ops[n].field = RL_J_VAD;
	ops[n].date = 20250302;
	ops[n].value = RL_BYTES("Premiere visite", 15);
	n++;
	ops[n] = base;
	ops[n].kind = RL_OP_JOURNAL;
	ops[n].field = RL_J_NOTE;
	ops[n].date = 20250303;
	ops[n].has_target = true;
	ops[n].target = refs[0];
	ops[n].value = RL_BYTES("correction", 10);
	n++;
	/* alert, and a register of the alert */
	ops[n] = base;
	ops[n].kind = RL_OP_ALERT;
	ops[n].date = 20250401;
	ops[n].value = RL_BYTES("RDV CMP", 7);
	n++;
	ops[n] = base;
	ops[n].kind = RL_OP_REG;
	ops[n].field = RL_F_ALERT_DONE;
	ops[n].has_target = true;
	ops[n].target = refs[1];
	ops[n].value = RL_BYTES("oui", 3);
	n++;
	for (size_t i = 0; i < n; i++) {
		ops[i].id.ctr = i + 1;
		ops[i].hlc = ((uint64_t)1740000000000 + i) << 16;
	}
	return n;
}

static rl_op
erase_op(void)
{
	rl_op op;

	memset(&op, 0, sizeof(op));
	memcpy(op.sit, sit_b, RL_SIT_BYTES);
	memset(op.id.dev, 0xe1, RL_DEV_BYTES);
	op.id.ctr = 42;
	op.hlc = (uint64_t)1750000000000 << 16;
	op.kind = RL_OP_ERASE;
	return op;
}

static void
seeds_op(rl_op *ops, size_t n, rl_buf *b)
{
	static const char *names[] = { "reg", "reg_refs", "add", "rem", "journal", "amend", "alert",
	                               "alert_reg" };
	char name[64];
	rl_op er = erase_op();
	rl_mpw w;

	for (size_t i = 0; i < n; i++) {
		for (int with_sit = 0; with_sit < 2; with_sit++) {
			rl_mpw_init(&w, b);
			rl_op_encode(&w, &ops[i], with_sit);
			CHECK(rl_mpw_err(&w));
			snprintf(name, sizeof(name), "%s%s", names[i], with_sit ? "_sit" : "");
			put_buf("fuzz_op", name, b);
		}
	}
	rl_mpw_init(&w, b);
	rl_op_encode(&w, &er, true);
	put_buf("fuzz_op", "erase_sit", b);
}

static void
seeds_record(rl_op *ops, size_t n, rl_buf *b)
{
	rl_record rec;
	rl_op er = erase_op();

	rl_record_init(&rec, sit_a);
	CHECK(rl_record_encode(&rec, b));
	put_buf("fuzz_record", "empty", b);
	for (size_t i = 0; i < n; i++)
		CHECK(rl_record_apply(&rec, &ops[i], NULL));
	CHECK(rl_record_encode(&rec, b));
	put_buf("fuzz_record", "full", b);
	rl_record_fini(&rec);
	rl_record_init(&rec, sit_a);
	CHECK(rl_record_apply(&rec, &ops[6], NULL));
	CHECK(rl_record_apply(&rec, &ops[7], NULL));
	CHECK(rl_record_encode(&rec, b));
	put_buf("fuzz_record", "alert", b);
	rl_record_fini(&rec);
	rl_record_init(&rec, sit_b);
	CHECK(rl_record_apply(&rec, &er, NULL));
	CHECK(rl_record_encode(&rec, b));
	put_buf("fuzz_record", "erased", b);
	rl_record_fini(&rec);
}

static void
seeds_msg(rl_op *ops, size_t n, rl_buf *b)
{
	rl_buf one;
	rl_mpw w;

	rl_buf_init(&one);
	CHECK(rl_msg_push_encode(ops, n, b));
	put_sel("fuzz_msg", "push", 0, b);
	CHECK(rl_msg_push_encode(ops, 2, b));
	put_sel("fuzz_msg", "push_small_cap", 5 | (3 << 3) | (2 << 5), b);
	CHECK(rl_msg_push_ok_encode(8, 1234, b));
	put_sel("fuzz_msg", "push_ok", 1, b);
	CHECK(rl_msg_pull_encode(99, 500, b));
	put_sel("fuzz_msg", "pull", 2, b);
	CHECK(rl_msg_pull_ok_begin(b, 1000, true, 3));
	CHECK(rl_msg_pull_ok_drop(b, sit_b));
	for (size_t i = 0; i < 2; i++) {
		rl_mpw_init(&w, &one);
		rl_op_encode(&w, &ops[i + 1], true);
		CHECK(rl_msg_pull_ok_op_raw(b, rl_buf_view(&one)));
		rl_buf_reset(&one);
	}
	put_sel("fuzz_msg", "pull_ok", 3, b);
	CHECK(rl_msg_pull_ok_begin(b, 1000, false, 1));
	CHECK(rl_msg_pull_ok_drop(b, sit_b));
	put_sel("fuzz_msg", "pull_ok_small_cap", 6 | (1 << 3), b);
	CHECK(rl_msg_error_encode(RL_W_SCOPE, "antenne hors de portee", b));
	put_sel("fuzz_msg", "error", 4, b);
	CHECK(rl_msg_simple_encode(RL_MSG_PING, b));
	put_sel("fuzz_msg", "ping", 7, b);
	CHECK(rl_msg_pong_encode(1750000000000, b));
	put_sel("fuzz_msg", "pong", 7, b);
	rl_buf_fini(&one);
}

static void
seeds_handshake(rl_op *ops, rl_buf *b)
{
	uint8_t hello[RL_HELLO_MAX], server_pk[RL_PK_BYTES], tid[RL_TOKEN_ID_BYTES];
	rl_hs_client hs;
	rl_session s;
	rl_hello h;
	rl_buf body;
	size_t n;

	rl_buf_init(&body);
	n = fz_hello(&hs, hello);
	CHECK(rl_buf_append(b, hello, n));
	put_sel("fuzz_handshake", "hello", 0, b);
	CHECK(rl_hs_parse_hello(RL_BYTES(hello, n), &h));
	CHECK(rl_hs_server_welcome(&h, fz_server_sk, 1750000000000, &s, b));
	put_sel("fuzz_handshake", "welcome", 1, b);
	rl_session_wipe(&s);
	CHECK(rl_frame_error(RL_W_UNKNOWN_DEVICE, "appareil inconnu", b));
	put_sel("fuzz_handshake", "welcome_error", 1, b);
	CHECK(rl_frame_error(RL_W_REVOKED, "appareil revoque", b));
	put_sel("fuzz_handshake", "error", 6, b);
	memset(tid, 0x99, sizeof(tid));
	CHECK(rl_enroll_request(tid, fz_token_secret, fz_device_pk, "portable Aix", b));
	put_sel("fuzz_handshake", "enroll", 2, b);
	rl_dh_public(server_pk, fz_server_sk);
	CHECK(rl_enroll_reply(fz_token_secret, fz_device_pk, server_pk, "AIX", "antenna", b));
	put_sel("fuzz_handshake", "enrolled", 3, b);
	CHECK(rl_frame_error(RL_W_TOKEN, "jeton invalide", b));
	put_sel("fuzz_handshake", "enrolled_error", 3, b);
	/* A client request the fixed server session opens, and the answer the
	 * fixed client session opens. */
	fz_session(&s, false);
	s.send_ctr = 0; /* sealing takes the next counter: 1 */
	CHECK(rl_msg_push_encode(ops, 1, &body));
	CHECK(rl_session_seal(&s, rl_buf_view(&body), b));
	put_sel("fuzz_handshake", "sealed_to_server", 4, b);
	fz_session(&s, true);
	s.recv_ctr = 1; /* answers the request with counter 1 */
	rl_buf_reset(&body);
	CHECK(rl_msg_push_ok_encode(1, 1, &body));
	CHECK(rl_session_seal(&s, rl_buf_view(&body), b));
	put_sel("fuzz_handshake", "sealed_to_client", 5, b);
	CHECK(rl_session_seal(&s, RL_BYTES(NULL, 0), b));
	put_sel("fuzz_handshake", "sealed_id", 7, b);
	rl_buf_fini(&body);
}

static void
seeds_mp(rl_op *ops, rl_buf *b)
{
	/* program bytes (see fuzz_mp.c), then data */
	static const uint8_t prog_op[] = { 3, 0, 10 + 13 * 14, 11, 4 + 13 * 18, 4 + 13 * 18, 5, 5, 7,
	                                   11, 4 + 13 * 18, 8 + 13 * 15, 1 + 13 * 11, 12 };
	static const uint8_t prog_rt[] = { 0x00, 0x38, 0x01, 0x39, 0x0a, 0x03, 0x04, 0x05, 0x16, 0x2f,
	                                   0x06 };
	static const uint8_t misc[] = {
		0x9f, 0xc0, 0xc2, 0xc3, 0xca, 0, 0, 0, 0, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0,
		0xd4, 1, 2, 0xc7, 1, 5, 9, 0xd0, 0x80, 0xd1, 0xff, 0xfe, 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0,
		0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x82, 0xa1, 'k', 0x91, 0x90,
		0xc4, 2, 'h', 'i', 0xde, 0, 1, 0xd9, 1, 'x', 0xdc, 0, 0, 0xc5, 0, 0, 0xe0,
	};
	rl_mpw w;
	uint8_t k;

	k = sizeof(prog_op);
	CHECK(rl_buf_append(b, &k, 1));
	CHECK(rl_buf_append(b, prog_op, sizeof(prog_op)));
	rl_mpw_init(&w, b);
	rl_op_encode(&w, &ops[1], true);
	put_buf("fuzz_mp", "op_program", b);
	k = sizeof(prog_rt);
	CHECK(rl_buf_append(b, &k, 1));
	CHECK(rl_buf_append(b, prog_rt, sizeof(prog_rt)));
	CHECK(rl_buf_append(b, "\x12\x34\x56\x78\x9a\xbc\xde\xf0\x11\x22\x33\x44\x55\x66\x77\x88"
	                       "\x05hello\x03bin",
	                    26));
	put_buf("fuzz_mp", "round_trip", b);
	k = 0;
	CHECK(rl_buf_append(b, &k, 1));
	CHECK(rl_buf_append(b, misc, sizeof(misc)));
	put_buf("fuzz_mp", "every_type", b);
}

static void
seeds_changes(rl_op *ops, size_t n, rl_buf *b)
{
	rl_op er = erase_op();
	uint8_t dev[RL_DEV_BYTES];
	rl_mpw w;

	memset(dev, 0xd1, sizeof(dev));
	for (int file = 0; file < 2; file++) {
		rl_mpw_init(&w, b);
		rl_mpw_array(&w, 4);
		rl_mpw_cstr(&w, "relais-changes");
		rl_mpw_uint(&w, 1);
		rl_mpw_bin(&w, dev, RL_DEV_BYTES);
		rl_mpw_array(&w, file ? (uint32_t)n + 1 : 0);
		for (size_t i = 0; file && i < n; i++)
			rl_op_encode(&w, &ops[i], true);
		if (file)
			rl_op_encode(&w, &er, true);
		CHECK(rl_mpw_err(&w));
		put_buf("fuzz_changes", file ? "several" : "empty", b);
	}
}

static void
seeds_config(rl_buf *b)
{
	static const char server[] =
		"# relais-server\n[server]\nlisten = tls+tcp://0.0.0.0:7400\nstore = /var/lib/relais\n"
		"key_file = /etc/relais/store.key\nlog_level = info\n\n[sessions]\nmax = 1024\n"
		"per_device = 4\nidle_timeout = 10m\nworkers = 4\ncontexts = 64\n\n[sync]\n"
		"clock_skew = 5m\npull_max_entries = 8192\nwrite_group_ops = 4096\n";
	static const char client[] =
		"\xef\xbb\xbf; relais\r\n[client]\r\nstore = ~/relais\r\nlog_level = warn\r\n"
		"[sync]\r\nserver = tcp://hq.example:7400\r\ninterval = 30s\r\nbackoff_min = 500ms\r\n"
		"backoff_max = 2h\r\ntimeout = 20s\r\npush_ops = 16384\r\npush_bytes = 3M\r\n";

	CHECK(rl_buf_append(b, server, sizeof(server) - 1));
	put_sel("fuzz_config", "server", 0 | (3 << 1), b);
	CHECK(rl_buf_append(b, client, sizeof(client) - 1));
	put_sel("fuzz_config", "client", 1 | (3 << 1), b);
	CHECK(rl_buf_append(b, "[sync]\nserver = ipc:///tmp/relais\n", 34));
	put_sel("fuzz_config", "client_ipc_smallerr", 1 | (1 << 1), b);
}

int
main(int argc, char **argv)
{
	rl_op ops[16];
	size_t n;
	rl_buf b;

	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds DIR\n");
		return 2;
	}
	outdir = argv[1];
	if (rl_crypto_init() != RL_OK || (mkdir(outdir, 0755) != 0 && errno != EEXIST)) {
		perror(outdir);
		return 1;
	}
	rl_buf_init(&b);
	n = sample_ops(ops);
	for (size_t i = 0; i < n; i++)
		CHECK(rl_op_validate(&ops[i]));
	seeds_op(ops, n, &b);
	seeds_record(ops, n, &b);
	seeds_msg(ops, n, &b);
	seeds_handshake(ops, &b);
	seeds_mp(ops, &b);
	seeds_changes(ops, n, &b);
	seeds_config(&b);
	rl_buf_fini(&b);
	return 0;
}
