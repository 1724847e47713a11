/*
 * watchdog.c - a thread that ends the process past a deadline.
 *
 * The thread sleeps on a condition variable (CLOCK_MONOTONIC) until the
 * nearest armed deadline, or until an arm, a disarm or the stop wakes it.
 * When a deadline passes it does not try to unwind anything: the stuck
 * thread may hold any lock (nng's, the log's formatting buffer is local, so
 * rl_log is safe). It writes its French message with one write(2), logs,
 * and calls _exit: no atexit handler, no LMDB call, nothing that could wait
 * on the stuck thread. An LMDB write transaction in progress is simply
 * never committed, as after a kill -9.
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "watchdog.h"

struct rl_watchdog {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	const char *prog;
	bool stop;
	struct {
		uint64_t deadline; /* monotonic ms; 0: not armed */
		uint64_t armed_at;
		const char *what;
	} slot[RL_WATCHDOG_SLOTS];
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
watchdog_fire(rl_watchdog *w, int i, uint64_t now)
{
	char line[512];
	unsigned long long secs = (unsigned long long)((now - w->slot[i].armed_at + 500) / 1000);
	int n;

	n = snprintf(line, sizeof(line),
	             "%s : %s est bloquée depuis %llu s (délai de garde dépassé) : arrêt. Rien "
	             "n'est perdu ; la synchronisation reprendra au prochain lancement.\n",
	             w->prog, w->slot[i].what, secs);
	/* Should stderr block (a stalled journal), the alarm's default
	 * action still ends the process. */
	alarm(5);
	if (n > 0 && write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0)
		n = 0;
	rl_log(RL_LOG_ERROR, "watchdog: %s step stuck for %llu s, exiting with status %d",
	       i == RL_WATCHDOG_TOTAL ? "total" : "network", secs, RL_WATCHDOG_EXIT);
	_exit(RL_WATCHDOG_EXIT);
}

static void *
watchdog_main(void *arg)
{
	rl_watchdog *w = arg;

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		uint64_t now = now_ms(), next = 0;
		struct timespec ts;

		for (int i = 0; i < RL_WATCHDOG_SLOTS; i++) {
			uint64_t d = w->slot[i].deadline;

			if (d == 0)
				continue;
			if (d <= now)
				watchdog_fire(w, i, now);
			if (next == 0 || d < next)
				next = d;
		}
		if (next == 0) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)((next - now) / 1000);
		ts.tv_nsec += (long)((next - now) % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

rl_err
rl_watchdog_start(const char *prog, rl_watchdog **out)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	rl_watchdog *w;
	int rc;

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return RL_ENOMEM;
	w->prog = prog;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	/* The thread takes no signal: SIGTERM and SIGINT stay the main
	 * thread's (the --watch loop's handler). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->thread, NULL, watchdog_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return RL_EIO;
	}
	*out = w;
	return RL_OK;
}

void
rl_watchdog_arm(rl_watchdog *w, int slot, uint64_t ms, const char *what)
{
	uint64_t now;

	if (w == NULL)
		return;
	now = now_ms();
	pthread_mutex_lock(&w->mu);
	w->slot[slot].armed_at = now;
	w->slot[slot].deadline = now + (ms ? ms : 1);
	w->slot[slot].what = what;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void
rl_watchdog_disarm(rl_watchdog *w, int slot)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->slot[slot].deadline = 0;
	/* No wake-up: the thread finds the slot empty when it next looks. */
	pthread_mutex_unlock(&w->mu);
}

void
rl_watchdog_stop(rl_watchdog *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
