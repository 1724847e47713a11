/*
 * relais_bench.c - the workload generator and measuring tool behind
 * `make bench` (bench/run.sh drives it).
 *
 *   relais-bench local [--n N]                      local changes vs raw LMDB puts
 *   relais-bench gen --store D --situations N [--seed S] [--profile design|realistic]
 *   relais-bench edits --store D --n N [--seed S]   N edits spread over the situations
 *   relais-bench push --store D [--store D]...      concurrent pushes, one process each
 *   relais-bench pull --store D                     pull everything (a new device)
 *   relais-bench noop --store D [--n N]             no-op sync and handshake round trips
 *   relais-bench lmdb --dir D --n N --bytes B --batch K   raw LMDB puts, durable commits
 *
 * Every command prints one JSON object on stdout. Stores are opened with
 * $RELAIS_PASSPHRASE. Generated situations are deterministic for a seed:
 * "design" is DESIGN.md's shape (about 10 changes a situation), "realistic"
 * the benchmark issue's (a few registers, 2-4 problems, 5-30 journal entries
 * of 100-600 bytes, some alerts).
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
	ops += rl_edit_reg(ed, NULL, RL_F_KIND, S(rnd(0, 2) ? "coordination" : "orientation")) == 0;
	ops += rl_edit_reg(ed, NULL, RL_F_ANTENNA, S(antenna)) == 0;
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

static long
maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Generates n situations into the store's outbox, 500 per transaction. */
static size_t
generate(rl_replica *rp, size_t n, bool realistic)
{
	const char *antenna = rl_replica_antenna(rp);
	size_t ops = 0;

	for (size_t done = 0; done < n;) {
		rl_txn *txn;
		size_t k;

		if (rl_store_begin(rl_replica_store(rp), true, &txn) != RL_OK)
			exit(1);
		for (k = 0; k < 500 && done < n; k++, done++) {
			rl_edit *ed;

			if (rl_edit_begin_in(rp, txn, NULL, &ed) != RL_OK)
				exit(1);
			ops += gen_situation(ed, antenna, realistic);
			if (rl_edit_commit(ed) != RL_OK)
				exit(1);
		}
		if (rl_store_commit(txn) != RL_OK)
			exit(1);
	}
	return ops;
}

static int
cmd_gen(const char *store, size_t n, bool realistic)
{
	rl_replica *rp = open_store(store);
	double t0 = now_s();
	size_t ops = generate(rp, n, realistic), pending = 0;

	rl_outbox_count(rp, &pending);
	printf("{\"situations\": %zu, \"changes\": %zu, \"outbox\": %zu, \"seconds\": %.3f}\n", n,
	       ops, pending, now_s() - t0);
	rl_replica_close(rp);
	return 0;
}

/* Raw LMDB: n puts of `bytes` random bytes under random 16-byte keys,
 * committing (durably) every batch puts. Returns puts/s. */
static double
raw_lmdb(const char *dir, size_t n, size_t bytes, size_t batch)
{
	MDB_env *env;
	MDB_dbi dbi;
	MDB_txn *txn;
	uint8_t key[16], *val = malloc(bytes ? bytes : 1);
	double t0;

	mkdir(dir, 0700);
	if (mdb_env_create(&env) || mdb_env_set_mapsize(env, (size_t)8 << 30) ||
	    mdb_env_open(env, dir, 0, 0600)) {
		fprintf(stderr, "relais-bench: lmdb open %s failed\n", dir);
		exit(1);
	}
	for (size_t i = 0; i < bytes; i++)
		val[i] = (uint8_t)rng();
	mdb_txn_begin(env, NULL, 0, &txn);
	mdb_dbi_open(txn, NULL, 0, &dbi);
	mdb_txn_commit(txn);
	t0 = now_s();
	for (size_t done = 0; done < n;) {
		mdb_txn_begin(env, NULL, 0, &txn);
		for (size_t k = 0; k < batch && done < n; k++, done++) {
			MDB_val kv = { sizeof(key), key }, vv = { bytes, val };

			for (int i = 0; i < 16; i += 8) {
				uint64_t r = rng();

				memcpy(key + i, &r, 8);
			}
			val[0] = (uint8_t)done;
			if (mdb_put(txn, dbi, &kv, &vv, 0) != 0)
				exit(1);
		}
		if (mdb_txn_commit(txn) != 0)
			exit(1);
	}
	t0 = now_s() - t0;
	mdb_env_close(env);
	free(val);
	return (double)n / t0;
}

static int
cmd_lmdb(const char *dir, size_t n, size_t bytes, size_t batch)
{
	double r = raw_lmdb(dir, n, bytes, batch);

	printf("{\"lmdb_puts_per_s\": %.0f, \"n\": %zu, \"bytes\": %zu, \"batch\": %zu}\n", r, n,
	       bytes, batch);
	return 0;
}

/* Local changes: per edit (each a durable commit, as `relais` commands do)
 * and in bulk (500 situations a commit), against raw LMDB with the same
 * number of puts per commit and the same bytes per put. */
static int
cmd_local(const char *dir, size_t n)
{
	char path[4096];
	rl_store_opts so = { 0, RL_KDF_MIN };
	rl_secret s = { "bench", 5, NULL };
	rl_replica *rp;
	size_t per_edit = n / 50 ? n / 50 : 1, ops1 = 0, ops2, bytes;
	double t1, t2, raw1, raw2;
	struct stat sb;

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
	snprintf(path, sizeof(path), "%s/local/data.mdb", dir);
	stat(path, &sb);
	bytes = 300; /* about the sealed size of one change */
	snprintf(path, sizeof(path), "%s/raw1", dir);
	raw1 = raw_lmdb(path, ops1, bytes, ops1 / per_edit);
	snprintf(path, sizeof(path), "%s/raw2", dir);
	raw2 = raw_lmdb(path, ops2, bytes, ops2 * 500 / n);
	printf("{\"local_edit_changes_per_s\": %.0f, \"local_edit_lmdb_puts_per_s\": %.0f, "
	       "\"local_edit_ratio\": %.3f, \"local_bulk_changes_per_s\": %.0f, "
	       "\"local_bulk_lmdb_puts_per_s\": %.0f, \"local_bulk_ratio\": %.3f, "
	       "\"edits\": %zu, \"bulk_changes\": %zu}\n",
	       (double)ops1 / t1, raw1, (double)ops1 / t1 / raw1, (double)ops2 / t2, raw2,
	       (double)ops2 / t2 / raw2, per_edit, ops2);
	return 0;
}

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

	if (rl_store_begin(rl_replica_store(rp), false, &txn) != RL_OK ||
	    rl_cursor_open(txn, RL_T_STATES, &c) != RL_OK)
		return 1;
	for (rl_err e = rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, NULL); e == RL_OK;
	     e = rl_cursor_next(c, &k, NULL)) {
		if (nids == cap) {
			cap = cap ? 2 * cap : 1024;
			ids = realloc(ids, cap * RL_SIT_BYTES);
		}
		memcpy(ids[nids++], k.p, RL_SIT_BYTES);
	}
	rl_cursor_close(c);
	rl_store_abort(txn);
	if (nids == 0)
		return 1;
	t0 = now_s();
	rl_store_begin(rl_replica_store(rp), true, &txn);
	for (size_t i = 0; i < n; i++) {
		rl_edit *ed;

		if (rl_edit_begin_in(rp, txn, ids[rng() % nids], &ed) != RL_OK)
			return 1;
		text(buf, rnd(100, 600));
		ops += rl_edit_journal(ed, RL_J_APPEL, 20251201, S(buf), NULL, NULL) == 0;
		if (rl_edit_commit(ed) != RL_OK)
			return 1;
	}
	if (rl_store_commit(txn) != RL_OK)
		return 1;
	printf("{\"edits\": %zu, \"seconds\": %.3f}\n", ops, now_s() - t0);
	free(ids);
	rl_replica_close(rp);
	return 0;
}

/* Pushes from every store at once, one process each, started together. */
static int
cmd_push(const char **stores, int n)
{
	int go[2], done[2];
	pid_t pids[MAX_STORES];
	double t0, t1;
	size_t total = 0;
	uint64_t bytes = 0, opb = 0;

	if (pipe(go) != 0 || pipe(done) != 0)
		return 1;
	for (int i = 0; i < n; i++) {
		if ((pids[i] = fork()) == 0) {
			rl_replica *rp = open_store(stores[i]);
			rl_sync_conn *c;
			char x;
			rl_err e;
			unsigned long long r[3];

			close(go[1]);
			if ((e = rl_sync_connect(rp, NULL, &c)) != RL_OK) {
				fprintf(stderr, "relais-bench: connect: %s\n", rl_strerror(e));
				_exit(1);
			}
			if (read(go[0], &x, 1) != 0)
				_exit(1);
			if ((e = rl_sync_push_all(c)) != RL_OK) {
				fprintf(stderr, "relais-bench: push: %s\n", rl_strerror(e));
				_exit(1);
			}
			r[0] = rl_sync_conn_stats(c)->pushed;
			r[1] = rl_sync_conn_stats(c)->bytes_sent + rl_sync_conn_stats(c)->bytes_recv;
			r[2] = rl_sync_conn_stats(c)->op_bytes;
			if (write(done[1], r, sizeof(r)) != sizeof(r))
				_exit(1);
			rl_sync_disconnect(c);
			rl_replica_close(rp);
			_exit(0);
		}
	}
	close(go[0]);
	close(done[1]);
	usleep(300000); /* every child connected (handshake outside the timing) */
	t0 = now_s();
	close(go[1]);
	for (int i = 0; i < n; i++) {
		unsigned long long r[3];

		if (read(done[0], r, sizeof(r)) != sizeof(r))
			return 1;
		total += r[0];
		bytes += r[1];
		opb += r[2];
	}
	t1 = now_s();
	for (int i = 0; i < n; i++) {
		int st;

		waitpid(pids[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return 1;
	}
	printf("{\"clients\": %d, \"changes\": %zu, \"seconds\": %.3f, \"ingest_changes_per_s\": "
	       "%.0f, \"wire_bytes\": %llu, \"msgpack_bytes\": %llu}\n",
	       n, total, t1 - t0, (double)total / (t1 - t0), (unsigned long long)bytes,
	       (unsigned long long)opb);
	return 0;
}

static int
cmd_pull(const char *store)
{
	rl_replica *rp = open_store(store);
	rl_sync_conn *c;
	const rl_sync_stats *st;
	double t0 = now_s(), t1;
	rl_err e;

	if ((e = rl_sync_connect(rp, NULL, &c)) != RL_OK || (e = rl_sync_pull_all(c)) != RL_OK) {
		fprintf(stderr, "relais-bench: pull: %s\n", rl_strerror(e));
		return 1;
	}
	t1 = now_s();
	st = rl_sync_conn_stats(c);
	printf("{\"entries\": %zu, \"seconds\": %.3f, \"wire_bytes\": %llu, \"msgpack_bytes\": "
	       "%llu, \"client_rss_kib\": %ld}\n",
	       st->pulled, t1 - t0, (unsigned long long)(st->bytes_sent + st->bytes_recv),
	       (unsigned long long)st->op_bytes, maxrss_kib());
	rl_sync_disconnect(c);
	rl_replica_close(rp);
	return 0;
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
cmd_noop(const char *store, size_t n)
{
	rl_replica *rp = open_store(store);
	double *t = malloc(n * sizeof(*t)), hs = 0;
	rl_sync_conn *c;
	rl_err e;
	const size_t nhs = 50;

	for (size_t i = 0; i < nhs; i++) {
		double t0 = now_s();

		if ((e = rl_sync_connect(rp, NULL, &c)) != RL_OK)
			return 1;
		if ((e = rl_sync_ping_conn(c)) != RL_OK)
			return 1;
		hs += now_s() - t0;
		rl_sync_disconnect(c);
	}
	if ((e = rl_sync_connect(rp, NULL, &c)) != RL_OK || (e = rl_sync_pull_all(c)) != RL_OK)
		return 1;
	for (size_t i = 0; i < n; i++) {
		double t0 = now_s();

		/* A sync with nothing to do: the outbox is empty, one PULL. */
		if ((e = rl_sync_push_all(c)) != RL_OK || (e = rl_sync_pull_all(c)) != RL_OK) {
			fprintf(stderr, "relais-bench: noop: %s\n", rl_strerror(e));
			return 1;
		}
		t[i] = (now_s() - t0) * 1000;
	}
	qsort(t, n, sizeof(*t), dbl_cmp);
	printf("{\"noop_sync_p50_ms\": %.3f, \"noop_sync_p99_ms\": %.3f, \"handshake_ms\": %.3f, "
	       "\"n\": %zu}\n",
	       t[n / 2], t[(size_t)((double)n * 0.99)], hs / nhs * 1000, n);
	rl_sync_disconnect(c);
	rl_replica_close(rp);
	free(t);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *stores[MAX_STORES], *dir = "/tmp", *profile = "design";
	size_t n = 100000, bytes = 200, batch = 1000;
	int nstores = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: relais-bench local|gen|edits|push|pull|noop|lmdb [options]\n");
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
		else if (strcmp(a, "--bytes") == 0)
			bytes = strtoull(v, NULL, 10);
		else if (strcmp(a, "--batch") == 0)
			batch = strtoull(v, NULL, 10);
		else {
			fprintf(stderr, "relais-bench: unknown option %s\n", a);
			return 2;
		}
		i++;
	}
	if (strcmp(argv[1], "local") == 0)
		return cmd_local(dir, n);
	if (strcmp(argv[1], "lmdb") == 0)
		return cmd_lmdb(dir, n, bytes, batch ? batch : 1);
	if (nstores == 0) {
		fprintf(stderr, "relais-bench: --store is needed\n");
		return 2;
	}
	if (strcmp(argv[1], "gen") == 0)
		return cmd_gen(stores[0], n, strcmp(profile, "realistic") == 0);
	if (strcmp(argv[1], "edits") == 0)
		return cmd_edits(stores[0], n);
	if (strcmp(argv[1], "push") == 0)
		return cmd_push(stores, nstores);
	if (strcmp(argv[1], "pull") == 0)
		return cmd_pull(stores[0]);
	if (strcmp(argv[1], "noop") == 0)
		return cmd_noop(stores[0], n);
	fprintf(stderr, "relais-bench: unknown command %s\n", argv[1]);
	return 2;
}
