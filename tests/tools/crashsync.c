/*
 * crashsync.c - kills the HQ server and the clients with SIGKILL at random
 * points of their syncs, many times over, and checks after every kill that
 * nothing acknowledged was lost and nothing was counted twice
 * (tests/integration/test_fault_crash.sh drives it).
 *
 *   crashsync --relais BIN --server BIN --srv DIR --url tcp://127.0.0.1:PORT
 *             [--config FILE] [--kills N] [--seed S] [--max-seconds T]
 *             [--log FILE] CLIENT_DIR:ANTENNA...
 *
 * The server store DIR and the client stores exist and are enrolled; the
 * clients' secret is $RELAIS_PASSPHRASE, the server's its key file. Each
 * round, on a client picked at random:
 *
 *   1. the server is started if it is down (`relais-server run`, stdout and
 *      stderr appended to --log), and must listen within 10 s: its store
 *      reopens after the kill, without repair;
 *   2. usually, the client writes (a `relais` command run to its end: new
 *      situation, a batch of tags, a journal entry, a field); it must
 *      succeed, and the driver counts the changes it made as the growth of
 *      the client's outbox (no sync runs on that store meanwhile);
 *   3. `relais sync` starts, and after a random delay (microseconds, drawn
 *      up to 1.5 times the duration of a recent unkilled sync) the client,
 *      the server or both get SIGKILL. A kill counts when it finds the
 *      process alive. A sync that ended first must have exited 0 or 1;
 *   4. the client's store must open (by this process, through the library)
 *      and hold every change it made, outbox + sent == made (an interrupted
 *      acknowledgement neither loses nor doubles one); the server's store
 *      must open and count, for every client, sent <= changes <= made (what
 *      was acknowledged is stored; nothing counted twice), never fewer
 *      changes than the last time it was read (nothing lost by a kill).
 *      Every eighth round, and at the end, every client is checked so.
 *
 * The victim is the client 4 times in 10, the server 3, both 3. Now and
 * then a sync finds the server still down. Every sixth round a sync runs to
 * its end unharmed and must succeed (it times the syncs for the delays).
 * The run stops after N kills (default 200) and fails if --max-seconds
 * (default 300) passes first. At the end the server is stopped (SIGTERM),
 * and the driver prints one line per client, "made DIR DEVICE N", then
 * "kills client=N server=N total=N rounds=N seconds=S", then where the time
 * went and the syncs whose server was killed under them ("orphans"): the
 * longest, how many there were and how many took over 4 s ("slow-orphans";
 * each is reported on stderr: it should fail fast, not wait out its
 * timeout). Exit status: 0, 1 when a check failed (the reason on stderr),
 * 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/replica.h"
#include "common/store.h"
#include "server/hub.h"

#define CS_MAX_CLIENTS 16
#define CS_MAX_SITS 4096
#define CS_READY_MS 10000
#define CS_DEFAULT_KILLS 200
#define CS_DEFAULT_MAX_S 300
#define CS_MAX_TAGS 300
#define CS_SLOW_ORPHAN_US 4000000 /* the test's request timeout is 5 s */

typedef struct client {
	const char *dir;
	const char *antenna;
	uint8_t dev[RL_DEV_BYTES];
	char devhex[2 * RL_DEV_BYTES + 1];
	char sits[CS_MAX_SITS][2 * RL_SIT_BYTES + 1];
	size_t nsits;
	uint64_t made;
	uint64_t srv_last; /* the server's count last read */
} client;

typedef struct cs {
	const char *relais, *server, *srv, *url, *config, *log;
	unsigned port;
	client cl[CS_MAX_CLIENTS];
	size_t ncl;
	pid_t srv_pid; /* 0: down */
	uint64_t rng;
	uint64_t est_us; /* recent unkilled sync duration */
	unsigned kills_client, kills_server, rounds;
	unsigned tag_seq;
	uint64_t us_server, us_write, us_sync, us_check; /* where the time goes */
	uint64_t max_orphan_us; /* longest sync whose server was killed under it */
	unsigned orphans, slow_orphans; /* such syncs, and those slower than 4 s */
} cs;

static int
die(const char *fmt, ...)
{
	va_list ap;

	fputs("crashsync: FAIL: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t
rnd(cs *c)
{
	uint64_t z = (c->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t
rnd_below(cs *c, uint64_t n)
{
	return n ? rnd(c) % n : 0;
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
sleep_us(uint64_t us)
{
	struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- processes ---- */

/* Starts argv; its stdout goes to out_fd (or /dev/null when -1), its stderr
 * to the log (or /dev/null). */
static pid_t
spawn(cs *c, char *const argv[], int out_fd)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		int log = c->log ? open(c->log, O_WRONLY | O_APPEND | O_CREAT, 0600) : -1;

		dup2(null, 0);
		dup2(out_fd >= 0 ? out_fd : log >= 0 ? log : null, 1);
		dup2(log >= 0 ? log : null, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Waits for pid; returns the raw status. */
static int
reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	return st;
}

/* SIGKILLs pid and reaps it; true when the kill found it alive. */
static bool
kill_reap(pid_t pid, int *status)
{
	bool hit = kill(pid, SIGKILL) == 0;
	int st = reap(pid);

	if (status)
		*status = st;
	return hit && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

static bool
port_open(unsigned port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Starts the server if it is down and waits until it listens. A server
 * that dies while starting is retried a few times (its port may linger). */
static void
server_up(cs *c)
{
	char *argv[] = { (char *)c->server, "--store", (char *)c->srv, "run", "--listen",
		             (char *)c->url,    NULL };

	if (c->srv_pid != 0)
		return;
	for (int attempt = 0; attempt < 20; attempt++) {
		uint64_t t0 = now_us();
		int st;

		c->srv_pid = spawn(c, argv, -1);
		while (now_us() - t0 < (uint64_t)CS_READY_MS * 1000) {
			if (waitpid(c->srv_pid, &st, WNOHANG) == c->srv_pid) {
				c->srv_pid = 0;
				break;
			}
			if (port_open(c->port))
				return;
			sleep_us(1000);
		}
		if (c->srv_pid != 0)
			die("the server does not listen %d ms after its start (round %u)", CS_READY_MS,
			    c->rounds);
		sleep_us(100000);
	}
	die("the server does not restart (round %u): see the log", c->rounds);
}

/* Runs a relais command on client k to its end; its stdout (first line)
 * goes to out (may be NULL). Returns the exit status, -1 if killed. */
static int
relais_run(cs *c, client *k, char **args, size_t nargs, char *out, size_t outcap)
{
	char *argv[CS_MAX_TAGS + 16];
	size_t n = 0;
	int fds[2] = { -1, -1 }, st;
	pid_t pid;

	argv[n++] = (char *)c->relais;
	argv[n++] = "--store";
	argv[n++] = (char *)k->dir;
	for (size_t i = 0; i < nargs; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (out && pipe(fds) != 0)
		die("pipe: %s", strerror(errno));
	pid = spawn(c, argv, fds[1]);
	if (out) {
		size_t len = 0;
		ssize_t r;

		close(fds[1]);
		while (len + 1 < outcap && (r = read(fds[0], out + len, outcap - 1 - len)) > 0)
			len += (size_t)r;
		out[len] = '\0';
		out[strcspn(out, "\n")] = '\0';
		close(fds[0]);
	}
	st = reap(pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- stores ---- */

static rl_secret
client_secret(void)
{
	const char *pass = getenv("RELAIS_PASSPHRASE");
	rl_secret s;

	memset(&s, 0, sizeof(s));
	s.pass = pass;
	s.passlen = strlen(pass);
	return s;
}

/* Opens client k's store: its outbox and sent counts. The store must open. */
static void
client_counts(client *k, size_t *outbox, size_t *sent, unsigned round)
{
	rl_secret s = client_secret();
	rl_replica *rp;
	rl_txn *txn;
	rl_err e;

	if ((e = rl_replica_open(k->dir, &s, NULL, &rp)) != RL_OK)
		die("round %u: the store of %s does not open: %s", round, k->dir, rl_strerror(e));
	memcpy(k->dev, rl_replica_device(rp), RL_DEV_BYTES);
	rl_hex_encode(k->dev, RL_DEV_BYTES, k->devhex);
	*outbox = *sent = 0;
	if ((e = rl_store_begin(rl_replica_store(rp), false, &txn)) == RL_OK) {
		e = rl_outbox_count_txn(txn, outbox, sent);
		rl_store_abort(txn);
	}
	rl_replica_close(rp);
	if (e != RL_OK)
		die("round %u: the store of %s cannot be read: %s", round, k->dir, rl_strerror(e));
}

/* The server's change counts, per client. The store must open. */
static void
server_counts(cs *c, uint64_t *changes)
{
	uint8_t key[RL_KEY_BYTES];
	char path[4096];
	rl_secret s;
	rl_hub hub;
	rl_txn *txn;
	rl_err e;

	snprintf(path, sizeof(path), "%s/server.key", c->srv);
	if ((e = rl_store_read_keyfile(path, key)) != RL_OK)
		die("%s: %s", path, rl_strerror(e));
	memset(&s, 0, sizeof(s));
	s.key = key;
	if ((e = rl_hub_open(c->srv, &s, NULL, &hub)) != RL_OK)
		die("round %u: the server store does not open: %s", c->rounds, rl_strerror(e));
	rl_wipe(key, sizeof(key));
	if ((e = rl_store_begin(hub.st, false, &txn)) != RL_OK)
		die("round %u: the server store cannot be read: %s", c->rounds, rl_strerror(e));
	for (size_t i = 0; i < c->ncl; i++) {
		rl_device d;

		e = rl_hub_device_get(txn, c->cl[i].dev, &d);
		if (e != RL_OK)
			die("round %u: the server lost the device of %s: %s", c->rounds, c->cl[i].dir,
			    rl_strerror(e));
		changes[i] = d.changes;
	}
	rl_store_abort(txn);
	rl_hub_close(&hub);
}

/* The checks of step 4: the client of the round (only != NULL) or every
 * client, and the server. */
static void
check_all(cs *c, const client *only)
{
	uint64_t srv[CS_MAX_CLIENTS];
	size_t acked[CS_MAX_CLIENTS];

	for (size_t i = 0; i < c->ncl; i++) {
		client *k = &c->cl[i];
		size_t outbox;

		if (only != NULL && k != only) {
			acked[i] = 0; /* not read: compared with the server's count only */
			continue;
		}
		client_counts(k, &outbox, &acked[i], c->rounds);
		if (outbox + acked[i] != k->made)
			die("round %u: %s holds %zu changes (outbox %zu + sent %zu), it made %llu",
			    c->rounds, k->dir, outbox + acked[i], outbox, acked[i],
			    (unsigned long long)k->made);
	}
	server_counts(c, srv);
	for (size_t i = 0; i < c->ncl; i++) {
		client *k = &c->cl[i];

		if (srv[i] < acked[i])
			die("round %u: %s had %zu changes acknowledged, the server holds %llu", c->rounds,
			    k->dir, acked[i], (unsigned long long)srv[i]);
		if (srv[i] > k->made)
			die("round %u: the server counts %llu changes of %s, it made %llu", c->rounds,
			    (unsigned long long)srv[i], k->dir, (unsigned long long)k->made);
		if (srv[i] < k->srv_last)
			die("round %u: the server counted %llu changes of %s, now %llu", c->rounds,
			    (unsigned long long)k->srv_last, k->dir, (unsigned long long)srv[i]);
		k->srv_last = srv[i];
	}
}

/* ---- one round ---- */

static void
write_some(cs *c, client *k)
{
	char *args[CS_MAX_TAGS + 8], out[256], bufs[CS_MAX_TAGS][48], num[16];
	size_t outbox0, outbox1, sent0, sent1, n = 0;
	const char *sit;
	unsigned kind = (unsigned)rnd_below(c, 10);
	int rc;

	client_counts(k, &outbox0, &sent0, c->rounds);
	if (k->nsits == 0 || kind == 0) {
		args[n++] = "new";
		args[n++] = "--antenna";
		args[n++] = (char *)k->antenna;
		args[n++] = "--kind";
		args[n++] = rnd_below(c, 2) ? "coordination" : "orientation";
		args[n++] = "--problem";
		args[n++] = "logement";
		rc = relais_run(c, k, args, n, out, sizeof(out));
		if (rc != 0 || strlen(out) != 2 * RL_SIT_BYTES)
			die("round %u: relais new on %s exited %d (printed '%s')", c->rounds, k->dir, rc,
			    out);
		if (k->nsits < CS_MAX_SITS)
			memcpy(k->sits[k->nsits++], out, 2 * RL_SIT_BYTES + 1);
	} else {
		sit = k->sits[rnd_below(c, k->nsits)];
		if (kind <= 5) {
			unsigned ntags = 1 + (unsigned)rnd_below(c, CS_MAX_TAGS);

			args[n++] = "tag";
			args[n++] = (char *)sit;
			for (unsigned t = 0; t < ntags; t++) {
				snprintf(bufs[t], sizeof(bufs[t]), "+referrer:crash-%u-%u", c->tag_seq, t);
				args[n++] = bufs[t];
			}
			c->tag_seq++;
		} else if (kind <= 8) {
			args[n++] = "log";
			args[n++] = (char *)sit;
			args[n++] = "--type";
			args[n++] = "note";
			args[n++] = "entrée écrite entre deux crashs";
		} else {
			snprintf(num, sizeof(num), "age=%u", 18 + (unsigned)rnd_below(c, 70));
			args[n++] = "set";
			args[n++] = (char *)sit;
			args[n++] = num;
		}
		rc = relais_run(c, k, args, n, NULL, 0);
		if (rc != 0)
			die("round %u: relais %s on %s exited %d", c->rounds, args[0], k->dir, rc);
	}
	client_counts(k, &outbox1, &sent1, c->rounds);
	if (outbox1 <= outbox0 || sent1 != sent0)
		die("round %u: a write on %s took the outbox from %zu to %zu (sent %zu to %zu)",
		    c->rounds, k->dir, outbox0, outbox1, sent0, sent1);
	k->made += outbox1 - outbox0;
}

static char *
sync_argv(cs *c, client *k, char **argv)
{
	size_t n = 0;

	argv[n++] = (char *)c->relais;
	argv[n++] = "--store";
	argv[n++] = (char *)k->dir;
	if (c->config) {
		argv[n++] = "--config";
		argv[n++] = (char *)c->config;
	}
	argv[n++] = "sync";
	argv[n] = NULL;
	return argv[0];
}

/* A sync left to finish; it must succeed. Times it. */
static void
sync_clean(cs *c, client *k)
{
	char *argv[8];
	uint64_t t0 = now_us(), dt;
	int st;

	sync_argv(c, k, argv);
	st = reap(spawn(c, argv, -1));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("round %u: an unharmed sync of %s failed (status %d): see the log", c->rounds,
		    k->dir, st);
	dt = now_us() - t0;
	c->est_us = (c->est_us * 3 + dt) / 4;
}

/* A sync killed at a random point, with the server, or both. */
static void
sync_killed(cs *c, client *k)
{
	char *argv[8];
	unsigned victim = (unsigned)rnd_below(c, 10); /* 0-3 client, 4-6 server, 7-9 both */
	uint64_t delay, t0;
	pid_t pid;
	int st;

	/* Mostly within a sync's span; now and then right at its start. */
	delay = rnd_below(c, 8) == 0 ? rnd_below(c, 3000) : rnd_below(c, c->est_us * 6 / 5 + 1);
	sync_argv(c, k, argv);
	t0 = now_us();
	pid = spawn(c, argv, -1);
	sleep_us(delay);
	if (victim >= 4 && c->srv_pid != 0) {
		if (kill_reap(c->srv_pid, NULL))
			c->kills_server++;
		c->srv_pid = 0;
	}
	if (victim <= 3 || victim >= 7) {
		if (kill_reap(pid, &st))
			c->kills_client++;
		else if (!WIFEXITED(st) || WEXITSTATUS(st) > 1)
			die("round %u: a sync of %s ended with status %d", c->rounds, k->dir, st);
	} else {
		uint64_t dt;

		st = reap(pid);
		dt = now_us() - t0;
		if (!WIFEXITED(st) || WEXITSTATUS(st) > 1)
			die("round %u: a sync of %s whose server was killed ended with status %d",
			    c->rounds, k->dir, st);
		if (dt > c->max_orphan_us)
			c->max_orphan_us = dt;
		c->orphans++;
		if (dt > CS_SLOW_ORPHAN_US) {
			c->slow_orphans++;
			fprintf(stderr,
			        "crashsync: round %u: a sync of %s took %.0f ms after its server was killed "
			        "(delay %llu us, server %s)\n",
			        c->rounds, k->dir, (double)dt / 1e3, (unsigned long long)delay,
			        victim >= 4 ? "killed" : "down");
		}
	}
}

static int
usage(void)
{
	fputs("usage: crashsync --relais BIN --server BIN --srv DIR --url tcp://127.0.0.1:PORT\n"
	      "                 [--config FILE] [--kills N] [--seed S] [--max-seconds T]\n"
	      "                 [--log FILE] CLIENT_DIR:ANTENNA...\n",
	      stderr);
	return 2;
}

int
main(int argc, char **argv)
{
	static cs c;
	unsigned kills = CS_DEFAULT_KILLS, max_s = CS_DEFAULT_MAX_S;
	uint64_t seed = (uint64_t)time(NULL), t0;
	const char *colon;
	int i;

	for (i = 1; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];

		if (strcmp(a, "--relais") == 0)
			c.relais = v;
		else if (strcmp(a, "--server") == 0)
			c.server = v;
		else if (strcmp(a, "--srv") == 0)
			c.srv = v;
		else if (strcmp(a, "--url") == 0)
			c.url = v;
		else if (strcmp(a, "--config") == 0)
			c.config = v;
		else if (strcmp(a, "--log") == 0)
			c.log = v;
		else if (strcmp(a, "--kills") == 0)
			kills = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--seed") == 0)
			seed = strtoull(v, NULL, 10);
		else if (strcmp(a, "--max-seconds") == 0)
			max_s = (unsigned)strtoul(v, NULL, 10);
		else
			return usage();
	}
	if (!c.relais || !c.server || !c.srv || !c.url || i >= argc || !getenv("RELAIS_PASSPHRASE"))
		return usage();
	if ((colon = strrchr(c.url, ':')) == NULL || (c.port = (unsigned)atoi(colon + 1)) == 0)
		return usage();
	for (; i < argc; i++) {
		client *k;
		char *sep = strrchr(argv[i], ':');

		if (sep == NULL || c.ncl == CS_MAX_CLIENTS)
			return usage();
		*sep = '\0';
		k = &c.cl[c.ncl++];
		k->dir = argv[i];
		k->antenna = sep + 1;
	}
	if (rl_crypto_init() != RL_OK)
		die("crypto init");
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, "crashsync: seed %llu\n", (unsigned long long)seed);
	c.rng = seed;
	c.est_us = 50000;
	/* What the clients made before: their stores as they are. */
	for (size_t k = 0; k < c.ncl; k++) {
		size_t outbox, sent;

		client_counts(&c.cl[k], &outbox, &sent, 0);
		c.cl[k].made = outbox + sent;
	}
	t0 = now_us();
	while (c.kills_client + c.kills_server < kills) {
		client *k = &c.cl[rnd_below(&c, c.ncl)];
		uint64_t t;

		if (now_us() - t0 > (uint64_t)max_s * 1000000)
			die("only %u kills in %u s", c.kills_client + c.kills_server, max_s);
		c.rounds++;
		/* Now and then a sync finds the server still down. */
		if (c.srv_pid == 0 && rnd_below(&c, 6) == 0) {
			sync_killed(&c, k);
			check_all(&c, k);
			continue;
		}
		t = now_us();
		server_up(&c);
		c.us_server += now_us() - t;
		t = now_us();
		if (rnd_below(&c, 10) < 7)
			write_some(&c, k);
		c.us_write += now_us() - t;
		t = now_us();
		if (c.rounds % 6 == 0)
			sync_clean(&c, k);
		else
			sync_killed(&c, k);
		c.us_sync += now_us() - t;
		t = now_us();
		check_all(&c, c.rounds % 8 == 0 ? NULL : k);
		c.us_check += now_us() - t;
	}
	check_all(&c, NULL);
	if (c.srv_pid != 0) {
		kill(c.srv_pid, SIGTERM);
		reap(c.srv_pid);
	}
	for (size_t k = 0; k < c.ncl; k++)
		printf("made %s %s %llu\n", c.cl[k].dir, c.cl[k].devhex,
		       (unsigned long long)c.cl[k].made);
	printf("kills client=%u server=%u total=%u rounds=%u seconds=%.1f\n", c.kills_client,
	       c.kills_server, c.kills_client + c.kills_server, c.rounds,
	       (double)(now_us() - t0) / 1e6);
	printf("time server-start=%.1fs writes=%.1fs syncs=%.1fs checks=%.1fs sync-estimate=%.1fms "
	       "longest-orphan-sync=%.1fms orphans=%u slow-orphans=%u\n",
	       (double)c.us_server / 1e6, (double)c.us_write / 1e6, (double)c.us_sync / 1e6,
	       (double)c.us_check / 1e6, (double)c.est_us / 1e3, (double)c.max_orphan_us / 1e3,
	       c.orphans, c.slow_orphans);
	return 0;
}
