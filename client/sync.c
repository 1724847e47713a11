/*
 * sync.c - enrollment, push and pull over a sealed session.
 *
 * Requests are strictly one at a time over one REQ socket. Any transport or
 * session failure ends the sync with an error; nothing is retried here (the
 * --watch loop retries with backoff), because every step already left the
 * store consistent: the outbox is only trimmed after PUSH_OK, the cursor only
 * moves in the transaction that applies what was pulled.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/mp.h"
#include "common/net.h"
#include "proto/msg.h"
#include "proto/session.h"
#include "sync.h"

typedef struct conn {
	rl_net_client *net;
	rl_session s;
	rl_buf req, resp, body;
} conn;

static void
conn_close(conn *c)
{
	rl_net_close(c->net);
	rl_session_wipe(&c->s);
	rl_buf_fini(&c->req);
	rl_buf_fini(&c->resp);
	rl_buf_fini(&c->body);
}

/* Reads the pinned server (url and key). RL_ENOSTORE if not enrolled. */
static rl_err
server_of(rl_replica *rp, char *url, size_t cap, uint8_t pk[RL_PK_BYTES])
{
	rl_txn *txn;
	rl_buf b;
	rl_err e;

	rl_buf_init(&b);
	if ((e = rl_store_begin(rl_replica_store(rp), false, &txn)) != RL_OK)
		return e;
	if ((e = rl_meta_get(txn, "server_pk", &b)) == RL_OK && b.len == RL_PK_BYTES) {
		memcpy(pk, b.data, RL_PK_BYTES);
		if ((e = rl_meta_get(txn, "server_url", &b)) == RL_OK && b.len < cap) {
			memcpy(url, b.data, b.len);
			url[b.len] = '\0';
		} else if (e == RL_OK)
			e = RL_ECORRUPT;
	} else if (e == RL_OK)
		e = RL_ECORRUPT;
	rl_store_abort(txn);
	rl_buf_fini(&b);
	return e == RL_ENOTFOUND ? RL_ENOSTORE : e;
}

bool
rl_sync_enrolled(rl_replica *rp)
{
	uint8_t pk[RL_PK_BYTES];
	char url[512];

	return server_of(rp, url, sizeof(url), pk) == RL_OK;
}

static rl_err
conn_open(conn *c, rl_replica *rp, const char *url_override, int timeout_ms, int64_t *skew,
          uint64_t *server_time)
{
	uint8_t server_pk[RL_PK_BYTES];
	char url[512];
	rl_hs_client hs;
	uint64_t st;
	rl_err e;

	memset(c, 0, sizeof(*c));
	rl_buf_init(&c->req);
	rl_buf_init(&c->resp);
	rl_buf_init(&c->body);
	if ((e = server_of(rp, url, sizeof(url), server_pk)) != RL_OK)
		return e;
	if ((e = rl_net_dial(url_override ? url_override : url, RL_MSG_MAX_BYTES, timeout_ms,
	                     &c->net)) != RL_OK)
		return e;
	if ((e = rl_hs_client_hello(&hs, rl_replica_device(rp), rl_replica_secret_key(rp), server_pk,
	                            &c->req)) != RL_OK)
		return e;
	if ((e = rl_net_call(c->net, rl_buf_view(&c->req), &c->resp)) != RL_OK) {
		rl_wipe(&hs, sizeof(hs));
		return e;
	}
	if ((e = rl_hs_client_finish(&hs, rl_buf_view(&c->resp), &c->s, &st)) != RL_OK)
		return e;
	if (skew)
		*skew = (int64_t)rl_wall_ms() - (int64_t)st;
	if (server_time)
		*server_time = st;
	return RL_OK;
}

/* One sealed request; the opened answer lands in c->body. A server error
 * message becomes its rl_err. */
static rl_err
conn_call(conn *c)
{
	uint32_t type, code;
	rl_bytes text;
	rl_buf frame;
	rl_err e;

	rl_buf_init(&frame);
	e = rl_session_seal(&c->s, rl_buf_view(&c->req), &frame);
	if (e == RL_OK)
		e = rl_net_call(c->net, rl_buf_view(&frame), &c->resp);
	rl_buf_fini(&frame);
	if (e != RL_OK)
		return e;
	if (c->resp.len > 0 && c->resp.data[0] == RL_FRAME_ERROR) {
		if (rl_frame_parse_error(rl_buf_view(&c->resp), &code, &text) != RL_OK)
			return RL_EPROTO;
		return rl_wire_err(code);
	}
	if ((e = rl_session_open(&c->s, rl_buf_view(&c->resp), &c->body)) != RL_OK)
		return e;
	if (rl_msg_type(rl_buf_view(&c->body), &type) != RL_OK)
		return RL_EPROTO;
	if (type == RL_MSG_ERROR) {
		if (rl_msg_error_decode(rl_buf_view(&c->body), &code, &text) != RL_OK)
			return RL_EPROTO;
		return rl_wire_err(code);
	}
	return RL_OK;
}

rl_err
rl_sync_enroll(rl_replica *rp, const char *url, const char *token, const char *name)
{
	uint8_t id[RL_TOKEN_ID_BYTES], secret[RL_TOKEN_SECRET_BYTES], server_pk[RL_PK_BYTES];
	char antenna[33], role[16];
	rl_net_client *net = NULL;
	rl_buf req, resp;
	rl_txn *txn;
	rl_err e;

	if (rl_token_parse(token, id, secret) != RL_OK)
		return RL_EINVAL;
	rl_buf_init(&req);
	rl_buf_init(&resp);
	if ((e = rl_enroll_request(id, secret, rl_replica_device(rp), name ? name : "", &req)) !=
	        RL_OK ||
	    (e = rl_net_dial(url, RL_HELLO_MAX, RL_SYNC_TIMEOUT_MS, &net)) != RL_OK ||
	    (e = rl_net_call(net, rl_buf_view(&req), &resp)) != RL_OK ||
	    (e = rl_enroll_finish(rl_buf_view(&resp), secret, rl_replica_device(rp), server_pk,
	                          antenna, role)) != RL_OK)
		goto out;
	if (!rl_antenna_valid(antenna) || rl_role_parse(role) == 0) {
		e = RL_EPROTO;
		goto out;
	}
	if ((e = rl_store_begin(rl_replica_store(rp), true, &txn)) != RL_OK)
		goto out;
	if ((e = rl_meta_put(txn, "server_pk", RL_BYTES(server_pk, RL_PK_BYTES))) != RL_OK ||
	    (e = rl_meta_put(txn, "server_url", RL_BYTES(url, strlen(url)))) != RL_OK ||
	    (e = rl_meta_put(txn, "antenna", RL_BYTES(antenna, strlen(antenna)))) != RL_OK ||
	    (e = rl_meta_put(txn, "role", RL_BYTES(role, strlen(role)))) != RL_OK ||
	    (e = rl_meta_put_u64(txn, "cursor", 0)) != RL_OK) {
		rl_store_abort(txn);
		goto out;
	}
	e = rl_store_commit(txn);
out:
	rl_wipe(secret, sizeof(secret));
	rl_net_close(net);
	rl_buf_fini(&req);
	rl_buf_fini(&resp);
	return e;
}

/* Pushes one batch from the head of the outbox. *sent is 0 when empty. */
static rl_err
push_batch(conn *c, rl_replica *rp, const rl_sync_opts *o, size_t *sent)
{
	uint32_t max_ops = o->push_ops ? o->push_ops : RL_SYNC_PUSH_OPS;
	size_t max_bytes = o->push_bytes ? o->push_bytes : RL_SYNC_PUSH_BYTES;
	uint64_t last = 0, applied, upto;
	rl_buf ops, v;
	rl_bytes *views = NULL;
	size_t *offs = NULL, n = 0;
	rl_txn *txn = NULL;
	rl_cursor *cur = NULL;
	rl_bytes k;
	rl_err e;

	*sent = 0;
	if (max_ops > RL_BATCH_MAX_OPS)
		max_ops = RL_BATCH_MAX_OPS;
	rl_buf_init(&ops);
	rl_buf_init(&v);
	if ((offs = malloc((max_ops + 1) * sizeof(*offs))) == NULL ||
	    (views = malloc(max_ops * sizeof(*views))) == NULL) {
		e = RL_ENOMEM;
		goto out;
	}
	if ((e = rl_store_begin(rl_replica_store(rp), false, &txn)) != RL_OK ||
	    (e = rl_cursor_open(txn, RL_T_OUTBOX, &cur)) != RL_OK)
		goto out;
	for (e = rl_cursor_seek(cur, RL_BYTES(NULL, 0), &k, &v); e == RL_OK;
	     e = rl_cursor_next(cur, &k, &v)) {
		if (n >= max_ops || (n > 0 && ops.len + v.len > max_bytes))
			break;
		if (k.len != 8) {
			e = RL_ECORRUPT;
			break;
		}
		last = rl_get_be64(k.p);
		offs[n++] = ops.len;
		if ((e = rl_buf_append(&ops, v.data, v.len)) != RL_OK)
			break;
	}
	rl_cursor_close(cur);
	cur = NULL;
	rl_store_abort(txn);
	txn = NULL;
	if (e != RL_OK && e != RL_ENOTFOUND)
		goto out;
	e = RL_OK;
	if (n == 0)
		goto out;
	offs[n] = ops.len;
	for (size_t i = 0; i < n; i++)
		views[i] = RL_BYTES(ops.data + offs[i], offs[i + 1] - offs[i]);
	rl_buf_reset(&c->req);
	if ((e = rl_msg_push_encode_raw(views, n, &c->req)) != RL_OK || (e = conn_call(c)) != RL_OK)
		goto out;
	if ((e = rl_msg_push_ok_decode(rl_buf_view(&c->body), &applied, &upto)) != RL_OK)
		goto out;
	/* Acknowledged and durable on the server: drop what we sent. */
	if ((e = rl_store_begin(rl_replica_store(rp), true, &txn)) != RL_OK)
		goto out;
	if ((e = rl_outbox_ack_txn(txn, last)) != RL_OK)
		goto out;
	e = rl_store_commit(txn);
	txn = NULL;
	if (e == RL_OK)
		*sent = n;
out:
	rl_cursor_close(cur);
	rl_store_abort(txn);
	rl_buf_fini(&ops);
	rl_buf_fini(&v);
	free(offs);
	free(views);
	return e;
}

/* Applies pulled entries in order: runs of operations, and drops. */
static rl_err
apply_entries(rl_replica *rp, rl_txn *txn, rl_pull_entry *en, size_t n, rl_op *run,
              size_t *dropped)
{
	size_t k = 0;
	rl_err e = RL_OK;

	for (size_t i = 0; i <= n && e == RL_OK; i++) {
		if (i < n && !en[i].drop) {
			run[k++] = en[i].op;
			continue;
		}
		if (k > 0 && (e = rl_replica_apply_txn(rp, txn, run, k, NULL)) != RL_OK)
			break;
		k = 0;
		if (i < n) {
			e = rl_replica_drop_txn(txn, en[i].sit);
			(*dropped)++;
		}
	}
	return e;
}

static rl_err
pull_batch(conn *c, rl_replica *rp, const rl_sync_opts *o, bool *more, size_t *got,
           size_t *dropped)
{
	rl_pull_entry *en = NULL;
	rl_opid *pool = NULL;
	rl_op *run = NULL;
	uint64_t cursor, next;
	rl_txn *txn = NULL;
	size_t n = 0;
	rl_err e;

	*got = 0;
	*more = false;
	if ((en = malloc(RL_PULL_MAX_ENTRIES * sizeof(*en))) == NULL ||
	    (run = malloc(RL_PULL_MAX_ENTRIES * sizeof(*run))) == NULL ||
	    (pool = malloc(RL_BATCH_MAX_REFS * sizeof(*pool))) == NULL) {
		e = RL_ENOMEM;
		goto out;
	}
	if ((e = rl_store_begin(rl_replica_store(rp), false, &txn)) != RL_OK)
		goto out;
	e = rl_meta_get_u64(txn, "cursor", &cursor);
	rl_store_abort(txn);
	txn = NULL;
	if (e != RL_OK)
		goto out;
	rl_buf_reset(&c->req);
	if ((e = rl_msg_pull_encode(cursor, o->pull_max, &c->req)) != RL_OK ||
	    (e = conn_call(c)) != RL_OK)
		goto out;
	if ((e = rl_msg_pull_ok_decode(rl_buf_view(&c->body), &next, more, en, RL_PULL_MAX_ENTRIES,
	                               &n, pool, RL_BATCH_MAX_REFS)) != RL_OK)
		goto out;
	if (next < cursor) {
		e = RL_EPROTO;
		goto out;
	}
	if (n == 0 && next == cursor)
		goto out;
	/* What was pulled and the cursor past it commit together. */
	if ((e = rl_store_begin(rl_replica_store(rp), true, &txn)) != RL_OK)
		goto out;
	if ((e = apply_entries(rp, txn, en, n, run, dropped)) != RL_OK ||
	    (e = rl_meta_put_u64(txn, "cursor", next)) != RL_OK)
		goto out;
	e = rl_store_commit(txn);
	txn = NULL;
	if (e == RL_OK)
		*got = n;
out:
	rl_store_abort(txn);
	free(en);
	free(run);
	free(pool);
	return e;
}

static rl_err
mark(rl_replica *rp, const char *name, uint64_t v)
{
	rl_txn *txn;
	rl_err e;

	if ((e = rl_store_begin(rl_replica_store(rp), true, &txn)) != RL_OK)
		return e;
	if ((e = rl_meta_put_u64(txn, name, v)) != RL_OK) {
		rl_store_abort(txn);
		return e;
	}
	return rl_store_commit(txn);
}

rl_err
rl_sync_once(rl_replica *rp, const rl_sync_opts *o, rl_sync_stats *stats)
{
	rl_sync_opts defaults = { 0 };
	rl_sync_progress p = { 0 };
	rl_sync_stats st = { 0 };
	bool more = true;
	size_t n;
	conn c;
	rl_err e;

	if (o == NULL)
		o = &defaults;
	if ((e = rl_outbox_count(rp, &p.pending)) != RL_OK)
		return e;
	e = conn_open(&c, rp, o->url, o->timeout_ms ? o->timeout_ms : RL_SYNC_TIMEOUT_MS,
	              &st.skew_ms, &st.server_time);
	if (e != RL_OK)
		goto out;
	do {
		if ((e = push_batch(&c, rp, o, &n)) != RL_OK)
			goto out;
		p.pushed += n;
		st.pushed += n;
		if (o->progress && n)
			o->progress(o->arg, &p);
	} while (n > 0);
	p.pulling = true;
	while (more) {
		if ((e = pull_batch(&c, rp, o, &more, &n, &st.dropped)) != RL_OK)
			goto out;
		p.pulled += n;
		st.pulled += n;
		if (o->progress && n)
			o->progress(o->arg, &p);
	}
	if ((e = mark(rp, "last_sync", rl_wall_ms())) == RL_OK)
		e = mark(rp, "clock_error", 0);
out:
	if (e == RL_ECLOCK)
		mark(rp, "clock_error", 1);
	conn_close(&c);
	if (stats)
		*stats = st;
	return e;
}

rl_err
rl_sync_ping(rl_replica *rp, int timeout_ms)
{
	conn c;
	rl_err e;

	e = conn_open(&c, rp, NULL, timeout_ms, NULL, NULL);
	if (e == RL_OK) {
		rl_buf_reset(&c.req);
		if ((e = rl_msg_simple_encode(RL_MSG_PING, &c.req)) == RL_OK)
			e = conn_call(&c);
	}
	conn_close(&c);
	return e;
}
