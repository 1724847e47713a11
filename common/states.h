/*
 * states.h - the one walk over the stored situations.
 *
 * Every reader of all situations (the client's list, alerts and export, its
 * change file, the HQ report) walks the states table through here, so that
 * each gets the same integrity check: a state that does not decode, or that
 * is stored under another situation's id, is RL_ECORRUPT, never skipped.
 */
#ifndef RL_STATES_H
#define RL_STATES_H

#include "record.h"
#include "store.h"

/* Called with each stored situation, in id order, erased ones included
 * (rec->erased: a tombstone). rec is valid during the call only. RL_OK goes
 * on; any other value stops the walk and is what rl_states_each returns. */
typedef rl_err (*rl_states_fn)(void *arg, const rl_record *rec);

/* Walks every state of the RL_T_STATES table in txn (the caller's read or
 * write transaction). Errors: the callback's, RL_ECORRUPT (a damaged
 * state), RL_ENOMEM, RL_EIO and the store's other errors. */
rl_err rl_states_each(rl_txn *txn, rl_states_fn fn, void *arg);

/* The same in a read transaction of its own on st. */
rl_err rl_states_read(rl_store *st, rl_states_fn fn, void *arg);

#endif
