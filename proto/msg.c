/*
 * msg.c - encode and decode the messages inside sealed frames.
 *
 * Decoders trust nothing: counts are bounded before loops (by the caller's
 * capacity and by the bytes left, in rl_mpr), every operation goes through
 * rl_op_decode (which validates it), and refs are copied into a bounded pool
 * shared by the whole batch so a batch cannot make us allocate.
 */
#include <string.h>

#include "common/mp.h"
#include "msg.h"

static const struct {
	rl_err err;
	uint32_t code;
} wire_map[] = {
	{ RL_EPROTO, RL_W_PROTO },     { RL_EVERSION, RL_W_VERSION },
	{ RL_ENOTFOUND, RL_W_UNKNOWN_DEVICE }, { RL_EREVOKED, RL_W_REVOKED },
	{ RL_EPERM, RL_W_SCOPE },      { RL_ECLOCK, RL_W_CLOCK },
	{ RL_EFULL, RL_W_FULL },       { RL_EBUSY, RL_W_BUSY },
	{ RL_ETOOBIG, RL_W_TOOBIG },   { RL_ECLOSED, RL_W_SESSION },
	{ RL_EIO, RL_W_INTERNAL },     { RL_EKEY, RL_W_TOKEN },
};

uint32_t
rl_wire_code(rl_err e)
{
	for (size_t i = 0; i < sizeof(wire_map) / sizeof(wire_map[0]); i++)
		if (wire_map[i].err == e)
			return wire_map[i].code;
	if (e == RL_EINVAL)
		return RL_W_PROTO;
	return RL_W_INTERNAL;
}

rl_err
rl_wire_err(uint32_t code)
{
	for (size_t i = 0; i < sizeof(wire_map) / sizeof(wire_map[0]); i++)
		if (wire_map[i].code == code)
			return wire_map[i].err;
	return RL_EPROTO;
}

rl_err
rl_msg_type(rl_bytes body, uint32_t *type)
{
	uint32_t n;
	uint64_t t;
	rl_mpr r;

	rl_mpr_init(&r, body.p, body.len);
	if (rl_mpr_array(&r, 16, &n) != RL_OK || n == 0 || rl_mpr_uint(&r, 255, &t) != RL_OK)
		return RL_EPROTO;
	*type = (uint32_t)t;
	return RL_OK;
}

rl_err
rl_msg_push_encode(const rl_op *ops, size_t n, rl_buf *out)
{
	rl_mpw w;

	if (n > RL_BATCH_MAX_OPS)
		return RL_ETOOBIG;
	rl_mpw_init(&w, out);
	rl_mpw_array(&w, 2);
	rl_mpw_uint(&w, RL_MSG_PUSH);
	rl_mpw_array(&w, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		rl_op_encode(&w, &ops[i], true);
	return rl_mpw_err(&w);
}

rl_err
rl_msg_push_encode_raw(const rl_bytes *ops, size_t n, rl_buf *out)
{
	rl_mpw w;
	rl_err e;

	if (n > RL_BATCH_MAX_OPS)
		return RL_ETOOBIG;
	rl_mpw_init(&w, out);
	rl_mpw_array(&w, 2);
	rl_mpw_uint(&w, RL_MSG_PUSH);
	rl_mpw_array(&w, (uint32_t)n);
	if ((e = rl_mpw_err(&w)) != RL_OK)
		return e;
	for (size_t i = 0; i < n; i++)
		if ((e = rl_buf_append(out, ops[i].p, ops[i].len)) != RL_OK)
			return e;
	return RL_OK;
}

/* Decodes one op and moves its refs into the shared pool. */
static rl_err
decode_op_pooled(rl_mpr *r, rl_op *op, rl_opid *scratch, rl_opid *pool, size_t pool_cap,
                 size_t *used)
{
	rl_err e;

	if ((e = rl_op_decode(r, op, scratch, true)) != RL_OK)
		return e;
	if (op->nrefs > pool_cap - *used)
		return RL_ETOOBIG;
	memcpy(pool + *used, scratch, op->nrefs * sizeof(rl_opid));
	op->refs = pool + *used;
	*used += op->nrefs;
	return RL_OK;
}

rl_err
rl_msg_push_decode(rl_bytes body, rl_op *ops, size_t cap, size_t *n, rl_opid *pool,
                   size_t pool_cap)
{
	rl_opid scratch[RL_MAX_REFS];
	size_t used = 0;
	uint64_t type;
	uint32_t cnt;
	rl_mpr r;
	rl_err e;

	*n = 0;
	rl_mpr_init(&r, body.p, body.len);
	rl_mpr_array_n(&r, 2);
	rl_mpr_uint(&r, 255, &type);
	if (r.err == RL_OK && type != RL_MSG_PUSH)
		return RL_EPROTO;
	/* The count is first bounded by the bytes left (rl_mpr_array), then by
	 * the protocol: a well-formed batch that is too long is RL_ETOOBIG
	 * (wire error "toobig"), not malformed. */
	if (rl_mpr_array(&r, UINT32_MAX, &cnt))
		return RL_EPROTO;
	if (cnt > cap || cnt > RL_BATCH_MAX_OPS)
		return RL_ETOOBIG;
	for (uint32_t i = 0; i < cnt; i++)
		if ((e = decode_op_pooled(&r, &ops[i], scratch, pool, pool_cap, &used)) != RL_OK)
			return e;
	if (rl_mpr_done(&r) != RL_OK)
		return RL_EPROTO;
	*n = cnt;
	return RL_OK;
}

rl_err
rl_msg_push_ok_encode(uint64_t applied, uint64_t upto, rl_buf *out)
{
	rl_mpw w;

	rl_mpw_init(&w, out);
	rl_mpw_array(&w, 3);
	rl_mpw_uint(&w, RL_MSG_PUSH_OK);
	rl_mpw_uint(&w, applied);
	rl_mpw_uint(&w, upto);
	return rl_mpw_err(&w);
}

rl_err
rl_msg_push_ok_decode(rl_bytes body, uint64_t *applied, uint64_t *upto)
{
	uint64_t type;
	rl_mpr r;

	rl_mpr_init(&r, body.p, body.len);
	rl_mpr_array_n(&r, 3);
	rl_mpr_uint(&r, 255, &type);
	rl_mpr_uint(&r, UINT64_MAX, applied);
	rl_mpr_uint(&r, UINT64_MAX, upto);
	if (rl_mpr_done(&r) != RL_OK || type != RL_MSG_PUSH_OK)
		return RL_EPROTO;
	return RL_OK;
}

rl_err
rl_msg_pull_encode(uint64_t cursor, uint32_t max_entries, rl_buf *out)
{
	rl_mpw w;

	rl_mpw_init(&w, out);
	rl_mpw_array(&w, 3);
	rl_mpw_uint(&w, RL_MSG_PULL);
	rl_mpw_uint(&w, cursor);
	rl_mpw_uint(&w, max_entries);
	return rl_mpw_err(&w);
}

rl_err
rl_msg_pull_decode(rl_bytes body, uint64_t *cursor, uint32_t *max_entries)
{
	uint64_t type, m;
	rl_mpr r;

	rl_mpr_init(&r, body.p, body.len);
	rl_mpr_array_n(&r, 3);
	rl_mpr_uint(&r, 255, &type);
	rl_mpr_uint(&r, UINT64_MAX, cursor);
	rl_mpr_uint(&r, UINT32_MAX, &m);
	if (rl_mpr_done(&r) != RL_OK || type != RL_MSG_PULL)
		return RL_EPROTO;
	*max_entries = m == 0 || m > RL_PULL_MAX_ENTRIES ? RL_PULL_MAX_ENTRIES : (uint32_t)m;
	return RL_OK;
}

rl_err
rl_msg_pull_ok_begin(rl_buf *out, uint64_t next, bool more, uint32_t n)
{
	rl_mpw w;

	rl_mpw_init(&w, out);
	rl_mpw_array(&w, 4);
	rl_mpw_uint(&w, RL_MSG_PULL_OK);
	rl_mpw_uint(&w, next);
	rl_mpw_bool(&w, more);
	rl_mpw_array(&w, n);
	return rl_mpw_err(&w);
}

rl_err
rl_msg_pull_ok_op_raw(rl_buf *out, rl_bytes op)
{
	return rl_buf_append(out, op.p, op.len);
}

rl_err
rl_msg_pull_ok_drop(rl_buf *out, const uint8_t sit[RL_SIT_BYTES])
{
	rl_mpw w;

	rl_mpw_init(&w, out);
	rl_mpw_bin(&w, sit, RL_SIT_BYTES);
	return rl_mpw_err(&w);
}

rl_err
rl_msg_pull_ok_decode(rl_bytes body, uint64_t *next, bool *more, rl_pull_entry *entries,
                      size_t cap, size_t *n, rl_opid *pool, size_t pool_cap)
{
	rl_opid scratch[RL_MAX_REFS];
	size_t used = 0;
	uint64_t type;
	uint32_t cnt;
	rl_mpr r;
	rl_err e;

	*n = 0;
	rl_mpr_init(&r, body.p, body.len);
	rl_mpr_array_n(&r, 4);
	rl_mpr_uint(&r, 255, &type);
	rl_mpr_uint(&r, UINT64_MAX, next);
	rl_mpr_bool(&r, more);
	if (r.err != RL_OK || type != RL_MSG_PULL_OK)
		return RL_EPROTO;
	if (rl_mpr_array(&r, (uint32_t)(cap < RL_PULL_MAX_ENTRIES ? cap : RL_PULL_MAX_ENTRIES), &cnt))
		return RL_EPROTO;
	for (uint32_t i = 0; i < cnt; i++) {
		rl_pull_entry *en = &entries[i];

		en->drop = rl_mpr_peek(&r) == RL_MP_BIN;
		if (en->drop) {
			if (rl_mpr_bin_n(&r, RL_SIT_BYTES, en->sit) != RL_OK)
				return RL_EPROTO;
		} else if ((e = decode_op_pooled(&r, &en->op, scratch, pool, pool_cap, &used)) !=
		           RL_OK)
			return e;
	}
	if (rl_mpr_done(&r) != RL_OK)
		return RL_EPROTO;
	*n = cnt;
	return RL_OK;
}

rl_err
rl_msg_pong_encode(uint64_t server_time, rl_buf *out)
{
	rl_mpw w;

	rl_mpw_init(&w, out);
	rl_mpw_array(&w, 2);
	rl_mpw_uint(&w, RL_MSG_PONG);
	rl_mpw_uint(&w, server_time);
	return rl_mpw_err(&w);
}

rl_err
rl_msg_simple_encode(uint32_t type, rl_buf *out)
{
	rl_mpw w;

	rl_mpw_init(&w, out);
	rl_mpw_array(&w, 1);
	rl_mpw_uint(&w, type);
	return rl_mpw_err(&w);
}

rl_err
rl_msg_error_encode(uint32_t code, const char *text, rl_buf *out)
{
	rl_mpw w;

	rl_mpw_init(&w, out);
	rl_mpw_array(&w, 3);
	rl_mpw_uint(&w, RL_MSG_ERROR);
	rl_mpw_uint(&w, code);
	rl_mpw_cstr(&w, text);
	return rl_mpw_err(&w);
}

rl_err
rl_msg_error_decode(rl_bytes body, uint32_t *code, rl_bytes *text)
{
	uint64_t type, c;
	rl_mpr r;

	rl_mpr_init(&r, body.p, body.len);
	rl_mpr_array_n(&r, 3);
	rl_mpr_uint(&r, 255, &type);
	rl_mpr_uint(&r, UINT32_MAX, &c);
	rl_mpr_str(&r, 200, text);
	if (rl_mpr_done(&r) != RL_OK || type != RL_MSG_ERROR)
		return RL_EPROTO;
	*code = (uint32_t)c;
	return RL_OK;
}
