/*
 * csv.c - CSV fields (see csv.h).
 */
#include <string.h>

#include "csv.h"

static bool
csv_formula(const char *s, size_t len)
{
	return len > 0 && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' ||
	                   s[0] == '\r');
}

void
rl_csv_field(FILE *f, const char *s, size_t len, bool quote_all)
{
	bool formula = csv_formula(s, len), quote = quote_all || formula;

	for (size_t i = 0; i < len && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == ';' || s[i] == '\r' || s[i] == '\n';
	if (!quote) {
		fwrite(s, 1, len, f);
		return;
	}
	fputc('"', f);
	if (formula)
		fputc('\'', f);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"')
			fputc('"', f);
		fputc(s[i], f);
	}
	fputc('"', f);
}
