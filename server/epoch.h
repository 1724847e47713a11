/*
 * epoch.h - the server store's epoch: which history of the store clients
 * talk to.
 *
 * A server restored from a backup has lost every change acknowledged after
 * the backup, and its sequence numbers restart below the cursors its clients
 * hold. Clients can only repair that (resend what they had pushed, pull from
 * the start) if they notice, so the store carries an epoch: 16 random bytes,
 * drawn when the store is first served and again the first time `run`
 * serves a store that `relais-server backup` wrote (the copy carries a mark
 * that `run` consumes). WELCOME sends the epoch and the last committed
 * sequence number (proto/PROTOCOL.md, "Server restores").
 *
 * Meta keys: "epoch" (16 bytes), "epoch_renew" (u64, 1 on a backup copy).
 */
#ifndef RL_EPOCH_H
#define RL_EPOCH_H

#include "hub.h"

typedef enum rl_epoch_event {
	RL_EPOCH_KEPT,     /* the store's epoch, as last served */
	RL_EPOCH_NEW,      /* a store never served: its first epoch */
	RL_EPOCH_RESTORED, /* a backup copy never served: a new epoch */
} rl_epoch_event;

/*
 * Loads the epoch for serving, drawing a new one when the store has none or
 * is a backup copy never served (the mark is then cleared), in one durable
 * transaction. *ev says which. Errors from the store.
 */
rl_err rl_epoch_start(rl_hub *hub, uint8_t epoch[RL_EPOCH_BYTES], rl_epoch_event *ev);

/* Marks hub (a backup copy just written) so that the first `run` on it, or
 * on any copy of it, draws a new epoch. */
rl_err rl_epoch_mark_copy(rl_hub *hub);

/* The last committed sequence number, read in its own read transaction. */
rl_err rl_epoch_seq(rl_hub *hub, uint64_t *seq);

#endif
