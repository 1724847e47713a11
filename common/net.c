/*
 * net.c - nng 1.5.2 REQ/REP sockets for relais.
 *
 * Server contexts cycle RECV -> WORK -> SEND -> RECV. In WORK the context
 * belongs to the handler until rl_net_reply(); the reply starts the send on
 * the context's aio and the callback goes back to receiving. Every socket
 * sets NNG_OPT_RECVMAXSZ: nng's default is unlimited (DEPS.md).
 *
 * A client watches its connection (a pipe notification): when the server
 * goes away with a request in flight, nng would keep the request for a
 * redial and wait out the whole timeout; the call is cancelled instead and
 * fails at once with RL_EUNREACH. A call that starts while the connection
 * is down waits a moment for the dialer to bring it back, no more.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "net.h"

#define NET_REDIAL_WAIT_MS 1000 /* a call waits this long for a lost connection */
#define NET_REDIAL_STEP_MS 10

struct rl_net_client {
	nng_socket sock;
	nng_dialer dialer;
	nng_aio *aio;      /* the call in flight */
	int timeout_ms;
	atomic_uint pipe;  /* id of the connection, 0 when none is known */
	atomic_bool lost;  /* the connection closed and no other one came yet */
	atomic_bool done;  /* the aio's operation completed (nng 1.5 has no
	                      nng_aio_busy) */
};

/* On an nng thread: the aio's operation completed. */
static void
net_aio_cb(void *arg)
{
	rl_net_client *c = arg;

	atomic_store(&c->done, true);
}

static rl_err
net_err(int rv)
{
	switch (rv) {
	case 0: return RL_OK;
	case NNG_ENOMEM: return RL_ENOMEM;
	case NNG_ETIMEDOUT: return RL_ETIMEDOUT;
	case NNG_ECLOSED: return RL_ECLOSED;
	case NNG_EADDRINVAL:
	case NNG_EINVAL:
	case NNG_ENOTSUP: return RL_EINVAL;
	case NNG_EADDRINUSE: return RL_EBUSY;
	case NNG_ECONNREFUSED:
	case NNG_ECONNRESET:
	case NNG_ECONNSHUT:
	case NNG_EUNREACHABLE:
	case NNG_ECONNABORTED: return RL_EUNREACH;
	case NNG_EMSGSIZE: return RL_ETOOBIG;
	default: return RL_EIO;
	}
}

/* On an nng thread: tracks the connection; its loss cancels the call in
 * flight. A notification about an older connection changes nothing. */
static void
net_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	rl_net_client *c = arg;
	unsigned id = (unsigned)nng_pipe_id(p);

	if (ev == NNG_PIPE_EV_ADD_POST) {
		atomic_store(&c->pipe, id);
		atomic_store(&c->lost, false);
	} else if (ev == NNG_PIPE_EV_REM_POST && atomic_compare_exchange_strong(&c->pipe, &id, 0)) {
		atomic_store(&c->lost, true);
		nng_aio_cancel(c->aio);
	}
}

rl_err
rl_net_dial(const char *url, size_t max_msg, int timeout_ms, rl_net_client **out)
{
	rl_net_client *c;
	int rv;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return RL_ENOMEM;
	c->timeout_ms = timeout_ms;
	atomic_init(&c->pipe, 0);
	atomic_init(&c->lost, false);
	atomic_init(&c->done, true);
	if ((rv = nng_aio_alloc(&c->aio, net_aio_cb, c)) != 0) {
		free(c);
		return net_err(rv);
	}
	if ((rv = nng_req0_open(&c->sock)) != 0) {
		nng_aio_free(c->aio);
		free(c);
		return net_err(rv);
	}
	if ((rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_POST, net_pipe_cb, c)) != 0 ||
	    (rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, net_pipe_cb, c)) != 0 ||
	    (rv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, max_msg)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, 86400000)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, timeout_ms)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, timeout_ms)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 50)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 1000)) != 0)
		goto fail;
	/* A blocking dial fails at once when nobody listens. */
	if ((rv = nng_dial(c->sock, url, &c->dialer, 0)) != 0)
		goto fail;
	*out = c;
	return RL_OK;
fail:
	nng_close(c->sock);
	nng_aio_free(c->aio);
	free(c);
	return rv == NNG_EINVAL || rv == NNG_EADDRINVAL || rv == NNG_ENOTSUP ? RL_EINVAL : RL_EUNREACH;
}

/* The result of the aio's operation; a cancel by a lost connection is
 * RL_EUNREACH. */
static rl_err
call_err(rl_net_client *c, int rv)
{
	if (rv == NNG_ECANCELED && atomic_load(&c->lost))
		return RL_EUNREACH;
	return net_err(rv);
}

rl_err
rl_net_send(rl_net_client *c, rl_bytes req)
{
	nng_msg *m;
	int rv;

	for (int w = 0; atomic_load(&c->lost) && w < NET_REDIAL_WAIT_MS; w += NET_REDIAL_STEP_MS)
		nng_msleep(NET_REDIAL_STEP_MS);
	if (atomic_load(&c->lost))
		return RL_EUNREACH;
	if ((rv = nng_msg_alloc(&m, 0)) != 0)
		return net_err(rv);
	if ((rv = nng_msg_append(m, req.p, req.len)) != 0) {
		nng_msg_free(m);
		return net_err(rv);
	}
	nng_aio_set_msg(c->aio, m);
	nng_aio_set_timeout(c->aio, c->timeout_ms);
	nng_send_aio(c->sock, c->aio);
	nng_aio_wait(c->aio);
	if ((rv = nng_aio_result(c->aio)) != 0) {
		nng_msg_free(nng_aio_get_msg(c->aio)); /* still ours when the send fails */
		return call_err(c, rv);
	}
	/* The receive starts at once, so that rl_net_ready can tell whether
	 * the answer is in; rl_net_recv waits for it. */
	/* nng_aio_wait returned after the send's callback: done is ours. */
	atomic_store(&c->done, false);
	nng_aio_set_timeout(c->aio, c->timeout_ms);
	nng_recv_aio(c->sock, c->aio);
	/* Lost between the send and the start of the receive: the callback's
	 * cancel found nothing to cancel. */
	if (atomic_load(&c->lost))
		nng_aio_cancel(c->aio);
	return RL_OK;
}

bool
rl_net_ready(rl_net_client *c, int wait_ms)
{
	for (int w = 0; !atomic_load(&c->done) && w < wait_ms; w++)
		nng_msleep(1);
	return atomic_load(&c->done);
}

rl_err
rl_net_recv(rl_net_client *c, rl_buf *resp)
{
	nng_msg *m;
	int rv;
	rl_err e;

	nng_aio_wait(c->aio);
	if ((rv = nng_aio_result(c->aio)) != 0)
		return call_err(c, rv);
	m = nng_aio_get_msg(c->aio);
	rl_buf_reset(resp);
	e = rl_buf_append(resp, nng_msg_body(m), nng_msg_len(m));
	nng_msg_free(m);
	return e;
}

rl_err
rl_net_call(rl_net_client *c, rl_bytes req, rl_buf *resp)
{
	rl_err e = rl_net_send(c, req);

	return e == RL_OK ? rl_net_recv(c, resp) : e;
}

void
rl_net_close(rl_net_client *c)
{
	if (c == NULL)
		return;
	nng_close(c->sock); /* no more pipe callbacks after this */
	nng_aio_free(c->aio);
	free(c);
}

/* ---- server ---- */

enum { REQ_RECV, REQ_WORK, REQ_SEND };

struct rl_net_req {
	rl_net_server *srv;
	nng_ctx ctx;
	nng_aio *aio;
	nng_msg *msg;
	int state;
};

struct rl_net_server {
	nng_socket sock;
	rl_net_handler handler;
	void *arg;
	unsigned nreq;
	rl_net_req *reqs;
};

static void
req_cb(void *arg)
{
	rl_net_req *r = arg;
	int rv = nng_aio_result(r->aio);

	switch (r->state) {
	case REQ_RECV:
		if (rv != 0) {
			if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
				return;
			break; /* receive again */
		}
		r->msg = nng_aio_get_msg(r->aio);
		r->state = REQ_WORK;
		r->srv->handler(r->srv->arg, r, RL_BYTES(nng_msg_body(r->msg), nng_msg_len(r->msg)));
		return;
	case REQ_SEND:
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(r->aio));
			if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
				return;
		}
		break;
	default:
		return;
	}
	r->state = REQ_RECV;
	nng_ctx_recv(r->ctx, r->aio);
}

void
rl_net_reply(rl_net_req *r, rl_bytes resp)
{
	nng_msg *m = r->msg;

	r->msg = NULL;
	nng_msg_clear(m);
	if (nng_msg_append(m, resp.p, resp.len) != 0) {
		/* Out of memory: drop the request; the client times out. */
		nng_msg_free(m);
		r->state = REQ_RECV;
		nng_ctx_recv(r->ctx, r->aio);
		return;
	}
	nng_aio_set_msg(r->aio, m);
	r->state = REQ_SEND;
	nng_ctx_send(r->ctx, r->aio);
}

rl_err
rl_net_listen(const char *url, unsigned nctx, size_t max_msg, rl_net_handler h, void *arg,
              rl_net_server **out)
{
	rl_net_server *s;
	int rv;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return RL_ENOMEM;
	if ((s->reqs = calloc(nctx, sizeof(*s->reqs))) == NULL) {
		free(s);
		return RL_ENOMEM;
	}
	s->handler = h;
	s->arg = arg;
	if ((rv = nng_rep0_open(&s->sock)) != 0) {
		free(s->reqs);
		free(s);
		return net_err(rv);
	}
	if ((rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, max_msg)) != 0)
		goto fail;
	for (unsigned i = 0; i < nctx; i++) {
		rl_net_req *r = &s->reqs[i];

		r->srv = s;
		if ((rv = nng_aio_alloc(&r->aio, req_cb, r)) != 0 ||
		    (rv = nng_ctx_open(&r->ctx, s->sock)) != 0)
			goto fail;
		s->nreq = i + 1;
	}
	if ((rv = nng_listen(s->sock, url, NULL, 0)) != 0)
		goto fail;
	for (unsigned i = 0; i < s->nreq; i++) {
		s->reqs[i].state = REQ_RECV;
		nng_ctx_recv(s->reqs[i].ctx, s->reqs[i].aio);
	}
	*out = s;
	return RL_OK;
fail:
	rl_net_stop(s);
	return net_err(rv);
}

void
rl_net_stop(rl_net_server *s)
{
	if (s == NULL)
		return;
	nng_close(s->sock);
	for (unsigned i = 0; i < s->nreq; i++) {
		rl_net_req *r = &s->reqs[i];

		if (r->aio != NULL) {
			nng_aio_stop(r->aio);
			nng_aio_free(r->aio);
		}
		if (r->msg != NULL)
			nng_msg_free(r->msg);
	}
	free(s->reqs);
	free(s);
}
