/*
 * test_text.c - UTF-8, controls, printable copies and display widths.
 */
#include "rl_test.h"

#include "common/text.h"

static void
test_next(void **state)
{
	uint32_t cp = 0;

	(void)state;
	assert_int_equal(rl_text_next((const uint8_t *)"a", 1, &cp), 1);
	assert_int_equal(cp, 'a');
	assert_int_equal(rl_text_next((const uint8_t *)"\xc3\xa9", 2, &cp), 2); /* é */
	assert_int_equal(cp, 0xe9);
	assert_int_equal(rl_text_next((const uint8_t *)"\xe2\x80\xa6", 3, &cp), 3); /* … */
	assert_int_equal(cp, 0x2026);
	assert_int_equal(rl_text_next((const uint8_t *)"\xf0\x9f\x98\x80", 4, &cp), 4);
	/* Refused: truncated, overlong, surrogate, beyond U+10FFFF, stray. */
	assert_int_equal(rl_text_next((const uint8_t *)"\xc3\xa9", 1, &cp), 0);
	assert_int_equal(rl_text_next((const uint8_t *)"\xc0\xaf", 2, &cp), 0);
	assert_int_equal(rl_text_next((const uint8_t *)"\xed\xa0\x80", 3, &cp), 0);
	assert_int_equal(rl_text_next((const uint8_t *)"\xf4\x90\x80\x80", 4, &cp), 0);
	assert_int_equal(rl_text_next((const uint8_t *)"\x80", 1, &cp), 0);
}

static void
test_printable(void **state)
{
	static const char in[] = "M\xc3\xa9lanie\x1b[31m\x7f\xc2\x85\xff";
	rl_buf b;

	(void)state;
	rl_buf_init(&b);
	RL_PASS(rl_text_printable(RL_BYTES(in, sizeof(in) - 1), &b));
	assert_string_equal((const char *)b.data, "Mélanie?[31m??\xef\xbf\xbd");
	assert_int_equal(b.len, strlen("Mélanie?[31m??\xef\xbf\xbd"));
	RL_PASS(rl_text_printable(RL_BYTES("", 0), &b));
	assert_string_equal((const char *)b.data, "");
	rl_buf_fini(&b);
}

static void
test_width(void **state)
{
	char out[128];
	FILE *f;

	(void)state;
	assert_int_equal(rl_text_width("médecin traitant"), 16);
	assert_int_equal(rl_text_width("e\xcc\x81"), 1); /* e + combining acute */
	assert_int_equal(rl_text_width("漢字"), 4);
	assert_int_equal(rl_text_prefix("élève", 3), strlen("élè"));
	assert_int_equal(rl_text_prefix("漢字", 3), strlen("漢")); /* never half a character */
	f = fmemopen(out, sizeof(out), "w");
	assert_non_null(f);
	rl_text_cell(f, "rôle", 6);
	fputc('|', f);
	rl_text_cell(f, "accueil-siège", 8);
	fputc('|', f);
	rl_text_cell(f, "x", 0);
	fclose(f);
	assert_string_equal(out, "rôle  |accueil…|x");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_width),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
