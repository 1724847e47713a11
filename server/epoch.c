/*
 * epoch.c - the store epoch of the HQ server (see epoch.h).
 *
 * Why a mark on the copy rather than a new epoch written into it: a backup
 * may be restored twice (restore, serve for a day, restore the same copy
 * again). Each time, clients may hold changes and cursors of a history the
 * copy does not have, so each first `run` must draw a fresh epoch; a fixed
 * epoch written at backup time would be reused by the second restore.
 */
#include <string.h>

#include "common/crypto.h"
#include "epoch.h"

rl_err
rl_epoch_start(rl_hub *hub, uint8_t epoch[RL_EPOCH_BYTES], rl_epoch_event *ev)
{
	uint64_t renew = 0;
	rl_txn *txn;
	rl_buf b;
	rl_err e;

	*ev = RL_EPOCH_KEPT;
	rl_buf_init(&b);
	if ((e = rl_store_begin(hub->st, true, &txn)) != RL_OK)
		goto out;
	if ((e = rl_meta_get_u64(txn, "epoch_renew", &renew)) != RL_OK)
		goto fail;
	e = rl_meta_get(txn, "epoch", &b);
	if (e != RL_OK && e != RL_ENOTFOUND)
		goto fail;
	if (e == RL_OK && b.len == RL_EPOCH_BYTES && renew == 0) {
		memcpy(epoch, b.data, RL_EPOCH_BYTES);
		rl_store_abort(txn);
		goto out;
	}
	rl_random(epoch, RL_EPOCH_BYTES);
	if ((e = rl_meta_put(txn, "epoch", RL_BYTES(epoch, RL_EPOCH_BYTES))) != RL_OK ||
	    (e = rl_meta_put_u64(txn, "epoch_renew", 0)) != RL_OK)
		goto fail;
	if ((e = rl_store_commit(txn)) == RL_OK)
		*ev = renew != 0 ? RL_EPOCH_RESTORED : RL_EPOCH_NEW;
	goto out;
fail:
	rl_store_abort(txn);
out:
	rl_buf_fini(&b);
	return e;
}

rl_err
rl_epoch_mark_copy(rl_hub *hub)
{
	rl_txn *txn;
	rl_err e;

	if ((e = rl_store_begin(hub->st, true, &txn)) != RL_OK)
		return e;
	if ((e = rl_meta_put_u64(txn, "epoch_renew", 1)) != RL_OK) {
		rl_store_abort(txn);
		return e;
	}
	return rl_store_commit(txn);
}

rl_err
rl_epoch_seq(rl_hub *hub, uint64_t *seq)
{
	rl_txn *txn;
	rl_err e;

	if ((e = rl_store_begin(hub->st, false, &txn)) != RL_OK)
		return e;
	e = rl_meta_get_u64(txn, "seq", seq);
	rl_store_abort(txn);
	return e;
}
