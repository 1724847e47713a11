/*
 * export.c - `relais export`: the situations for a case commission, as CSV
 * or JSON.
 *
 * Both formats come from the same JSON objects (view.c), so anonymising is
 * decided in one place: with --anonymize, for every person whose consent is
 * not "oui", the identifying registers and every free text are null (JSON)
 * or empty (CSV); kind, problems, referrers, professionals, antenna, dates
 * and counts stay.
 *
 * The CSV writer quotes every field (RFC 4180, CRLF line ends) and, since
 * values come from other devices and the file is opened in spreadsheets, a
 * field starting with = + - @ or a tab/CR gets a leading apostrophe so it is
 * never evaluated as a formula.
 */
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "common/csv.h"

typedef struct export_ctx {
	json_t *rows;
	bool anonymize;
	bool oom;
} export_ctx;

static int
export_one(const rl_record *rec, void *arg)
{
	export_ctx *x = arg;
	json_t *o = rl_view_json(rec, x->anonymize);

	if (o == NULL || json_array_append_new(x->rows, o) != 0) {
		x->oom = true;
		return 1;
	}
	return 0;
}

static int
row_cmp(const void *pa, const void *pb)
{
	json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
	const char *oa = json_string_value(json_object_get(a, "opened"));
	const char *ob = json_string_value(json_object_get(b, "opened"));
	int c = strcmp(oa ? oa : "", ob ? ob : "");

	if (c != 0)
		return c;
	return strcmp(json_string_value(json_object_get(a, "id")),
	              json_string_value(json_object_get(b, "id")));
}

/* ---- CSV ---- */

static void
csv_field(FILE *f, const char *s, size_t len, bool first)
{
	if (!first)
		fputc(',', f);
	rl_csv_field(f, s, len, true);
}

static void
csv_cstr(FILE *f, const char *s, bool first)
{
	csv_field(f, s, strlen(s), first);
}

/* A JSON value as a CSV field: strings as they are, numbers in decimal,
 * booleans as oui/non, arrays of strings joined by "; ", null empty. */
static void
csv_json(FILE *f, json_t *v, bool first)
{
	char num[32];

	if (json_is_string(v))
		csv_field(f, json_string_value(v), json_string_length(v), first);
	else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		csv_cstr(f, num, first);
	} else if (json_is_boolean(v))
		csv_cstr(f, json_is_true(v) ? "oui" : "non", first);
	else if (json_is_array(v)) {
		size_t n = 0, i;
		char *joined;
		json_t *e;

		json_array_foreach (v, i, e)
			n += json_string_length(e) + 2;
		if ((joined = calloc(n + 1, 1)) == NULL) {
			csv_cstr(f, "", first);
			return;
		}
		n = 0;
		json_array_foreach (v, i, e) {
			if (i > 0) {
				memcpy(joined + n, "; ", 2);
				n += 2;
			}
			memcpy(joined + n, json_string_value(e), json_string_length(e));
			n += json_string_length(e);
		}
		csv_field(f, joined, n, first);
		free(joined);
	} else
		csv_cstr(f, "", first);
}

/* The journal as one field: "date type: text" per line (no text when
 * anonymised). */
static void
csv_journal(FILE *f, json_t *journal)
{
	size_t n = 0, i, pos = 0;
	json_t *e;
	char *s;

	json_array_foreach (journal, i, e)
		n += 40 + json_string_length(json_object_get(e, "text")) + 1;
	if ((s = calloc(n + 1, 1)) == NULL) {
		csv_cstr(f, "", false);
		return;
	}
	json_array_foreach (journal, i, e) {
		json_t *text = json_object_get(e, "text");

		pos += (size_t)snprintf(s + pos, n + 1 - pos, "%s%s %s", i ? "\n" : "",
		                        json_string_value(json_object_get(e, "date")),
		                        json_string_value(json_object_get(e, "type")));
		if (json_is_string(text)) {
			memcpy(s + pos, ": ", 2);
			pos += 2;
			memcpy(s + pos, json_string_value(text), json_string_length(text));
			pos += json_string_length(text);
		}
	}
	csv_field(f, s, pos, false);
	free(s);
}

static void
csv_write(FILE *f, json_t *rows)
{
	static const char *const cols[] = {
		"id",           "antenna",  "kind",     "status",    "opened",
		"closed",       "close_reason", "consent", "anonymized", "initials",
		"sex",          "age",      "commune",  "living",    "history",
		"evolution",    "problems", "referrers", "professionals",
	};
	static const char *const counts[] = { "journal", "home_visits", "alerts", "alerts_open" };
	char num[32];
	size_t i;
	json_t *o;

	for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
		csv_cstr(f, cols[c], c == 0);
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++)
		csv_cstr(f, c == 0 ? "journal_entries" : counts[c], false);
	csv_cstr(f, "conflicts", false);
	csv_cstr(f, "journal", false);
	fputs("\r\n", f);
	json_array_foreach (rows, i, o) {
		json_t *cnt = json_object_get(o, "counts");

		for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
			csv_json(f, json_object_get(o, cols[c]), c == 0);
		for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++)
			csv_json(f, json_object_get(cnt, counts[c]), false);
		snprintf(num, sizeof(num), "%zu", json_array_size(json_object_get(o, "conflicts")));
		csv_cstr(f, num, false);
		csv_journal(f, json_object_get(o, "journal"));
		fputs("\r\n", f);
	}
}

int
rl_cmd_export(rl_cli *cli)
{
	const char *format = rl_cli_opt(cli, "format");
	export_ctx x = { 0 };
	rl_replica *rp;
	size_t n;
	json_t **v;
	int rc;

	if (format == NULL)
		format = "csv";
	if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)
		return rl_cli_fail("format inconnu : « %.20s » (csv ou json)", format);
	x.anonymize = rl_cli_flag(cli, "anonymize");
	if ((rc = rl_cli_open(cli, &rp)) != 0)
		return rc;
	if ((x.rows = json_array()) == NULL) {
		rl_replica_close(rp);
		return rl_cli_fail_err(RL_ENOMEM, "export");
	}
	rc = rl_cli_each(rp, export_one, &x);
	rl_replica_close(rp);
	if (rc != 0 || x.oom) {
		json_decref(x.rows);
		return rc ? rc : rl_cli_fail_err(RL_ENOMEM, "export");
	}
	/* Sort in place: borrow the rows, sort the pointers, put them back. */
	n = json_array_size(x.rows);
	if ((v = malloc((n + 1) * sizeof(*v))) == NULL) {
		json_decref(x.rows);
		return rl_cli_fail_err(RL_ENOMEM, "export");
	}
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(x.rows, i));
	qsort(v, n, sizeof(*v), row_cmp);
	json_array_clear(x.rows);
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(x.rows, v[i]) != 0)
			x.oom = true;
	free(v);
	if (x.oom) {
		json_decref(x.rows);
		return rl_cli_fail_err(RL_ENOMEM, "export");
	}
	if (strcmp(format, "json") == 0)
		return rl_cli_json_print(x.rows);
	csv_write(stdout, x.rows);
	json_decref(x.rows);
	return 0;
}
