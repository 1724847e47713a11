/*
 * sync.h - the client side of sync: enrollment, push, pull, probe.
 *
 * A sync opens a session (HELLO/WELCOME against the server key pinned at
 * enrollment), pushes the outbox in bounded batches, each acknowledged only
 * once the server's commit is durable, then pulls from the stored cursor in
 * bounded batches, applied with the new cursor in local transactions of a
 * few batches each. Both directions are pipelined (see sync.c). A cut link
 * loses at most the batches in flight or not yet committed; the next sync
 * resumes from the outbox and the cursor as they were last committed.
 *
 * The server may have been restored from a backup and lost changes it had
 * acknowledged: WELCOME carries its store epoch and last sequence number,
 * and a client that knew another epoch, or whose cursor is past that
 * sequence, makes every change it had pushed pending again (the outbox
 * keeps them past its acknowledged counter) and pulls again from 0, in one
 * local transaction, before pushing. Both are idempotent on either side.
 *
 * The client's metadata: "server_url", "server_pk" (pinned), "cursor" (feed
 * position), "server_epoch" (the server's store epoch last seen),
 * "last_sync" (ms), "clock_error" (1 when the server refused our clock);
 * the outbox's "acked" and "acked_n" are the replica's (replica.h).
 */
#ifndef RL_SYNC_H
#define RL_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/replica.h"
#include "common/watchdog.h"

#define RL_SYNC_TIMEOUT_MS 30000
#define RL_SYNC_PUSH_OPS 16384
#define RL_SYNC_PUSH_BYTES (3u << 20)
/* A pull commits what it applied every this many changes or bytes. */
#define RL_SYNC_PULL_COMMIT_OPS 24576
#define RL_SYNC_PULL_COMMIT_BYTES (5u << 19) /* 2.5 MiB */
/* ...and sooner when the next answer is not in after this long: the store's
 * write lock is not held while the network is slow. */
#define RL_SYNC_PULL_HOLD_MS 100

typedef struct rl_sync_progress {
	size_t pushed;  /* operations acknowledged so far */
	size_t pending; /* operations in the outbox when the sync began */
	size_t pulled;  /* entries received so far */
	bool pulling;
} rl_sync_progress;

typedef struct rl_sync_opts {
	const char *url;        /* NULL: the enrolled server's url */
	int timeout_ms;         /* per request; 0: RL_SYNC_TIMEOUT_MS */
	uint32_t push_ops;      /* 0: RL_SYNC_PUSH_OPS */
	size_t push_bytes;      /* 0: RL_SYNC_PUSH_BYTES */
	uint32_t pull_max;      /* 0: the server's bound */
	void (*progress)(void *arg, const rl_sync_progress *p);
	void *arg;
	bool probe;             /* connect only: never write to the store */
	rl_watchdog *wd;        /* armed around every network call (net.h); may be NULL */
	bool abandon;           /* the process exits after this sync: its sockets are
	                           left to the exit instead of closed (rl_net_abandon) */
} rl_sync_opts;

typedef struct rl_sync_stats {
	size_t pushed;
	size_t pulled;
	size_t dropped;
	uint64_t server_time;
	int64_t skew_ms;     /* our clock minus the server's, at the handshake */
	uint64_t bytes_sent; /* frames, as handed to NNG */
	uint64_t bytes_recv;
	uint64_t op_bytes;   /* msgpack size of the operations pushed and pulled */
	bool server_restored; /* the server lost acknowledged changes (restored) */
	size_t requeued;     /* changes put back in the outbox for it */
} rl_sync_stats;

/* An open session with the enrolled server (one request at a time). */
typedef struct rl_sync_conn rl_sync_conn;

/* Dials and handshakes; notices a restored server (see above), which
 * writes to the store. Errors as rl_sync_once. */
rl_err rl_sync_connect(rl_replica *rp, const rl_sync_opts *o, rl_sync_conn **out);
/* Pushes the whole outbox in batches. */
rl_err rl_sync_push_all(rl_sync_conn *c);
/* Pulls until the feed is exhausted. */
rl_err rl_sync_pull_all(rl_sync_conn *c);
/* PING/PONG round trip. */
rl_err rl_sync_ping_conn(rl_sync_conn *c);
/* Counters so far. */
const rl_sync_stats *rl_sync_conn_stats(const rl_sync_conn *c);
/* Closes the session. NULL-safe. */
void rl_sync_disconnect(rl_sync_conn *c);

/*
 * Joins the server at url with a token from `relais-server enroll`: pins the
 * server key and takes the antenna and role the server assigned. Errors:
 * RL_EUNREACH, RL_EKEY (token refused, used or expired), RL_ECRYPTO (the
 * answer does not prove knowledge of the token), RL_EEXIST, RL_EPROTO.
 * For a process that exits after it: its socket is left to the exit.
 */
rl_err rl_sync_enroll(rl_replica *rp, const char *url, const char *token, const char *name);

/* Whether this replica is enrolled (has a pinned server). */
bool rl_sync_enrolled(rl_replica *rp);

/*
 * One full sync: push everything, then pull everything. RL_OK only if both
 * completed. Errors: RL_ENOSTORE (not enrolled), RL_EUNREACH, RL_ETIMEDOUT,
 * RL_EREVOKED, RL_EPERM (unknown device or scope refused), RL_ECLOCK,
 * RL_EPROTO, RL_ECRYPTO (server key mismatch), RL_EFULL (server disk full)...
 * stats may be NULL.
 */
rl_err rl_sync_once(rl_replica *rp, const rl_sync_opts *o, rl_sync_stats *stats);

#endif
