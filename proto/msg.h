/*
 * msg.h - the messages carried inside sealed frames, and wire error codes.
 *
 * Each message body is one msgpack array whose first element is its type.
 * Encoders append to an rl_buf; decoders take the opened plaintext, check
 * every count and length against the bounds below before using it, and
 * borrow byte ranges from the input (keep it alive while using the result).
 * PROTOCOL.md describes the same messages for people.
 */
#ifndef RL_MSG_H
#define RL_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/record.h"

#define RL_MSG_MAX_BYTES (8u << 20)     /* any frame on the wire */
#define RL_BATCH_MAX_OPS 16384          /* operations in one push */
#define RL_BATCH_MAX_BYTES (4u << 20)   /* encoded operations in one push or pull */
#define RL_PULL_MAX_ENTRIES 8192        /* entries in one pull answer */
#define RL_BATCH_MAX_REFS 65536         /* superseded/removed ids in one batch */
#define RL_PROTO_SKEW_MS (3600u * 1000u) /* how far ahead a change's clock may be */

enum rl_msg_type {
	RL_MSG_PUSH = 10,    /* [10, [op...]] */
	RL_MSG_PUSH_OK = 11, /* [11, applied, upto] */
	RL_MSG_PULL = 12,    /* [12, cursor, max_entries] */
	RL_MSG_PULL_OK = 13, /* [13, next_cursor, more, [entry...]] */
	RL_MSG_PING = 14,    /* [14] */
	RL_MSG_PONG = 15,    /* [15, server_time_ms] */
	RL_MSG_BYE = 16,     /* [16] */
	RL_MSG_ERROR = 99,   /* [99, code, text] */
};

/* Wire error codes: stable numbers, mapped to and from rl_err. */
enum rl_wire_code {
	RL_W_PROTO = 1,
	RL_W_VERSION = 2,
	RL_W_UNKNOWN_DEVICE = 3,
	RL_W_REVOKED = 4,
	RL_W_SCOPE = 5,
	RL_W_CLOCK = 6,
	RL_W_FULL = 7,
	RL_W_BUSY = 8,
	RL_W_TOOBIG = 9,
	RL_W_SESSION = 10,
	RL_W_INTERNAL = 11,
	RL_W_TOKEN = 12,
};

uint32_t rl_wire_code(rl_err e);
rl_err rl_wire_err(uint32_t code);

/* The type of a message body (its first array element). RL_EPROTO. */
rl_err rl_msg_type(rl_bytes body, uint32_t *type);

/* PUSH: ops are encoded with their situation. */
rl_err rl_msg_push_encode(const rl_op *ops, size_t n, rl_buf *out);
/* PUSH with already-encoded operations (each a complete msgpack op). */
rl_err rl_msg_push_encode_raw(const rl_bytes *ops, size_t n, rl_buf *out);

/*
 * Decodes a PUSH into ops[0..*n) (at most cap). Each op borrows its value
 * from body and its refs from pool (pool_cap ids in all, shared by the ops;
 * RL_ETOOBIG if exceeded). RL_ETOOBIG when the batch holds more than cap or
 * RL_BATCH_MAX_OPS operations; RL_EPROTO on malformed bytes, RL_EINVAL /
 * RL_ETOOBIG for an op that does not validate.
 */
rl_err rl_msg_push_decode(rl_bytes body, rl_op *ops, size_t cap, size_t *n, rl_opid *pool,
                          size_t pool_cap);

rl_err rl_msg_push_ok_encode(uint64_t applied, uint64_t upto, rl_buf *out);
rl_err rl_msg_push_ok_decode(rl_bytes body, uint64_t *applied, uint64_t *upto);

rl_err rl_msg_pull_encode(uint64_t cursor, uint32_t max_entries, rl_buf *out);
rl_err rl_msg_pull_decode(rl_bytes body, uint64_t *cursor, uint32_t *max_entries);

/* PULL_OK is built incrementally. Writes the header; entries follow (exactly n of them). */
rl_err rl_msg_pull_ok_begin(rl_buf *out, uint64_t next, bool more, uint32_t n);
/* An entry that is an encoded op (raw msgpack bytes as stored). */
rl_err rl_msg_pull_ok_op_raw(rl_buf *out, rl_bytes op);
/* An entry that says: drop this situation (it left your scope). */
rl_err rl_msg_pull_ok_drop(rl_buf *out, const uint8_t sit[RL_SIT_BYTES]);

/* One decoded entry of a PULL_OK. */
typedef struct rl_pull_entry {
	bool drop;
	uint8_t sit[RL_SIT_BYTES]; /* drop */
	rl_op op;                  /* !drop; borrows from body and the pool */
} rl_pull_entry;

rl_err rl_msg_pull_ok_decode(rl_bytes body, uint64_t *next, bool *more, rl_pull_entry *entries,
                             size_t cap, size_t *n, rl_opid *pool, size_t pool_cap);

rl_err rl_msg_pong_encode(uint64_t server_time, rl_buf *out);
rl_err rl_msg_simple_encode(uint32_t type, rl_buf *out); /* PING, BYE */
rl_err rl_msg_error_encode(uint32_t code, const char *text, rl_buf *out);
rl_err rl_msg_error_decode(rl_bytes body, uint32_t *code, rl_bytes *text);

#endif
