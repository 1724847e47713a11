/*
 * text.h - the one home of text: UTF-8 decoding and checks, what counts as
 * a control character, printable copies and display widths. libunistring
 * (Debian's) does the Unicode work; this is its only user.
 *
 * Everything takes bytes with their length and never reads past them: text
 * comes from stores, the wire, files and command lines.
 */
#ifndef RL_TEXT_H
#define RL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"

/* The length (1..4) of the valid UTF-8 sequence at p (n bytes available)
 * and its code point in *cp, or 0 when p does not start a valid one
 * (overlong, surrogate, truncated, beyond U+10FFFF). n must be at least 1. */
size_t rl_text_next(const uint8_t *p, size_t n, uint32_t *cp);

/* Whether cp is a control character: C0, DEL or C1. */
bool rl_text_is_control(uint32_t cp);

/* Makes b printable UTF-8 in out (its content replaced, NUL-terminated, the
 * NUL not counted in out->len): control characters become '?', bytes that
 * are not valid UTF-8 become U+FFFD. RL_ENOMEM. */
rl_err rl_text_printable(rl_bytes b, rl_buf *out);

/* Display columns of a NUL-terminated printable UTF-8 string (accented
 * letters 1, combining marks 0, wide characters 2). */
size_t rl_text_width(const char *s);

/* Bytes of the longest prefix of s (printable UTF-8) that fits in cols
 * columns, never cutting a character. */
size_t rl_text_prefix(const char *s, size_t cols);

/* Prints s (printable UTF-8) in a column of width columns: padded with
 * spaces, or cut with "…" when wider. width 0: s as it is. */
void rl_text_cell(FILE *f, const char *s, size_t width);

#endif
