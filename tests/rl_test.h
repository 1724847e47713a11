/*
 * rl_test.h - shared helpers for relais unit tests (cmocka).
 */
#ifndef RL_TEST_H
#define RL_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"

/* Asserts that an rl_err expression is RL_OK, printing rl_strerror(). */
#define RL_PASS(expr)                                                                   \
	do {                                                                                \
		rl_err rl_pass_e_ = (expr);                                                     \
		if (rl_pass_e_ != RL_OK)                                                        \
			fail_msg("%s: %s (%d)", #expr, rl_strerror(rl_pass_e_), (int)rl_pass_e_);   \
	} while (0)

/* Asserts that an rl_err expression equals want. */
#define RL_FAIL(expr, want)                                                             \
	do {                                                                                \
		rl_err rl_fail_e_ = (expr);                                                     \
		if (rl_fail_e_ != (want))                                                       \
			fail_msg("%s: got %s, want %s", #expr, rl_strerror(rl_fail_e_),             \
			         rl_strerror(want));                                                \
	} while (0)

#endif
