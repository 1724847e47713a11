/*
 * net.h - the one home of nng: a request socket for clients and an
 * asynchronous reply server.
 *
 * Clients make one request at a time (REQ over TCP): rl_net_call() sends and
 * waits for the answer with a deadline. nng's automatic resend is pushed out
 * of the way (a day): our sealed frames carry counters, so a resent request
 * would be refused as a replay anyway; the caller retries with a new session.
 *
 * The server runs a fixed number of REP contexts, each a small state machine
 * driven by nng callbacks (no thread per client). A received request goes to
 * the handler, which must answer exactly once with rl_net_reply(), from any
 * thread, immediately or later (after a group commit, say).
 */
#ifndef RL_NET_H
#define RL_NET_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "watchdog.h"

typedef struct rl_net_client rl_net_client;

/* Dials url (e.g. tcp://127.0.0.1:7401) and waits for the connection, at
 * most timeout_ms (which also bounds every later call). RL_EUNREACH if the
 * connection is refused or nobody answers in time, RL_ETIMEDOUT if a server
 * accepted the connection and said nothing in time, RL_EINVAL for a
 * malformed url. max_msg bounds answers. wd (may be NULL) is armed
 * (RL_WATCHDOG_STEP) around every call of this client that enters nng,
 * with the call's own bound and a margin, and disarmed after it. */
rl_err rl_net_dial(const char *url, size_t max_msg, int timeout_ms, rl_watchdog *wd,
                   rl_net_client **out);

/* Sends req and waits for the answer (replaces the content of resp).
 * RL_ETIMEDOUT, RL_EUNREACH (connection lost), RL_ECLOSED. */
rl_err rl_net_call(rl_net_client *c, rl_bytes req, rl_buf *resp);

/* The two halves of rl_net_call, so that a caller can work while the server
 * answers: one request at most is outstanding (a REQ socket), and each
 * rl_net_send must be followed by one rl_net_recv. */
rl_err rl_net_send(rl_net_client *c, rl_bytes req);
rl_err rl_net_recv(rl_net_client *c, rl_buf *resp);

/* After rl_net_send: whether rl_net_recv would return at once (the answer,
 * or the failure, is in), waiting up to about wait_ms for it. */
bool rl_net_ready(rl_net_client *c, int wait_ms);

/* Closes the socket and frees c. NULL-safe. A live connection is first shut
 * down under nng and its end awaited (5 s at most): nng 1.5.2 can wedge for
 * good when it closes a connection on which bytes arrive (net.c). */
void rl_net_close(rl_net_client *c);

/* For a process about to exit: leaves the socket to the exit, never
 * entering nng's close. c must not be used again. */
void rl_net_abandon(rl_net_client *c);

typedef struct rl_net_server rl_net_server;
typedef struct rl_net_req rl_net_req;

/* Called on an nng thread with a request; msg is valid until the reply. */
typedef void (*rl_net_handler)(void *arg, rl_net_req *req, rl_bytes msg);

/* Listens on url with nctx contexts. Port 0 lets the system choose a free
 * port (rl_net_server_url tells which). RL_EINVAL bad url, RL_EBUSY address
 * in use. */
rl_err rl_net_listen(const char *url, unsigned nctx, size_t max_msg, rl_net_handler h, void *arg,
                     rl_net_server **out);

/* The address the server listens on, as a url (tcp://HOST:PORT), the port
 * the system chose when the url asked for port 0. RL_EINVAL (not TCP),
 * RL_ETOOBIG (cap too small). */
rl_err rl_net_server_url(rl_net_server *s, char *out, size_t cap);

/* Answers a request (the bytes are copied). Exactly once per request. */
void rl_net_reply(rl_net_req *req, rl_bytes resp);

/* Stops receiving, waits for callbacks in flight, frees everything. Requests
 * not yet answered are abandoned: stop the threads that answer first. */
void rl_net_stop(rl_net_server *s);

#endif
