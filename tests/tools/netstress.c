/*
 * netstress.c - many short connections through common/net.c, each bounded,
 * for the close stress (tests/integration/test_net_stress.sh).
 *
 *   netstress URL COUNT TIMEOUT_MS [LIMIT_MS]
 *
 * COUNT times: rl_net_dial URL, one request (a frame of garbage, which the
 * relais server answers with a plaintext error), rl_net_close, exactly as a
 * client session opens and ends. Through tests/tools/proxy in its fault mode
 * the connection is reset, cut, stalled or silent at random points.
 *
 * A watchdog thread checks that no step of a round lasts more than LIMIT_MS
 * (default: 3 x TIMEOUT_MS + 2 s); past it, it prints "netstress: hang in
 * STEP at round N after MS ms" and aborts (the test then shows the stacks).
 * At the end it prints one line:
 *   netstress rounds=N ok=N failed=N dial_ms_max=N call_ms_max=N close_ms_max=N
 * and exits 0 (failed calls are expected through a faulty link; a hang is
 * the failure). With NETSTRESS_GDB set, the watchdog prints every thread's
 * stack (gdb) before it aborts.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/net.h"

enum { STEP_IDLE, STEP_DIAL, STEP_CALL, STEP_CLOSE };
static const char *step_names[] = { "idle", "dial", "call", "close" };

static atomic_int cur_step;
static atomic_long step_start_ms;
static atomic_long cur_round;
static long limit_ms;

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *
watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		int st = atomic_load(&cur_step);
		long d = now_ms() - atomic_load(&step_start_ms);

		if (st != STEP_IDLE && d > limit_ms) {
			fprintf(stderr, "netstress: hang in %s at round %ld after %ld ms\n", step_names[st],
			        atomic_load(&cur_round), d);
			fflush(stderr);
			if (getenv("NETSTRESS_GDB") != NULL) {
				char cmd[128];

				snprintf(cmd, sizeof(cmd),
				         "gdb -p %d -batch -ex 'thread apply all bt' >&2 2>/dev/null",
				         (int)getpid());
				if (system(cmd) != 0)
					fprintf(stderr, "netstress: gdb failed\n");
			}
			if (getenv("NETSTRESS_PAUSE") != NULL)
				for (;;)
					pause();
			abort();
		}
		usleep(50 * 1000);
	}
	return NULL;
}

static long
step(int st)
{
	long t = now_ms();

	atomic_store(&step_start_ms, t);
	atomic_store(&cur_step, st);
	return t;
}

int
main(int argc, char **argv)
{
	long rounds, timeout_ms, ok = 0, failed = 0, max[4] = { 0 };
	pthread_t th;
	rl_buf resp;
	uint8_t junk[24];

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: netstress URL COUNT TIMEOUT_MS [LIMIT_MS]\n");
		return 2;
	}
	rounds = atol(argv[2]);
	timeout_ms = atol(argv[3]);
	limit_ms = argc == 5 ? atol(argv[4]) : 3 * timeout_ms + 2000;
	if (rounds <= 0 || timeout_ms <= 0 || limit_ms <= 0) {
		fprintf(stderr, "netstress: bad numbers\n");
		return 2;
	}
	memset(junk, 0x5a, sizeof(junk));
	rl_buf_init(&resp);
	atomic_store(&cur_step, STEP_IDLE);
	if (pthread_create(&th, NULL, watchdog, NULL) != 0)
		return 1;
	for (long i = 0; i < rounds; i++) {
		rl_net_client *c = NULL;
		rl_err e;
		long t;

		atomic_store(&cur_round, i);
		t = step(STEP_DIAL);
		e = rl_net_dial(argv[1], 1 << 16, (int)timeout_ms, NULL, &c);
		if (now_ms() - t > max[STEP_DIAL])
			max[STEP_DIAL] = now_ms() - t;
		if (e == RL_OK) {
			t = step(STEP_CALL);
			e = rl_net_call(c, RL_BYTES(junk, sizeof(junk)), &resp);
			if (now_ms() - t > max[STEP_CALL])
				max[STEP_CALL] = now_ms() - t;
		}
		t = step(STEP_CLOSE);
		rl_net_close(c);
		if (now_ms() - t > max[STEP_CLOSE])
			max[STEP_CLOSE] = now_ms() - t;
		step(STEP_IDLE);
		if (e == RL_OK)
			ok++;
		else
			failed++;
	}
	printf("netstress rounds=%ld ok=%ld failed=%ld dial_ms_max=%ld call_ms_max=%ld close_ms_max=%ld\n",
	       rounds, ok, failed, max[STEP_DIAL], max[STEP_CALL], max[STEP_CLOSE]);
	rl_buf_fini(&resp);
	return 0;
}
