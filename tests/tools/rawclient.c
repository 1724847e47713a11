/*
 * rawclient.c - a scriptable sync client that crafts its own frames, for the
 * security tests (tests/integration/test_sync_security.sh).
 *
 * It speaks the wire protocol with proto/session.h, proto/msg.h and
 * common/net.h directly, with no client store, so a test can do what the
 * real client never does: forge an author, stamp operations in the future,
 * flip a byte of a sealed frame, replay or skip a frame, keep a session open
 * while another process revokes the device, push to a situation outside the
 * device's scope.
 *
 *   rawclient keygen KEYFILE
 *       makes a device key pair; prints the device id
 *   rawclient enroll URL KEYFILE TOKEN
 *       enrolls the key with a token; pins the server key in KEYFILE
 *   rawclient session URL KEYFILE [--server-pk HEX] STEP...
 *       one connection, one session, the steps in order
 *   rawclient changes-file OUT ANTENNA AHEAD_MS
 *       writes a `relais import-changes` file: a new situation of ANTENNA
 *       by a random device, stamped AHEAD_MS in the future; prints its id
 *
 * Steps (each request prints one line "STEP ok ..." or "STEP error NAME",
 * NAME being the wire error's name; " plain" is added when the answer was
 * a plaintext X frame, i.e. the server had no session to seal it with):
 *
 *   hello            handshake (HELLO/WELCOME)
 *   ping             sealed PING
 *   pull[:CURSOR]    PULLs from CURSOR (0) until `more` is false; prints the
 *                    entries, drops, final cursor, the situations whose
 *                    changes were received (sits=) and those to drop
 *                    (dropped=), comma-separated
 *   new:ANTENNA      PUSH a new situation of ANTENNA (six register writes
 *                    and a journal entry); whatever the answer, a second
 *                    line "new sit HEX" names the situation
 *   reg:SIT:FIELD:V  PUSH one register write on situation SIT (then "reg sit")
 *   fill:SIT:N       PUSH N set additions (referrers) to SIT, in full
 *                    batches; prints the total applied or the first refusal
 *   author:HEX       later operations claim this author (a forgery)
 *   ahead:MS         later operations are stamped MS in the future
 *   tamper[:OFF]     the next sealed frame gets byte OFF flipped; a negative
 *                    OFF counts from the end (-1: the last byte of the tag);
 *                    without OFF, the middle of the ciphertext
 *   replay           sends the last frame again, byte for byte
 *   skip             skips one request counter (the next frame is "early")
 *   wait:FILE        prints "wait ready" and waits (30 s at most) for FILE
 *   bye              sealed BYE
 *   bulk:ANTENNA:N:B PUSH a new situation of ANTENNA with N journal entries
 *                    of B bytes each (N may exceed the protocol's bound: the
 *                    batch is encoded here); then "bulk sit HEX"
 *   mixed:ANTENNA:SIT  one PUSH holding a new situation of ANTENNA and a
 *                    register write on SIT; then "mixed sit HEX" (the new one)
 *   ctr:N            the next operation gets counter N (then N+1...): an
 *                    operation id already used, say
 *   clock:MS         later operations are stamped at wall time MS (ms since
 *                    the epoch) instead of now; clock:0 goes back to now
 *   keep             remembers the current session
 *   resume           goes back to the remembered session (same connection)
 *   garbage:N        sends N random bytes as a frame; the answer's kind is
 *                    printed ("garbage error NAME plain", or "garbage
 *                    neterror ...")
 *
 * The exit status is 0 when every step could be attempted (refusals are
 * results, printed), 2 on a usage error, 1 when the tool itself failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/hlc.h"
#include "common/mp.h"
#include "common/net.h"
#include "common/record.h"
#include "common/replica.h"
#include "proto/msg.h"
#include "proto/session.h"

#define RAW_TIMEOUT_MS 10000
#define RAW_MAX_OPS 16
#define RAW_WAIT_MS 30000
#define RAW_PULL_MAX_SITS 100000

typedef struct raw {
	const char *url;
	uint8_t pk[RL_PK_BYTES], sk[RL_SK_BYTES], server_pk[RL_PK_BYTES];
	bool have_server;
	rl_net_client *net;
	rl_session s;
	bool open;
	rl_buf last; /* the last frame sent */
	uint8_t author[RL_DEV_BYTES];
	uint64_t ahead_ms;
	uint64_t fixed_ms; /* clock:MS; 0 = the wall clock */
	bool tamper;     /* flip a byte of the next sealed frame */
	bool tamper_mid; /* ... in the middle of its ciphertext */
	long tamper_off; /* ... else at this offset (negative: from the end) */
	uint64_t ctr;
	rl_session kept; /* the session `keep` remembered */
	bool have_kept;
} raw;

static const char *
wire_name(uint32_t code)
{
	static const char *names[] = { "?",       "proto", "version", "unknown_device",
		                           "revoked", "scope", "clock",   "full",
		                           "busy",    "toobig", "session", "internal",
		                           "token" };

	return code < sizeof(names) / sizeof(names[0]) ? names[code] : "?";
}

static int
usage(void)
{
	fputs("usage: rawclient keygen KEYFILE\n"
	      "       rawclient enroll URL KEYFILE TOKEN\n"
	      "       rawclient session URL KEYFILE [--server-pk HEX] STEP...\n"
	      "       rawclient changes-file OUT ANTENNA AHEAD_MS\n",
	      stderr);
	return 2;
}

static int
die(const char *what, rl_err e)
{
	fprintf(stderr, "rawclient: %s: %s\n", what, rl_strerror(e));
	return 1;
}

/* ---- key file: lines "pk HEX", "sk HEX", "server HEX" ---- */

static int
key_write(const raw *r, const char *path)
{
	char pk[2 * RL_PK_BYTES + 1], sk[2 * RL_SK_BYTES + 1], spk[2 * RL_PK_BYTES + 1];
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		fprintf(stderr, "rawclient: %s: %s\n", path, strerror(errno));
		return 1;
	}
	rl_hex_encode(r->pk, RL_PK_BYTES, pk);
	rl_hex_encode(r->sk, RL_SK_BYTES, sk);
	fprintf(f, "pk %s\nsk %s\n", pk, sk);
	if (r->have_server) {
		rl_hex_encode(r->server_pk, RL_PK_BYTES, spk);
		fprintf(f, "server %s\n", spk);
	}
	rl_wipe(sk, sizeof(sk));
	return fclose(f) == 0 ? 0 : 1;
}

static int
key_read(raw *r, const char *path)
{
	char line[256];
	FILE *f = fopen(path, "r");
	bool pk = false, sk = false;

	if (f == NULL) {
		fprintf(stderr, "rawclient: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strcspn(line, "\r\n");

		line[n] = '\0';
		if (strncmp(line, "pk ", 3) == 0)
			pk = rl_hex_decode(line + 3, n - 3, r->pk, RL_PK_BYTES) == RL_OK;
		else if (strncmp(line, "sk ", 3) == 0)
			sk = rl_hex_decode(line + 3, n - 3, r->sk, RL_SK_BYTES) == RL_OK;
		else if (strncmp(line, "server ", 7) == 0)
			r->have_server =
			    rl_hex_decode(line + 7, n - 7, r->server_pk, RL_PK_BYTES) == RL_OK;
	}
	rl_wipe(line, sizeof(line));
	fclose(f);
	if (!pk || !sk) {
		fprintf(stderr, "rawclient: %s: not a key file\n", path);
		return 1;
	}
	return 0;
}

/* ---- operations ---- */

static uint32_t
today_ymd(void)
{
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	return (uint32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

/* Fills the id and clock of op i of a batch. */
static void
op_stamp(raw *r, rl_op *op, const uint8_t sit[RL_SIT_BYTES], uint32_t i)
{
	memcpy(op->sit, sit, RL_SIT_BYTES);
	memcpy(op->id.dev, r->author, RL_DEV_BYTES);
	op->id.ctr = ++r->ctr;
	op->hlc = rl_hlc_make((r->fixed_ms ? r->fixed_ms : rl_wall_ms()) + r->ahead_ms, i);
}

static void
op_reg(rl_op *op, uint8_t field, const char *v)
{
	op->kind = RL_OP_REG;
	op->field = field;
	op->value = RL_BYTES(v, strlen(v));
}

/* The operations `relais new` makes, plus a journal entry. */
static size_t
ops_new(raw *r, rl_op *ops, const uint8_t sit[RL_SIT_BYTES], const char *antenna, char *opened)
{
	size_t n = 0;

	rl_date_format(today_ymd(), opened);
	memset(ops, 0, RAW_MAX_OPS * sizeof(*ops));
	op_reg(&ops[n++], RL_F_ANTENNA, antenna);
	op_reg(&ops[n++], RL_F_KIND, "coordination");
	op_reg(&ops[n++], RL_F_OPENED, opened);
	op_reg(&ops[n++], RL_F_STATUS, "open");
	op_reg(&ops[n++], RL_F_CONSENT, "en_attente");
	op_reg(&ops[n++], RL_F_INITIALS, "RW");
	ops[n].kind = RL_OP_JOURNAL;
	ops[n].field = RL_J_NOTE;
	ops[n].date = today_ymd();
	ops[n].value = RL_BYTES("note from rawclient", 19);
	n++;
	for (size_t i = 0; i < n; i++)
		op_stamp(r, &ops[i], sit, (uint32_t)i);
	return n;
}

/* ---- requests ---- */

/* Sends a frame (remembered for replay) and receives the answer. */
static rl_err
raw_send(raw *r, rl_bytes frame, rl_buf *resp)
{
	rl_err e;

	rl_buf_reset(&r->last);
	if ((e = rl_buf_append(&r->last, frame.p, frame.len)) != RL_OK)
		return e;
	return rl_net_call(r->net, frame, resp);
}

/*
 * Interprets an answer: a plaintext X frame, or a sealed one opened into
 * body (an ERROR message inside is reported). Prints the failure line and
 * returns false, or returns true with body holding the answer.
 */
static bool
raw_answer(raw *r, const char *step, rl_bytes resp, rl_buf *body)
{
	uint32_t code, type;
	rl_bytes text;
	rl_err e;

	if (resp.len > 0 && resp.p[0] == RL_FRAME_ERROR) {
		if (rl_frame_parse_error(resp, &code, &text) != RL_OK)
			printf("%s error badframe\n", step);
		else
			printf("%s error %s plain\n", step, wire_name(code));
		return false;
	}
	if ((e = rl_session_open(&r->s, resp, body)) != RL_OK) {
		printf("%s error local-%s\n", step, rl_strerror(e));
		return false;
	}
	if (rl_msg_type(rl_buf_view(body), &type) != RL_OK) {
		printf("%s error badbody\n", step);
		return false;
	}
	if (type == RL_MSG_ERROR) {
		if (rl_msg_error_decode(rl_buf_view(body), &code, &text) != RL_OK)
			printf("%s error badbody\n", step);
		else
			printf("%s error %s\n", step, wire_name(code));
		return false;
	}
	return true;
}

/* Seals req (applying a pending tamper), sends it, interprets the answer. */
static bool
raw_call(raw *r, const char *step, rl_bytes req, rl_buf *body)
{
	rl_buf frame, resp;
	bool ok = false;
	rl_err e;

	rl_buf_init(&frame);
	rl_buf_init(&resp);
	if ((e = rl_session_seal(&r->s, req, &frame)) != RL_OK) {
		printf("%s error local-%s\n", step, rl_strerror(e));
		goto out;
	}
	if (r->tamper) {
		long off = r->tamper_mid ? (long)(RL_SEALED_HEADER + (frame.len - RL_SEALED_HEADER) / 2)
		           : r->tamper_off < 0 ? (long)frame.len + r->tamper_off
		                               : r->tamper_off;

		if (off >= 0 && (size_t)off < frame.len)
			frame.data[off] ^= 0x01;
		r->tamper = false;
	}
	if ((e = raw_send(r, rl_buf_view(&frame), &resp)) != RL_OK) {
		printf("%s neterror %s\n", step, rl_strerror(e));
		goto out;
	}
	ok = raw_answer(r, step, rl_buf_view(&resp), body);
out:
	rl_buf_fini(&frame);
	rl_buf_fini(&resp);
	return ok;
}

static void
step_hello(raw *r)
{
	rl_hs_client hs;
	rl_buf req, resp;
	uint64_t st;
	rl_err e;

	rl_buf_init(&req);
	rl_buf_init(&resp);
	if ((e = rl_hs_client_hello(&hs, r->pk, r->sk, r->server_pk, &req)) != RL_OK ||
	    (e = raw_send(r, rl_buf_view(&req), &resp)) != RL_OK) {
		rl_wipe(&hs, sizeof(hs));
		printf("hello neterror %s\n", rl_strerror(e));
		goto out;
	}
	if (resp.len > 0 && resp.data[0] == RL_FRAME_ERROR) {
		uint32_t code;
		rl_bytes text;

		rl_wipe(&hs, sizeof(hs));
		if (rl_frame_parse_error(rl_buf_view(&resp), &code, &text) != RL_OK)
			printf("hello error badframe\n");
		else
			printf("hello error %s plain\n", wire_name(code));
		goto out;
	}
	if ((e = rl_hs_client_finish(&hs, rl_buf_view(&resp), &r->s, &st)) != RL_OK) {
		printf("hello error local-%s\n", rl_strerror(e));
		goto out;
	}
	r->open = true;
	printf("hello ok\n");
out:
	rl_buf_fini(&req);
	rl_buf_fini(&resp);
}

/* Sends an encoded PUSH (encoded: the encoding succeeded) and prints the
 * answer, then the situation's line. Frees req. */
static void
push_send_report(raw *r, const char *step, bool encoded, rl_buf *req, const char *sit_hex)
{
	uint64_t applied, upto;
	rl_buf body;

	rl_buf_init(&body);
	if (!encoded) {
		printf("%s error local-encode\n", step);
	} else if (raw_call(r, step, rl_buf_view(req), &body)) {
		if (rl_msg_push_ok_decode(rl_buf_view(&body), &applied, &upto) != RL_OK)
			printf("%s error badbody\n", step);
		else
			printf("%s ok applied=%llu upto=%llu sit=%s\n", step, (unsigned long long)applied,
			       (unsigned long long)upto, sit_hex);
	}
	/* A refusal's line is printed by raw_call; the situation follows it. */
	printf("%s sit %s\n", step, sit_hex);
	rl_buf_fini(req);
	rl_buf_fini(&body);
}

static void
step_push(raw *r, const char *step, const rl_op *ops, size_t n, const char *sit_hex)
{
	rl_buf req;

	rl_buf_init(&req);
	push_send_report(r, step, rl_msg_push_encode(ops, n, &req) == RL_OK, &req, sit_hex);
}

static void
step_new(raw *r, const char *antenna)
{
	uint8_t sit[RL_SIT_BYTES];
	char hex[2 * RL_SIT_BYTES + 1], opened[11];
	rl_op ops[RAW_MAX_OPS];
	size_t n;

	rl_random(sit, sizeof(sit));
	rl_hex_encode(sit, sizeof(sit), hex);
	n = ops_new(r, ops, sit, antenna, opened);
	step_push(r, "new", ops, n, hex);
}

static int
step_reg(raw *r, const char *arg)
{
	char buf[512], *field, *value;
	uint8_t sit[RL_SIT_BYTES], f;
	rl_op op;

	snprintf(buf, sizeof(buf), "%s", arg);
	if ((field = strchr(buf, ':')) == NULL || (value = strchr(field + 1, ':')) == NULL)
		return usage();
	*field++ = '\0';
	*value++ = '\0';
	if (rl_hex_decode(buf, strlen(buf), sit, RL_SIT_BYTES) != RL_OK ||
	    (f = rl_field_parse(field)) == 0)
		return usage();
	memset(&op, 0, sizeof(op));
	op_reg(&op, f, value);
	op_stamp(r, &op, sit, 0);
	step_push(r, "reg", &op, 1, buf);
	return 0;
}

static int
step_fill(raw *r, const char *arg)
{
	char hex[2 * RL_SIT_BYTES + 1], elems[RL_BATCH_MAX_OPS][24];
	uint8_t sit[RL_SIT_BYTES];
	uint64_t total = 0, applied, upto, n;
	rl_op *ops = calloc(RL_BATCH_MAX_OPS, sizeof(*ops));
	rl_buf req, body;
	const char *colon = strchr(arg, ':');
	int rc = 0;

	if (ops == NULL)
		return 1;
	if (colon == NULL || (size_t)(colon - arg) != 2 * RL_SIT_BYTES ||
	    rl_hex_decode(arg, 2 * RL_SIT_BYTES, sit, RL_SIT_BYTES) != RL_OK) {
		free(ops);
		return usage();
	}
	memcpy(hex, arg, 2 * RL_SIT_BYTES);
	hex[2 * RL_SIT_BYTES] = '\0';
	n = strtoull(colon + 1, NULL, 10);
	rl_buf_init(&req);
	rl_buf_init(&body);
	while (n > 0) {
		size_t k = n < RL_BATCH_MAX_OPS ? (size_t)n : RL_BATCH_MAX_OPS;

		for (size_t i = 0; i < k; i++) {
			memset(&ops[i], 0, sizeof(ops[i]));
			ops[i].kind = RL_OP_ADD;
			ops[i].field = RL_SET_REFERRERS;
			op_stamp(r, &ops[i], sit, (uint32_t)i);
			snprintf(elems[i], sizeof(elems[i]), "f%llu", (unsigned long long)ops[i].id.ctr);
			ops[i].value = RL_BYTES(elems[i], strlen(elems[i]));
		}
		rl_buf_reset(&req);
		if (rl_msg_push_encode(ops, k, &req) != RL_OK) {
			printf("fill error local-encode\n");
			break;
		}
		if (!raw_call(r, "fill", rl_buf_view(&req), &body))
			break;
		if (rl_msg_push_ok_decode(rl_buf_view(&body), &applied, &upto) != RL_OK) {
			printf("fill error badbody\n");
			break;
		}
		total += applied;
		n -= k;
	}
	if (n == 0)
		printf("fill ok applied=%llu sit=%s\n", (unsigned long long)total, hex);
	rl_buf_fini(&req);
	rl_buf_fini(&body);
	free(ops);
	return rc;
}

static void
step_pull(raw *r, uint64_t cursor)
{
	rl_pull_entry *en = malloc(RL_PULL_MAX_ENTRIES * sizeof(*en));
	rl_opid *pool = malloc(RL_BATCH_MAX_REFS * sizeof(*pool));
	uint8_t (*sits)[RL_SIT_BYTES] = malloc(RAW_PULL_MAX_SITS * RL_SIT_BYTES);
	uint8_t (*dropped)[RL_SIT_BYTES] = malloc(RAW_PULL_MAX_SITS * RL_SIT_BYTES);
	size_t nsits = 0, total = 0, drops = 0;
	bool more = true;
	rl_buf req, body;

	rl_buf_init(&req);
	rl_buf_init(&body);
	if (en == NULL || pool == NULL || sits == NULL || dropped == NULL) {
		printf("pull error local-nomem\n");
		goto out;
	}
	while (more) {
		uint64_t next;
		size_t n;

		rl_buf_reset(&req);
		if (rl_msg_pull_encode(cursor, 0, &req) != RL_OK) {
			printf("pull error local-encode\n");
			goto out;
		}
		if (!raw_call(r, "pull", rl_buf_view(&req), &body))
			goto out;
		if (rl_msg_pull_ok_decode(rl_buf_view(&body), &next, &more, en, RL_PULL_MAX_ENTRIES,
		                          &n, pool, RL_BATCH_MAX_REFS) != RL_OK) {
			printf("pull error badbody\n");
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			size_t k;

			if (en[i].drop) {
				if (drops < RAW_PULL_MAX_SITS)
					memcpy(dropped[drops], en[i].sit, RL_SIT_BYTES);
				drops++;
				continue;
			}
			for (k = 0; k < nsits; k++)
				if (memcmp(sits[k], en[i].op.sit, RL_SIT_BYTES) == 0)
					break;
			if (k == nsits && nsits < RAW_PULL_MAX_SITS)
				memcpy(sits[nsits++], en[i].op.sit, RL_SIT_BYTES);
		}
		total += n;
		if (next == cursor && n == 0)
			break;
		cursor = next;
	}
	printf("pull ok entries=%zu drops=%zu cursor=%llu sits=", total, drops,
	       (unsigned long long)cursor);
	for (size_t k = 0; k < nsits; k++) {
		char hex[2 * RL_SIT_BYTES + 1];

		rl_hex_encode(sits[k], RL_SIT_BYTES, hex);
		printf("%s%s", k ? "," : "", hex);
	}
	printf(" dropped=");
	for (size_t k = 0; k < drops && k < RAW_PULL_MAX_SITS; k++) {
		char hex[2 * RL_SIT_BYTES + 1];

		rl_hex_encode(dropped[k], RL_SIT_BYTES, hex);
		printf("%s%s", k ? "," : "", hex);
	}
	printf("\n");
out:
	free(en);
	free(pool);
	free(sits);
	free(dropped);
	rl_buf_fini(&req);
	rl_buf_fini(&body);
}

static void
step_simple(raw *r, const char *step, uint32_t type)
{
	rl_buf req, body;

	rl_buf_init(&req);
	rl_buf_init(&body);
	if (rl_msg_simple_encode(type, &req) == RL_OK && raw_call(r, step, rl_buf_view(&req), &body))
		printf("%s ok\n", step);
	rl_buf_fini(&req);
	rl_buf_fini(&body);
}

static void
step_replay(raw *r)
{
	rl_buf frame, resp, body;

	rl_buf_init(&frame);
	rl_buf_init(&resp);
	rl_buf_init(&body);
	if (r->last.len == 0) {
		printf("replay error local-nothing\n");
	} else if (rl_buf_append(&frame, r->last.data, r->last.len) != RL_OK ||
	           rl_net_call(r->net, rl_buf_view(&frame), &resp) != RL_OK) {
		printf("replay neterror\n");
	} else if (raw_answer(r, "replay", rl_buf_view(&resp), &body)) {
		printf("replay ok\n");
	}
	rl_buf_fini(&frame);
	rl_buf_fini(&resp);
	rl_buf_fini(&body);
}

static void
step_wait(const char *path)
{
	printf("wait ready\n");
	fflush(stdout);
	for (int waited = 0; waited < RAW_WAIT_MS; waited += 10) {
		struct timespec ts = { 0, 10 * 1000000L };

		if (access(path, F_OK) == 0) {
			printf("wait ok\n");
			return;
		}
		nanosleep(&ts, NULL);
	}
	printf("wait error timeout\n");
}

/* A push of n operations (any n), encoded here: the protocol encoder
 * refuses more than RL_BATCH_MAX_OPS. */
static void
step_push_any(raw *r, const char *step, const rl_op *ops, size_t n, const char *sit_hex)
{
	rl_buf req;
	rl_mpw w;

	rl_buf_init(&req);
	rl_mpw_init(&w, &req);
	rl_mpw_array(&w, 2);
	rl_mpw_uint(&w, RL_MSG_PUSH);
	rl_mpw_array(&w, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		rl_op_encode(&w, &ops[i], true);
	push_send_report(r, step, rl_mpw_err(&w) == RL_OK, &req, sit_hex);
}

static int
step_bulk(raw *r, const char *arg)
{
	char antenna[RL_ANTENNA_MAX + 1], hex[2 * RL_SIT_BYTES + 1], opened[11];
	uint8_t sit[RL_SIT_BYTES];
	unsigned long n, bytes;
	rl_op *ops;
	char *text;
	size_t k;

	if (sscanf(arg, "%32[^:]:%lu:%lu", antenna, &n, &bytes) != 3 || n > 1000000 ||
	    bytes > 1000000)
		return usage();
	ops = calloc(n + RAW_MAX_OPS, sizeof(*ops));
	text = malloc(bytes + 1);
	if (ops == NULL || text == NULL) {
		free(ops);
		free(text);
		printf("bulk error local-nomem\n");
		return 0;
	}
	for (size_t i = 0; i < bytes; i++)
		text[i] = (char)('a' + i % 26);
	rl_random(sit, sizeof(sit));
	rl_hex_encode(sit, sizeof(sit), hex);
	k = ops_new(r, ops, sit, antenna, opened);
	for (unsigned long i = 0; i < n; i++, k++) {
		ops[k].kind = RL_OP_JOURNAL;
		ops[k].field = RL_J_NOTE;
		ops[k].date = today_ymd();
		ops[k].value = RL_BYTES(text, bytes);
		op_stamp(r, &ops[k], sit, (uint32_t)(k & 0xffff));
	}
	step_push_any(r, "bulk", ops, k, hex);
	free(ops);
	free(text);
	return 0;
}

static int
step_mixed(raw *r, const char *arg)
{
	char antenna[RL_ANTENNA_MAX + 1], hex[2 * RL_SIT_BYTES + 1], opened[11];
	uint8_t sit[RL_SIT_BYTES], other[RL_SIT_BYTES];
	rl_op ops[RAW_MAX_OPS + 1];
	const char *colon = strchr(arg, ':');
	size_t n;

	if (colon == NULL || (size_t)(colon - arg) > RL_ANTENNA_MAX ||
	    rl_hex_decode(colon + 1, strlen(colon + 1), other, RL_SIT_BYTES) != RL_OK)
		return usage();
	memcpy(antenna, arg, (size_t)(colon - arg));
	antenna[colon - arg] = '\0';
	rl_random(sit, sizeof(sit));
	rl_hex_encode(sit, sizeof(sit), hex);
	n = ops_new(r, ops, sit, antenna, opened);
	memset(&ops[n], 0, sizeof(ops[n]));
	op_reg(&ops[n], RL_F_INITIALS, "MX");
	op_stamp(r, &ops[n], other, (uint32_t)n);
	n++;
	step_push_any(r, "mixed", ops, n, hex);
	return 0;
}

static void
step_garbage(raw *r, unsigned long n)
{
	rl_buf frame, resp;
	rl_err e;

	rl_buf_init(&frame);
	rl_buf_init(&resp);
	if (rl_buf_reserve(&frame, n ? n : 1) != RL_OK) {
		printf("garbage error local-nomem\n");
		goto out;
	}
	rl_random(frame.data, n);
	frame.len = n;
	if ((e = raw_send(r, rl_buf_view(&frame), &resp)) != RL_OK)
		printf("garbage neterror %s\n", rl_strerror(e));
	else if (resp.len > 0 && resp.data[0] == RL_FRAME_ERROR) {
		uint32_t code;
		rl_bytes text;

		if (rl_frame_parse_error(rl_buf_view(&resp), &code, &text) != RL_OK)
			printf("garbage error badframe\n");
		else
			printf("garbage error %s plain\n", wire_name(code));
	} else
		printf("garbage answered %zu bytes\n", resp.len);
out:
	rl_buf_fini(&frame);
	rl_buf_fini(&resp);
}

static int
cmd_session(int argc, char **argv)
{
	raw r;
	int i = 4, rc = 0;
	rl_err e;

	if (argc < 5)
		return usage();
	memset(&r, 0, sizeof(r));
	rl_buf_init(&r.last);
	r.url = argv[2];
	/* Fresh operation ids for every run: counters from the clock. */
	r.ctr = rl_wall_ms() * 1000;
	if (key_read(&r, argv[3]) != 0)
		return 1;
	memcpy(r.author, r.pk, RL_DEV_BYTES);
	if (i + 1 < argc && strcmp(argv[i], "--server-pk") == 0) {
		if (rl_hex_decode(argv[i + 1], strlen(argv[i + 1]), r.server_pk, RL_PK_BYTES) != RL_OK)
			return usage();
		r.have_server = true;
		i += 2;
	}
	if (!r.have_server) {
		fprintf(stderr, "rawclient: no server key (enroll first or --server-pk)\n");
		return 2;
	}
	if ((e = rl_net_dial(r.url, RL_MSG_MAX_BYTES, RAW_TIMEOUT_MS, NULL, &r.net)) != RL_OK)
		return die("dial", e);
	for (; i < argc && rc == 0; i++) {
		const char *a = argv[i];

		if (strcmp(a, "hello") == 0)
			step_hello(&r);
		else if (strcmp(a, "ping") == 0)
			step_simple(&r, "ping", RL_MSG_PING);
		else if (strcmp(a, "bye") == 0)
			step_simple(&r, "bye", RL_MSG_BYE);
		else if (strcmp(a, "pull") == 0)
			step_pull(&r, 0);
		else if (strncmp(a, "pull:", 5) == 0)
			step_pull(&r, strtoull(a + 5, NULL, 10));
		else if (strncmp(a, "new:", 4) == 0)
			step_new(&r, a + 4);
		else if (strncmp(a, "reg:", 4) == 0)
			rc = step_reg(&r, a + 4);
		else if (strncmp(a, "fill:", 5) == 0)
			rc = step_fill(&r, a + 5);
		else if (strncmp(a, "author:", 7) == 0) {
			if (rl_hex_decode(a + 7, strlen(a + 7), r.author, RL_DEV_BYTES) != RL_OK)
				rc = usage();
		} else if (strncmp(a, "ahead:", 6) == 0)
			r.ahead_ms = strtoull(a + 6, NULL, 10);
		else if (strcmp(a, "tamper") == 0)
			r.tamper = r.tamper_mid = true;
		else if (strncmp(a, "tamper:", 7) == 0) {
			r.tamper = true;
			r.tamper_mid = false;
			r.tamper_off = strtol(a + 7, NULL, 10);
		}
		else if (strcmp(a, "replay") == 0)
			step_replay(&r);
		else if (strcmp(a, "skip") == 0)
			r.s.send_ctr++;
		else if (strncmp(a, "wait:", 5) == 0)
			step_wait(a + 5);
		else if (strncmp(a, "bulk:", 5) == 0)
			rc = step_bulk(&r, a + 5);
		else if (strncmp(a, "mixed:", 6) == 0)
			rc = step_mixed(&r, a + 6);
		else if (strncmp(a, "ctr:", 4) == 0)
			r.ctr = strtoull(a + 4, NULL, 10) - 1;
		else if (strncmp(a, "clock:", 6) == 0)
			r.fixed_ms = strtoull(a + 6, NULL, 10);
		else if (strcmp(a, "keep") == 0) {
			r.kept = r.s;
			r.have_kept = r.open;
		} else if (strcmp(a, "resume") == 0) {
			if (r.have_kept)
				r.s = r.kept;
		} else if (strncmp(a, "garbage:", 8) == 0)
			step_garbage(&r, strtoul(a + 8, NULL, 10));
		else
			rc = usage();
		fflush(stdout);
	}
	rl_net_close(r.net);
	rl_session_wipe(&r.s);
	rl_session_wipe(&r.kept);
	rl_buf_fini(&r.last);
	rl_wipe(r.sk, sizeof(r.sk));
	return rc;
}

static int
cmd_keygen(int argc, char **argv)
{
	char hex[2 * RL_PK_BYTES + 1];
	raw r;
	int rc;

	if (argc != 3)
		return usage();
	memset(&r, 0, sizeof(r));
	rl_dh_keypair(r.pk, r.sk);
	rc = key_write(&r, argv[2]);
	rl_wipe(r.sk, sizeof(r.sk));
	rl_hex_encode(r.pk, RL_PK_BYTES, hex);
	if (rc == 0)
		printf("%s\n", hex);
	return rc;
}

static int
cmd_enroll(int argc, char **argv)
{
	uint8_t id[RL_TOKEN_ID_BYTES], secret[RL_TOKEN_SECRET_BYTES];
	char antenna[33], role[16];
	rl_net_client *net = NULL;
	rl_buf req, resp;
	raw r;
	int rc = 1;
	rl_err e;

	if (argc != 5)
		return usage();
	memset(&r, 0, sizeof(r));
	if (key_read(&r, argv[3]) != 0)
		return 1;
	if (rl_token_parse(argv[4], id, secret) != RL_OK) {
		printf("enroll error badtoken\n");
		return 0;
	}
	rl_buf_init(&req);
	rl_buf_init(&resp);
	if ((e = rl_enroll_request(id, secret, r.pk, "rawclient", &req)) != RL_OK ||
	    (e = rl_net_dial(argv[2], RL_HELLO_MAX, RAW_TIMEOUT_MS, NULL, &net)) != RL_OK ||
	    (e = rl_net_call(net, rl_buf_view(&req), &resp)) != RL_OK) {
		rc = die("enroll", e);
		goto out;
	}
	if (resp.len > 0 && resp.data[0] == RL_FRAME_ERROR) {
		uint32_t code;
		rl_bytes text;

		if (rl_frame_parse_error(rl_buf_view(&resp), &code, &text) == RL_OK)
			printf("enroll error %s plain\n", wire_name(code));
		else
			printf("enroll error badframe\n");
		rc = 0;
		goto out;
	}
	if ((e = rl_enroll_finish(rl_buf_view(&resp), secret, r.pk, r.server_pk, antenna, role)) !=
	    RL_OK) {
		printf("enroll error local-%s\n", rl_strerror(e));
		rc = 0;
		goto out;
	}
	r.have_server = true;
	if ((rc = key_write(&r, argv[3])) == 0)
		printf("enroll ok antenna=%s role=%s\n", antenna, role);
out:
	rl_wipe(secret, sizeof(secret));
	rl_wipe(r.sk, sizeof(r.sk));
	rl_net_close(net);
	rl_buf_fini(&req);
	rl_buf_fini(&resp);
	return rc;
}

/* A changes file as `relais export-changes` writes it. */
static int
cmd_changes_file(int argc, char **argv)
{
	uint8_t sit[RL_SIT_BYTES], sk[RL_SK_BYTES];
	char hex[2 * RL_SIT_BYTES + 1], opened[11];
	rl_op ops[RAW_MAX_OPS];
	rl_buf out;
	rl_mpw w;
	size_t n;
	FILE *f;
	raw r;
	int rc = 1;

	if (argc != 5)
		return usage();
	memset(&r, 0, sizeof(r));
	rl_dh_keypair(r.author, sk);
	rl_wipe(sk, sizeof(sk));
	r.ahead_ms = strtoull(argv[4], NULL, 10);
	rl_random(sit, sizeof(sit));
	n = ops_new(&r, ops, sit, argv[3], opened);
	rl_buf_init(&out);
	rl_mpw_init(&w, &out);
	rl_mpw_array(&w, 4);
	rl_mpw_cstr(&w, "relais-changes");
	rl_mpw_uint(&w, 1);
	rl_mpw_bin(&w, r.author, RL_DEV_BYTES);
	rl_mpw_array(&w, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		rl_op_encode(&w, &ops[i], true);
	if (rl_mpw_err(&w) != RL_OK)
		goto out;
	if ((f = fopen(argv[2], "wb")) == NULL)
		goto out;
	n = fwrite(out.data, 1, out.len, f);
	if (fclose(f) == 0 && n == out.len)
		rc = 0;
	rl_hex_encode(sit, sizeof(sit), hex);
	if (rc == 0)
		printf("%s\n", hex);
out:
	rl_buf_fini(&out);
	if (rc != 0)
		fprintf(stderr, "rawclient: cannot write %s\n", argv[2]);
	return rc;
}

int
main(int argc, char **argv)
{
	if (rl_crypto_init() != RL_OK)
		return die("init", RL_EIO);
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(argc, argv);
	if (strcmp(argv[1], "enroll") == 0)
		return cmd_enroll(argc, argv);
	if (strcmp(argv[1], "session") == 0)
		return cmd_session(argc, argv);
	if (strcmp(argv[1], "changes-file") == 0)
		return cmd_changes_file(argc, argv);
	return usage();
}
