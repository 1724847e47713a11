/*
 * test_crash.c - no acknowledged edit is lost when the process dies.
 *
 * One replica store is shared by a series of child processes. Each child
 * opens the store and makes edits in a loop (each edit a few operations on
 * a new or an existing situation); after rl_edit_commit returns it writes
 * the edit's number to a pipe. The parent kills it with SIGKILL after a
 * random delay (sometimes before it has even opened the store, sometimes in
 * the middle of a commit), reopens the store, and checks:
 *
 *   - the store opens without error;
 *   - every edit any child ever reported is there, whole: the states hold
 *     all of its operations and the outbox holds an entry for each;
 *   - every edit is all or nothing, reported or not;
 *   - a child's edits present form a prefix of the edits it made, at most
 *     one beyond the last it reported (committed, killed before reporting).
 *
 * Every operation's text starts with the label "E<edit number>:" so the
 * parent can tell which edit it belongs to. Edit numbers are unique across
 * children (child i numbers from i * EDIT_STRIDE).
 *
 * RL_CRASH_N sets the number of children (default 200), RL_CRASH_SEED the
 * seed of the delays and choices (printed at the start).
 */
#include "rl_test.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/record.h"
#include "common/replica.h"
#include "common/store.h"

#define PASS "crash test passphrase"
#define DEFAULT_ITERS 200
#define EDIT_STRIDE 100000u
#define MAX_EDITS_PER_CHILD 8192 /* a pipe's worth of reports, and then some */
#define MAX_DELAY_US 30000
#define READY UINT64_MAX /* the first report: the store is open */

static const rl_store_opts opts_min = { 0, RL_KDF_MIN };

/* ---- seeded PRNG (splitmix64) ---- */

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t
rng_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(rng_next(s) % n);
}

static rl_secret
secret(void)
{
	return (rl_secret){ PASS, strlen(PASS), NULL };
}

/* Operations edit k makes: a register write, a journal entry, a set add,
 * and an alert when k is odd. */
static unsigned
edit_nops(uint64_t k)
{
	return 3 + (unsigned)(k & 1);
}

/* ---- the child ---- */

/* Makes edits until killed. Exit codes say where it failed. */
static void
child_run(const char *dir, uint64_t first, int fd, uint64_t seed)
{
	rl_secret s = secret();
	uint8_t (*sits)[RL_SIT_BYTES] = NULL;
	size_t nsits = 0, cap = 0;
	rl_replica *rp;
	rl_txn *txn;
	rl_cursor *c;
	rl_bytes k;
	rl_err e;

	alarm(30); /* never outlive a dead parent for long */
	if (rl_replica_open(dir, &s, &opts_min, &rp) != RL_OK)
		_exit(10);
	/* The situations already there, to edit some of them again. */
	if (rl_store_begin(rl_replica_store(rp), false, &txn) != RL_OK ||
	    rl_cursor_open(txn, RL_T_STATES, &c) != RL_OK)
		_exit(11);
	for (e = rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, NULL); e == RL_OK;
	     e = rl_cursor_next(c, &k, NULL)) {
		if (nsits == cap) {
			cap = cap ? 2 * cap : 64;
			if ((sits = realloc(sits, cap * RL_SIT_BYTES)) == NULL)
				_exit(12);
		}
		if (k.len != RL_SIT_BYTES)
			_exit(13);
		memcpy(sits[nsits++], k.p, RL_SIT_BYTES);
	}
	if (e != RL_ENOTFOUND)
		_exit(14);
	rl_cursor_close(c);
	rl_store_abort(txn);
	{
		uint64_t ready = READY;

		if (write(fd, &ready, sizeof(ready)) != (ssize_t)sizeof(ready))
			_exit(15);
	}

	for (uint64_t j = 0; j < MAX_EDITS_PER_CHILD; j++) {
		uint64_t n = first + j;
		bool fresh = nsits == 0 || rng_below(&seed, 4) == 0;
		char text[64];
		rl_edit *ed;

		if (rl_edit_begin(rp, fresh ? NULL : sits[rng_below(&seed, (uint32_t)nsits)], &ed) !=
		    RL_OK)
			_exit(20);
		snprintf(text, sizeof(text), "E%" PRIu64 ":reg", n);
		if (rl_edit_reg(ed, NULL, RL_F_HISTORY, RL_BYTES(text, strlen(text))) != RL_OK)
			_exit(21);
		snprintf(text, sizeof(text), "E%" PRIu64 ":journal", n);
		if (rl_edit_journal(ed, RL_J_NOTE, 20250101 + (uint32_t)(n % 28),
		                    RL_BYTES(text, strlen(text)), NULL, NULL) != RL_OK)
			_exit(22);
		snprintf(text, sizeof(text), "E%" PRIu64 ":add", n);
		if (rl_edit_add(ed, RL_SET_PROS, RL_BYTES(text, strlen(text))) != RL_OK)
			_exit(23);
		if (edit_nops(n) == 4) {
			snprintf(text, sizeof(text), "E%" PRIu64 ":alert", n);
			if (rl_edit_alert(ed, 20250601, RL_BYTES(text, strlen(text)), NULL) != RL_OK)
				_exit(24);
		}
		if (fresh) {
			if (nsits == cap) {
				cap = cap ? 2 * cap : 64;
				if ((sits = realloc(sits, cap * RL_SIT_BYTES)) == NULL)
					_exit(12);
			}
			memcpy(sits[nsits++], rl_edit_record(ed)->sit, RL_SIT_BYTES);
		}
		if (rl_edit_commit(ed) != RL_OK)
			_exit(25);
		/* Committed: report it (8 bytes, atomic on a pipe). */
		if (write(fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
			_exit(26);
	}
	/* Too fast for the delay: stop reporting, wait for the kill. */
	for (;;)
		pause();
}

/* ---- the parent's view ---- */

/* Per child: how many ops of each of its edits were found. */
typedef struct tally {
	uint16_t *in_states; /* [iters * MAX_EDITS_PER_CHILD] */
	uint16_t *in_outbox;
	uint64_t *reported;  /* [iters]: number of edits reported (a prefix) */
	int iters;
} tally;

/* Parses "E<n>:" at the start of a value; false if it is not a label. */
static bool
parse_label(rl_bytes v, uint64_t *n)
{
	uint64_t x = 0;
	size_t i = 1;

	if (v.len < 3 || v.p[0] != 'E')
		return false;
	for (; i < v.len && v.p[i] >= '0' && v.p[i] <= '9'; i++)
		x = x * 10 + (uint64_t)(v.p[i] - '0');
	if (i == 1 || i >= v.len || v.p[i] != ':')
		return false;
	*n = x;
	return true;
}

static void
count_op(tally *t, uint16_t *where, const rl_op *op)
{
	uint64_t n = 0, child, j;

	if (!parse_label(op->value, &n))
		fail_msg("an op without a label (kind %d)", op->kind);
	child = n / EDIT_STRIDE;
	j = n % EDIT_STRIDE;
	if (child >= (uint64_t)t->iters || j >= MAX_EDITS_PER_CHILD)
		fail_msg("label E%" PRIu64 " out of range", n);
	where[child * MAX_EDITS_PER_CHILD + j]++;
}

/* Opens the store and counts every labelled op in states and outbox. */
static void
scan_store(const char *dir, tally *t)
{
	rl_secret s = secret();
	rl_opid *scratch = malloc(RL_MAX_REFS * sizeof(*scratch));
	size_t cells = (size_t)t->iters * MAX_EDITS_PER_CHILD;
	rl_replica *rp;
	rl_txn *txn;
	rl_cursor *c;
	rl_bytes k;
	rl_buf v;
	rl_err e;

	assert_non_null(scratch);
	memset(t->in_states, 0, cells * sizeof(uint16_t));
	memset(t->in_outbox, 0, cells * sizeof(uint16_t));
	RL_PASS(rl_replica_open(dir, &s, &opts_min, &rp));
	rl_buf_init(&v);
	RL_PASS(rl_store_begin(rl_replica_store(rp), false, &txn));

	RL_PASS(rl_cursor_open(txn, RL_T_STATES, &c));
	for (e = rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, &v); e == RL_OK;
	     e = rl_cursor_next(c, &k, &v)) {
		rl_record rec;

		RL_PASS(rl_record_decode(rl_buf_view(&v), &rec));
		assert_int_equal(k.len, RL_SIT_BYTES);
		assert_memory_equal(rec.sit, k.p, RL_SIT_BYTES);
		for (size_t i = 0; i < rec.nops; i++)
			count_op(t, t->in_states, rec.ops[i]);
		rl_record_fini(&rec);
	}
	RL_FAIL(e, RL_ENOTFOUND);
	rl_cursor_close(c);

	RL_PASS(rl_cursor_open(txn, RL_T_OUTBOX, &c));
	for (e = rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, &v); e == RL_OK;
	     e = rl_cursor_next(c, &k, &v)) {
		rl_op op;
		rl_mpr r;

		rl_mpr_init(&r, v.data, v.len);
		RL_PASS(rl_op_decode(&r, &op, scratch, true));
		RL_PASS(rl_mpr_done(&r));
		assert_int_equal(k.len, 8);
		assert_true(rl_get_be64(k.p) == op.id.ctr);
		count_op(t, t->in_outbox, &op);
	}
	RL_FAIL(e, RL_ENOTFOUND);
	rl_cursor_close(c);

	rl_store_abort(txn);
	rl_buf_fini(&v);
	rl_replica_close(rp);
	free(scratch);
}

/* Checks every child so far (durability survives later crashes too). */
static void
check_tally(const tally *t, int upto, uint64_t *unreported)
{
	*unreported = 0;
	for (int i = 0; i < upto; i++) {
		const uint16_t *st = t->in_states + (size_t)i * MAX_EDITS_PER_CHILD;
		const uint16_t *ob = t->in_outbox + (size_t)i * MAX_EDITS_PER_CHILD;
		uint64_t present = 0;

		for (uint64_t j = 0; j < MAX_EDITS_PER_CHILD; j++) {
			uint64_t n = (uint64_t)i * EDIT_STRIDE + j;
			unsigned want = edit_nops(n);

			/* All or nothing, in states and outbox alike. */
			if ((st[j] != 0 && st[j] != want) || st[j] != ob[j])
				fail_msg("child %d edit %" PRIu64 ": %u ops in states, %u in outbox, want %u "
				         "or 0",
				         i, j, st[j], ob[j], want);
			if (j < t->reported[i] && st[j] == 0)
				fail_msg("child %d edit %" PRIu64 " was reported committed and is lost", i, j);
			if (st[j] != 0) {
				if (j != present)
					fail_msg("child %d: edit %" PRIu64 " present but %" PRIu64 " is not",
					         i, j, present);
				present++;
			}
		}
		if (present > t->reported[i] + 1)
			fail_msg("child %d: %" PRIu64 " edits present, only %" PRIu64 " reported", i,
			         present, t->reported[i]);
		*unreported += present - t->reported[i];
	}
}

/* Reads one report; false at EOF (the child is dead). */
static bool
read_report(int fd, uint64_t *n)
{
	ssize_t r;

	while ((r = read(fd, n, sizeof(*n))) < 0 && errno == EINTR)
		;
	if (r == 0)
		return false;
	assert_int_equal(r, sizeof(*n));
	return true;
}

/* Reads the child's reports until EOF; ready tells whether the READY
 * report was already read. */
static uint64_t
read_reports(int fd, uint64_t first, bool ready)
{
	uint64_t n, count = 0;

	while (read_report(fd, &n)) {
		if (!ready) {
			assert_true(n == READY);
			ready = true;
			continue;
		}
		/* Reports come in order, one per edit. */
		assert_true(n == first + count);
		count++;
	}
	return count;
}

static void
rm_tree(const char *path)
{
	struct stat sb;
	struct dirent *de;
	char sub[512];
	DIR *d;

	if (lstat(path, &sb) != 0)
		return;
	if (S_ISDIR(sb.st_mode) && (d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			rm_tree(sub);
		}
		closedir(d);
		rmdir(path);
	} else
		unlink(path);
}

static uint64_t
env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? strtoull(v, NULL, 0) : dflt;
}

static void
test_crash(void **state)
{
	char base[64], dir[128];
	rl_secret s = secret();
	uint64_t seed, total = 0, unreported = 0, empty = 0;
	int iters;
	tally t;

	(void)state;
	rl_random(&seed, sizeof(seed));
	seed = env_u64("RL_CRASH_SEED", seed >> 1);
	iters = (int)env_u64("RL_CRASH_N", DEFAULT_ITERS);
	assert_true(iters > 0 && (uint64_t)iters * EDIT_STRIDE < UINT64_MAX / 2);
	printf("crash: %d kills, seed %" PRIu64 "\n", iters, seed);

	snprintf(base, sizeof(base), "/tmp/rl_test_crash_XXXXXX");
	assert_non_null(mkdtemp(base));
	snprintf(dir, sizeof(dir), "%s/s", base);
	RL_PASS(rl_replica_create(dir, &s, &opts_min, "nord", RL_ROLE_MOBILE));

	t.iters = iters;
	t.in_states = calloc((size_t)iters * MAX_EDITS_PER_CHILD, sizeof(uint16_t));
	t.in_outbox = calloc((size_t)iters * MAX_EDITS_PER_CHILD, sizeof(uint16_t));
	t.reported = calloc((size_t)iters, sizeof(uint64_t));
	assert_non_null(t.in_states);
	assert_non_null(t.in_outbox);
	assert_non_null(t.reported);

	for (int i = 0; i < iters; i++) {
		uint64_t first = (uint64_t)i * EDIT_STRIDE, child_seed = rng_next(&seed);
		/* Mostly counted from the moment the child has opened the store,
		 * so a loaded machine still gets kills among the commits; one time
		 * in eight from the fork, to kill it while it opens the store. */
		bool from_fork = rng_below(&seed, 8) == 0, ready = false;
		uint32_t delay = rng_below(&seed, 8) == 0 ? rng_below(&seed, 4 * MAX_DELAY_US)
		                                          : rng_below(&seed, MAX_DELAY_US);
		struct timespec ts = { delay / 1000000, (long)(delay % 1000000) * 1000 };
		int fds[2], status;
		pid_t pid;

		assert_int_equal(pipe(fds), 0);
		fflush(NULL);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			child_run(dir, first, fds[1], child_seed);
			_exit(1);
		}
		close(fds[1]);
		if (!from_fork) {
			uint64_t r;

			/* EOF here means the child died on its own: caught below. */
			ready = read_report(fds[0], &r);
			assert_true(!ready || r == READY);
		}
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
			fail_msg("child %d did not die by our kill: %s %d", i,
			         WIFEXITED(status) ? "exit code" : "signal",
			         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		t.reported[i] = read_reports(fds[0], first, ready);
		close(fds[0]);
		total += t.reported[i];
		empty += t.reported[i] == 0;

		/* Reopen after the crash and check everything so far. */
		scan_store(dir, &t);
		check_tally(&t, i + 1, &unreported);
	}
	printf("crash: %" PRIu64 " edits reported committed and found after kills; %" PRIu64
	       " committed but unreported; %" PRIu64 " kills before any commit\n",
	       total, unreported, empty);
	/* The delays must let many children commit something (a quarter: a loaded
	 * machine delays the children more than the kills). */
	assert_true((uint64_t)iters - empty >= (uint64_t)iters / 4);

	free(t.in_states);
	free(t.in_outbox);
	free(t.reported);
	rm_tree(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash),
	};

	if (rl_crypto_init() != RL_OK) {
		fprintf(stderr, "rl_crypto_init failed\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
