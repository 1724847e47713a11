/*
 * record.h - the situation record: changes (operations), merge, state hash.
 *
 * A situation is one record, identified by 16 random bytes made offline. It
 * changes only through operations ("changes"), each with a unique id (the
 * author device's 32-byte public identity key and a per-device counter) and
 * a hybrid logical clock timestamp. The record's state is the set of
 * operations it has seen, kept sorted by (hlc, device, counter); every view a
 * coordinator reads is computed from that set:
 *
 *   registers   RL_OP_REG writes a field and names the values it supersedes
 *               (the ones its author saw). The live values of a field are
 *               those no present write supersedes: one value normally,
 *               several after concurrent writes (a conflict). The displayed
 *               winner is the live value with the greatest (hlc, device,
 *               counter).
 *   sets        RL_OP_ADD adds an element; RL_OP_REM removes the adds its
 *               author had observed. An element is present while some add of
 *               it is not removed (add wins over a concurrent remove).
 *   journal     RL_OP_JOURNAL entries are immutable; an amendment is a new
 *               entry whose target is the entry it corrects.
 *   alerts      RL_OP_ALERT creates an alert whose due date, text and done
 *               flag are registers targeted at the alert's id; the alert op
 *               itself is their initial value.
 *   erase       RL_OP_ERASE is a tombstone: it purges every other operation
 *               and makes the record ignore all later ones. Only the smallest
 *               erase operation is kept, so erasures merge like the rest.
 *
 * Merging is set union (with the erase rule), hence commutative, associative
 * and idempotent; the canonical encoding of the sorted set makes replicas
 * that have seen the same changes byte-identical, and its BLAKE2b hash is the
 * state hash.
 *
 * Memory: a record owns deep copies of its operations. Decoded operations
 * (rl_op_decode) borrow from the input and from a caller's scratch array.
 */
#ifndef RL_RECORD_H
#define RL_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "hlc.h"
#include "mp.h"

#define RL_SIT_BYTES 16
#define RL_DEV_BYTES 32
#define RL_MAX_VALUE (64 * 1024)   /* register value, journal or alert text */
#define RL_MAX_ELEM 128            /* set element (problem code, referrer...) */
#define RL_MAX_REFS 256            /* values one write supersedes / adds one remove removes */
#define RL_MAX_RECORD_OPS 200000   /* operations in one record state */
#define RL_RECORD_VERSION 1

typedef struct rl_opid {
	uint8_t dev[RL_DEV_BYTES];
	uint64_t ctr;
} rl_opid;

typedef enum rl_op_kind {
	RL_OP_REG = 1,
	RL_OP_ADD = 2,
	RL_OP_REM = 3,
	RL_OP_JOURNAL = 4,
	RL_OP_ALERT = 5,
	RL_OP_ERASE = 6,
} rl_op_kind;

/* Register fields. Situation fields have no target; alert fields target the
 * alert. Values are UTF-8 strings (dates as YYYY-MM-DD, age as digits). */
typedef enum rl_field {
	RL_F_KIND = 1,      /* coordination | orientation */
	RL_F_STATUS,        /* open | closed */
	RL_F_CONSENT,       /* oui | non | en_attente */
	RL_F_ANTENNA,       /* owning antenna code: decides who receives it */
	RL_F_INITIALS,
	RL_F_SEX,           /* F | M | X */
	RL_F_AGE,
	RL_F_COMMUNE,
	RL_F_LIVING,        /* living situation */
	RL_F_HISTORY,
	RL_F_EVOLUTION,     /* 2-month evolution */
	RL_F_OPENED,        /* opening date */
	RL_F_CLOSE_REASON,
	RL_F_CLOSED,        /* closing date */
	RL_F__SITUATION_END,
	RL_F_ALERT_DUE = 32,
	RL_F_ALERT_TEXT,
	RL_F_ALERT_DONE,    /* oui | non */
	RL_F__ALERT_END,
} rl_field;

typedef enum rl_set {
	RL_SET_PROBLEMS = 1,
	RL_SET_REFERRERS,
	RL_SET_PROS,
	RL_SET__END,
} rl_set;

typedef enum rl_jtype {
	RL_J_VAD = 1, /* home visit */
	RL_J_APPEL,
	RL_J_REUNION,
	RL_J_ORIENTATION,
	RL_J_NOTE,
	RL_J__END,
} rl_jtype;

typedef struct rl_op {
	uint8_t sit[RL_SIT_BYTES];
	rl_opid id;
	rl_hlc hlc;
	uint8_t kind;        /* rl_op_kind */
	uint8_t field;       /* REG: rl_field; ADD/REM: rl_set; JOURNAL: rl_jtype; else 0 */
	bool has_target;
	rl_opid target;      /* REG of an alert field: the alert; JOURNAL: entry amended */
	uint32_t date;       /* JOURNAL: entry date; ALERT: due date; YYYYMMDD; else 0 */
	rl_bytes value;      /* REG: value; ADD/REM: element; JOURNAL/ALERT: text */
	uint32_t nrefs;
	const rl_opid *refs; /* REG: superseded values; REM: removed adds */
} rl_op;

typedef struct rl_record {
	uint8_t sit[RL_SIT_BYTES];
	bool erased;
	size_t nops;
	size_t cap;
	rl_op **ops;         /* sorted by rl_op_cmp, each a single heap block */
} rl_record;

/* ---- names ---- */

/* Field, set and journal-type names as users type them ("consent",
 * "problems", "vad"). Parsing returns 0 for an unknown name. */
const char *rl_field_name(uint8_t f);
uint8_t rl_field_parse(const char *s);
const char *rl_jtype_name(uint8_t t);
uint8_t rl_jtype_parse(const char *s);

/* ---- operations ---- */

/* Total order of operations: hlc, then device, then counter. */
int rl_op_cmp(const rl_op *a, const rl_op *b);
int rl_opid_cmp(const rl_opid *a, const rl_opid *b);

/* Checks the semantic bounds of an operation (kind, field, sizes, dates,
 * targets). RL_EINVAL or RL_ETOOBIG with nothing else said. */
rl_err rl_op_validate(const rl_op *op);

/* Validates a date YYYYMMDD (a day that exists, years 1900..2999). */
bool rl_date_valid(uint32_t ymd);
/* Parses "YYYY-MM-DD" exactly into YYYYMMDD. RL_EINVAL. */
rl_err rl_date_parse(const char *s, size_t len, uint32_t *ymd);
/* Today's local date as YYYYMMDD. */
uint32_t rl_date_today(void);
/* Formats YYYYMMDD as "YYYY-MM-DD" into out[11]. */
void rl_date_format(uint32_t ymd, char out[11]);

/*
 * Encodes op as a msgpack array; with_sit false leaves the situation id out
 * (inside a record state it is implicit). Errors are left in w.
 */
void rl_op_encode(rl_mpw *w, const rl_op *op, bool with_sit);

/*
 * Decodes one operation. The op borrows value bytes from r's input and refs
 * from scratch (capacity RL_MAX_REFS). With with_sit false, op->sit is left
 * untouched. Validates the result. RL_EPROTO on malformed bytes, RL_EINVAL /
 * RL_ETOOBIG from rl_op_validate.
 */
rl_err rl_op_decode(rl_mpr *r, rl_op *op, rl_opid *scratch, bool with_sit);

/* A deep copy of op in one heap block (free() it). NULL on allocation failure. */
rl_op *rl_op_dup(const rl_op *op);

/* ---- records ---- */

void rl_record_init(rl_record *rec, const uint8_t sit[RL_SIT_BYTES]);
void rl_record_fini(rl_record *rec);

/*
 * Merges one operation into the record. *changed (may be NULL) says whether
 * the state changed: false for a duplicate, for an operation on an erased
 * record, or for an erase greater than the one kept. RL_EINVAL if the op is
 * for another situation or does not validate; RL_ETOOBIG past
 * RL_MAX_RECORD_OPS; RL_ENOMEM. On error the record is unchanged.
 */
rl_err rl_record_apply(rl_record *rec, const rl_op *op, bool *changed);

/*
 * Moves the operation (hlc, id) to a new clock value: the one repair a
 * device may make to its own changes that no other replica has seen (the
 * server refused them because the device's clock ran ahead). RL_ENOTFOUND.
 */
rl_err rl_record_restamp(rl_record *rec, rl_hlc hlc, const rl_opid *id, rl_hlc new_hlc);

/* Merges every operation of src into rec (same situation). */
rl_err rl_record_merge(rl_record *rec, const rl_record *src);

/* True if the record holds an operation with this id. */
bool rl_record_has(const rl_record *rec, const rl_op *op);

/* Canonical encoding of the state, appended to out. */
rl_err rl_record_encode(const rl_record *rec, rl_buf *out);

/*
 * Decodes a state made by rl_record_encode into rec (initialised by the
 * call; on error rec is empty and needs no fini). Checks bounds, op validity
 * and strict ordering. RL_EPROTO, RL_EINVAL, RL_ETOOBIG, RL_ENOMEM.
 */
rl_err rl_record_decode(rl_bytes in, rl_record *rec);

/* BLAKE2b-256 of the canonical encoding. */
rl_err rl_record_hash(const rl_record *rec, uint8_t out[RL_HASH_BYTES]);

/* ---- views ---- */

/* One live value of a register. value borrows from the record (or from
 * text, for values rendered from an alert op) until the record changes. */
typedef struct rl_regval {
	const rl_op *op; /* the write (or alert op) that gave this value */
	rl_bytes value;
	char text[12];   /* storage for values rendered from an alert op */
} rl_regval;

/*
 * The live values of a register, winner first, then in decreasing
 * (hlc, device, counter). target is NULL for a situation field, else the
 * alert id. Writes at most cap values; returns how many are live (0: never
 * written). More than one live value is a conflict.
 */
size_t rl_record_reg(const rl_record *rec, const rl_opid *target, uint8_t field,
                     rl_regval *vals, size_t cap);

/* The displayed value of a register (the winner), or a zero-length view. */
rl_bytes rl_record_get(const rl_record *rec, uint8_t field);

/*
 * The elements present in a set, sorted bytewise, without duplicates. *out is
 * a heap array (free() it, not its elements, which borrow from rec).
 */
rl_err rl_record_set(const rl_record *rec, uint8_t set, rl_bytes **out, size_t *n);

/* The ids of the live adds of elem in set (what a remove must name). Writes
 * at most cap; returns how many there are. */
size_t rl_record_set_adds(const rl_record *rec, uint8_t set, rl_bytes elem, rl_opid *out,
                          size_t cap);

/* The operations of one kind (RL_OP_JOURNAL, RL_OP_ALERT), as a heap array of
 * borrowed pointers: the journal sorted by (date, hlc order), alerts in
 * (hlc, device, counter) order like the state. free() the array. */
rl_err rl_record_list(const rl_record *rec, uint8_t kind, const rl_op ***out, size_t *n);

/* The operation with this id, or NULL. */
const rl_op *rl_record_find(const rl_record *rec, const rl_opid *id);

/* The operation with this clock and id, or NULL: a binary search, where
 * rl_record_find scans. */
const rl_op *rl_record_lookup(const rl_record *rec, rl_hlc hlc, const rl_opid *id);

#endif
