/*
 * states.c - the walk over the states table (see states.h).
 */
#include <string.h>

#include "states.h"

rl_err
rl_states_each(rl_txn *txn, rl_states_fn fn, void *arg)
{
	rl_cursor *c = NULL;
	rl_bytes k;
	rl_buf v;
	rl_err e;

	rl_buf_init(&v);
	if ((e = rl_cursor_open(txn, RL_T_STATES, &c)) != RL_OK)
		goto out;
	for (e = rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, &v); e == RL_OK;
	     e = rl_cursor_next(c, &k, &v)) {
		rl_record rec;

		if ((e = rl_record_decode(rl_buf_view(&v), &rec)) != RL_OK) {
			e = e == RL_ENOMEM ? e : RL_ECORRUPT;
			break;
		}
		if (k.len != RL_SIT_BYTES || memcmp(k.p, rec.sit, RL_SIT_BYTES) != 0)
			e = RL_ECORRUPT;
		else
			e = fn(arg, &rec);
		rl_record_fini(&rec);
		if (e != RL_OK)
			goto out; /* the callback's RL_ENOTFOUND is its own */
	}
	if (e == RL_ENOTFOUND)
		e = RL_OK; /* the end of the table */
out:
	rl_cursor_close(c);
	rl_buf_fini(&v);
	return e;
}

rl_err
rl_states_read(rl_store *st, rl_states_fn fn, void *arg)
{
	rl_txn *txn;
	rl_err e;

	if ((e = rl_store_begin(st, false, &txn)) != RL_OK)
		return e;
	e = rl_states_each(txn, fn, arg);
	rl_store_abort(txn);
	return e;
}
