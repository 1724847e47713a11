/*
 * loadgen.c - many clients writing and syncing at once against one server,
 * for the load test (tests/integration/test_fault_load.sh).
 *
 *   loadgen --url URL --srv DIR --dir DIR [--clients N] [--seconds S]
 *           [--think-ms MS] [--server-pid PID] [--seed S]
 *
 * Setup: N client stores are made under --dir (c000, c001...; antennas A1..A7
 * in turn, every fifth one a mobile), each enrolled with a one-time token
 * minted straight in the server store --srv (its key file server.key; the
 * running server shares the store, as `relais-server enroll` does) and the
 * real enrollment exchange (rl_sync_enroll).
 *
 * Run: one thread per client for S seconds (default 20). Each round a client
 * makes an edit through the library (a new situation, or 1 to 20 tags and
 * now and then a journal entry, each edit one durable commit), counts the
 * changes it made as the growth of its outbox, then syncs (connect, push
 * all, pull all), then waits 0 to --think-ms ms (default 100). Every 250 ms
 * the main thread samples the server's VmRSS and RssAnon (/proc/PID/status).
 *
 * End: every client syncs until its outbox is empty (retries allowed, but
 * counted), then the server store is read: each device's count of changes
 * must equal what the client made. Prints:
 *   made N pushed N pulled N syncs N errors N seconds S changes_per_s X
 *   syncs_per_s X sync_ms_p50 X sync_ms_p99 X sync_ms_max X
 *   rss_kb first=N max=N last=N anon_kb first=N max=N last=N
 *   anon_kb_half first_max=N second_max=N
 *   verify devices=N mismatches=N total=N
 * and "error ..." lines for each failed sync (the first 20). Exit status 0
 * when every sync succeeded and every count matched, else 1.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client/sync.h"
#include "common/crypto.h"
#include "common/log.h"
#include "common/replica.h"
#include "common/store.h"
#include "server/hub.h"

#define LG_MAX_CLIENTS 1000
#define LG_MAX_SYNCS (1u << 20)
#define LG_MAX_SAMPLES 100000
#define LG_PASS "load test passphrase"
#define LG_MAX_TAGS 20

typedef struct lg_client {
	char dir[4096];
	char antenna[8];
	rl_role role;
	rl_replica *rp;
	uint8_t dev[RL_DEV_BYTES];
	uint8_t sit[RL_SIT_BYTES];
	bool have_sit;
	uint64_t rng;
	uint64_t made, pushed, pulled, syncs, errors, seq;
} lg_client;

typedef struct lg {
	const char *url, *srv, *dir;
	unsigned n, seconds, think_ms;
	int server_pid;
	lg_client *cl;
	atomic_bool stop;
	pthread_mutex_t mu;
	uint32_t *sync_us; /* latencies */
	size_t nsync;
	unsigned nerr_printed;
} lg;

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int
die(const char *what, rl_err e)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, rl_strerror(e));
	exit(1);
}

static rl_secret
secret(void)
{
	return (rl_secret){ LG_PASS, strlen(LG_PASS), NULL };
}

/* ---- setup ---- */

static void
setup(lg *g)
{
	static const rl_store_opts opts = { 0, RL_KDF_MIN };
	uint8_t key[RL_KEY_BYTES];
	char path[4096];
	rl_secret ss;
	rl_hub hub;
	rl_err e;

	snprintf(path, sizeof(path), "%s/server.key", g->srv);
	if ((e = rl_store_read_keyfile(path, key)) != RL_OK)
		die(path, e);
	memset(&ss, 0, sizeof(ss));
	ss.key = key;
	if ((e = rl_hub_open(g->srv, &ss, NULL, &hub)) != RL_OK)
		die("server store", e);
	rl_wipe(key, sizeof(key));
	mkdir(g->dir, 0700);
	for (unsigned i = 0; i < g->n; i++) {
		lg_client *c = &g->cl[i];
		char token[RL_TOKEN_HEX + 1], name[32];
		rl_secret s = secret();

		snprintf(c->dir, sizeof(c->dir), "%s/c%03u", g->dir, i);
		snprintf(c->antenna, sizeof(c->antenna), "A%u", 1 + i % 7);
		c->role = i % 5 == 4 ? RL_ROLE_MOBILE : RL_ROLE_ANTENNA;
		c->rng = 0x5eed0000u + i;
		snprintf(name, sizeof(name), "load-%03u", i);
		if ((e = rl_replica_create(c->dir, &s, &opts, c->antenna, c->role)) != RL_OK)
			die(c->dir, e);
		if ((e = rl_replica_open(c->dir, &s, NULL, &c->rp)) != RL_OK)
			die(c->dir, e);
		memcpy(c->dev, rl_replica_device(c->rp), RL_DEV_BYTES);
		if ((e = rl_hub_token_create(&hub, c->antenna, c->role, name, RL_TOKEN_TTL_MS, token)) !=
		    RL_OK)
			die("token", e);
		if ((e = rl_sync_enroll(c->rp, g->url, token, name)) != RL_OK)
			die("enroll", e);
	}
	rl_hub_close(&hub);
}

/* ---- the clients ---- */

static rl_err
edit(lg_client *c)
{
	char text[64];
	rl_edit *ed;
	rl_err e;

	if (!c->have_sit) {
		if ((e = rl_edit_begin(c->rp, NULL, &ed)) != RL_OK)
			return e;
		memcpy(c->sit, rl_edit_record(ed)->sit, RL_SIT_BYTES);
		if ((e = rl_edit_reg(ed, NULL, RL_F_ANTENNA, RL_BYTES(c->antenna, strlen(c->antenna)))) !=
		        RL_OK ||
		    (e = rl_edit_reg(ed, NULL, RL_F_KIND, RL_BYTES("coordination", 12))) != RL_OK ||
		    (e = rl_edit_reg(ed, NULL, RL_F_STATUS, RL_BYTES("open", 4))) != RL_OK ||
		    (e = rl_edit_reg(ed, NULL, RL_F_INITIALS, RL_BYTES("LD", 2))) != RL_OK) {
			rl_edit_abort(ed);
			return e;
		}
		if ((e = rl_edit_commit(ed)) == RL_OK)
			c->have_sit = rnd(&c->rng) % 8 != 0; /* a new situation now and then */
		return e;
	}
	if ((e = rl_edit_begin(c->rp, c->sit, &ed)) != RL_OK)
		return e;
	for (unsigned k = 1 + (unsigned)(rnd(&c->rng) % LG_MAX_TAGS); k > 0; k--) {
		int len = snprintf(text, sizeof(text), "referrer-%llu", (unsigned long long)++c->seq);

		if ((e = rl_edit_add(ed, RL_SET_REFERRERS, RL_BYTES(text, (size_t)len))) != RL_OK) {
			rl_edit_abort(ed);
			return e;
		}
	}
	if (rnd(&c->rng) % 4 == 0) {
		int len = snprintf(text, sizeof(text), "charge %llu", (unsigned long long)c->seq);

		if ((e = rl_edit_journal(ed, RL_J_NOTE, rl_date_today(), RL_BYTES(text, (size_t)len),
		                         NULL, NULL)) != RL_OK) {
			rl_edit_abort(ed);
			return e;
		}
	}
	e = rl_edit_commit(ed);
	if (e == RL_OK && rnd(&c->rng) % 8 == 0)
		c->have_sit = false;
	return e;
}

static void
note_sync(lg *g, lg_client *c, uint64_t us, rl_err e)
{
	pthread_mutex_lock(&g->mu);
	if (g->nsync < LG_MAX_SYNCS)
		g->sync_us[g->nsync++] = (uint32_t)(us > UINT32_MAX ? UINT32_MAX : us);
	if (e != RL_OK && g->nerr_printed < 20) {
		g->nerr_printed++;
		printf("error %s sync: %s\n", c->dir, rl_strerror(e));
	}
	pthread_mutex_unlock(&g->mu);
}

static rl_err
sync_one(lg *g, lg_client *c)
{
	rl_sync_stats st;
	uint64_t t0 = now_us();
	rl_err e = rl_sync_once(c->rp, NULL, &st);

	c->syncs++;
	c->pushed += st.pushed;
	c->pulled += st.pulled;
	if (e != RL_OK)
		c->errors++;
	note_sync(g, c, now_us() - t0, e);
	return e;
}

typedef struct lg_arg {
	lg *g;
	lg_client *c;
} lg_arg;

static void *
client_main(void *arg)
{
	lg_arg *a = arg;
	lg *g = a->g;
	lg_client *c = a->c;

	while (!atomic_load(&g->stop)) {
		size_t before, after;
		rl_err e;

		if ((e = rl_outbox_count(c->rp, &before)) != RL_OK || (e = edit(c)) != RL_OK ||
		    (e = rl_outbox_count(c->rp, &after)) != RL_OK) {
			fprintf(stderr, "loadgen: %s: edit: %s\n", c->dir, rl_strerror(e));
			c->errors++;
			break;
		}
		c->made += after - before;
		sync_one(g, c);
		if (g->think_ms) {
			uint64_t us = rnd(&c->rng) % ((uint64_t)g->think_ms * 1000);
			struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

/* ---- memory samples ---- */

static bool
sample(int pid, long *rss, long *anon)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	*rss = *anon = -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			*rss = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "RssAnon:", 8) == 0)
			*anon = strtol(line + 8, NULL, 10);
	}
	fclose(f);
	return *rss >= 0 && *anon >= 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	static long rss[LG_MAX_SAMPLES], anon[LG_MAX_SAMPLES];
	lg g;
	pthread_t *th;
	lg_arg *args;
	uint64_t t0, t1, made = 0, pushed = 0, pulled = 0, syncs = 0, errors = 0, retries = 0;
	size_t ns = 0;
	unsigned mismatches = 0;
	uint64_t total = 0;
	int i;

	memset(&g, 0, sizeof(g));
	g.n = 100;
	g.seconds = 20;
	g.think_ms = 100;
	for (i = 1; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];

		if (strcmp(a, "--url") == 0)
			g.url = v;
		else if (strcmp(a, "--srv") == 0)
			g.srv = v;
		else if (strcmp(a, "--dir") == 0)
			g.dir = v;
		else if (strcmp(a, "--clients") == 0)
			g.n = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--seconds") == 0)
			g.seconds = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--think-ms") == 0)
			g.think_ms = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--server-pid") == 0)
			g.server_pid = atoi(v);
		else
			break;
	}
	if (i != argc || !g.url || !g.srv || !g.dir || g.n == 0 || g.n > LG_MAX_CLIENTS) {
		fputs("usage: loadgen --url URL --srv DIR --dir DIR [--clients N] [--seconds S]\n"
		      "               [--think-ms MS] [--server-pid PID]\n",
		      stderr);
		return 2;
	}
	if (rl_crypto_init() != RL_OK)
		die("crypto", RL_EIO);
	rl_log_setup("loadgen", RL_LOG_ERROR);
	pthread_mutex_init(&g.mu, NULL);
	g.cl = calloc(g.n, sizeof(*g.cl));
	g.sync_us = malloc(LG_MAX_SYNCS * sizeof(*g.sync_us));
	th = calloc(g.n, sizeof(*th));
	args = calloc(g.n, sizeof(*args));
	if (!g.cl || !g.sync_us || !th || !args)
		die("memory", RL_ENOMEM);
	setup(&g);
	fprintf(stderr, "loadgen: %u clients enrolled\n", g.n);

	t0 = now_us();
	for (unsigned k = 0; k < g.n; k++) {
		args[k].g = &g;
		args[k].c = &g.cl[k];
		if (pthread_create(&th[k], NULL, client_main, &args[k]) != 0)
			die("thread", RL_ENOMEM);
	}
	while (now_us() - t0 < (uint64_t)g.seconds * 1000000) {
		struct timespec ts = { 0, 250 * 1000000L };

		if (g.server_pid > 0 && ns < LG_MAX_SAMPLES && sample(g.server_pid, &rss[ns], &anon[ns]))
			ns++;
		nanosleep(&ts, NULL);
	}
	atomic_store(&g.stop, true);
	for (unsigned k = 0; k < g.n; k++)
		pthread_join(th[k], NULL);
	t1 = now_us();
	if (g.server_pid > 0 && ns < LG_MAX_SAMPLES && sample(g.server_pid, &rss[ns], &anon[ns]))
		ns++;

	for (unsigned k = 0; k < g.n; k++) {
		made += g.cl[k].made;
		pushed += g.cl[k].pushed;
		pulled += g.cl[k].pulled;
		syncs += g.cl[k].syncs;
		errors += g.cl[k].errors;
	}
	/* Drain: every outbox to the server, then every device pulls the rest. */
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned k = 0; k < g.n; k++) {
			lg_client *c = &g.cl[k];
			size_t left = 1;

			for (int tries = 0; tries < 5; tries++) {
				rl_err e = rl_sync_once(c->rp, NULL, NULL);

				if (e == RL_OK && rl_outbox_count(c->rp, &left) == RL_OK && left == 0)
					break;
				retries++;
			}
			if (left != 0) {
				printf("error %s: %zu changes still pending after the drain\n", c->dir, left);
				errors++;
			}
		}
	}
	{
		uint8_t key[RL_KEY_BYTES];
		char path[4096];
		rl_secret ss;
		rl_hub hub;
		rl_txn *txn;
		rl_err e;

		snprintf(path, sizeof(path), "%s/server.key", g.srv);
		if ((e = rl_store_read_keyfile(path, key)) != RL_OK)
			die(path, e);
		memset(&ss, 0, sizeof(ss));
		ss.key = key;
		if ((e = rl_hub_open(g.srv, &ss, NULL, &hub)) != RL_OK)
			die("server store", e);
		if ((e = rl_store_begin(hub.st, false, &txn)) != RL_OK)
			die("server store", e);
		for (unsigned k = 0; k < g.n; k++) {
			rl_device d;

			if ((e = rl_hub_device_get(txn, g.cl[k].dev, &d)) != RL_OK || d.changes != g.cl[k].made) {
				if (mismatches++ < 20)
					printf("mismatch %s: made %llu, server holds %llu\n", g.cl[k].dir,
					       (unsigned long long)g.cl[k].made,
					       (unsigned long long)(e == RL_OK ? d.changes : 0));
			}
			total += e == RL_OK ? d.changes : 0;
		}
		rl_store_abort(txn);
		rl_hub_close(&hub);
	}
	{
		double secs = (double)(t1 - t0) / 1e6;
		size_t n = g.nsync;
		long rss_max = 0, anon_max = 0, anon_h1 = 0, anon_h2 = 0;

		qsort(g.sync_us, n, sizeof(*g.sync_us), cmp_u32);
		for (size_t k = 0; k < ns; k++) {
			if (rss[k] > rss_max)
				rss_max = rss[k];
			if (anon[k] > anon_max)
				anon_max = anon[k];
			if (k < ns / 2 && anon[k] > anon_h1)
				anon_h1 = anon[k];
			if (k >= ns / 2 && anon[k] > anon_h2)
				anon_h2 = anon[k];
		}
		printf("made %llu pushed %llu pulled %llu syncs %llu errors %llu retries %llu seconds %.1f "
		       "changes_per_s %.0f syncs_per_s %.0f sync_ms_p50 %.1f sync_ms_p99 %.1f "
		       "sync_ms_max %.1f\n",
		       (unsigned long long)made, (unsigned long long)pushed, (unsigned long long)pulled,
		       (unsigned long long)syncs, (unsigned long long)errors,
		       (unsigned long long)retries, secs, (double)pushed / secs, (double)syncs / secs,
		       n ? g.sync_us[n / 2] / 1e3 : 0.0, n ? g.sync_us[n * 99 / 100] / 1e3 : 0.0,
		       n ? g.sync_us[n - 1] / 1e3 : 0.0);
		if (ns > 0)
			printf("rss_kb first=%ld max=%ld last=%ld anon_kb first=%ld max=%ld last=%ld "
			       "samples=%zu\nanon_kb_half first_max=%ld second_max=%ld\n",
			       rss[0], rss_max, rss[ns - 1], anon[0], anon_max, anon[ns - 1], ns, anon_h1,
			       anon_h2);
		printf("verify devices=%u mismatches=%u total=%llu\n", g.n, mismatches,
		       (unsigned long long)total);
	}
	for (unsigned k = 0; k < g.n; k++)
		rl_replica_close(g.cl[k].rp);
	free(g.cl);
	free(g.sync_us);
	free(th);
	free(args);
	return errors == 0 && mismatches == 0 ? 0 : 1;
}
