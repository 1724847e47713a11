/*
 * test_csv.c - one CSV field, both quoting modes, the formula guard.
 */
#include "rl_test.h"

#include "common/csv.h"

static const char *
field(const char *s, bool quote_all)
{
	static char out[256];
	FILE *f;

	memset(out, 0, sizeof(out)); /* fmemopen writes no NUL when nothing is written */
	f = fmemopen(out, sizeof(out), "w");

	assert_non_null(f);
	rl_csv_field(f, s, strlen(s), quote_all);
	fclose(f);
	return out;
}

static void
test_minimal(void **state)
{
	(void)state;
	assert_string_equal(field("logement", false), "logement");
	assert_string_equal(field("", false), "");
	assert_string_equal(field("médecin traitant", false), "médecin traitant");
	assert_string_equal(field("a,b", false), "\"a,b\"");
	assert_string_equal(field("CMP; CCAS", false), "\"CMP; CCAS\"");
	assert_string_equal(field("Dr \"X\"", false), "\"Dr \"\"X\"\"\"");
	assert_string_equal(field("ligne 1\nligne 2", false), "\"ligne 1\nligne 2\"");
}

static void
test_guard(void **state)
{
	(void)state;
	/* A spreadsheet never runs what relais writes. */
	assert_string_equal(field("=HYPERLINK(\"x\")", false), "\"'=HYPERLINK(\"\"x\"\")\"");
	assert_string_equal(field("+33 6", false), "\"'+33 6\"");
	assert_string_equal(field("-1", false), "\"'-1\"");
	assert_string_equal(field("@SUM(A1)", false), "\"'@SUM(A1)\"");
	assert_string_equal(field("\tx", false), "\"'\tx\"");
	assert_string_equal(field("a=b", false), "a=b");
}

static void
test_quote_all(void **state)
{
	(void)state;
	assert_string_equal(field("logement", true), "\"logement\"");
	assert_string_equal(field("", true), "\"\"");
	assert_string_equal(field("=1+1", true), "\"'=1+1\"");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_guard),
		cmocka_unit_test(test_quote_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
