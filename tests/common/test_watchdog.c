/*
 * test_watchdog.c - the watchdog ends a stuck process, and only a stuck one.
 *
 * Each case forks: the child arms the watchdog and then blocks (or works
 * and disarms in time); the parent reads the child's exit status and what
 * it wrote on stderr through a pipe.
 */
#include "rl_test.h"

#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/watchdog.h"

/* Runs body in a child whose stderr goes to a pipe; returns the exit
 * status (or 128 + signal) and the stderr text in out. */
static int
in_child(void (*body)(void), char *out, size_t cap)
{
	int fds[2], st;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		body();
		_exit(0);
	}
	close(fds[1]);
	while (n + 1 < cap && (r = read(fds[0], out + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static void
stuck_step(void)
{
	rl_watchdog *w;

	if (rl_watchdog_start("relais", &w) != RL_OK)
		_exit(100);
	rl_watchdog_arm(w, RL_WATCHDOG_STEP, 100, "la fermeture de la connexion");
	sleep_ms(10000); /* a close that never returns */
	_exit(101);
}

static void
test_fires(void **state)
{
	char err[1024];

	(void)state;
	assert_int_equal(in_child(stuck_step, err, sizeof(err)), RL_WATCHDOG_EXIT);
	assert_non_null(strstr(err, "relais : la fermeture de la connexion est bloquée depuis 0 s"));
	assert_non_null(strstr(err, "Rien n'est perdu"));
	assert_non_null(strstr(err, "watchdog: network step stuck"));
}

/* Armed again and again within its bound, then disarmed: never fires. */
static void
busy_then_done(void)
{
	rl_watchdog *w;

	if (rl_watchdog_start("relais", &w) != RL_OK)
		_exit(100);
	for (int i = 0; i < 20; i++) {
		rl_watchdog_arm(w, RL_WATCHDOG_STEP, 200, "l'envoi au serveur");
		sleep_ms(20);
	}
	rl_watchdog_disarm(w, RL_WATCHDOG_STEP);
	sleep_ms(400);
	rl_watchdog_stop(w);
	_exit(7);
}

static void
test_kept_alive(void **state)
{
	char err[1024];

	(void)state;
	assert_int_equal(in_child(busy_then_done, err, sizeof(err)), 7);
	assert_string_equal(err, "");
}

/* The total bound fires even while the step is re-armed all along. */
static void
total_bound(void)
{
	rl_watchdog *w;

	if (rl_watchdog_start("relais", &w) != RL_OK)
		_exit(100);
	rl_watchdog_arm(w, RL_WATCHDOG_TOTAL, 300, "la synchronisation");
	for (int i = 0; i < 100; i++) {
		rl_watchdog_arm(w, RL_WATCHDOG_STEP, 200, "l'envoi au serveur");
		sleep_ms(20);
	}
	_exit(101);
}

static void
test_total(void **state)
{
	char err[1024];

	(void)state;
	assert_int_equal(in_child(total_bound, err, sizeof(err)), RL_WATCHDOG_EXIT);
	assert_non_null(strstr(err, "la synchronisation est bloquée"));
	assert_non_null(strstr(err, "watchdog: total step stuck"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fires),
		cmocka_unit_test(test_kept_alive),
		cmocka_unit_test(test_total),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
