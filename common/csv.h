/*
 * csv.h - the one CSV field writer (RFC 4180), for the client's export and
 * the HQ report alike, with the same formula guard.
 */
#ifndef RL_CSV_H
#define RL_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Writes s (len bytes) as one field: quotes doubled inside quotes; a text a
 * spreadsheet would run as a formula (starting with = + - @, a tab or a
 * carriage return) gets a leading apostrophe, inside quotes. quote_all puts
 * every field in quotes (the client's export); otherwise only those that
 * need it (a comma, quote, semicolon, CR or LF, or the guard). Separators
 * and line ends (CRLF) are the caller's. */
void rl_csv_field(FILE *f, const char *s, size_t len, bool quote_all);

#endif
