/*
 * test_hlc.c - hybrid logical clocks: monotonic whatever the wall clock does.
 */
#include "rl_test.h"

#include "common/crypto.h"
#include "common/hlc.h"

static void
test_pack(void **state)
{
	(void)state;
	assert_true(rl_hlc_ms(rl_hlc_make(1700000000123ull, 7)) == 1700000000123ull);
	assert_true((rl_hlc_make(5, 7) & 0xffff) == 7);
	/* The logical part never spills into the milliseconds. */
	assert_true(rl_hlc_ms(rl_hlc_make(5, 0x1ffff)) == 5);
	/* Timestamps compare as integers: ms first, then logical. */
	assert_true(rl_hlc_make(5, 0xffff) < rl_hlc_make(6, 0));
}

static void
test_now(void **state)
{
	rl_clock c = { 0 };
	rl_hlc a, b, d;

	(void)state;
	/* Wall clock ahead: the timestamp is the wall clock. */
	a = rl_hlc_now(&c, 1000);
	assert_true(a == rl_hlc_make(1000, 0));
	/* Same millisecond: the logical part counts. */
	b = rl_hlc_now(&c, 1000);
	assert_true(b == rl_hlc_make(1000, 1));
	/* Wall clock going backwards: still increasing. */
	d = rl_hlc_now(&c, 10);
	assert_true(d > b && rl_hlc_ms(d) == 1000);
	assert_true(rl_hlc_now(&c, 1001) == rl_hlc_make(1001, 0));

	/* 65,536 events in one millisecond carry into the next. */
	c.last = 0;
	for (int i = 0; i < 65536; i++)
		a = rl_hlc_now(&c, 2000);
	assert_true(a == rl_hlc_make(2000, 0xffff));
	b = rl_hlc_now(&c, 2000);
	assert_true(b > a && b == rl_hlc_make(2001, 0));
	/* A wall clock catching up resets the counter. */
	assert_true(rl_hlc_now(&c, 2005) == rl_hlc_make(2005, 0));
}

static void
test_observe(void **state)
{
	rl_clock c = { 0 };
	rl_hlc remote = rl_hlc_make(1000000, 42), t;

	(void)state;
	rl_hlc_now(&c, 500);
	/* A remote clock ahead pulls ours ahead. */
	rl_hlc_observe(&c, remote);
	t = rl_hlc_now(&c, 600);
	assert_true(t > remote);
	assert_true(t == remote + 1);
	/* One behind changes nothing. */
	rl_hlc_observe(&c, rl_hlc_make(10, 0));
	assert_true(rl_hlc_now(&c, 600) == t + 1);
	/* Strictly increasing over a long mixed run. */
	for (int i = 0; i < 100000; i++) {
		rl_hlc n;

		if (i % 7 == 0)
			rl_hlc_observe(&c, rl_hlc_make(1000000 + (uint64_t)(i % 13) * 3, (uint32_t)i));
		n = rl_hlc_now(&c, 999990 + (uint64_t)(i % 17));
		assert_true(n > t);
		t = n;
	}
}

static void
test_wall(void **state)
{
	uint64_t a = rl_wall_ms(), b = rl_wall_ms();

	(void)state;
	assert_true(a > 1577836800000ull); /* after 2020-01-01 */
	assert_true(b >= a && b - a < 10000);
	/* Today's wall clock fits the 48-bit field with room to spare. */
	assert_true(a < (1ull << 48));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pack),
		cmocka_unit_test(test_now),
		cmocka_unit_test(test_observe),
		cmocka_unit_test(test_wall),
	};

	if (rl_crypto_init() != RL_OK) {
		fprintf(stderr, "rl_crypto_init failed\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
