/*
 * hub.h - the HQ store: device registry, enrollment tokens, ingest into feeds,
 * pulls by scope, audit trail.
 *
 * The hub is a replica (role server) whose store also holds:
 *
 *   STATES  sit -> record state: every change of a situation lives here only
 *   LOG     seq                -> ref           the global change log (appended)
 *   INDEX   "f" antenna 0 seq  -> feed entry    'P'+ref | 'C'+ref | 'D'+sit
 *   DEVICES device id -> registry record
 *   META    "tok:"+hex(token id) -> token record (secret, scope, expiry)
 *   AUDIT   seq -> event (time, device, kind, count, situations)
 *
 * A ref names a change (situation, clock, author, counter), 64 bytes; its
 * content is read from the situation's state when a pull sends it. One
 * sequence counter numbers log and feed entries alike, so a cursor is one
 * integer whatever the scope. An hq-role device reads the log; any other
 * device reads its antenna's feed, where 'P' is a change made while the
 * situation was the antenna's, 'C' a copy of an older change sent when the
 * situation was reassigned to it, and 'D' tells the device to drop a
 * situation reassigned away. An erasure purges the state, so every ref to
 * the erased changes finds nothing and is skipped; the erase itself goes to
 * every antenna the situation was ever assigned to. Those antennas are the
 * values of the antenna writes the state holds (a state keeps every change,
 * superseded writes included), so they need no index of their own: a
 * situation's first owner costs no random write beside its state.
 *
 * The hub's functions are not thread-safe by themselves: ingest runs on the
 * single writer thread; pulls take their own read transactions.
 */
#ifndef RL_HUB_H
#define RL_HUB_H

#include <stdbool.h>
#include <stdint.h>

#include "common/record.h"
#include "common/replica.h"
#include "proto/msg.h"
#include "proto/session.h"

#define RL_DEFAULT_SKEW_MS RL_PROTO_SKEW_MS     /* 1 h */
#define RL_TOKEN_TTL_MS (24u * 3600u * 1000u) /* 24 h */

typedef struct rl_device {
	uint8_t pk[RL_DEV_BYTES];
	char antenna[RL_ANTENNA_MAX + 1];
	rl_role role;
	char name[65];
	uint64_t enrolled_ms;
	uint64_t last_seen_ms;
	uint64_t changes;
	uint64_t revoked_ms; /* 0: not revoked */
} rl_device;

typedef struct rl_hub {
	rl_replica *rp;
	rl_store *st;
	uint64_t seq;     /* last sequence number committed */
	uint64_t skew_ms; /* accepted clock lead of devices */
} rl_hub;

/* The HQ store's LMDB map unless configured ([server] map_size, --map-size):
 * address space, not disk space (store.h); room for about 13 million
 * situations of 5 KiB, where the stores' 4 GiB default fills near 840,000. */
#define RL_HUB_DEFAULT_MAP ((size_t)64 << 30)

/* Opens the hub store (made by rl_replica_create with role server). opts may
 * be NULL; a map_bytes of 0 (or NULL opts) means RL_HUB_DEFAULT_MAP. Errors
 * as rl_replica_open, and RL_EINVAL if the store is not a server's. */
rl_err rl_hub_open(const char *dir, const rl_secret *s, const rl_store_opts *opts, rl_hub *hub);
void rl_hub_close(rl_hub *hub);

/* ---- devices and tokens ---- */

rl_err rl_hub_device_get(rl_txn *txn, const uint8_t pk[RL_DEV_BYTES], rl_device *d);
rl_err rl_hub_device_put(rl_txn *txn, const rl_device *d);

/* Makes a one-time token (hex in token[RL_TOKEN_HEX + 1]) for antenna/role,
 * valid ttl_ms. */
rl_err rl_hub_token_create(rl_hub *hub, const char *antenna, rl_role role, const char *name,
                           uint64_t ttl_ms, char token[RL_TOKEN_HEX + 1]);

/*
 * Enrolls the device of an ENROLL frame: checks the token (exists, unused,
 * unexpired, MAC), marks it used, registers the device, appends the ENROLLED
 * frame to reply. RL_EKEY for any token problem (one answer for all), RL_EEXIST
 * if the device is already enrolled.
 */
rl_err rl_hub_enroll(rl_hub *hub, rl_bytes frame, uint64_t now, rl_buf *reply);

/* Revokes a device at once. RL_ENOTFOUND. */
rl_err rl_hub_revoke(rl_hub *hub, const uint8_t pk[RL_DEV_BYTES], uint64_t now);

/* ---- ingest ---- */

/*
 * Ingests a change-set from dev in txn. First the check: the author is dev,
 * clocks are within skew of now, and every situation is in dev's scope as
 * its state stands; a set that fails is refused whole, *refused says why
 * (RL_EPERM: foreign author or scope, RL_ECLOCK, RL_EINVAL, RL_ETOOBIG) and
 * nothing is written. Otherwise the ops are merged into the states and
 * those that change a state are appended to the log and the feeds; *applied
 * counts them, *upto receives the greatest counter among ops (the client's
 * ack); the device's counters and an audit entry are written. The return
 * value is a write error (txn is then failed), RL_OK otherwise.
 */
rl_err rl_hub_push(rl_hub *hub, rl_txn *txn, rl_device *dev, const rl_op *ops, size_t n,
                   uint64_t now, rl_err *refused, size_t *applied, uint64_t *upto);

/* ---- pull ---- */

/*
 * Builds the PULL_OK body for dev from cursor: at most max entries and about
 * RL_BATCH_MAX_BYTES of operations. Appends to out. The situations sent are
 * appended to sits (16 bytes each, duplicates removed) for the audit trail.
 */
rl_err rl_hub_pull(rl_hub *hub, const rl_device *dev, uint64_t cursor, uint32_t max, rl_buf *out,
                   rl_buf *sits);

/* Writes an audit event in txn: kind is "push", "pull", "enroll", "revoke". */
rl_err rl_hub_audit(rl_hub *hub, rl_txn *txn, uint64_t now, const uint8_t dev[RL_DEV_BYTES],
                    const char *kind, uint64_t count, rl_bytes sits);

/* Persists hub->seq in txn (call before committing a txn that used seqs). */
rl_err rl_hub_save_seq(rl_hub *hub, rl_txn *txn);

#endif
