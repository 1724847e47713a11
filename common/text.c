/*
 * text.c - UTF-8 and display widths through libunistring (see text.h).
 *
 * u8_mbtoucr decodes strictly (it refuses overlong forms, surrogates and
 * truncated sequences), uc_width gives a character's columns in a UTF-8
 * terminal (-1 for controls, which printable text no longer holds).
 */
#include <string.h>

#include <unistr.h>
#include <uniwidth.h>

#include "text.h"

size_t
rl_text_next(const uint8_t *p, size_t n, uint32_t *cp)
{
	ucs4_t c;
	int k = u8_mbtoucr(&c, p, n);

	if (k <= 0)
		return 0;
	*cp = c;
	return (size_t)k;
}

bool
rl_text_is_control(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
}

rl_err
rl_text_printable(rl_bytes b, rl_buf *out)
{
	static const uint8_t repl[] = { 0xef, 0xbf, 0xbd }; /* U+FFFD */
	rl_err e = RL_OK;

	rl_buf_reset(out);
	for (size_t i = 0; i < b.len && e == RL_OK;) {
		uint32_t cp;
		size_t k = rl_text_next(b.p + i, b.len - i, &cp);

		if (k == 0) {
			e = rl_buf_append(out, repl, sizeof(repl));
			i++;
			continue;
		}
		e = rl_text_is_control(cp) ? rl_buf_append(out, "?", 1) : rl_buf_append(out, b.p + i, k);
		i += k;
	}
	if (e == RL_OK && (e = rl_buf_append(out, "", 1)) == RL_OK)
		out->len--;
	return e;
}

/* Columns of the character at s (n bytes available); its length in *len. */
static size_t
char_cols(const char *s, size_t n, size_t *len)
{
	uint32_t cp;
	size_t k = rl_text_next((const uint8_t *)s, n, &cp);
	int w;

	if (k == 0) {
		*len = 1;
		return 1;
	}
	*len = k;
	w = uc_width(cp, "UTF-8");
	return w < 0 ? 1 : (size_t)w;
}

size_t
rl_text_width(const char *s)
{
	size_t n = strlen(s), cols = 0, k;

	for (size_t i = 0; i < n; i += k)
		cols += char_cols(s + i, n - i, &k);
	return cols;
}

size_t
rl_text_prefix(const char *s, size_t cols)
{
	size_t n = strlen(s), used = 0, i = 0, k, w;

	while (i < n) {
		w = char_cols(s + i, n - i, &k);
		if (used + w > cols)
			break;
		used += w;
		i += k;
	}
	return i;
}

void
rl_text_cell(FILE *f, const char *s, size_t width)
{
	size_t cols;

	if (width == 0) {
		fputs(s, f);
		return;
	}
	if ((cols = rl_text_width(s)) > width) {
		fprintf(f, "%.*s…", (int)rl_text_prefix(s, width - 1), s);
		return;
	}
	fputs(s, f);
	for (; cols < width; cols++)
		fputc(' ', f);
}
