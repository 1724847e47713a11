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
 *
 * Every client call is bounded twice: by its own deadline (the dial waits
 * for the connection with the caller's timeout, instead of nng's blocking
 * dial that waits 10 s for a silent server), and by the caller's watchdog,
 * armed around each call that enters nng, for the day nng itself wedges
 * (rl_net_close explains the one wedge we know of and how it is avoided).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/socket.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "net.h"
#include "watchdog.h"

#define NET_REDIAL_WAIT_MS 1000 /* a call waits this long for a lost connection */
#define NET_REDIAL_STEP_MS 10
#define NET_DIAL_STAT_MS 10     /* a dial looks for a refusal this often, */
#define NET_DIAL_STAT_AFTER_MS 50 /* from this long after it started (a snapshot copies
                                     every statistic of the process: most dials are
                                     done by then) */
#define NET_QUIET_MAX_MS 5000   /* a close waits this long at most for the pipe's end */
#define NET_QUIET_MIN_MS 100    /* ...or this long, when it could not shut it down */
#define NET_GUARD_GRACE_MS 5000 /* the watchdog's margin over a call's own bound */

static int net_shutdown_conns(const nng_sockaddr *laddr, const nng_sockaddr *raddr);

struct rl_net_client {
	nng_socket sock;
	nng_dialer dialer;
	nng_aio *aio;      /* the call in flight */
	rl_watchdog *wd;   /* may be NULL */
	int timeout_ms;
	uint16_t port;     /* the url's port, network order; 0 if none */
	nng_sockaddr laddr, raddr; /* the connection's ends (under mu) */
	bool have_addr;
	int live;          /* connections admitted and not yet gone (under mu) */
	unsigned dead;     /* the last connection gone (under mu) */
	atomic_uint pipe;  /* id of the connection, 0 when none is known */
	atomic_bool lost;  /* the connection closed and no other one came yet */
	atomic_bool closing; /* rl_net_close began: new connections are refused */
	pthread_mutex_t mu;  /* with cv: a connection came or went */
	pthread_cond_t cv;
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

/* The watchdog's step: the call that starts must end within ms (plus a
 * margin); see watchdog.h. */
static void
net_guard(rl_net_client *c, int ms, const char *what)
{
	if (c->wd != NULL)
		rl_watchdog_arm(c->wd, RL_WATCHDOG_STEP, (uint64_t)ms + NET_GUARD_GRACE_MS, what);
}

static void
net_unguard(rl_net_client *c)
{
	if (c->wd != NULL)
		rl_watchdog_disarm(c->wd, RL_WATCHDOG_STEP);
}

/* A condition variable on the monotonic clock (the waits are deadlines). */
static void
net_cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
}

static void
net_free(rl_net_client *c)
{
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static void
net_deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Waits until no connection is left, at most ms; whether none is. */
static bool
net_wait_none(rl_net_client *c, int ms)
{
	struct timespec ts;
	bool none;

	net_deadline(&ts, ms);
	pthread_mutex_lock(&c->mu);
	while (c->live > 0)
		if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) != 0)
			break;
	none = c->live <= 0;
	pthread_mutex_unlock(&c->mu);
	return none;
}

/* Waits until the connection is up, at most ms; whether it is. */
static bool
net_wait_up(rl_net_client *c, int ms)
{
	struct timespec ts;

	net_deadline(&ts, ms);
	pthread_mutex_lock(&c->mu);
	while (atomic_load(&c->pipe) == 0)
		if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) != 0)
			break;
	pthread_mutex_unlock(&c->mu);
	return atomic_load(&c->pipe) != 0;
}

/* On an nng thread: tracks the connections. `live` counts those nng has
 * admitted (every ADD_PRE is followed by one REM_POST), `pipe` is the one
 * calls use. Once rl_net_close began, a redial is rejected before it
 * starts reading, and one that came up meanwhile shuts itself down. A
 * pipe's REM_POST can come before its own ADD_POST (a pipe closed right
 * after it started): `dead` keeps it from being taken for a live one. */
static void
net_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	rl_net_client *c = arg;
	unsigned id = (unsigned)nng_pipe_id(p);
	nng_sockaddr la, ra;
	bool addr, shut = false, cancel = false;

	switch (ev) {
	case NNG_PIPE_EV_ADD_PRE:
		pthread_mutex_lock(&c->mu);
		c->live++;
		pthread_mutex_unlock(&c->mu);
		if (atomic_load(&c->closing))
			nng_pipe_close(p);
		return;
	case NNG_PIPE_EV_ADD_POST:
		addr = nng_pipe_get_addr(p, NNG_OPT_LOCADDR, &la) == 0 &&
		       nng_pipe_get_addr(p, NNG_OPT_REMADDR, &ra) == 0;
		pthread_mutex_lock(&c->mu);
		if (id == c->dead) {
			/* already gone */
		} else if (atomic_load(&c->closing)) {
			shut = addr;
		} else {
			c->laddr = la;
			c->raddr = ra;
			c->have_addr = addr;
			atomic_store(&c->pipe, id);
			atomic_store(&c->lost, false);
			pthread_cond_broadcast(&c->cv);
		}
		pthread_mutex_unlock(&c->mu);
		if (shut)
			net_shutdown_conns(&la, &ra);
		return;
	case NNG_PIPE_EV_REM_POST:
		pthread_mutex_lock(&c->mu);
		c->live--;
		c->dead = id;
		if (atomic_load(&c->pipe) == id) {
			atomic_store(&c->pipe, 0);
			atomic_store(&c->lost, true);
			cancel = true;
		}
		pthread_cond_broadcast(&c->cv);
		pthread_mutex_unlock(&c->mu);
		if (cancel)
			nng_aio_cancel(c->aio);
		return;
	default:
		return;
	}
}

/* The statistics of the dialer with this id: a direct child of the root
 * named "dialer" whose "id" matches. (nng_stat_find_dialer cannot be used:
 * in 1.5.2 it returns the first dialer's statistics, whatever the id.) */
static nng_stat *
stat_dialer(nng_stat *all, int id)
{
	for (nng_stat *st = nng_stat_child(all); st != NULL; st = nng_stat_next(st)) {
		nng_stat *sid;

		if (strcmp(nng_stat_name(st), "dialer") == 0 && (sid = nng_stat_find(st, "id")) != NULL &&
		    nng_stat_value(sid) == (uint64_t)id)
			return st;
	}
	return NULL;
}

/* nng reports a background dial's errors only in its statistics: whether
 * the dialer has seen a connection refused (or another error of the
 * connect itself) since it started. False when statistics are not built
 * in: the dial then waits out its deadline. */
static bool
stat_dial_failed(rl_net_client *c)
{
	static const char *names[] = { "refused", "other" };
	nng_stat *all, *d, *st;
	bool failed = false;

	if (nng_stats_get(&all) != 0)
		return false;
	if ((d = stat_dialer(all, nng_dialer_id(c->dialer))) != NULL) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !failed; i++)
			failed = (st = nng_stat_find(d, names[i])) != NULL && nng_stat_value(st) > 0;
	}
	nng_stats_free(all);
	return failed;
}

/*
 * Calls fn with each of our connected sockets, its local and peer
 * addresses, until fn returns false. nng gives no access to the descriptor
 * under a pipe: this is how it is found (rl_net_close explains why).
 */
typedef bool (*net_sock_fn)(int fd, const struct sockaddr_storage *l,
                            const struct sockaddr_storage *r, void *arg);

static void
net_each_socket(net_sock_fn fn, void *arg)
{
	DIR *d;
	struct dirent *de;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct sockaddr_storage l, r;
		socklen_t ll = sizeof(l), rl = sizeof(r);
		char *end;
		long fd = strtol(de->d_name, &end, 10);

		if (*end != '\0' || end == de->d_name || fd < 0 || fd == dirfd(d) ||
		    getsockname((int)fd, (struct sockaddr *)&l, &ll) != 0 ||
		    getpeername((int)fd, (struct sockaddr *)&r, &rl) != 0)
			continue;
		if (!fn((int)fd, &l, &r, arg))
			break;
	}
	closedir(d);
}

struct port_find {
	uint16_t port;
	bool found;
};

static bool
port_match(int fd, const struct sockaddr_storage *l, const struct sockaddr_storage *r, void *arg)
{
	struct port_find *pf = arg;

	(void)fd;
	(void)l;
	pf->found = (r->ss_family == AF_INET && ((const struct sockaddr_in *)r)->sin_port == pf->port) ||
	            (r->ss_family == AF_INET6 && ((const struct sockaddr_in6 *)r)->sin6_port == pf->port);
	return !pf->found;
}

/* Whether one of our TCP sockets is connected to a peer on this port (in
 * network order): a dial that timed out with one found a server that
 * accepts and never speaks; without, nobody answered at all. Unknown port
 * (not TCP): taken as connected. */
static bool
net_tcp_open_to(uint16_t port)
{
	struct port_find pf = { port, port == 0 };

	if (port != 0)
		net_each_socket(port_match, &pf);
	return pf.found;
}

/* Waits until the dialer's first connection is up (the SP negotiation
 * done), the connect is refused (RL_EUNREACH) or timeout_ms pass:
 * RL_ETIMEDOUT when a TCP connection was made but nothing came back (a
 * silent server), RL_EUNREACH when not even that (nobody there). */
static rl_err
net_wait_connected(rl_net_client *c, int timeout_ms)
{
	nng_time start = nng_clock(), end = start + (nng_duration)timeout_ms;

	for (;;) {
		nng_time now = nng_clock();
		int slice = end - now < NET_DIAL_STAT_MS ? (int)(end - now) : NET_DIAL_STAT_MS;

		if (now >= end)
			return net_tcp_open_to(c->port) ? RL_ETIMEDOUT : RL_EUNREACH;
		if (net_wait_up(c, slice))
			return RL_OK;
		if (nng_clock() - start >= NET_DIAL_STAT_AFTER_MS && stat_dial_failed(c))
			return RL_EUNREACH;
	}
}

/* The port of a tcp:// url, network order; 0 if it has none. */
static uint16_t
url_port(const char *url)
{
	const char *colon = strrchr(url, ':');
	char *end;
	long p;

	if (colon == NULL || strncmp(url, "tcp", 3) != 0)
		return 0;
	p = strtol(colon + 1, &end, 10);
	return *end == '\0' && end != colon + 1 && p > 0 && p < 65536 ? htons((uint16_t)p) : 0;
}

rl_err
rl_net_dial(const char *url, size_t max_msg, int timeout_ms, rl_watchdog *wd,
            rl_net_client **out)
{
	rl_net_client *c;
	rl_err e;
	int rv;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return RL_ENOMEM;
	c->timeout_ms = timeout_ms;
	c->wd = wd;
	c->port = url_port(url);
	atomic_init(&c->pipe, 0);
	atomic_init(&c->lost, false);
	atomic_init(&c->closing, false);
	atomic_init(&c->done, true);
	pthread_mutex_init(&c->mu, NULL);
	net_cond_init(&c->cv);
	if ((rv = nng_aio_alloc(&c->aio, net_aio_cb, c)) != 0) {
		net_free(c);
		return net_err(rv);
	}
	if ((rv = nng_req0_open(&c->sock)) != 0) {
		nng_aio_free(c->aio);
		net_free(c);
		return net_err(rv);
	}
	if ((rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_PRE, net_pipe_cb, c)) != 0 ||
	    (rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_POST, net_pipe_cb, c)) != 0 ||
	    (rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, net_pipe_cb, c)) != 0 ||
	    (rv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, max_msg)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, 86400000)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, timeout_ms)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, timeout_ms)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 50)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 1000)) != 0)
		goto fail;
	/* A blocking dial would wait out nng's own negotiation timeout (10 s)
	 * against a server that accepts the connection and never speaks: the
	 * dial goes on in the background and we wait for the connection with
	 * our own deadline. */
	if ((rv = nng_dial(c->sock, url, &c->dialer, NNG_FLAG_NONBLOCK)) != 0)
		goto fail;
	net_guard(c, timeout_ms, "la connexion au serveur");
	e = net_wait_connected(c, timeout_ms);
	net_unguard(c);
	if (e != RL_OK) {
		/* A connection may still come up meanwhile: the safe close. */
		rl_net_close(c);
		return e;
	}
	*out = c;
	return RL_OK;
fail:
	nng_close(c->sock);
	nng_aio_free(c->aio);
	net_free(c);
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

	net_guard(c, c->timeout_ms + NET_REDIAL_WAIT_MS, "l'envoi au serveur");
	for (int w = 0; atomic_load(&c->lost) && w < NET_REDIAL_WAIT_MS; w += NET_REDIAL_STEP_MS)
		nng_msleep(NET_REDIAL_STEP_MS);
	if (atomic_load(&c->lost)) {
		net_unguard(c);
		return RL_EUNREACH;
	}
	if ((rv = nng_msg_alloc(&m, 0)) != 0) {
		net_unguard(c);
		return net_err(rv);
	}
	if ((rv = nng_msg_append(m, req.p, req.len)) != 0) {
		nng_msg_free(m);
		net_unguard(c);
		return net_err(rv);
	}
	nng_aio_set_msg(c->aio, m);
	nng_aio_set_timeout(c->aio, c->timeout_ms);
	nng_send_aio(c->sock, c->aio);
	nng_aio_wait(c->aio);
	net_unguard(c);
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

	net_guard(c, c->timeout_ms, "l'attente de la réponse du serveur");
	nng_aio_wait(c->aio);
	net_unguard(c);
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

/*
 * nng 1.5.2 can wedge for good when a connection is closed while bytes
 * arrive on it: the TCP transport's receive callback re-arms its read (after
 * a partial read, or between a message's length and its body) without
 * looking whether the pipe was closed meanwhile; the closed read never
 * completes, so the REQ pipe's receive is never finished, the reaper thread
 * (one per process) waits on it forever in req0_pipe_stop, and nng_close
 * waits forever for the pipe to go (src/sp/transport/tcp/tcp.c
 * tcptran_pipe_recv_cb; found with a debug build of Debian's 1.5.2 under
 * tests/tools/netstress). A late answer after a timeout, a delayed segment,
 * anything the peer sends as we close can trigger it.
 *
 * So the connection is never closed by nng's close while it lives. The
 * socket under the pipe is shut down (shutdown(2), found among our
 * descriptors by its two addresses): nng's pending read sees the end of the
 * stream and tears the pipe down on its own error path, which has no such
 * race. The dialer redials at once (its random back-off is often negative
 * in 1.5.2): net_pipe_cb rejects the new connection before the protocol
 * starts reading on it. Once our pipe is gone, nng_close has nothing left to
 * wedge on but a redial still negotiating (its 8-byte header exchange: a
 * window of microseconds; the watchdog is the net for it).
 */

/* Whether ss is na; with port_only, whether they share family and port (a
 * listener on every address matches each connection it accepted). */
static bool
net_addr_eq(const struct sockaddr_storage *ss, const nng_sockaddr *na, bool port_only)
{
	if (ss->ss_family == AF_INET && na->s_family == NNG_AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		return a->sin_port == na->s_in.sa_port &&
		       (port_only || a->sin_addr.s_addr == na->s_in.sa_addr);
	}
	if (ss->ss_family == AF_INET6 && na->s_family == NNG_AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		return a->sin6_port == na->s_in6.sa_port &&
		       (port_only || memcmp(&a->sin6_addr, na->s_in6.sa_addr, 16) == 0);
	}
	return false;
}

struct conn_match {
	const nng_sockaddr *laddr, *raddr;
	int n;
};

static bool
conn_shutdown(int fd, const struct sockaddr_storage *l, const struct sockaddr_storage *r, void *arg)
{
	struct conn_match *m = arg;

	if (!net_addr_eq(l, m->laddr, m->raddr == NULL) ||
	    (m->raddr != NULL && !net_addr_eq(r, m->raddr, false)) || shutdown(fd, SHUT_RDWR) != 0)
		return true;
	m->n++;
	return m->raddr == NULL; /* one connection has one descriptor */
}

/*
 * Shuts down (shutdown(2), both ways) each of our connected sockets whose
 * local end is laddr and, when raddr is not NULL, whose peer is raddr; with
 * raddr NULL only the local port counts (the connections a listener
 * accepted). Returns how many.
 */
static int
net_shutdown_conns(const nng_sockaddr *laddr, const nng_sockaddr *raddr)
{
	struct conn_match m = { laddr, raddr, 0 };

	net_each_socket(conn_shutdown, &m);
	return m.n;
}

void
rl_net_close(rl_net_client *c)
{
	nng_sockaddr la, ra;
	bool up;

	if (c == NULL)
		return;
	net_guard(c, NET_QUIET_MAX_MS, "la fermeture de la connexion");
	atomic_store(&c->closing, true);
	pthread_mutex_lock(&c->mu);
	up = atomic_load(&c->pipe) != 0 && c->have_addr;
	la = c->laddr;
	ra = c->raddr;
	pthread_mutex_unlock(&c->mu);
	/* Our connection's end comes within milliseconds once it is shut down
	 * (its read is always pending); one that came up as we began shuts
	 * itself down (net_pipe_cb). Without a descriptor found, nothing
	 * will end it: a short wait only. */
	if (!up || net_shutdown_conns(&la, &ra) > 0)
		net_wait_none(c, NET_QUIET_MAX_MS);
	else
		net_wait_none(c, NET_QUIET_MIN_MS);
	nng_close(c->sock); /* no more pipe callbacks after this */
	net_unguard(c);
	nng_aio_free(c->aio);
	net_free(c);
}

void
rl_net_abandon(rl_net_client *c)
{
	/* Nothing is touched, c included (nng's callbacks still point at it):
	 * the process is about to exit, which ends the connection whatever
	 * state nng is in. */
	(void)c;
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
	nng_listener listener;
	atomic_int npipes;   /* connections that reached nng's pipe callbacks */
	atomic_bool stopping; /* rl_net_stop began: new connections are refused */
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

/* On an nng thread: counts the connections, and refuses new ones once the
 * server stops (every pipe that sees ADD_PRE later sees REM_POST). */
static void
srv_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	rl_net_server *s = arg;

	if (ev == NNG_PIPE_EV_ADD_PRE) {
		atomic_fetch_add(&s->npipes, 1);
		if (atomic_load(&s->stopping))
			nng_pipe_close(p);
	} else if (ev == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&s->npipes, 1);
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
	atomic_init(&s->npipes, 0);
	atomic_init(&s->stopping, false);
	if ((rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, max_msg)) != 0 ||
	    (rv = nng_pipe_notify(s->sock, NNG_PIPE_EV_ADD_PRE, srv_pipe_cb, s)) != 0 ||
	    (rv = nng_pipe_notify(s->sock, NNG_PIPE_EV_REM_POST, srv_pipe_cb, s)) != 0)
		goto fail;
	for (unsigned i = 0; i < nctx; i++) {
		rl_net_req *r = &s->reqs[i];

		r->srv = s;
		if ((rv = nng_aio_alloc(&r->aio, req_cb, r)) != 0 ||
		    (rv = nng_ctx_open(&r->ctx, s->sock)) != 0)
			goto fail;
		s->nreq = i + 1;
	}
	if ((rv = nng_listen(s->sock, url, &s->listener, 0)) != 0)
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

rl_err
rl_net_server_url(rl_net_server *s, char *out, size_t cap)
{
	nng_sockaddr sa;
	char host[INET6_ADDRSTRLEN];
	int n;

	if (nng_listener_get_addr(s->listener, NNG_OPT_LOCADDR, &sa) != 0)
		return RL_EINVAL;
	if (sa.s_family == NNG_AF_INET) {
		if (inet_ntop(AF_INET, &sa.s_in.sa_addr, host, sizeof(host)) == NULL)
			return RL_EINVAL;
		n = snprintf(out, cap, "tcp://%s:%u", host, (unsigned)ntohs(sa.s_in.sa_port));
	} else if (sa.s_family == NNG_AF_INET6) {
		if (inet_ntop(AF_INET6, sa.s_in6.sa_addr, host, sizeof(host)) == NULL)
			return RL_EINVAL;
		n = snprintf(out, cap, "tcp://[%s]:%u", host, (unsigned)ntohs(sa.s_in6.sa_port));
	} else
		return RL_EINVAL; /* not TCP: the url given is the address */
	return n > 0 && (size_t)n < cap ? RL_OK : RL_ETOOBIG;
}

void
rl_net_stop(rl_net_server *s)
{
	nng_sockaddr sa;

	if (s == NULL)
		return;
	/* As for a client (rl_net_close): connections are shut down under nng
	 * and torn down on nng's error path before the close. */
	atomic_store(&s->stopping, true);
	if (nng_listener_get_addr(s->listener, NNG_OPT_LOCADDR, &sa) == 0 &&
	    (sa.s_family == NNG_AF_INET || sa.s_family == NNG_AF_INET6)) {
		net_shutdown_conns(&sa, NULL);
		for (int w = 0; w < NET_QUIET_MAX_MS && atomic_load(&s->npipes) > 0; w++)
			nng_msleep(1);
	}
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
