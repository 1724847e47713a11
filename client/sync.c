/*
 * sync.c - enrollment, push and pull over a sealed session.
 *
 * One request at most is in flight over one REQ socket, but the client works
 * while it is: it commits the previous batch (see push_pipelined and
 * pull_pipelined). Any transport or session failure ends the sync with an
 * error; rl_sync_once retries once in a new session and the --watch loop
 * with backoff, because every step already left the store consistent: the
 * acknowledged counter only moves after PUSH_OK, the cursor only moves in
 * the transaction that applies what was pulled.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/mp.h"
#include "common/net.h"
#include "proto/msg.h"
#include "proto/session.h"
#include "sync.h"

typedef struct rl_sync_conn {
	rl_net_client *net;
	rl_session s;
	rl_buf req, resp, body;
	rl_replica *rp;
	rl_sync_opts o;
	rl_sync_progress p;
	rl_sync_stats st;
	rl_hs_server_info srv; /* what WELCOME said */
	/* Pull decoding space, allocated at the first pull and kept for the
	 * session: a no-op sync then costs no allocation. */
	rl_pull_entry *en;
	rl_op *run;
	rl_opid *pool;
	/* Two push batches: one in flight while the other is acknowledged. */
	struct push_batch {
		rl_buf ops;     /* the outbox values, back to back */
		size_t *offs;   /* n + 1 offsets into ops */
		rl_bytes *views;
		uint64_t *ctrs; /* their outbox keys */
		size_t n;
	} pb[2];
	bool outstanding; /* a request went out whose answer was not read */
	bool refused;     /* the last answer was a sealed ERROR (session kept) */
} conn;

/* Frees the two push batches (rl_buf_fini wipes their plaintext). */
static void
push_buffers_free(conn *c)
{
	for (int i = 0; i < 2; i++) {
		rl_buf_fini(&c->pb[i].ops);
		free(c->pb[i].offs);
		free(c->pb[i].views);
		free(c->pb[i].ctrs);
		memset(&c->pb[i], 0, sizeof(c->pb[i]));
	}
}

static void
conn_close(conn *c)
{
	if (c->o.abandon)
		rl_net_abandon(c->net);
	else
		rl_net_close(c->net);
	c->net = NULL;
	rl_session_wipe(&c->s);
	rl_buf_fini(&c->req);
	rl_buf_fini(&c->resp);
	rl_buf_fini(&c->body);
	free(c->en);
	free(c->run);
	free(c->pool);
	c->en = NULL;
	c->run = NULL;
	c->pool = NULL;
	push_buffers_free(c);
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

/* Also sets c->rp and c->o, before anything can fail. */
static rl_err
conn_open(conn *c, rl_replica *rp, const rl_sync_opts *o)
{
	int timeout_ms = o->timeout_ms ? o->timeout_ms : RL_SYNC_TIMEOUT_MS;
	uint8_t server_pk[RL_PK_BYTES];
	char url[512];
	rl_hs_client hs;
	rl_err e;

	memset(c, 0, sizeof(*c));
	rl_buf_init(&c->req);
	rl_buf_init(&c->resp);
	rl_buf_init(&c->body);
	rl_buf_init(&c->pb[0].ops);
	rl_buf_init(&c->pb[1].ops);
	c->rp = rp;
	c->o = *o;
	if ((e = server_of(rp, url, sizeof(url), server_pk)) != RL_OK)
		return e;
	if ((e = rl_net_dial(o->url ? o->url : url, RL_MSG_MAX_BYTES, timeout_ms, o->wd,
	                     &c->net)) != RL_OK)
		return e;
	if ((e = rl_hs_client_hello(&hs, rl_replica_device(rp), rl_replica_secret_key(rp), server_pk,
	                            &c->req)) != RL_OK)
		return e;
	if ((e = rl_net_call(c->net, rl_buf_view(&c->req), &c->resp)) != RL_OK) {
		rl_wipe(&hs, sizeof(hs));
		return e;
	}
	c->st.bytes_sent += c->req.len;
	c->st.bytes_recv += c->resp.len;
	if ((e = rl_hs_client_finish_info(&hs, rl_buf_view(&c->resp), &c->s, &c->srv)) != RL_OK)
		return e;
	c->st.skew_ms = (int64_t)rl_wall_ms() - (int64_t)c->srv.time_ms;
	c->st.server_time = c->srv.time_ms;
	return RL_OK;
}

/*
 * Notices a server restored from a backup (see sync.h): another epoch than
 * the one last seen, or our cursor past the server's last sequence number.
 * Everything this device pushed goes back to the outbox and the cursor
 * restarts at 0, with the new epoch, in one transaction: a crash in the
 * middle leaves the old epoch, and the next sync does it again. The first
 * contact only records the epoch.
 */
static rl_err
history_check(conn *c)
{
	rl_store *st = rl_replica_store(c->rp);
	uint64_t cursor = 0;
	bool known, restored;
	rl_txn *txn;
	rl_buf b;
	rl_err e;

	rl_buf_init(&b);
	if ((e = rl_store_begin(st, false, &txn)) != RL_OK)
		goto out;
	if ((e = rl_meta_get(txn, "server_epoch", &b)) == RL_ENOTFOUND) {
		b.len = 0;
		e = RL_OK;
	}
	if (e == RL_OK)
		e = rl_meta_get_u64(txn, "cursor", &cursor);
	rl_store_abort(txn);
	if (e != RL_OK)
		goto out;
	known = b.len == RL_EPOCH_BYTES;
	restored = (known && memcmp(b.data, c->srv.epoch, RL_EPOCH_BYTES) != 0) ||
	           cursor > c->srv.seq;
	if (known && !restored)
		goto out;
	if ((e = rl_store_begin(st, true, &txn)) != RL_OK)
		goto out;
	if (restored && ((e = rl_outbox_requeue_txn(txn, &c->st.requeued)) != RL_OK ||
	                 (e = rl_meta_put_u64(txn, "cursor", 0)) != RL_OK)) {
		rl_store_abort(txn);
		goto out;
	}
	if ((e = rl_meta_put(txn, "server_epoch", RL_BYTES(c->srv.epoch, RL_EPOCH_BYTES))) !=
	    RL_OK) {
		rl_store_abort(txn);
		goto out;
	}
	if ((e = rl_store_commit(txn)) == RL_OK && restored) {
		c->st.server_restored = true;
		rl_log(RL_LOG_WARN,
		       "server restored from a backup (cursor %llu, server at %llu): %zu changes "
		       "queued again, pulling from the start",
		       (unsigned long long)cursor, (unsigned long long)c->srv.seq, c->st.requeued);
	}
out:
	rl_buf_fini(&b);
	return e;
}

/*
 * One sealed request, in two halves: conn_send seals and sends c->req,
 * conn_recv waits for the answer and opens it into c->body, a server error
 * message becoming its rl_err. Between them the caller may work (apply the
 * previous answer, commit the previous acknowledgement) while the server
 * prepares this one. After an error in between, the session is given up.
 */
static rl_err
conn_send(conn *c)
{
	rl_buf frame;
	rl_err e;

	if (c->outstanding)
		return RL_ECLOSED;
	c->refused = false;
	rl_buf_init(&frame);
	e = rl_session_seal(&c->s, rl_buf_view(&c->req), &frame);
	if (e == RL_OK)
		e = rl_net_send(c->net, rl_buf_view(&frame));
	c->st.bytes_sent += frame.len;
	rl_buf_fini(&frame);
	if (e == RL_OK)
		c->outstanding = true;
	return e;
}

static rl_err
conn_recv(conn *c)
{
	uint32_t type, code;
	rl_bytes text;
	rl_err e;

	if (!c->outstanding)
		return RL_ECLOSED;
	e = rl_net_recv(c->net, &c->resp);
	if (e != RL_OK)
		return e; /* still outstanding: the session is unusable */
	c->outstanding = false;
	c->refused = false;
	c->st.bytes_recv += c->resp.len;
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
		c->refused = true;
		return rl_wire_err(code);
	}
	return RL_OK;
}

static rl_err
conn_call(conn *c)
{
	rl_err e = conn_send(c);

	return e == RL_OK ? conn_recv(c) : e;
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
	    (e = rl_net_dial(url, RL_HELLO_MAX, RL_SYNC_TIMEOUT_MS, NULL, &net)) != RL_OK ||
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
	/* `relais enroll` exits next: its socket goes with the process, never
	 * through nng's close (net.h). */
	rl_net_abandon(net);
	rl_buf_fini(&req);
	rl_buf_fini(&resp);
	return e;
}

/* Reads the next push batch into b: the outbox entries after key `after`
 * (the first call passes the acknowledged counter), within the batch
 * bounds. b->n is 0 when none. */
static rl_err
push_read(conn *c, struct push_batch *b, uint64_t after)
{
	uint32_t max_ops = c->o.push_ops ? c->o.push_ops : RL_SYNC_PUSH_OPS;
	size_t max_bytes = c->o.push_bytes ? c->o.push_bytes : RL_SYNC_PUSH_BYTES;
	uint8_t from[8];
	rl_txn *txn = NULL;
	rl_cursor *cur = NULL;
	rl_bytes k;
	rl_buf v;
	rl_err e;

	if (max_ops > RL_BATCH_MAX_OPS)
		max_ops = RL_BATCH_MAX_OPS;
	b->n = 0;
	rl_buf_reset(&b->ops);
	if (b->offs == NULL) {
		size_t *offs = malloc((RL_BATCH_MAX_OPS + 1) * sizeof(*offs));
		rl_bytes *views = malloc(RL_BATCH_MAX_OPS * sizeof(*views));
		uint64_t *ctrs = malloc(RL_BATCH_MAX_OPS * sizeof(*ctrs));

		if (offs == NULL || views == NULL || ctrs == NULL) {
			free(offs);
			free(views);
			free(ctrs);
			return RL_ENOMEM;
		}
		b->offs = offs;
		b->views = views;
		b->ctrs = ctrs;
	}
	rl_buf_init(&v);
	if (after == UINT64_MAX)
		return RL_OK;
	rl_put_be64(from, after + 1);
	if ((e = rl_store_begin(rl_replica_store(c->rp), false, &txn)) != RL_OK ||
	    (e = rl_cursor_open(txn, RL_T_OUTBOX, &cur)) != RL_OK)
		goto out;
	for (e = rl_cursor_seek(cur, RL_BYTES(from, 8), &k, &v); e == RL_OK;
	     e = rl_cursor_next(cur, &k, &v)) {
		if (b->n >= max_ops || (b->n > 0 && b->ops.len + v.len > max_bytes))
			break;
		if (k.len != 8) {
			e = RL_ECORRUPT;
			break;
		}
		b->ctrs[b->n] = rl_get_be64(k.p);
		b->offs[b->n++] = b->ops.len;
		if ((e = rl_buf_append(&b->ops, v.data, v.len)) != RL_OK)
			break;
	}
	if (e == RL_ENOTFOUND)
		e = RL_OK;
	b->offs[b->n] = b->ops.len;
	for (size_t i = 0; i < b->n; i++)
		b->views[i] = RL_BYTES(b->ops.data + b->offs[i], b->offs[i + 1] - b->offs[i]);
out:
	rl_cursor_close(cur);
	rl_store_abort(txn);
	rl_buf_fini(&v);
	if (e != RL_OK)
		b->n = 0;
	return e;
}

static rl_err
push_send(conn *c, const struct push_batch *b)
{
	rl_err e;

	rl_buf_reset(&c->req);
	if ((e = rl_msg_push_encode_raw(b->views, b->n, &c->req)) != RL_OK)
		return e;
	return conn_send(c);
}

/* Acknowledged and durable on the server: the outbox's acknowledged counter
 * moves past what b carried (the entries stay, for a server restored from a
 * backup). */
static rl_err
push_ack(conn *c, const struct push_batch *b)
{
	rl_txn *txn;
	rl_err e;

	if ((e = rl_store_begin(rl_replica_store(c->rp), true, &txn)) != RL_OK)
		return e;
	if ((e = rl_outbox_ack_txn(txn, b->ctrs[b->n - 1])) != RL_OK) {
		rl_store_abort(txn);
		return e;
	}
	return rl_store_commit(txn);
}

/*
 * Pushes the whole outbox, two batches deep: while the server applies batch
 * i, the client commits the acknowledgement of batch i-1 and reads batch i+1
 * (after i's last key, i still being in the outbox), so that i+1 goes out
 * the moment i is acknowledged. A crash or a cut anywhere leaves the
 * unacknowledged entries in the outbox, to be sent again: the server takes
 * a change twice as once.
 */
static rl_err
push_pipelined(conn *c)
{
	struct push_batch *cur = &c->pb[0], *next = &c->pb[1], *t;
	uint64_t applied, upto, acked;
	rl_txn *txn;
	rl_err e;

	if ((e = rl_store_begin(rl_replica_store(c->rp), false, &txn)) != RL_OK)
		return e;
	e = rl_outbox_acked_txn(txn, &acked);
	rl_store_abort(txn);
	if (e != RL_OK || (e = push_read(c, cur, acked)) != RL_OK || cur->n == 0)
		return e;
	if ((e = push_send(c, cur)) != RL_OK ||
	    (e = push_read(c, next, cur->ctrs[cur->n - 1])) != RL_OK)
		return e;
	for (;;) {
		/* cur is in flight, next is read (n == 0: nothing after cur). */
		if ((e = conn_recv(c)) != RL_OK ||
		    (e = rl_msg_push_ok_decode(rl_buf_view(&c->body), &applied, &upto)) != RL_OK)
			return e;
		if (next->n > 0 && (e = push_send(c, next)) != RL_OK) {
			/* cur is acknowledged all the same: record it. */
			rl_err e2 = push_ack(c, cur);

			return e2 == RL_OK ? e : e2;
		}
		if ((e = push_ack(c, cur)) != RL_OK)
			return e;
		c->st.op_bytes += cur->ops.len;
		c->p.pushed += cur->n;
		c->st.pushed += cur->n;
		if (c->o.progress)
			c->o.progress(c->o.arg, &c->p);
		if (next->n == 0)
			return RL_OK;
		t = cur;
		cur = next;
		next = t;
		if ((e = push_read(c, next, cur->ctrs[cur->n - 1])) != RL_OK)
			return e;
	}
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

/* Commits the pull's open transaction (*txn, then NULL) and counts what it
 * held as pulled. */
static rl_err
pull_commit(conn *c, rl_txn **txn, size_t *uncommitted, size_t *uncommitted_bytes)
{
	rl_err e = rl_store_commit(*txn);

	*txn = NULL;
	if (e != RL_OK)
		return e;
	c->p.pulled += *uncommitted;
	c->st.pulled += *uncommitted;
	*uncommitted = *uncommitted_bytes = 0;
	if (c->o.progress)
		c->o.progress(c->o.arg, &c->p);
	return RL_OK;
}

/*
 * Pulls until the server has nothing more, two requests deep: as soon as an
 * answer is in, the request for what follows it goes out, and the answer is
 * applied and committed (with its cursor, in one transaction) while the
 * server prepares the next one. The entries decoded from c->body stay valid
 * until the next conn_recv.
 */
static rl_err
pull_pipelined(conn *c)
{
	rl_replica *rp = c->rp;
	uint64_t cursor, next;
	rl_txn *txn = NULL;
	bool more = true;
	size_t n, uncommitted = 0, uncommitted_bytes = 0;
	rl_err e;

	if (c->en == NULL && (c->en = malloc(RL_PULL_MAX_ENTRIES * sizeof(*c->en))) == NULL)
		return RL_ENOMEM;
	if (c->run == NULL && (c->run = malloc(RL_PULL_MAX_ENTRIES * sizeof(*c->run))) == NULL)
		return RL_ENOMEM;
	if (c->pool == NULL && (c->pool = malloc(RL_BATCH_MAX_REFS * sizeof(*c->pool))) == NULL)
		return RL_ENOMEM;
	if ((e = rl_store_begin(rl_replica_store(rp), false, &txn)) != RL_OK)
		return e;
	e = rl_meta_get_u64(txn, "cursor", &cursor);
	rl_store_abort(txn);
	txn = NULL;
	if (e != RL_OK)
		return e;
	rl_buf_reset(&c->req);
	if ((e = rl_msg_pull_encode(cursor, c->o.pull_max, &c->req)) != RL_OK ||
	    (e = conn_send(c)) != RL_OK)
		return e;
	while (more) {
		n = 0;
		/* The next answer is not in after a short wait: commit rather
		 * than hold the store's write lock (local edits wait for it)
		 * while waiting on the network. */
		if (txn != NULL && !rl_net_ready(c->net, RL_SYNC_PULL_HOLD_MS) &&
		    (e = pull_commit(c, &txn, &uncommitted, &uncommitted_bytes)) != RL_OK)
			break;
		if ((e = conn_recv(c)) != RL_OK ||
		    (e = rl_msg_pull_ok_decode(rl_buf_view(&c->body), &next, &more, c->en,
		                               RL_PULL_MAX_ENTRIES, &n, c->pool,
		                               RL_BATCH_MAX_REFS)) != RL_OK)
			break;
		c->st.op_bytes += c->body.len; /* the entries, plus a few header bytes */
		if (next < cursor || (more && next == cursor)) {
			e = RL_EPROTO; /* backwards, or "more" without moving on */
			break;
		}
		if (more) {
			rl_buf_reset(&c->req);
			if ((e = rl_msg_pull_encode(next, c->o.pull_max, &c->req)) != RL_OK ||
			    (e = conn_send(c)) != RL_OK)
				break;
		}
		if (n == 0 && next == cursor)
			break;
		/* What was pulled and the cursor past it commit together, a few
		 * answers at a time (fewer commits rewrite fewer branch pages),
		 * bounded so that the transaction's dirty pages stay small. */
		if (txn == NULL && (e = rl_store_begin(rl_replica_store(rp), true, &txn)) != RL_OK)
			break;
		if ((e = apply_entries(rp, txn, c->en, n, c->run, &c->st.dropped)) != RL_OK ||
		    (e = rl_meta_put_u64(txn, "cursor", next)) != RL_OK)
			break;
		cursor = next;
		uncommitted += n;
		uncommitted_bytes += c->body.len;
		if ((uncommitted >= RL_SYNC_PULL_COMMIT_OPS ||
		     uncommitted_bytes >= RL_SYNC_PULL_COMMIT_BYTES || !more) &&
		    (e = pull_commit(c, &txn, &uncommitted, &uncommitted_bytes)) != RL_OK)
			break;
	}
	/* An error drops what was not committed: the next sync pulls it again. */
	if (txn != NULL && e == RL_OK)
		e = pull_commit(c, &txn, &uncommitted, &uncommitted_bytes);
	rl_store_abort(txn);
	return e;
}

/* Records a sync's end: its time, and the clock error it found or cleared,
 * in one durable commit. */
static rl_err
mark_end(rl_replica *rp, uint64_t last_sync, bool clock_error)
{
	rl_txn *txn;
	rl_err e;

	if ((e = rl_store_begin(rl_replica_store(rp), true, &txn)) != RL_OK)
		return e;
	if ((last_sync != 0 && (e = rl_meta_put_u64(txn, "last_sync", last_sync)) != RL_OK) ||
	    (e = rl_meta_put_u64(txn, "clock_error", clock_error)) != RL_OK) {
		rl_store_abort(txn);
		return e;
	}
	return rl_store_commit(txn);
}

rl_err
rl_sync_connect(rl_replica *rp, const rl_sync_opts *o, rl_sync_conn **out)
{
	rl_sync_opts defaults = { 0 };
	conn *c;
	rl_err e;

	*out = NULL;
	if ((c = malloc(sizeof(*c))) == NULL)
		return RL_ENOMEM;
	if (o == NULL)
		o = &defaults;
	/* conn_open zeroes c, counters included, before anything can fail. */
	e = conn_open(c, rp, o);
	if (e == RL_OK && !o->probe)
		e = history_check(c);
	if (e != RL_OK) {
		rl_sync_disconnect(c);
		return e;
	}
	*out = c;
	return RL_OK;
}

void
rl_sync_disconnect(rl_sync_conn *c)
{
	if (c == NULL)
		return;
	conn_close(c);
	free(c);
}

const rl_sync_stats *
rl_sync_conn_stats(const rl_sync_conn *c)
{
	return &c->st;
}

/*
 * The server refused our changes for their clock. If this device's clock now
 * agrees with the server's, the refused changes were stamped while it ran
 * ahead: restamp those no replica can have accepted (beyond the server's
 * clock plus the bound) and let the caller push again. Otherwise the clock
 * is still wrong and the user must fix it.
 */
static rl_err
clock_repair(rl_sync_conn *c)
{
	int64_t skew = c->st.skew_ms < 0 ? -c->st.skew_ms : c->st.skew_ms;
	size_t n;
	rl_err e;

	if (skew > (int64_t)RL_PROTO_SKEW_MS / 4)
		return RL_ECLOCK;
	e = rl_replica_restamp(c->rp, rl_hlc_make(c->st.server_time + RL_PROTO_SKEW_MS, 0xffff),
	                       c->st.server_time, &n);
	if (e != RL_OK)
		return e;
	if (n == 0)
		return RL_ECLOCK;
	rl_log(RL_LOG_DEBUG, "%zu changes stamped by a clock that ran ahead were restamped", n);
	return RL_OK;
}

rl_err
rl_sync_push_all(rl_sync_conn *c)
{
	uint32_t full = c->o.push_ops;
	size_t before = c->st.pushed;
	bool repaired = false, scope;
	rl_err e;

	if ((e = rl_outbox_count(c->rp, &c->p.pending)) != RL_OK)
		return e;
	c->p.pulling = false;
	for (;;) {
		uint32_t ops = c->o.push_ops ? c->o.push_ops : RL_SYNC_PUSH_OPS;

		e = push_pipelined(c);
		/* Refused for its clock (the batch in flight, nothing
		 * outstanding): repaired once if our clock is right now, then
		 * pushed again. */
		if (e == RL_ECLOCK && !repaired) {
			repaired = true;
			if ((e = clock_repair(c)) == RL_OK)
				continue;
			if (e != RL_ECLOCK)
				c->refused = false; /* a local failure, not the server's */
		}
		/* Refused as too big (a server with a smaller batch bound), or
		 * for scope: smaller batches, down to one change. For scope, so
		 * that only what the server refuses waits (a situation whose
		 * opening another device has yet to resend after a restore may
		 * share a batch with an opening that device waits for); full
		 * batches again after any progress. */
		scope = e == RL_EPERM && c->refused;
		if (scope && c->st.pushed != before) {
			before = c->st.pushed;
			c->o.push_ops = full;
			continue;
		}
		if ((scope || e == RL_ETOOBIG) && ops > 1) {
			c->o.push_ops = ops / 2;
			rl_log(RL_LOG_DEBUG, "push batch refused (%s): %u changes a batch now",
			       rl_strerror(e), c->o.push_ops);
			continue;
		}
		break;
	}
	/* The batch buffers (up to a few MiB) are not needed by the pull. */
	push_buffers_free(c);
	return e;
}

rl_err
rl_sync_pull_all(rl_sync_conn *c)
{
	c->p.pulling = true;
	return pull_pipelined(c);
}

rl_err
rl_sync_ping_conn(rl_sync_conn *c)
{
	rl_buf_reset(&c->req);
	rl_err e = rl_msg_simple_encode(RL_MSG_PING, &c->req);

	return e == RL_OK ? conn_call(c) : e;
}

/* The server refused a change-set for what it holds, in a sealed answer
 * that keeps the session: not for the link, the device or the session. */
static bool
push_refused(const conn *c, rl_err e)
{
	return c->refused && (e == RL_EPERM || e == RL_ECLOCK || e == RL_ETOOBIG ||
	                      e == RL_EFULL || e == RL_EPROTO);
}

rl_err
rl_sync_once(rl_replica *rp, const rl_sync_opts *o, rl_sync_stats *stats)
{
	rl_sync_conn *c = NULL;
	rl_sync_stats sum = { 0 };
	rl_err e;

	/*
	 * A second attempt when the session was lost midway: the link dropped,
	 * or the server closed the session (a request resent after a cut is a
	 * replay to it). Nothing is lost either way; a fresh session resumes.
	 */
	for (int attempt = 0; attempt < 2; attempt++) {
		bool connected = false;

		if ((e = rl_sync_connect(rp, o, &c)) == RL_OK) {
			connected = true;
			if ((e = rl_sync_push_all(c)) == RL_OK) {
				if ((e = rl_sync_pull_all(c)) == RL_OK)
					e = mark_end(rp, rl_wall_ms(), false);
			} else if (push_refused(c, e)) {
				/* The refused change-set waits in the outbox, and
				 * what the others wrote still comes in. The
				 * refusal is the answer, unless the pull learns
				 * that the device itself is refused. */
				rl_err ep = rl_sync_pull_all(c);

				if (ep == RL_EREVOKED || ep == RL_ENOTFOUND)
					e = ep;
			}
		}
		if (c != NULL) {
			const rl_sync_stats *st = &c->st;

			sum.pushed += st->pushed;
			sum.pulled += st->pulled;
			sum.dropped += st->dropped;
			sum.bytes_sent += st->bytes_sent;
			sum.bytes_recv += st->bytes_recv;
			sum.op_bytes += st->op_bytes;
			sum.server_time = st->server_time;
			sum.skew_ms = st->skew_ms;
			sum.server_restored |= st->server_restored;
			sum.requeued += st->requeued;
		}
		rl_sync_disconnect(c);
		c = NULL;
		/* Also once when a link that was up dropped: a server that is
		 * really gone fails the new dial at once. */
		if (e != RL_ECLOSED && !(e == RL_EUNREACH && connected))
			break;
		rl_log(RL_LOG_DEBUG, "session lost (%s), syncing again in a new one", rl_strerror(e));
	}
	if (e == RL_ECLOCK)
		mark_end(rp, 0, true);
	if (stats)
		*stats = sum;
	return e;
}
