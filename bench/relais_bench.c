/*
 * relais_bench.c - the workload generator and measuring tool behind
 * `make bench` (bench/run.sh drives it).
 *
 *   relais-bench gen --store D --situations N [--seed S] [--profile design|realistic]
 *       N generated situations into the store (and its outbox), 500 a commit
 *   relais-bench export-jsonl --store D [--store D]... --out FILE
 *       the stores' situations as one JSON document a line (PouchDB's input)
 *   relais-bench edits --store D --n N [--seed S]
 *       N edits on N situations spread evenly over the store, one commit
 *   relais-bench push --store D [--store D]... [--server-pid P]
 *       every store pushes its outbox at once, one process each
 *   relais-bench pull --store D [--server-pid P]
 *       pulls everything (a new device), with the memory it took
 *   relais-bench noop --store D [--n N]
 *       no-op sync, PING and new-session (handshake) round trips
 *   relais-bench lmdb --dir D --store S... [--batch K]
 *       raw LMDB puts of the very bytes waiting in the stores' outboxes,
 *       under ascending keys (appends) and under random keys
 *   relais-bench local [--dir D] [--n N]
 *       local changes (per edit and in bulk) against raw LMDB puts
 *
 * Every command prints one JSON object on stdout. Stores are opened with
 * $RELAIS_PASSPHRASE. Generated situations are deterministic for a seed
 * (their ids and clocks are not: they are drawn as the product draws them).
 * Profiles: "design" is DESIGN.md's shape, about 10 changes a situation
 * (100,000 situations, about 1,000,000 changes): 7 registers, 1-2 problems,
 * a referrer, one journal entry of 100-600 bytes. "realistic" is the
 * benchmark issue's: 9 registers, 2-4 problems, a referrer, 5-30 journal
 * entries of 100-600 bytes, 0-2 alerts (about 31 changes a situation).
 *
 * The raw LMDB baseline needs lmdb.h here: it measures LMDB itself, which
 * the product reaches only through common/store.c.
 */
#include <errno.h>
#include <lmdb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/cli.h"
#include "client/sync.h"
#include "common/replica.h"

#define MAX_STORES 64

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_state;

static uint64_t
rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned
rnd(unsigned lo, unsigned hi)
{
	return lo + (unsigned)(rng() % (hi - lo + 1));
}

static const char *const words[] = {
	"visite", "domicile", "famille", "médecin", "traitement", "suivi", "logement", "bailleur",
	"CMP", "psychiatre", "infirmier", "rendez-vous", "sortie", "hospitalisation", "aide",
	"sociale", "dossier", "MDPH", "curatelle", "appel", "fille", "voisin", "refus", "accord",
	"orientation", "coordination", "réunion", "partenaires", "urgence", "accompagnement",
};

/* Words up to len-1 bytes (at least len-16: sizes hold to a word). */
static void
text(char *out, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		const char *w = words[rng() % (sizeof(words) / sizeof(words[0]))];
		size_t wl = strlen(w);

		if (n + wl + 1 >= len)
			break;
		memcpy(out + n, w, wl);
		n += wl;
		out[n++] = ' ';
	}
	out[n] = '\0';
}

static const char *const problems[] = { "acces_soins_psy", "logement", "precarite",
	                                    "justice", "addiction", "soins_somatiques" };
static const char *const referrers[] = { "CCAS", "CMP", "hopital", "medecin_traitant",
	                                     "famille", "bailleur" };

static rl_bytes
S(const char *s)
{
	return RL_BYTES(s, strlen(s));
}

/* Writes one generated situation in an edit; returns the operations made. */
static size_t
gen_situation(rl_edit *ed, const char *antenna, bool realistic)
{
	char buf[640], date[11];
	uint32_t ymd = 20250000 + rnd(1, 12) * 100 + rnd(1, 28);
	size_t ops = 0;
	unsigned np;

	rl_date_format(ymd, date);
	/* The antenna first, as `relais new` writes it (the server takes a
	 * situation it does not hold only from a change-set carrying it). */
	ops += rl_edit_reg(ed, NULL, RL_F_ANTENNA, S(antenna)) == 0;
	ops += rl_edit_reg(ed, NULL, RL_F_KIND, S(rnd(0, 2) ? "coordination" : "orientation")) == 0;
	ops += rl_edit_reg(ed, NULL, RL_F_OPENED, S(date)) == 0;
	ops += rl_edit_reg(ed, NULL, RL_F_STATUS, S("open")) == 0;
	ops += rl_edit_reg(ed, NULL, RL_F_CONSENT, S(rnd(0, 1) ? "oui" : "en_attente")) == 0;
	snprintf(buf, sizeof(buf), "%c%c", 'A' + rnd(0, 25), 'A' + rnd(0, 25));
	ops += rl_edit_reg(ed, NULL, RL_F_INITIALS, S(buf)) == 0;
	snprintf(buf, sizeof(buf), "%u", rnd(18, 95));
	ops += rl_edit_reg(ed, NULL, RL_F_AGE, S(buf)) == 0;
	np = realistic ? rnd(2, 4) : rnd(1, 2);
	for (unsigned i = 0; i < np; i++)
		ops += rl_edit_add(ed, RL_SET_PROBLEMS, S(problems[rnd(0, 5)])) == 0;
	ops += rl_edit_add(ed, RL_SET_REFERRERS, S(referrers[rnd(0, 5)])) == 0;
	if (!realistic) {
		text(buf, rnd(100, 600));
		ops += rl_edit_journal(ed, RL_J_VAD, ymd, S(buf), NULL, NULL) == 0;
		return ops;
	}
	ops += rl_edit_reg(ed, NULL, RL_F_SEX, S(rnd(0, 1) ? "F" : "M")) == 0;
	ops += rl_edit_reg(ed, NULL, RL_F_COMMUNE, S("Aix-en-Provence")) == 0;
	for (unsigned i = 0, n = rnd(5, 30); i < n; i++) {
		text(buf, rnd(100, 600));
		ops += rl_edit_journal(ed, (uint8_t)rnd(RL_J_VAD, RL_J_NOTE), ymd, S(buf), NULL,
		                       NULL) == 0;
	}
	for (unsigned i = 0, n = rnd(0, 2); i < n; i++)
		ops += rl_edit_alert(ed, ymd, S("rendez-vous CMP à vérifier"), NULL) == 0;
	return ops;
}

static rl_replica *
open_store(const char *dir)
{
	const char *pass = getenv("RELAIS_PASSPHRASE");
	rl_secret s = { pass ? pass : "", pass ? strlen(pass) : 0, NULL };
	rl_replica *rp;
	rl_err e;

	if ((e = rl_replica_open(dir, &s, NULL, &rp)) != RL_OK) {
		fprintf(stderr, "relais-bench: %s: %s\n", dir, rl_strerror(e));
		exit(1);
	}
	return rp;
}

static void
die(const char *what, rl_err e)
{
	fprintf(stderr, "relais-bench: %s: %s\n", what, rl_strerror(e));
	exit(1);
}

static long
maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Current resident memory of this process by kind (kB), from /proc. */
typedef struct rss {
	long anon, file, shmem;
} rss;

static rss
rss_now(void)
{
	rss r = { 0, 0, 0 };
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return r;
	while (fgets(line, sizeof(line), f) != NULL) {
		sscanf(line, "RssAnon: %ld", &r.anon);
		sscanf(line, "RssFile: %ld", &r.file);
		sscanf(line, "RssShmem: %ld", &r.shmem);
	}
	fclose(f);
	return r;
}

static void
rss_peak(rss *peak)
{
	rss r = rss_now();

	if (r.anon > peak->anon)
		peak->anon = r.anon;
	if (r.file > peak->file)
		peak->file = r.file;
	if (r.shmem > peak->shmem)
		peak->shmem = r.shmem;
}

/* CPU seconds a process used so far (user, system; -1 if unknown) and
 * the bytes it handed to write system calls (wchar; -1 if unknown). */
typedef struct pstat {
	double user, sys;
	double wchar;
} pstat;

static pstat
proc_stat(long pid)
{
	pstat r = { -1, -1, -1 };
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	unsigned long long w;
	FILE *f;
	size_t n;

	if (pid <= 0)
		return r;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return r;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return r;
	r.user = (double)ut / (double)sysconf(_SC_CLK_TCK);
	r.sys = (double)st / (double)sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof(path), "/proc/%ld/io", pid);
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(buf, sizeof(buf), f) != NULL)
			if (sscanf(buf, "wchar: %llu", &w) == 1)
				r.wchar = (double)w;
		fclose(f);
	}
	return r;
}

static double
proc_cpu_s(long pid)
{
	pstat p = proc_stat(pid);

	return p.user < 0 ? -1 : p.user + p.sys;
}

static double
children_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static double
self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* ---- gen ---- */

/* Generates n situations into the store's outbox, 500 per transaction. */
static size_t
generate(rl_replica *rp, size_t n, bool realistic)
{
	const char *antenna = rl_replica_antenna(rp);
	size_t ops = 0;
	rl_err e;

	for (size_t done = 0; done < n;) {
		rl_txn *txn;
		size_t k;

		if ((e = rl_store_begin(rl_replica_store(rp), true, &txn)) != RL_OK)
			die("gen", e);
		for (k = 0; k < 500 && done < n; k++, done++) {
			rl_edit *ed;

			if ((e = rl_edit_begin_in(rp, txn, NULL, &ed)) != RL_OK)
				die("gen", e);
			ops += gen_situation(ed, antenna, realistic);
			if ((e = rl_edit_commit(ed)) != RL_OK)
				die("gen", e);
		}
		if ((e = rl_store_commit(txn)) != RL_OK)
			die("gen", e);
	}
	return ops;
}

/* Calls fn on each pending outbox value of rp (the changes a push sends,
 * as they are sent), in counter order. */
static void
outbox_pending_each(rl_replica *rp, void (*fn)(void *arg, rl_bytes v), void *arg)
{
	uint8_t from[8];
	uint64_t acked;
	rl_txn *txn;
	rl_cursor *c;
	rl_bytes k;
	rl_buf v;
	rl_err e;

	rl_buf_init(&v);
	if ((e = rl_store_begin(rl_replica_store(rp), false, &txn)) != RL_OK ||
	    (e = rl_outbox_acked_txn(txn, &acked)) != RL_OK ||
	    (e = rl_cursor_open(txn, RL_T_OUTBOX, &c)) != RL_OK)
		die("outbox", e);
	rl_put_be64(from, acked + 1);
	for (e = rl_cursor_seek(c, RL_BYTES(from, 8), &k, &v); e == RL_OK;
	     e = rl_cursor_next(c, &k, &v))
		fn(arg, rl_buf_view(&v));
	rl_cursor_close(c);
	rl_store_abort(txn);
	rl_buf_fini(&v);
}

typedef struct outbox_sum {
	size_t count;
	uint64_t bytes;
} outbox_sum;

static void
sum_one(void *arg, rl_bytes v)
{
	outbox_sum *sum = arg;

	sum->count++;
	sum->bytes += v.len;
}

/* Sum of the outbox's change sizes (each change's msgpack encoding). */
static void
outbox_bytes(rl_replica *rp, size_t *count, uint64_t *bytes)
{
	outbox_sum sum = { 0, 0 };

	outbox_pending_each(rp, sum_one, &sum);
	*count = sum.count;
	*bytes = sum.bytes;
}

static int
cmd_gen(const char *store, size_t n, bool realistic)
{
	rl_replica *rp = open_store(store);
	size_t before = 0, after = 0;
	uint64_t b0 = 0, b1 = 0;
	double t0, t;

	/* Changes are counted in the outbox: adding a problem already there
	 * makes none. */
	outbox_bytes(rp, &before, &b0);
	t0 = now_s();
	generate(rp, n, realistic);
	t = now_s() - t0;
	outbox_bytes(rp, &after, &b1);
	printf("{\"situations\": %zu, \"changes\": %zu, \"outbox\": %zu, \"outbox_bytes\": %llu, "
	       "\"change_bytes\": %llu, \"profile\": \"%s\", \"seconds\": %.3f}\n",
	       n, after - before, after, (unsigned long long)b1, (unsigned long long)(b1 - b0),
	       realistic ? "realistic" : "design", t);
	rl_replica_close(rp);
	return 0;
}

/* ---- export-jsonl ---- */

static void
iso_time(uint64_t ms, char out[64])
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/*
 * One situation as a document: the coordinator's view of the record (every
 * field, set, journal entry with its author and alert, as `relais export`
 * shows them), its id as _id and its last change time as updated_at.
 * Derived keys (counts, conflicts, state hash) are left out.
 */
static int
cmd_export(const char **stores, int nstores, const char *out)
{
	FILE *f = fopen(out, "w");
	size_t docs = 0, ops = 0;
	uint64_t json_bytes = 0, mp_bytes = 0;
	rl_buf mp;
	rl_err e;

	if (f == NULL) {
		fprintf(stderr, "relais-bench: %s: %s\n", out, strerror(errno));
		return 1;
	}
	rl_buf_init(&mp);
	for (int s = 0; s < nstores; s++) {
		rl_replica *rp = open_store(stores[s]);
		rl_txn *txn;
		rl_cursor *c;
		rl_bytes k;

		if ((e = rl_store_begin(rl_replica_store(rp), false, &txn)) != RL_OK ||
		    (e = rl_cursor_open(txn, RL_T_STATES, &c)) != RL_OK)
			die("export", e);
		for (e = rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, NULL); e == RL_OK;
		     e = rl_cursor_next(c, &k, NULL)) {
			uint8_t sit[RL_SIT_BYTES];
			char hex[RL_CLI_SIT_HEX + 1], when[64];
			rl_hlc last = 0;
			rl_record rec;
			json_t *o;
			char *line;
			rl_mpw w;

			if (k.len != RL_SIT_BYTES)
				continue;
			memcpy(sit, k.p, RL_SIT_BYTES);
			if (rl_state_load(txn, sit, &rec) != RL_OK)
				die("export", RL_ECORRUPT);
			rl_buf_reset(&mp);
			rl_mpw_init(&w, &mp);
			for (size_t i = 0; i < rec.nops; i++) {
				if (rec.ops[i]->hlc > last)
					last = rec.ops[i]->hlc;
				rl_op_encode(&w, rec.ops[i], true);
			}
			mp_bytes += mp.len;
			ops += rec.nops;
			if ((o = rl_view_json(&rec, false)) == NULL)
				die("export", RL_ENOMEM);
			json_object_del(o, "id");
			json_object_del(o, "conflicts");
			json_object_del(o, "counts");
			json_object_del(o, "state_hash");
			rl_cli_sit_hex(sit, hex);
			iso_time(rl_hlc_ms(last), when);
			json_object_set_new(o, "_id", json_string(hex));
			json_object_set_new(o, "updated_at", json_string(when));
			if ((line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII)) == NULL)
				die("export", RL_ENOMEM);
			json_bytes += strlen(line);
			fprintf(f, "%s\n", line);
			free(line);
			json_decref(o);
			rl_record_fini(&rec);
			docs++;
		}
		rl_cursor_close(c);
		rl_store_abort(txn);
		rl_replica_close(rp);
	}
	rl_buf_fini(&mp);
	if (fclose(f) != 0)
		return 1;
	printf("{\"docs\": %zu, \"changes\": %zu, \"json_bytes\": %llu, \"msgpack_bytes\": %llu, "
	       "\"json_bytes_per_doc\": %.0f, \"msgpack_bytes_per_doc\": %.0f}\n",
	       docs, ops, (unsigned long long)json_bytes, (unsigned long long)mp_bytes,
	       docs ? (double)json_bytes / (double)docs : 0.0,
	       docs ? (double)mp_bytes / (double)docs : 0.0);
	return 0;
}

/* ---- raw LMDB ---- */

static MDB_env *
lmdb_open(const char *dir, MDB_dbi *dbi)
{
	MDB_env *env;
	MDB_txn *txn;

	mkdir(dir, 0700);
	if (mdb_env_create(&env) || mdb_env_set_mapsize(env, (size_t)16 << 30) ||
	    mdb_env_open(env, dir, 0, 0600) || mdb_txn_begin(env, NULL, 0, &txn) ||
	    mdb_dbi_open(txn, NULL, 0, dbi) || mdb_txn_commit(txn)) {
		fprintf(stderr, "relais-bench: lmdb open %s failed\n", dir);
		exit(1);
	}
	return env;
}

/*
 * Raw LMDB: the n values vals[i] (lens[i] bytes) put under 24-byte keys,
 * committing durably every batch puts; ascending keys with MDB_APPEND (a
 * log: the best LMDB does with these bytes), else random keys (like
 * situation ids plus a counter). Returns puts/s.
 */
static double
raw_lmdb_keys(const char *dir, size_t n, uint8_t *const *vals, const size_t *lens, size_t batch,
              bool ascending)
{
	MDB_dbi dbi;
	MDB_env *env = lmdb_open(dir, &dbi);
	MDB_txn *txn;
	uint8_t key[24];
	double t0 = now_s();

	for (size_t done = 0; done < n;) {
		if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
			exit(1);
		for (size_t k = 0; k < batch && done < n; k++, done++) {
			MDB_val kv = { sizeof(key), key }, vv = { lens[done], vals[done] };
			uint64_t r = rng(), r2 = rng();

			if (ascending) {
				memset(key, 0, 16);
				for (int b = 0; b < 8; b++)
					key[16 + b] = (uint8_t)((uint64_t)done >> (56 - 8 * b));
			} else {
				memcpy(key, &r, 8);
				memcpy(key + 8, &r2, 8);
				memcpy(key + 16, &done, 8);
			}
			if (mdb_put(txn, dbi, &kv, &vv, ascending ? MDB_APPEND : 0) != 0)
				exit(1);
		}
		if (mdb_txn_commit(txn) != 0)
			exit(1);
	}
	t0 = now_s() - t0;
	mdb_env_close(env);
	return (double)n / t0;
}

static double
raw_lmdb(const char *dir, size_t n, uint8_t *const *vals, const size_t *lens, size_t batch)
{
	return raw_lmdb_keys(dir, n, vals, lens, batch, false);
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median time (ms) of a durable commit of one small put: the fsync floor. */
static double
commit_floor_ms(const char *dir)
{
	double t[41];
	MDB_dbi dbi;
	MDB_env *env = lmdb_open(dir, &dbi);

	for (int i = 0; i < 41; i++) {
		MDB_txn *txn;
		uint64_t v = (uint64_t)i;
		MDB_val kv = { 8, &v }, vv = { 8, &v };
		double t0 = now_s();

		if (mdb_txn_begin(env, NULL, 0, &txn) || mdb_put(txn, dbi, &kv, &vv, 0) ||
		    mdb_txn_commit(txn))
			exit(1);
		t[i] = (now_s() - t0) * 1000;
	}
	mdb_env_close(env);
	qsort(t, 41, sizeof(double), dbl_cmp);
	return t[20];
}

typedef struct outbox_copy {
	uint8_t **vals;
	size_t *lens, n, cap;
	uint64_t bytes;
} outbox_copy;

static void
copy_one(void *arg, rl_bytes v)
{
	outbox_copy *oc = arg;

	if (oc->n == oc->cap) {
		oc->cap = oc->cap ? 2 * oc->cap : 65536;
		oc->vals = realloc(oc->vals, oc->cap * sizeof(*oc->vals));
		oc->lens = realloc(oc->lens, oc->cap * sizeof(*oc->lens));
		if (oc->vals == NULL || oc->lens == NULL)
			die("outbox", RL_ENOMEM);
	}
	if ((oc->vals[oc->n] = malloc(v.len ? v.len : 1)) == NULL)
		die("outbox", RL_ENOMEM);
	memcpy(oc->vals[oc->n], v.p, v.len);
	oc->lens[oc->n++] = v.len;
	oc->bytes += v.len;
}

/* The changes waiting in the stores' outboxes, their bytes as they are sent. */
static size_t
load_outboxes(const char **stores, int nstores, uint8_t ***vals, size_t **lens, uint64_t *bytes)
{
	outbox_copy oc = { NULL, NULL, 0, 0, 0 };

	for (int s = 0; s < nstores; s++) {
		rl_replica *rp = open_store(stores[s]);

		outbox_pending_each(rp, copy_one, &oc);
		rl_replica_close(rp);
	}
	*vals = oc.vals;
	*lens = oc.lens;
	*bytes = oc.bytes;
	return oc.n;
}

static int
cmd_lmdb(const char *dir, const char **stores, int nstores, size_t n, size_t bytes, size_t batch)
{
	uint8_t **vals;
	size_t *lens;
	uint64_t total = 0;
	char path[4096];
	double r, ra, floor;

	if (nstores > 0)
		n = load_outboxes(stores, nstores, &vals, &lens, &total);
	else {
		vals = malloc(n * sizeof(*vals));
		lens = malloc(n * sizeof(*lens));
		for (size_t i = 0; i < n; i++) {
			vals[i] = malloc(bytes ? bytes : 1);
			for (size_t j = 0; j < bytes; j++)
				vals[i][j] = (uint8_t)rng();
			lens[i] = bytes;
			total += bytes;
		}
	}
	if (n == 0) {
		fprintf(stderr, "relais-bench: lmdb: nothing to put\n");
		return 1;
	}
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/append", dir);
	ra = raw_lmdb_keys(path, n, vals, lens, batch, true);
	snprintf(path, sizeof(path), "%s/random", dir);
	r = raw_lmdb_keys(path, n, vals, lens, batch, false);
	snprintf(path, sizeof(path), "%s/floor", dir);
	floor = commit_floor_ms(path);
	printf("{\"lmdb_puts_per_s\": %.0f, \"lmdb_random_puts_per_s\": %.0f, \"n\": %zu, "
	       "\"bytes\": %llu, \"bytes_per_put\": %.1f, \"batch\": %zu, \"commits\": %zu, "
	       "\"commit_floor_ms\": %.3f}\n",
	       ra, r, n, (unsigned long long)total, (double)total / (double)n, batch,
	       (n + batch - 1) / batch, floor);
	for (size_t i = 0; i < n; i++)
		free(vals[i]);
	free(vals);
	free(lens);
	return 0;
}

/* Local changes: per edit (each a durable commit, as `relais` commands do)
 * and in bulk (500 situations a commit), against raw LMDB with the same
 * number of puts per commit and about the same bytes per put. */
static int
cmd_local(const char *dir, size_t n)
{
	char path[4096];
	rl_store_opts so = { 0, RL_KDF_MIN };
	rl_secret s = { "bench", 5, NULL };
	rl_replica *rp;
	size_t per_edit = n / 50 ? n / 50 : 1, ops1 = 0, ops2, cnt;
	uint64_t bytes;
	double t1, t2, raw1, raw2;
	uint8_t **vals;
	size_t *lens;

	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/local", dir);
	if (rl_replica_create(path, &s, &so, "A1", RL_ROLE_ANTENNA) != RL_OK ||
	    rl_replica_open(path, &s, NULL, &rp) != RL_OK)
		return 1;
	t1 = now_s();
	for (size_t i = 0; i < per_edit; i++) {
		rl_edit *ed;

		if (rl_edit_begin(rp, NULL, &ed) != RL_OK)
			return 1;
		ops1 += gen_situation(ed, "A1", false);
		if (rl_edit_commit(ed) != RL_OK)
			return 1;
	}
	t1 = now_s() - t1;
	t2 = now_s();
	ops2 = generate(rp, n, false);
	t2 = now_s() - t2;
	rl_replica_close(rp);
	{
		const char *st[1] = { path };
		const char *pass = getenv("RELAIS_PASSPHRASE");

		setenv("RELAIS_PASSPHRASE", "bench", 1);
		cnt = load_outboxes(st, 1, &vals, &lens, &bytes);
		if (pass)
			setenv("RELAIS_PASSPHRASE", pass, 1);
	}
	snprintf(path, sizeof(path), "%s/raw1", dir);
	raw1 = raw_lmdb(path, ops1, vals, lens, ops1 / per_edit);
	snprintf(path, sizeof(path), "%s/raw2", dir);
	raw2 = raw_lmdb(path, cnt - ops1, vals + ops1, lens + ops1, ops2 * 500 / n);
	printf("{\"local_edit_changes_per_s\": %.0f, \"local_edit_lmdb_puts_per_s\": %.0f, "
	       "\"local_edit_ratio\": %.3f, \"local_bulk_changes_per_s\": %.0f, "
	       "\"local_bulk_lmdb_puts_per_s\": %.0f, \"local_bulk_ratio\": %.3f, "
	       "\"edits\": %zu, \"bulk_changes\": %zu}\n",
	       (double)ops1 / t1, raw1, (double)ops1 / t1 / raw1, (double)ops2 / t2, raw2,
	       (double)ops2 / t2 / raw2, per_edit, ops2);
	for (size_t i = 0; i < cnt; i++)
		free(vals[i]);
	free(vals);
	free(lens);
	return 0;
}

/* ---- edits ---- */

/*
 * n edits, each on its own situation, spread evenly over the store's
 * situations (sorted by id), all in one durable commit. An edit is what the
 * PouchDB benchmark's edit does to a document: a register (status), a set
 * element (a problem), a journal entry of 100-600 bytes: three changes.
 */
static int
cmd_edits(const char *store, size_t n)
{
	rl_replica *rp = open_store(store);
	uint8_t (*ids)[RL_SIT_BYTES] = NULL;
	size_t nids = 0, cap = 0, ops = 0;
	rl_txn *txn;
	rl_cursor *c;
	rl_bytes k;
	double t0;
	char buf[640];
	rl_err e;

	if ((e = rl_store_begin(rl_replica_store(rp), false, &txn)) != RL_OK ||
	    (e = rl_cursor_open(txn, RL_T_STATES, &c)) != RL_OK)
		die("edits", e);
	for (e = rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, NULL); e == RL_OK;
	     e = rl_cursor_next(c, &k, NULL)) {
		if (nids == cap) {
			cap = cap ? 2 * cap : 1024;
			if ((ids = realloc(ids, cap * RL_SIT_BYTES)) == NULL)
				die("edits", RL_ENOMEM);
		}
		memcpy(ids[nids++], k.p, RL_SIT_BYTES);
	}
	rl_cursor_close(c);
	rl_store_abort(txn);
	if (nids == 0)
		return 1;
	if (n > nids)
		n = nids;
	{
		uint64_t b;

		outbox_bytes(rp, &ops, &b);
	}
	t0 = now_s();
	if ((e = rl_store_begin(rl_replica_store(rp), true, &txn)) != RL_OK)
		die("edits", e);
	for (size_t i = 0; i < n; i++) {
		rl_edit *ed;

		if ((e = rl_edit_begin_in(rp, txn, ids[i * nids / n], &ed)) != RL_OK)
			die("edits", e);
		if ((e = rl_edit_reg(ed, NULL, RL_F_STATUS, S(rnd(0, 1) ? "closed" : "open"))) != RL_OK ||
		    (e = rl_edit_add(ed, RL_SET_PROBLEMS, S(problems[rnd(0, 5)]))) != RL_OK)
			die("edits", e);
		text(buf, rnd(100, 600));
		if ((e = rl_edit_journal(ed, RL_J_APPEL, 20251201, S(buf), NULL, NULL)) != RL_OK)
			die("edits", e);
		if ((e = rl_edit_commit(ed)) != RL_OK)
			die("edits", e);
	}
	if ((e = rl_store_commit(txn)) != RL_OK)
		die("edits", e);
	t0 = now_s() - t0;
	{
		size_t after;
		uint64_t b;

		outbox_bytes(rp, &after, &b);
		ops = after - ops;
	}
	printf("{\"edits\": %zu, \"changes\": %zu, \"situations\": %zu, \"seconds\": %.3f}\n", n,
	       ops, nids, t0);
	free(ids);
	rl_replica_close(rp);
	return 0;
}

/* ---- push ---- */

typedef struct push_report {
	unsigned long long pushed, bytes, op_bytes;
	long maxrss_kib, rss_anon_kib, rss_file_kib, err;
	double seconds;
} push_report;

static void
rss_progress(void *arg, const rl_sync_progress *p)
{
	(void)p;
	rss_peak(arg);
}

/* Pushes from every store at once, one process each, started together. */
static int
cmd_push(const char **stores, int n, long server_pid)
{
	int go[2], done[2];
	pid_t pids[MAX_STORES];
	double t0, t1, cpu0;
	pstat s0, s1;
	uint64_t total = 0, bytes = 0, opb = 0;
	long peak = 0, peak_anon = 0, peak_file = 0;

	if (pipe(go) != 0 || pipe(done) != 0)
		return 1;
	for (int i = 0; i < n; i++) {
		if ((pids[i] = fork()) == 0) {
			rl_replica *rp = open_store(stores[i]);
			push_report r = { 0 };
			rl_sync_opts o = { 0 };
			rss cpeak = { 0, 0, 0 };
			rl_sync_conn *c;
			char x;
			rl_err e;
			double ts;

			close(go[1]);
			close(done[0]);
			o.progress = rss_progress;
			o.arg = &cpeak;
			if ((e = rl_sync_connect(rp, &o, &c)) != RL_OK)
				die("connect", e);
			if (read(go[0], &x, 1) != 0)
				_exit(1);
			ts = now_s();
			if ((e = rl_sync_push_all(c)) != RL_OK)
				r.err = e;
			r.seconds = now_s() - ts;
			r.pushed = rl_sync_conn_stats(c)->pushed;
			r.bytes = rl_sync_conn_stats(c)->bytes_sent + rl_sync_conn_stats(c)->bytes_recv;
			r.op_bytes = rl_sync_conn_stats(c)->op_bytes;
			r.maxrss_kib = maxrss_kib();
			rss_peak(&cpeak);
			r.rss_anon_kib = cpeak.anon;
			r.rss_file_kib = cpeak.file + cpeak.shmem;
			if (write(done[1], &r, sizeof(r)) != sizeof(r))
				_exit(1);
			rl_sync_disconnect(c);
			rl_replica_close(rp);
			_exit(0);
		}
	}
	close(go[0]);
	close(done[1]);
	usleep(300000); /* every child connected (handshake outside the timing) */
	cpu0 = children_cpu_s();
	s0 = proc_stat(server_pid);
	t0 = now_s();
	close(go[1]);
	for (int i = 0; i < n; i++) {
		push_report r;

		if (read(done[0], &r, sizeof(r)) != sizeof(r))
			return 1;
		if (r.err != 0) {
			fprintf(stderr, "relais-bench: push: %s\n", rl_strerror((rl_err)r.err));
			printf("{\"error\": \"%s\", \"changes\": %llu}\n", rl_strerror((rl_err)r.err),
			       (unsigned long long)total);
			return 1;
		}
		total += r.pushed;
		bytes += r.bytes;
		opb += r.op_bytes;
		if (r.maxrss_kib > peak)
			peak = r.maxrss_kib;
		if (r.rss_anon_kib > peak_anon)
			peak_anon = r.rss_anon_kib;
		if (r.rss_file_kib > peak_file)
			peak_file = r.rss_file_kib;
	}
	t1 = now_s();
	s1 = proc_stat(server_pid);
	for (int i = 0; i < n; i++) {
		int st;

		waitpid(pids[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return 1;
	}
	{
		bool known = server_pid > 0 && s0.user >= 0 && s1.user >= 0;
		double su = known ? s1.user - s0.user : -1, ss = known ? s1.sys - s0.sys : -1;
		double scpu = known ? su + ss : -1, nt = (double)(total ? total : 1);
		double sw = known && s0.wchar >= 0 ? s1.wchar - s0.wchar : -1;
		double ccpu = children_cpu_s() - cpu0;

		printf("{\"clients\": %d, \"changes\": %llu, \"seconds\": %.3f, "
		       "\"ingest_changes_per_s\": %.0f, \"us_per_change\": %.3f, "
		       "\"wire_bytes\": %llu, \"msgpack_bytes\": %llu, \"client_rss_kib\": %ld, "
		       "\"client_rss_anon_kib\": %ld, \"client_rss_file_kib\": %ld, "
		       "\"server_cpu_s\": %.2f, \"server_user_s\": %.2f, \"server_sys_s\": %.2f, "
		       "\"server_cpu_us_per_change\": %.3f, \"server_written_bytes_per_change\": %.0f, "
		       "\"clients_cpu_s\": %.2f}\n",
		       n, (unsigned long long)total, t1 - t0, (double)total / (t1 - t0),
		       (t1 - t0) * 1e6 / nt, (unsigned long long)bytes, (unsigned long long)opb, peak,
		       peak_anon, peak_file, scpu, su, ss, scpu >= 0 ? scpu * 1e6 / nt : -1.0,
		       sw >= 0 ? sw / nt : -1.0, ccpu);
	}
	return 0;
}

/* ---- pull ---- */

typedef struct pull_watch {
	rss peak;
	size_t batches;
} pull_watch;

static void
pull_progress(void *arg, const rl_sync_progress *p)
{
	pull_watch *w = arg;

	(void)p;
	w->batches++;
	rss_peak(&w->peak);
}

static int
cmd_pull(const char *store, long server_pid)
{
	rl_replica *rp = open_store(store);
	pull_watch w = { { 0, 0, 0 }, 0 };
	rl_sync_opts o = { 0 };
	rl_sync_conn *c;
	const rl_sync_stats *st;
	double t0, t1, scpu0, cpu0;
	pstat me0 = proc_stat((long)getpid()), me1;
	rl_err e;

	o.progress = pull_progress;
	o.arg = &w;
	rss_peak(&w.peak);
	scpu0 = proc_cpu_s(server_pid);
	cpu0 = self_cpu_s();
	t0 = now_s();
	if ((e = rl_sync_connect(rp, &o, &c)) != RL_OK || (e = rl_sync_pull_all(c)) != RL_OK)
		die("pull", e);
	t1 = now_s();
	me1 = proc_stat((long)getpid());
	rss_peak(&w.peak);
	st = rl_sync_conn_stats(c);
	{
		double scpu = server_pid > 0 ? proc_cpu_s(server_pid) - scpu0 : -1;

		printf("{\"entries\": %zu, \"seconds\": %.3f, \"changes_per_s\": %.0f, "
		       "\"wire_bytes\": %llu, \"pulled_msgpack_bytes\": %llu, \"batches\": %zu, "
		       "\"client_rss_kib\": %ld, \"client_rss_anon_kib\": %ld, "
		       "\"client_rss_file_kib\": %ld, \"client_cpu_s\": %.2f, \"server_cpu_s\": %.2f, "
		       "\"client_written_bytes_per_change\": %.0f}\n",
		       st->pulled, t1 - t0, (double)st->pulled / (t1 - t0),
		       (unsigned long long)(st->bytes_sent + st->bytes_recv),
		       (unsigned long long)st->op_bytes, w.batches, maxrss_kib(), w.peak.anon,
		       w.peak.file + w.peak.shmem, self_cpu_s() - cpu0, scpu,
		       (me1.wchar - me0.wchar) / (double)(st->pulled ? st->pulled : 1));
	}
	rl_sync_disconnect(c);
	rl_replica_close(rp);
	return 0;
}

/* ---- no-op sync, ping, handshake ---- */

static double
pct(double *t, size_t n, double p)
{
	size_t i = (size_t)((double)n * p);

	return t[i < n ? i : n - 1];
}

static int
cmd_noop(const char *store, size_t n)
{
	rl_replica *rp = open_store(store);
	double *t = malloc(n * sizeof(*t)), *p = malloc(n * sizeof(*p)), h[200];
	const size_t nhs = sizeof(h) / sizeof(h[0]);
	rl_sync_conn *c;
	rl_err e;

	for (size_t i = 0; i < nhs; i++) {
		double t0 = now_s();

		/* A new session: dial, HELLO/WELCOME, the restored-server check. */
		if ((e = rl_sync_connect(rp, NULL, &c)) != RL_OK)
			die("connect", e);
		h[i] = (now_s() - t0) * 1000;
		rl_sync_disconnect(c);
	}
	if ((e = rl_sync_connect(rp, NULL, &c)) != RL_OK || (e = rl_sync_push_all(c)) != RL_OK ||
	    (e = rl_sync_pull_all(c)) != RL_OK)
		die("noop", e);
	for (size_t i = 0; i < n; i++) {
		double t0 = now_s();

		/* A sync with nothing to do: the outbox is empty, one PULL. */
		if ((e = rl_sync_push_all(c)) != RL_OK || (e = rl_sync_pull_all(c)) != RL_OK)
			die("noop", e);
		t[i] = (now_s() - t0) * 1000;
		t0 = now_s();
		if ((e = rl_sync_ping_conn(c)) != RL_OK)
			die("ping", e);
		p[i] = (now_s() - t0) * 1000;
	}
	if (rl_sync_conn_stats(c)->pulled != 0) {
		fprintf(stderr, "relais-bench: noop: the sync was not a no-op\n");
		return 1;
	}
	qsort(t, n, sizeof(*t), dbl_cmp);
	qsort(p, n, sizeof(*p), dbl_cmp);
	qsort(h, nhs, sizeof(*h), dbl_cmp);
	printf("{\"noop_sync_p50_ms\": %.3f, \"noop_sync_p99_ms\": %.3f, \"ping_p50_ms\": %.3f, "
	       "\"ping_p99_ms\": %.3f, \"handshake_ms\": %.3f, \"handshake_p99_ms\": %.3f, "
	       "\"n\": %zu, \"handshakes\": %zu}\n",
	       pct(t, n, 0.5), pct(t, n, 0.99), pct(p, n, 0.5), pct(p, n, 0.99), pct(h, nhs, 0.5),
	       pct(h, nhs, 0.99), n, nhs);
	rl_sync_disconnect(c);
	rl_replica_close(rp);
	free(t);
	free(p);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *stores[MAX_STORES], *dir = "/tmp", *profile = "design", *out = NULL;
	size_t n = 100000, bytes = 200, batch = 32768;
	long server_pid = 0;
	int nstores = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: relais-bench gen|export-jsonl|edits|push|pull|noop|lmdb|local "
		                "[options] (see bench/relais_bench.c)\n");
		return 2;
	}
	rl_crypto_init();
	rng_state = 42;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL) {
			fprintf(stderr, "relais-bench: %s needs a value\n", a);
			return 2;
		}
		if (strcmp(a, "--store") == 0 && nstores < MAX_STORES)
			stores[nstores++] = v;
		else if (strcmp(a, "--n") == 0 || strcmp(a, "--situations") == 0)
			n = strtoull(v, NULL, 10);
		else if (strcmp(a, "--seed") == 0)
			rng_state = strtoull(v, NULL, 10);
		else if (strcmp(a, "--profile") == 0)
			profile = v;
		else if (strcmp(a, "--dir") == 0)
			dir = v;
		else if (strcmp(a, "--out") == 0)
			out = v;
		else if (strcmp(a, "--bytes") == 0)
			bytes = strtoull(v, NULL, 10);
		else if (strcmp(a, "--batch") == 0)
			batch = strtoull(v, NULL, 10);
		else if (strcmp(a, "--server-pid") == 0)
			server_pid = strtol(v, NULL, 10);
		else {
			fprintf(stderr, "relais-bench: unknown option %s\n", a);
			return 2;
		}
		i++;
	}
	if (strcmp(profile, "design") != 0 && strcmp(profile, "realistic") != 0) {
		fprintf(stderr, "relais-bench: unknown profile %s\n", profile);
		return 2;
	}
	if (strcmp(argv[1], "local") == 0)
		return cmd_local(dir, n);
	if (strcmp(argv[1], "lmdb") == 0)
		return cmd_lmdb(dir, stores, nstores, n, bytes, batch ? batch : 1);
	if (nstores == 0) {
		fprintf(stderr, "relais-bench: --store is needed\n");
		return 2;
	}
	if (strcmp(argv[1], "gen") == 0)
		return cmd_gen(stores[0], n, strcmp(profile, "realistic") == 0);
	if (strcmp(argv[1], "export-jsonl") == 0) {
		if (out == NULL) {
			fprintf(stderr, "relais-bench: export-jsonl needs --out FILE\n");
			return 2;
		}
		return cmd_export(stores, nstores, out);
	}
	if (strcmp(argv[1], "edits") == 0)
		return cmd_edits(stores[0], n);
	if (strcmp(argv[1], "push") == 0)
		return cmd_push(stores, nstores, server_pid);
	if (strcmp(argv[1], "pull") == 0)
		return cmd_pull(stores[0], server_pid);
	if (strcmp(argv[1], "noop") == 0)
		return cmd_noop(stores[0], n);
	fprintf(stderr, "relais-bench: unknown command %s\n", argv[1]);
	return 2;
}
