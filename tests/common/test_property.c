/*
 * test_property.c - the convergence property of the situation record.
 *
 * Each schedule runs 3 to 9 in-memory replicas of one situation (rl_record,
 * no store). Replicas make operations the way rl_edit does (a register write
 * supersedes the values its writer sees, a remove names the adds its writer
 * sees, journal entries and amendments, alerts and their register writes,
 * now and then an erase), and operations travel between replicas one by one
 * or in bursts, in random order, with duplicates, out of causal order, and
 * by whole-record merges; replicas go silent (offline: they keep editing but
 * send and receive nothing) and come back. At the end every replica receives
 * everything. Then:
 *
 *   - all replicas hold byte-identical encodings and equal state hashes;
 *   - no journal entry is lost, unless the situation was erased;
 *   - the live values of every register are exactly the generated writes (or
 *     alert ops) that no generated write supersedes, computed here from the
 *     operation log without rl_record_reg, and the displayed winner is the
 *     greatest by (hlc, device, counter);
 *   - the elements of every set are exactly those with an add no generated
 *     remove names;
 *   - once a replica holds an erase it never holds anything else, and at the
 *     end all replicas hold exactly the smallest erase generated.
 *
 * A model of what each replica has seen is kept alongside, and every
 * replica's record is compared with it after each step it takes part in.
 * Merge is also checked directly for commutativity, associativity and
 * idempotence on records built from random subsets of each schedule's
 * operations.
 *
 * Schedules are reproducible: schedule i uses seed base+i. The base is random
 * unless RL_PROP_SEED is set; RL_PROP_N sets the number of schedules
 * (default 10000). A failure prints the seed and the command that replays it.
 */
#include "rl_test.h"

#include <inttypes.h>

#include "common/crypto.h"
#include "common/record.h"

#define MAX_REPS 9
#define MAX_OPS 400
#define NELEMS 4
#define DEFAULT_N 10000
#define BASE_MS 1700000000000ull

static uint64_t g_seed; /* the schedule running, for failure messages */

static void
print_seed(void)
{
	fprintf(stderr, "property failed in schedule seed %" PRIu64 "; replay with: RL_PROP_SEED=%" PRIu64
	                " RL_PROP_N=1 %s\n",
	        g_seed, g_seed, "build/tests/common/test_property");
}

#define PCHECK(cond, ...)                                                                   \
	do {                                                                                    \
		if (!(cond)) {                                                                      \
			print_seed();                                                                   \
			fail_msg(__VA_ARGS__);                                                          \
		}                                                                                   \
	} while (0)

#define P_OK(expr)                                                                          \
	do {                                                                                    \
		rl_err p_ok_e_ = (expr);                                                            \
		PCHECK(p_ok_e_ == RL_OK, "%s: %s", #expr, rl_strerror(p_ok_e_));                    \
	} while (0)

/* ---- seeded PRNG (splitmix64) ---- */

typedef struct rng {
	uint64_t s;
} rng;

static uint64_t
rng_next(rng *g)
{
	uint64_t z = (g->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0 (the modulo bias is irrelevant here). */
static uint32_t
rng_below(rng *g, uint32_t n)
{
	return (uint32_t)(rng_next(g) % n);
}

static bool
rng_chance(rng *g, uint32_t percent)
{
	return rng_below(g, 100) < percent;
}

/* ---- the model ---- */

typedef struct rep {
	rl_record rec;
	uint8_t dev[RL_DEV_BYTES];
	uint64_t ctr;
	rl_clock clock;
	int skew;         /* ms of wall clock skew */
	int silent_until; /* offline while step < silent_until */
	bool erased_once;
	uint8_t seen[MAX_OPS]; /* ops this replica's record has received */
} rep;

typedef struct sched {
	rng g;
	uint8_t sit[RL_SIT_BYTES];
	int nrep;
	rep reps[MAX_REPS];
	rl_op *log[MAX_OPS]; /* every op generated, owned */
	int origin[MAX_OPS];
	bool published[MAX_OPS]; /* left its author (author was online) */
	size_t nlog;
	int step;
	bool erasing; /* this schedule may erase */
	int sfields[4];
} sched;

static const char *const elem_pool[NELEMS] = { "logement", "justice", "addiction", "precarite" };
static const uint8_t sit_fields[] = { RL_F_STATUS, RL_F_CONSENT, RL_F_AGE, RL_F_ANTENNA };
static const uint8_t alert_fields[] = { RL_F_ALERT_DUE, RL_F_ALERT_TEXT, RL_F_ALERT_DONE };

/* Order of operations, written out here rather than taken from rl_op_cmp. */
static int
my_cmp(const rl_op *a, const rl_op *b)
{
	int c;

	if (a->hlc != b->hlc)
		return a->hlc < b->hlc ? -1 : 1;
	if ((c = memcmp(a->id.dev, b->id.dev, RL_DEV_BYTES)) != 0)
		return c;
	return a->id.ctr < b->id.ctr ? -1 : a->id.ctr > b->id.ctr;
}

static bool
id_eq(const rl_opid *a, const rl_opid *b)
{
	return a->ctr == b->ctr && memcmp(a->dev, b->dev, RL_DEV_BYTES) == 0;
}

static bool
online(const sched *s, int r)
{
	return s->step >= s->reps[r].silent_until;
}

/* mask: the ops to consider (a replica's seen array), NULL for all. */
static bool
in(const uint8_t *mask, size_t k)
{
	return mask == NULL || mask[k];
}

/* The smallest erase in mask, or -1. */
static long
model_min_erase(const sched *s, const uint8_t *mask)
{
	long best = -1;

	for (size_t k = 0; k < s->nlog; k++)
		if (in(mask, k) && s->log[k]->kind == RL_OP_ERASE &&
		    (best < 0 || my_cmp(s->log[k], s->log[best]) < 0))
			best = (long)k;
	return best;
}

static bool
is_write_to(const rl_op *op, const rl_opid *target, uint8_t field)
{
	if (op->kind != RL_OP_REG || op->field != field || op->has_target != (target != NULL))
		return false;
	return target == NULL || id_eq(&op->target, target);
}

/*
 * The live values of register (target, field) among the ops in mask: the
 * writes to it (and, for an alert field, the alert op itself) that no write
 * to it in mask names. Fills out[] with log indexes; returns the count.
 */
static size_t
model_live(const sched *s, const uint8_t *mask, const rl_opid *target, uint8_t field,
           size_t *out)
{
	size_t n = 0;

	for (size_t k = 0; k < s->nlog; k++) {
		const rl_op *op = s->log[k];
		bool cand = is_write_to(op, target, field) ||
		            (target != NULL && op->kind == RL_OP_ALERT && id_eq(&op->id, target));
		bool superseded = false;

		if (!in(mask, k) || !cand)
			continue;
		for (size_t m = 0; m < s->nlog && !superseded; m++) {
			const rl_op *w = s->log[m];

			if (!in(mask, m) || !is_write_to(w, target, field))
				continue;
			for (uint32_t i = 0; i < w->nrefs; i++)
				if (id_eq(&w->refs[i], &op->id))
					superseded = true;
		}
		if (!superseded)
			out[n++] = k;
	}
	return n;
}

/* The adds of elem in set that no remove in mask names. */
static size_t
model_adds(const sched *s, const uint8_t *mask, uint8_t set, const char *elem, size_t *out)
{
	size_t n = 0, len = strlen(elem);

	for (size_t k = 0; k < s->nlog; k++) {
		const rl_op *op = s->log[k];
		bool removed = false;

		if (!in(mask, k) || op->kind != RL_OP_ADD || op->field != set ||
		    op->value.len != len || memcmp(op->value.p, elem, len) != 0)
			continue;
		for (size_t m = 0; m < s->nlog && !removed; m++) {
			const rl_op *r = s->log[m];

			if (!in(mask, m) || r->kind != RL_OP_REM || r->field != set ||
			    r->value.len != len || memcmp(r->value.p, elem, len) != 0)
				continue;
			for (uint32_t i = 0; i < r->nrefs; i++)
				if (id_eq(&r->refs[i], &op->id))
					removed = true;
		}
		if (!removed)
			out[n++] = k;
	}
	return n;
}

/* Compares rl_record_reg's answer with the model's live set (log indexes). */
static void
check_reg(const sched *s, const rl_record *rec, const rl_opid *target, uint8_t field,
          const size_t *want, size_t nwant, const char *when)
{
	rl_regval vals[64];
	size_t n = rl_record_reg(rec, target, field, vals, 64);

	PCHECK(n <= 64, "too many live values");
	PCHECK(n == nwant, "%s: register %s has %zu live values, model says %zu", when,
	       rl_field_name(field), n, nwant);
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (size_t k = 0; k < nwant && !found; k++)
			found = id_eq(&vals[i].op->id, &s->log[want[k]]->id);
		PCHECK(found, "%s: register %s: live value %zu is not in the model's set", when,
		       rl_field_name(field), i);
		/* Winner first, then decreasing. */
		if (i > 0)
			PCHECK(my_cmp(vals[i - 1].op, vals[i].op) > 0,
			       "%s: register %s: live values out of order", when, rl_field_name(field));
		/* The value shown is the write's value (or the alert's initial one). */
		if (vals[i].op->kind == RL_OP_REG)
			PCHECK(vals[i].value.len == vals[i].op->value.len &&
			           memcmp(vals[i].value.p, vals[i].op->value.p, vals[i].value.len) == 0,
			       "%s: register value differs from its write", when);
	}
}

/* The record of replica j must be exactly what the model says it saw. */
static void
check_replica(sched *s, int j)
{
	rep *r = &s->reps[j];
	long me = model_min_erase(s, r->seen);

	PCHECK(!(r->erased_once && !r->rec.erased), "replica %d: an erased record came back", j);
	PCHECK(r->rec.erased == (me >= 0), "replica %d: erased %d, model says %d", j,
	       r->rec.erased, me >= 0);
	if (r->rec.erased) {
		r->erased_once = true;
		PCHECK(r->rec.nops == 1, "replica %d: erased record holds %zu ops", j, r->rec.nops);
		PCHECK(my_cmp(r->rec.ops[0], s->log[me]) == 0,
		       "replica %d: erased record does not hold the smallest erase", j);
		return;
	}
	{
		size_t count = 0;

		for (size_t k = 0; k < s->nlog; k++)
			if (r->seen[k]) {
				count++;
				PCHECK(rl_record_has(&r->rec, s->log[k]), "replica %d lost op %zu", j, k);
			}
		PCHECK(r->rec.nops == count, "replica %d holds %zu ops, model %zu", j, r->rec.nops,
		       count);
	}
}

/* Replica j receives log op k. */
static void
deliver(sched *s, int j, size_t k)
{
	rep *r = &s->reps[j];
	const rl_op *op = s->log[k];
	long me = model_min_erase(s, r->seen);
	bool changed, want;

	if (me >= 0)
		want = op->kind == RL_OP_ERASE && my_cmp(op, s->log[me]) < 0;
	else
		want = !r->seen[k];
	P_OK(rl_record_apply(&r->rec, op, &changed));
	PCHECK(changed == want, "replica %d: applying op %zu (kind %d) changed=%d, want %d", j, k,
	       op->kind, changed, want);
	r->seen[k] = 1;
	rl_hlc_observe(&r->clock, op->hlc);
}

/* Replica j merges replica k's whole record. */
static void
merge_from(sched *s, int j, int k)
{
	rep *dst = &s->reps[j], *src = &s->reps[k];
	long me = model_min_erase(s, src->seen);

	P_OK(rl_record_merge(&dst->rec, &src->rec));
	if (me >= 0)
		dst->seen[me] = 1; /* an erased record holds only its smallest erase */
	else
		for (size_t i = 0; i < s->nlog; i++)
			dst->seen[i] |= src->seen[i];
	for (size_t i = 0; i < src->rec.nops; i++)
		rl_hlc_observe(&dst->clock, src->rec.ops[i]->hlc);
}

/* Replica w makes an operation; returns false if it cannot. */
static bool
generate(sched *s, int w)
{
	rep *r = &s->reps[w];
	rl_opid refs[RL_MAX_REFS];
	size_t idx[MAX_OPS];
	char val[48];
	rl_op op;
	uint32_t pick;
	size_t n, k = s->nlog;

	if (s->nlog >= MAX_OPS || model_min_erase(s, r->seen) >= 0)
		return false;
	memset(&op, 0, sizeof(op));
	memcpy(op.sit, s->sit, RL_SIT_BYTES);
	memcpy(op.id.dev, r->dev, RL_DEV_BYTES);
	op.id.ctr = r->ctr + 1;
	{
		int64_t wall = (int64_t)BASE_MS + s->step * 2 + r->skew;

		op.hlc = rl_hlc_now(&r->clock, (uint64_t)wall);
	}
	pick = rng_below(&s->g, 100);
	if (s->erasing && pick < 3) {
		op.kind = RL_OP_ERASE;
	} else if (pick < 33) {
		/* A situation register: supersede what this replica sees live. */
		uint8_t f = sit_fields[rng_below(&s->g, sizeof(sit_fields))];

		n = model_live(s, r->seen, NULL, f, idx);
		check_reg(s, &r->rec, NULL, f, idx, n, "writer's view");
		for (size_t i = 0; i < n; i++)
			refs[i] = s->log[idx[i]]->id;
		op.kind = RL_OP_REG;
		op.field = f;
		snprintf(val, sizeof(val), "v%zu-r%d", k, w);
		op.value = RL_BYTES(val, strlen(val));
		op.refs = refs;
		op.nrefs = (uint32_t)n;
	} else if (pick < 60) {
		/* A set add or remove. */
		uint8_t set = (uint8_t)(RL_SET_PROBLEMS + rng_below(&s->g, 2));
		const char *elem = elem_pool[rng_below(&s->g, NELEMS)];
		rl_opid lib[RL_MAX_REFS];
		size_t nlib;

		n = model_adds(s, r->seen, set, elem, idx);
		nlib = rl_record_set_adds(&r->rec, set, RL_BYTES(elem, strlen(elem)), lib, RL_MAX_REFS);
		PCHECK(nlib == n, "replica %d: set_adds gives %zu, model %zu", w, nlib, n);
		for (size_t i = 0; i < n; i++) {
			bool found = false;

			for (size_t m = 0; m < nlib && !found; m++)
				found = id_eq(&lib[m], &s->log[idx[i]]->id);
			PCHECK(found, "replica %d: set_adds misses an add", w);
		}
		op.field = set;
		op.value = RL_BYTES(elem, strlen(elem));
		if (n > 0 && rng_chance(&s->g, 55)) {
			for (size_t i = 0; i < n; i++)
				refs[i] = s->log[idx[i]]->id;
			op.kind = RL_OP_REM;
			op.refs = refs;
			op.nrefs = (uint32_t)n;
		} else
			op.kind = RL_OP_ADD;
	} else if (pick < 80) {
		/* A journal entry, sometimes amending one this replica sees. */
		op.kind = RL_OP_JOURNAL;
		op.field = (uint8_t)(RL_J_VAD + rng_below(&s->g, RL_J__END - RL_J_VAD));
		op.date = 20250101 + rng_below(&s->g, 3) * 100 + rng_below(&s->g, 28);
		snprintf(val, sizeof(val), "journal %zu by %d", k, w);
		op.value = RL_BYTES(val, strlen(val));
		if (rng_chance(&s->g, 30)) {
			n = 0;
			for (size_t i = 0; i < s->nlog; i++)
				if (r->seen[i] && s->log[i]->kind == RL_OP_JOURNAL)
					idx[n++] = i;
			if (n > 0) {
				op.has_target = true;
				op.target = s->log[idx[rng_below(&s->g, (uint32_t)n)]]->id;
			}
		}
	} else if (pick < 88) {
		op.kind = RL_OP_ALERT;
		op.date = 20250101 + rng_below(&s->g, 12) * 100 + rng_below(&s->g, 28);
		snprintf(val, sizeof(val), "alert %zu", k);
		op.value = RL_BYTES(val, strlen(val));
	} else {
		/* A write to an alert's register (due, text, done). */
		uint8_t f = alert_fields[rng_below(&s->g, 3)];

		n = 0;
		for (size_t i = 0; i < s->nlog; i++)
			if (r->seen[i] && s->log[i]->kind == RL_OP_ALERT)
				idx[n++] = i;
		if (n == 0)
			return false;
		op.target = s->log[idx[rng_below(&s->g, (uint32_t)n)]]->id;
		op.has_target = true;
		n = model_live(s, r->seen, &op.target, f, idx);
		PCHECK(n >= 1, "an alert's register has no live value");
		check_reg(s, &r->rec, &op.target, f, idx, n, "writer's view of an alert");
		for (size_t i = 0; i < n; i++)
			refs[i] = s->log[idx[i]]->id;
		op.kind = RL_OP_REG;
		op.field = f;
		if (f == RL_F_ALERT_DUE)
			snprintf(val, sizeof(val), "2025-%02u-%02u", 1 + rng_below(&s->g, 12),
			         1 + rng_below(&s->g, 28));
		else if (f == RL_F_ALERT_DONE)
			snprintf(val, sizeof(val), "%s", rng_chance(&s->g, 50) ? "oui" : "non");
		else
			snprintf(val, sizeof(val), "alert text %zu", k);
		op.value = RL_BYTES(val, strlen(val));
		op.refs = refs;
		op.nrefs = (uint32_t)n;
	}
	P_OK(rl_op_validate(&op));
	s->log[k] = rl_op_dup(&op);
	PCHECK(s->log[k] != NULL, "out of memory");
	s->origin[k] = w;
	s->published[k] = online(s, w);
	s->nlog++;
	r->ctr++;
	deliver(s, w, k);
	return true;
}

/* A random op that has left its author, or -1. */
static long
random_published(sched *s)
{
	for (int tries = 0; tries < 8 && s->nlog > 0; tries++) {
		size_t k = rng_below(&s->g, (uint32_t)s->nlog);

		if (s->published[k])
			return (long)k;
	}
	return -1;
}

static int
random_online(sched *s)
{
	for (int tries = 0; tries < 16; tries++) {
		int j = (int)rng_below(&s->g, (uint32_t)s->nrep);

		if (online(s, j))
			return j;
	}
	return -1;
}

static void
shuffle(rng *g, size_t *v, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = rng_below(g, (uint32_t)i), t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

static void
assert_same_encoding(const rl_record *a, const rl_record *b, const char *what)
{
	uint8_t ha[RL_HASH_BYTES], hb[RL_HASH_BYTES];
	rl_buf ea, eb;

	rl_buf_init(&ea);
	rl_buf_init(&eb);
	P_OK(rl_record_encode(a, &ea));
	P_OK(rl_record_encode(b, &eb));
	PCHECK(ea.len == eb.len && memcmp(ea.data, eb.data, ea.len) == 0, "%s: encodings differ",
	       what);
	P_OK(rl_record_hash(a, ha));
	P_OK(rl_record_hash(b, hb));
	PCHECK(memcmp(ha, hb, RL_HASH_BYTES) == 0, "%s: hashes differ", what);
	rl_buf_fini(&ea);
	rl_buf_fini(&eb);
}

/* ---- the final checks against the operation log ---- */

static void
check_final(sched *s)
{
	const rl_record *rec = &s->reps[0].rec;
	long me = model_min_erase(s, NULL);
	size_t idx[MAX_OPS];

	for (int j = 0; j < s->nrep; j++) {
		check_replica(s, j);
		if (j > 0)
			assert_same_encoding(&s->reps[0].rec, &s->reps[j].rec, "final states");
	}
	/* The final state survives its own encoding. */
	{
		rl_record back;
		rl_buf enc;

		rl_buf_init(&enc);
		P_OK(rl_record_encode(rec, &enc));
		P_OK(rl_record_decode(rl_buf_view(&enc), &back));
		assert_same_encoding(rec, &back, "decoded final state");
		rl_record_fini(&back);
		rl_buf_fini(&enc);
	}
	if (me >= 0) {
		/* Erased: everything purged everywhere, the smallest erase kept. */
		for (int j = 0; j < s->nrep; j++) {
			PCHECK(s->reps[j].rec.erased, "replica %d not erased at the end", j);
			PCHECK(s->reps[j].rec.nops == 1 && my_cmp(s->reps[j].rec.ops[0], s->log[me]) == 0,
			       "replica %d does not hold exactly the smallest erase", j);
		}
		return;
	}
	PCHECK(rec->nops == s->nlog, "final state holds %zu ops of %zu", rec->nops, s->nlog);
	/* No journal entry lost, listed by date then op order. */
	{
		const rl_op **list;
		size_t n, want = 0;

		for (size_t k = 0; k < s->nlog; k++)
			if (s->log[k]->kind == RL_OP_JOURNAL) {
				want++;
				PCHECK(rl_record_has(rec, s->log[k]), "journal entry %zu lost", k);
			}
		P_OK(rl_record_list(rec, RL_OP_JOURNAL, &list, &n));
		PCHECK(n == want, "journal lists %zu entries, %zu written", n, want);
		for (size_t i = 1; i < n; i++)
			PCHECK(list[i - 1]->date < list[i]->date ||
			           (list[i - 1]->date == list[i]->date && my_cmp(list[i - 1], list[i]) < 0),
			       "journal out of order");
		free(list);
	}
	/* Registers: situation fields and each alert's fields. */
	for (size_t f = 0; f < sizeof(sit_fields); f++) {
		size_t n = model_live(s, NULL, NULL, sit_fields[f], idx);

		check_reg(s, rec, NULL, sit_fields[f], idx, n, "final state");
		if (n > 0) {
			/* The displayed value is the greatest live write. */
			size_t best = idx[0];
			rl_bytes got = rl_record_get(rec, sit_fields[f]);

			for (size_t i = 1; i < n; i++)
				if (my_cmp(s->log[idx[i]], s->log[best]) > 0)
					best = idx[i];
			PCHECK(got.len == s->log[best]->value.len &&
			           memcmp(got.p, s->log[best]->value.p, got.len) == 0,
			       "register %s does not display the greatest live write",
			       rl_field_name(sit_fields[f]));
		}
	}
	for (size_t k = 0; k < s->nlog; k++) {
		if (s->log[k]->kind != RL_OP_ALERT)
			continue;
		for (size_t f = 0; f < sizeof(alert_fields); f++) {
			size_t n = model_live(s, NULL, &s->log[k]->id, alert_fields[f], idx);

			PCHECK(n >= 1, "alert register without a value");
			check_reg(s, rec, &s->log[k]->id, alert_fields[f], idx, n, "final alert");
		}
	}
	/* Sets: present iff some add is named by no remove. */
	for (uint8_t set = RL_SET_PROBLEMS; set < RL_SET_PROBLEMS + 2; set++) {
		rl_bytes *v;
		size_t n, want = 0;

		P_OK(rl_record_set(rec, set, &v, &n));
		for (size_t e = 0; e < NELEMS; e++) {
			bool present = model_adds(s, NULL, set, elem_pool[e], idx) > 0, listed = false;

			want += present;
			for (size_t i = 0; i < n; i++)
				if (v[i].len == strlen(elem_pool[e]) &&
				    memcmp(v[i].p, elem_pool[e], v[i].len) == 0)
					listed = true;
			PCHECK(present == listed, "set %d element %s: present %d, listed %d", set,
			       elem_pool[e], present, listed);
		}
		PCHECK(n == want, "set %d lists %zu elements, want %zu", set, n, want);
		free(v);
	}
}

/* ---- merge algebra on records built from the schedule's ops ---- */

static void
build_subset(sched *s, rl_record *rec, uint32_t percent)
{
	size_t order[MAX_OPS];

	for (size_t k = 0; k < s->nlog; k++)
		order[k] = k;
	shuffle(&s->g, order, s->nlog);
	rl_record_init(rec, s->sit);
	for (size_t i = 0; i < s->nlog; i++)
		if (rng_chance(&s->g, percent))
			P_OK(rl_record_apply(rec, s->log[order[i]], NULL));
}

/* out = a merged with b, as a new record. */
static void
merged(const rl_record *a, const rl_record *b, rl_record *out)
{
	rl_record_init(out, a->sit);
	P_OK(rl_record_merge(out, a));
	if (b != NULL)
		P_OK(rl_record_merge(out, b));
}

static void
check_merge_laws(sched *s)
{
	rl_record a, b, c, ab, ba, ab_c, bc, a_bc, aa, copy, ab_b;

	build_subset(s, &a, 1 + rng_below(&s->g, 99));
	build_subset(s, &b, 1 + rng_below(&s->g, 99));
	build_subset(s, &c, 1 + rng_below(&s->g, 99));
	merged(&a, NULL, &copy);
	assert_same_encoding(&a, &copy, "merge into empty");
	merged(&a, &b, &ab);
	merged(&b, &a, &ba);
	assert_same_encoding(&ab, &ba, "commutativity");
	merged(&ab, &c, &ab_c);
	merged(&b, &c, &bc);
	merged(&a, &bc, &a_bc);
	assert_same_encoding(&ab_c, &a_bc, "associativity");
	merged(&a, &a, &aa);
	assert_same_encoding(&aa, &a, "idempotence");
	merged(&ab, &b, &ab_b);
	assert_same_encoding(&ab_b, &ab, "absorption");
	rl_record_fini(&a);
	rl_record_fini(&b);
	rl_record_fini(&c);
	rl_record_fini(&ab);
	rl_record_fini(&ba);
	rl_record_fini(&ab_c);
	rl_record_fini(&bc);
	rl_record_fini(&a_bc);
	rl_record_fini(&aa);
	rl_record_fini(&copy);
	rl_record_fini(&ab_b);
}

/* ---- one schedule ---- */

typedef struct stats {
	uint64_t ops, erased, conflicts, steps;
} stats;

static void
run_schedule(uint64_t seed, stats *st)
{
	sched *s = calloc(1, sizeof(*s));
	int nsteps;

	assert_non_null(s);
	g_seed = seed;
	s->g.s = seed;
	for (size_t i = 0; i < RL_SIT_BYTES; i++)
		s->sit[i] = (uint8_t)rng_next(&s->g);
	s->nrep = 3 + (int)rng_below(&s->g, 7);
	s->erasing = rng_chance(&s->g, 20);
	for (int j = 0; j < s->nrep; j++) {
		rep *r = &s->reps[j];

		rl_record_init(&r->rec, s->sit);
		for (size_t i = 0; i < RL_DEV_BYTES; i++)
			r->dev[i] = (uint8_t)rng_next(&s->g);
		r->skew = (int)rng_below(&s->g, 41) - 20;
	}
	nsteps = 40 + (int)rng_below(&s->g, 200);
	for (s->step = 0; s->step < nsteps; s->step++) {
		uint32_t a = rng_below(&s->g, 100);

		/* A replica back online publishes what it made meanwhile. */
		for (size_t k = 0; k < s->nlog; k++)
			if (!s->published[k] && online(s, s->origin[k]))
				s->published[k] = true;
		if (a < 30) {
			int w = (int)rng_below(&s->g, (uint32_t)s->nrep);

			if (generate(s, w))
				check_replica(s, w);
		} else if (a < 75) {
			int j = random_online(s);
			long k = random_published(s);

			if (j >= 0 && k >= 0) {
				deliver(s, j, (size_t)k);
				check_replica(s, j);
			}
		} else if (a < 85) {
			/* A burst in random order, with duplicates. */
			int j = random_online(s);
			uint32_t n = 1 + rng_below(&s->g, 10);

			for (uint32_t i = 0; j >= 0 && i < n; i++) {
				long k = random_published(s);

				if (k >= 0)
					deliver(s, j, (size_t)k);
			}
			if (j >= 0)
				check_replica(s, j);
		} else if (a < 93) {
			int j = random_online(s), k = random_online(s);

			if (j >= 0 && k >= 0 && j != k) {
				merge_from(s, j, k);
				check_replica(s, j);
			}
		} else {
			int j = (int)rng_below(&s->g, (uint32_t)s->nrep);

			if (online(s, j))
				s->reps[j].silent_until = s->step + 5 + (int)rng_below(&s->g, 80);
		}
	}
	/* Everyone comes back and receives everything, in random orders, with
	 * duplicates and whole-record merges mixed in. */
	s->step = INT32_MAX;
	for (int j = 0; j < s->nrep; j++) {
		size_t order[MAX_OPS];

		for (size_t k = 0; k < s->nlog; k++)
			order[k] = k;
		shuffle(&s->g, order, s->nlog);
		for (size_t i = 0; i < s->nlog; i++) {
			deliver(s, j, order[i]);
			if (rng_chance(&s->g, 10))
				deliver(s, j, order[rng_below(&s->g, (uint32_t)(i + 1))]);
			if (rng_chance(&s->g, 2)) {
				merge_from(s, j, (int)rng_below(&s->g, (uint32_t)s->nrep));
				check_replica(s, j);
			}
		}
		check_replica(s, j);
	}
	check_final(s);
	check_merge_laws(s);

	st->ops += s->nlog;
	st->steps += (uint64_t)nsteps;
	st->erased += s->reps[0].rec.erased;
	for (size_t f = 0; f < sizeof(sit_fields); f++) {
		rl_regval v;

		st->conflicts += rl_record_reg(&s->reps[0].rec, NULL, sit_fields[f], &v, 1) > 1;
	}
	for (int j = 0; j < s->nrep; j++)
		rl_record_fini(&s->reps[j].rec);
	for (size_t k = 0; k < s->nlog; k++)
		free(s->log[k]);
	free(s);
}

static uint64_t
env_u64(const char *name, uint64_t dflt, bool *set)
{
	const char *v = getenv(name);
	char *end;
	unsigned long long x;

	if (set)
		*set = false;
	if (v == NULL || *v == '\0')
		return dflt;
	x = strtoull(v, &end, 0);
	if (*end != '\0') {
		fprintf(stderr, "bad %s=%s\n", name, v);
		exit(2);
	}
	if (set)
		*set = true;
	return x;
}

static void
test_random_schedules(void **state)
{
	bool seeded;
	uint64_t base, n;
	stats st = { 0 };

	(void)state;
	rl_random(&base, sizeof(base));
	base = env_u64("RL_PROP_SEED", base >> 1, &seeded);
	n = env_u64("RL_PROP_N", DEFAULT_N, NULL);
	printf("property: %" PRIu64 " schedules from seed %" PRIu64 "%s\n", n, base,
	       seeded ? " (RL_PROP_SEED)" : "");
	for (uint64_t i = 0; i < n; i++)
		run_schedule(base + i, &st);
	printf("property: %" PRIu64 " ops in %" PRIu64 " steps, %" PRIu64
	       " schedules ended erased, %" PRIu64 " registers ended in conflict\n",
	       st.ops, st.steps, st.erased, st.conflicts);
	/* The generator must actually exercise erases and conflicts. */
	if (n >= 1000) {
		assert_true(st.erased > n / 20);
		assert_true(st.conflicts > n / 20);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_schedules),
	};

	if (rl_crypto_init() != RL_OK) {
		fprintf(stderr, "rl_crypto_init failed\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
