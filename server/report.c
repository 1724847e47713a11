/*
 * report.c - consolidated activity report (`relais-server report`).
 *
 * One pass over the situation states (RL_T_STATES) in one read transaction:
 * each state is decoded, its registers, sets, journal and alerts are read
 * through the record views, and the figures are added up in counters and
 * small hash tables (tallies) keyed by the text shown. Nothing is kept per
 * situation except one delay for the median, so the cost is linear in the
 * number of situations and memory stays small: 100,000 situations of about
 * ten changes each take about 0.4 s on one core, two thirds of it in the
 * store's decryption of the sealed states. The change log is never read.
 *
 * Definitions, chosen for what a manager reads in a yearly report:
 *
 *   scope      every situation not erased whose current antenna (the
 *              displayed winner of the "antenna" register) is --antenna, or
 *              all of them.
 *   period     the months --from..--to, inclusive; a missing side is open.
 *   counted    a situation of the scope whose opening date ("opened") falls
 *              in the period. A situation without a readable opening date
 *              counts only when no period is given (and is then "undated",
 *              outside by_month). situations, by_kind, by_problem,
 *              by_referrer, by_antenna, by_month, closed (status "closed"
 *              now), closed_reasons and the median are over counted ones.
 *   home_visits journal entries of type vad dated in the period, over every
 *              situation of the scope whatever its opening date: a visit in
 *              June to a case opened last year is June's activity. An entry
 *              that amends another is a correction, not another visit, and
 *              is not counted (the original keeps its date and type).
 *   alerts_overdue alerts not done whose due date (the "due" register, else
 *              the alert's own date) is before today, over every situation
 *              of the scope: a snapshot of today, not of the period, and the
 *              same alerts `relais alerts` shows as overdue.
 *   median_days_to_first_intervention  over counted situations that have a
 *              journal entry (amendments aside): days from the opening date
 *              to the earliest entry date, 0 when the entry predates the
 *              opening (a call before the case was formally opened). null
 *              when no situation has an entry; a half day when the number of
 *              delays is even and the two middle ones differ by an odd count.
 *   by_antenna also lists, with 0, the antennas of enrolled antenna and
 *              mobile devices, so an antenna without activity shows as such.
 *   by_problem always lists the six codes of the observatory, then any other
 *              code by decreasing count.
 *
 * Every text taken from the data (referrers, reasons, codes) is made
 * printable UTF-8 once, when it enters a tally: control characters become
 * '?' and invalid bytes U+FFFD. Each format then escapes it for itself: HTML
 * entities, CSV quoting (and a leading quote before = + - @, so a
 * spreadsheet never runs a formula), JSON through jansson.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/casefile.h"
#include "common/csv.h"
#include "common/file.h"
#include "common/states.h"
#include "common/text.h"
#include "report.h"

#define REPORT_YEAR_MIN 1900
#define REPORT_YEAR_MAX 2999
#define REPORT_MONTHS ((REPORT_YEAR_MAX - REPORT_YEAR_MIN + 1) * 12)
#define REPORT_FILL_MAX 240       /* longest run of months shown with zeros */
#define REPORT_TEXT_LABEL 46      /* text format: label column */
#define REPORT_TEXT_NUM 9         /* text format: number column */
#define REPORT_SVG_WIDTH 760      /* chart width in CSS pixels */
#define REPORT_SVG_LABEL 240      /* horizontal charts: label column */
#define REPORT_SVG_ROW 24         /* horizontal charts: row height */
#define REPORT_SVG_LABEL_CHARS 34 /* longest label drawn in a chart */
#define REPORT_SVG_ROWS_MAX 40    /* bars drawn at most (the table has all) */

enum report_fmt { FMT_TEXT, FMT_CSV, FMT_JSON, FMT_HTML };

/* The observatory's problem codes, in the order of the yearly report. */
static const struct {
	const char *code;
	const char *label;
} known_problems[] = {
	{ "acces_soins_psy", "Accès aux soins psychiatriques" },
	{ "logement", "Logement" },
	{ "soins_somatiques", "Soins somatiques" },
	{ "precarite", "Précarité" },
	{ "justice", "Justice" },
	{ "addiction", "Addiction" },
};
#define NKNOWN (sizeof(known_problems) / sizeof(known_problems[0]))

static const char *const month_names[12] = { "janvier", "février", "mars",     "avril",
	                                         "mai",     "juin",    "juillet",  "août",
	                                         "septembre", "octobre", "novembre", "décembre" };
static const char *const month_abbr[12] = { "janv.", "févr.", "mars", "avr.", "mai",  "juin",
	                                        "juil.", "août",  "sept.", "oct.", "nov.", "déc." };

/* ---- tallies: text -> count ---- */

typedef struct tally_ent {
	char *key; /* printable UTF-8, NUL-terminated */
	size_t len;
	uint64_t n;
} tally_ent;

typedef struct tally {
	tally_ent *v;
	size_t n, cap;
	uint32_t *slot; /* open addressing: index + 1, 0 empty */
	size_t nslot;   /* power of two, more than twice n */
} tally;

static uint64_t
tally_hash(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
	return h;
}

static rl_err
tally_rehash(tally *t)
{
	size_t ns = t->nslot ? t->nslot * 2 : 16;
	uint32_t *s = calloc(ns, sizeof(*s));

	if (s == NULL)
		return RL_ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		size_t h = tally_hash(t->v[i].key, t->v[i].len) & (ns - 1);

		while (s[h] != 0)
			h = (h + 1) & (ns - 1);
		s[h] = (uint32_t)(i + 1);
	}
	free(t->slot);
	t->slot = s;
	t->nslot = ns;
	return RL_OK;
}

/* The entry of key, or NULL. */
static tally_ent *
tally_find(const tally *t, const char *key, size_t len)
{
	size_t h;

	if (t->nslot == 0)
		return NULL;
	for (h = tally_hash(key, len) & (t->nslot - 1); t->slot[h] != 0; h = (h + 1) & (t->nslot - 1)) {
		tally_ent *e = &t->v[t->slot[h] - 1];

		if (e->len == len && memcmp(e->key, key, len) == 0)
			return e;
	}
	return NULL;
}

/* Adds by to key's count (by may be 0: the key is listed). */
static rl_err
tally_add(tally *t, const char *key, size_t len, uint64_t by)
{
	tally_ent *e;
	size_t h;
	char *k;

	if ((e = tally_find(t, key, len)) != NULL) {
		e->n += by;
		return RL_OK;
	}
	if (t->n >= UINT32_MAX - 1)
		return RL_ETOOBIG;
	if ((t->n + 1) * 2 > t->nslot && tally_rehash(t) != RL_OK)
		return RL_ENOMEM;
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 16;
		tally_ent *nv = realloc(t->v, nc * sizeof(*nv));

		if (nv == NULL)
			return RL_ENOMEM;
		t->v = nv;
		t->cap = nc;
	}
	if ((k = malloc(len + 1)) == NULL)
		return RL_ENOMEM;
	memcpy(k, key, len);
	k[len] = '\0';
	t->v[t->n] = (tally_ent){ k, len, by };
	for (h = tally_hash(key, len) & (t->nslot - 1); t->slot[h] != 0; h = (h + 1) & (t->nslot - 1))
		;
	t->slot[h] = (uint32_t)(++t->n);
	return RL_OK;
}

static void
tally_fini(tally *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].key);
	free(t->v);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

/* ---- printable text ---- */

/* ---- dates ---- */

/* Days since 1970-01-01 of a valid YYYYMMDD (proleptic Gregorian). */
static int64_t
ymd_days(uint32_t ymd)
{
	int64_t y = ymd / 10000, m = ymd / 100 % 100, d = ymd % 100;
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Month index (0 = 1900-01) of a valid YYYYMMDD. */
static int
ymd_month(uint32_t ymd)
{
	return (int)(ymd / 10000 - REPORT_YEAR_MIN) * 12 + (int)(ymd / 100 % 100) - 1;
}

/* Parses "YYYY-MM" exactly into a month index. */
static bool
month_parse(const char *s, int *mi)
{
	unsigned y = 0, m = 0;

	if (strlen(s) != 7 || s[4] != '-')
		return false;
	for (int i = 0; i < 7; i++) {
		if (i == 4)
			continue;
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (i < 4)
			y = y * 10 + (unsigned)(s[i] - '0');
		else
			m = m * 10 + (unsigned)(s[i] - '0');
	}
	if (y < REPORT_YEAR_MIN || y > REPORT_YEAR_MAX || m < 1 || m > 12)
		return false;
	*mi = (int)(y - REPORT_YEAR_MIN) * 12 + (int)m - 1;
	return true;
}

static void
month_key(int mi, char out[8])
{
	unsigned u = (unsigned)mi % REPORT_MONTHS; /* always in range; bounds the text */

	snprintf(out, 8, "%04u-%02u", REPORT_YEAR_MIN + u / 12, u % 12 + 1);
}

/* "mai 2025" */
static void
month_long(int mi, char *out, size_t cap)
{
	snprintf(out, cap, "%s %d", month_names[mi % 12], REPORT_YEAR_MIN + mi / 12);
}

/* ---- the figures ---- */

typedef struct row {
	const char *key;   /* as in JSON and CSV */
	const char *label; /* as shown in text and HTML */
	uint64_t n;
} row;

typedef struct rows {
	row *v;
	size_t n;
} rows;

typedef struct report {
	/* options */
	bool has_from, has_to;
	int from, to;        /* month indexes, inclusive */
	const char *antenna; /* NULL: the whole network */
	uint32_t today;
	/* counters */
	uint64_t situations, undated, closed, closed_noreason, home_visits, alerts_overdue;
	tally kind, problem, referrer, ant, reason;
	uint64_t *month; /* REPORT_MONTHS counters */
	int mmin, mmax;  /* months seen, mmin > mmax when none */
	int64_t *delay;
	size_t ndelay, capdelay;
	rl_buf scratch;
	/* results */
	bool has_median;
	int64_t median2; /* twice the median */
	rows kinds, problems, referrers, antennas, months, reasons;
	char (*month_keys)[8];
	char (*month_labels)[24];
} report;

static bool
in_period(const report *r, int mi)
{
	return mi >= r->from && mi <= r->to;
}

/* Adds by to the tally under the printable form of b (skipped if empty). */
static rl_err
count_text(report *r, tally *t, rl_bytes b, uint64_t by)
{
	bool plain = true;
	rl_err e;

	if (b.len == 0)
		return RL_OK;
	for (size_t i = 0; i < b.len && plain; i++)
		plain = b.p[i] >= 0x20 && b.p[i] < 0x7f;
	if (plain)
		return tally_add(t, (const char *)b.p, b.len, by);
	if ((e = rl_text_printable(b, &r->scratch)) != RL_OK)
		return e;
	return tally_add(t, (const char *)r->scratch.data, r->scratch.len, by);
}

static rl_err
count_set(report *r, tally *t, const rl_record *rec, uint8_t set)
{
	rl_bytes *v;
	size_t n;
	rl_err e;

	if ((e = rl_record_set(rec, set, &v, &n)) != RL_OK)
		return e;
	for (size_t i = 0; i < n && e == RL_OK; i++)
		e = count_text(r, t, v[i], 1);
	free(v);
	return e;
}

static bool
bytes_is(rl_bytes b, const char *s)
{
	size_t n = strlen(s);

	return b.len == n && (n == 0 || memcmp(b.p, s, n) == 0);
}

static rl_err
delay_push(report *r, int64_t d)
{
	if (r->ndelay == r->capdelay) {
		size_t nc = r->capdelay ? r->capdelay * 2 : 1024;
		int64_t *nv = realloc(r->delay, nc * sizeof(*nv));

		if (nv == NULL)
			return RL_ENOMEM;
		r->delay = nv;
		r->capdelay = nc;
	}
	r->delay[r->ndelay++] = d;
	return RL_OK;
}

/* Adds one situation state to the figures (an rl_states_fn on a report). */
static rl_err
report_record(void *arg, const rl_record *rec)
{
	report *r = arg;
	const rl_op **list = NULL;
	rl_bytes ant, opened_b;
	uint32_t opened = 0, first = 0;
	bool dated, counted;
	size_t n;
	rl_err e;

	if (rec->erased)
		return RL_OK;
	ant = rl_record_get(rec, RL_F_ANTENNA);
	if (r->antenna != NULL && !bytes_is(ant, r->antenna))
		return RL_OK;
	opened_b = rl_record_get(rec, RL_F_OPENED);
	dated = rl_date_parse((const char *)opened_b.p, opened_b.len, &opened) == RL_OK;
	counted = dated ? in_period(r, ymd_month(opened)) : !r->has_from && !r->has_to;

	/* Journal: visits of the period, and the first intervention. The list
	 * is sorted by date, so the first original entry is the earliest. */
	if ((e = rl_record_list(rec, RL_OP_JOURNAL, &list, &n)) != RL_OK)
		return e;
	for (size_t i = 0; i < n; i++) {
		if (!rl_case_is_intervention(list[i]))
			continue; /* an amendment: a correction, not an intervention */
		if (first == 0)
			first = list[i]->date;
		if (rl_case_is_home_visit(list[i]) && in_period(r, ymd_month(list[i]->date)))
			r->home_visits++;
	}
	free(list);

	if ((e = rl_record_list(rec, RL_OP_ALERT, &list, &n)) != RL_OK)
		return e;
	for (size_t i = 0; i < n; i++)
		if (rl_case_alert_overdue(rec, list[i], r->today))
			r->alerts_overdue++;
	free(list);

	if (!counted)
		return RL_OK;
	r->situations++;
	if ((e = count_text(r, &r->kind, rl_record_get(rec, RL_F_KIND), 1)) != RL_OK ||
	    (e = count_set(r, &r->problem, rec, RL_SET_PROBLEMS)) != RL_OK ||
	    (e = count_set(r, &r->referrer, rec, RL_SET_REFERRERS)) != RL_OK ||
	    (e = count_text(r, &r->ant, ant, 1)) != RL_OK)
		return e;
	if (dated) {
		int mi = ymd_month(opened);

		r->month[mi]++;
		if (mi < r->mmin)
			r->mmin = mi;
		if (mi > r->mmax)
			r->mmax = mi;
	} else
		r->undated++;
	if (bytes_is(rl_record_get(rec, RL_F_STATUS), "closed")) {
		rl_bytes reason = rl_record_get(rec, RL_F_CLOSE_REASON);

		r->closed++;
		if (reason.len == 0)
			r->closed_noreason++;
		else if ((e = count_text(r, &r->reason, reason, 1)) != RL_OK)
			return e;
	}
	if (dated && first != 0) {
		int64_t d = ymd_days(first) - ymd_days(opened);

		if ((e = delay_push(r, d < 0 ? 0 : d)) != RL_OK)
			return e;
	}
	return RL_OK;
}

/* Lists the antennas of enrolled antenna and mobile devices with 0. */
static rl_err
report_devices(report *r, rl_txn *txn)
{
	rl_cursor *c;
	rl_bytes k;
	rl_err e;

	if (r->antenna != NULL)
		return count_text(r, &r->ant, RL_BYTES(r->antenna, strlen(r->antenna)), 0);
	if ((e = rl_cursor_open(txn, RL_T_DEVICES, &c)) != RL_OK)
		return e;
	for (e = rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, NULL); e == RL_OK;
	     e = rl_cursor_next(c, &k, NULL)) {
		rl_device d;

		if (k.len != RL_DEV_BYTES || rl_hub_device_get(txn, k.p, &d) != RL_OK)
			continue;
		if (d.role != RL_ROLE_ANTENNA && d.role != RL_ROLE_MOBILE)
			continue;
		d.antenna[RL_ANTENNA_MAX] = '\0';
		if ((e = count_text(r, &r->ant, RL_BYTES(d.antenna, strlen(d.antenna)), 0)) != RL_OK)
			break;
	}
	rl_cursor_close(c);
	return e == RL_ENOTFOUND ? RL_OK : e;
}

/* Reads every state in one read transaction. */
static rl_err
report_scan(report *r, rl_hub *hub)
{
	rl_txn *txn = NULL;
	rl_err e;

	if ((e = rl_store_begin(hub->st, false, &txn)) != RL_OK)
		return e;
	if ((e = report_devices(r, txn)) == RL_OK)
		e = rl_states_each(txn, report_record, r);
	rl_store_abort(txn);
	return e;
}

static int
row_by_count(const void *pa, const void *pb)
{
	const row *a = pa, *b = pb;

	if (a->n != b->n)
		return a->n > b->n ? -1 : 1;
	return strcmp(a->key, b->key);
}

static int
row_by_key(const void *pa, const void *pb)
{
	return strcmp(((const row *)pa)->key, ((const row *)pb)->key);
}

/* The rows of a tally: first the fixed keys (with 0 when absent), then
 * the others sorted by cmp. */
static rl_err
rows_make(const tally *t, const char *const *fixed, const char *const *labels, size_t nfixed,
          int (*cmp)(const void *, const void *), rows *out)
{
	size_t n = 0;

	if ((out->v = calloc(t->n + nfixed + 1, sizeof(row))) == NULL)
		return RL_ENOMEM;
	for (size_t i = 0; i < nfixed; i++) {
		const tally_ent *e = tally_find(t, fixed[i], strlen(fixed[i]));

		out->v[n++] = (row){ fixed[i], labels[i], e ? e->n : 0 };
	}
	for (size_t i = 0; i < t->n; i++) {
		bool is_fixed = false;

		for (size_t k = 0; k < nfixed && !is_fixed; k++)
			is_fixed = strcmp(t->v[i].key, fixed[k]) == 0;
		if (!is_fixed)
			out->v[n++] = (row){ t->v[i].key, t->v[i].key, t->v[i].n };
	}
	qsort(out->v + nfixed, n - nfixed, sizeof(row), cmp);
	out->n = n;
	return RL_OK;
}

static int
delay_cmp(const void *pa, const void *pb)
{
	int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;

	return a < b ? -1 : a > b;
}

/* Sorts and shapes the figures for output. */
static rl_err
report_finish(report *r)
{
	static const char *const kinds[] = { "coordination", "orientation" };
	static const char *const kind_labels[] = { "coordinations", "orientations" };
	const char *pcodes[NKNOWN], *plabels[NKNOWN];
	int lo, hi;
	rl_err e;

	for (size_t i = 0; i < NKNOWN; i++) {
		pcodes[i] = known_problems[i].code;
		plabels[i] = known_problems[i].label;
	}
	if ((e = rows_make(&r->kind, kinds, kind_labels, 2, row_by_count, &r->kinds)) != RL_OK ||
	    (e = rows_make(&r->problem, pcodes, plabels, NKNOWN, row_by_count, &r->problems)) != RL_OK ||
	    (e = rows_make(&r->referrer, NULL, NULL, 0, row_by_count, &r->referrers)) != RL_OK ||
	    (e = rows_make(&r->ant, NULL, NULL, 0, row_by_key, &r->antennas)) != RL_OK ||
	    (e = rows_make(&r->reason, NULL, NULL, 0, row_by_count, &r->reasons)) != RL_OK)
		return e;

	/* Months: the period asked for, with zeros, unless it is open or very
	 * long; then the months that have situations, from the first to the
	 * last. */
	lo = r->has_from ? r->from : r->mmin;
	hi = r->has_to ? r->to : r->mmax;
	if (hi - lo + 1 > REPORT_FILL_MAX) {
		lo = lo > r->mmin ? lo : r->mmin;
		hi = hi < r->mmax ? hi : r->mmax;
	}
	if (hi >= lo) {
		size_t n = (size_t)(hi - lo + 1);

		r->months.v = calloc(n, sizeof(row));
		r->month_keys = calloc(n, sizeof(*r->month_keys));
		r->month_labels = calloc(n, sizeof(*r->month_labels));
		if (r->months.v == NULL || r->month_keys == NULL || r->month_labels == NULL)
			return RL_ENOMEM;
		for (int mi = lo; mi <= hi; mi++) {
			size_t i = (size_t)(mi - lo);

			month_key(mi, r->month_keys[i]);
			month_long(mi, r->month_labels[i], sizeof(r->month_labels[i]));
			r->months.v[i] = (row){ r->month_keys[i], r->month_labels[i], r->month[mi] };
		}
		r->months.n = n;
	}

	if (r->ndelay > 0) {
		size_t m = r->ndelay / 2;

		qsort(r->delay, r->ndelay, sizeof(int64_t), delay_cmp);
		r->has_median = true;
		r->median2 = r->ndelay % 2 ? 2 * r->delay[m] : r->delay[m - 1] + r->delay[m];
	}
	return RL_OK;
}

static void
report_fini(report *r)
{
	tally_fini(&r->kind);
	tally_fini(&r->problem);
	tally_fini(&r->referrer);
	tally_fini(&r->ant);
	tally_fini(&r->reason);
	free(r->month);
	free(r->delay);
	rl_buf_fini(&r->scratch);
	free(r->kinds.v);
	free(r->problems.v);
	free(r->referrers.v);
	free(r->antennas.v);
	free(r->months.v);
	free(r->reasons.v);
	free(r->month_keys);
	free(r->month_labels);
}

/* ---- shared wording ---- */

static void
period_label(const report *r, char *out, size_t cap)
{
	char a[32], b[32];

	month_long(r->from, a, sizeof(a));
	month_long(r->to, b, sizeof(b));
	if (r->has_from && r->has_to && r->from == r->to)
		snprintf(out, cap, "%s", a);
	else if (r->has_from && r->has_to)
		snprintf(out, cap, "de %s à %s", a, b);
	else if (r->has_from)
		snprintf(out, cap, "depuis %s", a);
	else if (r->has_to)
		snprintf(out, cap, "jusqu'à %s", b);
	else
		snprintf(out, cap, "toute la période");
}

/* "6", or "6,5" in French text; "6.5" with dot true. */
static void
median_text(const report *r, bool dot, char *out, size_t cap)
{
	if (!r->has_median)
		snprintf(out, cap, "-");
	else if (r->median2 % 2 == 0)
		snprintf(out, cap, "%lld", (long long)(r->median2 / 2));
	else
		snprintf(out, cap, "%lld%s5", (long long)(r->median2 / 2), dot ? "." : ",");
}

static void
date_text(uint32_t ymd, char out[11])
{
	rl_date_format(ymd, out);
}

/* Share of the counted situations, in whole percent. */
static unsigned
percent(uint64_t n, uint64_t of)
{
	return of ? (unsigned)((n * 100 + of / 2) / of) : 0;
}

/* ---- text ---- */


static void
text_line(FILE *f, const char *label, const char *value)
{
	fputs("  ", f);
	rl_text_cell(f, label, REPORT_TEXT_LABEL);
	fprintf(f, "%*s\n", REPORT_TEXT_NUM, value);
}

static void
text_num(FILE *f, const char *label, uint64_t n)
{
	char v[24];

	snprintf(v, sizeof(v), "%llu", (unsigned long long)n);
	text_line(f, label, v);
}

static void
text_table(FILE *f, const char *title, const rows *rs, uint64_t of, const char *empty)
{
	fprintf(f, "\n%s\n", title);
	if (rs->n == 0) {
		fprintf(f, "  %s\n", empty);
		return;
	}
	for (size_t i = 0; i < rs->n; i++) {
		fputs("  ", f);
		rl_text_cell(f, rs->v[i].label, REPORT_TEXT_LABEL);
		fprintf(f, "%*llu", REPORT_TEXT_NUM, (unsigned long long)rs->v[i].n);
		if (of != 0)
			fprintf(f, "  %3u %%", percent(rs->v[i].n, of));
		fputc('\n', f);
	}
}

static void
render_text(FILE *f, const report *r)
{
	char period[128], today[11], med[48], v[64];

	period_label(r, period, sizeof(period));
	date_text(r->today, today);
	fprintf(f, "Rapport d'activité relais\n");
	fprintf(f, "=========================\n");
	fprintf(f, "Période    : %s (situations ouvertes dans la période)\n", period);
	fprintf(f, "Périmètre  : %s%s\n", r->antenna ? "antenne " : "tout le réseau",
	        r->antenna ? r->antenna : "");
	fprintf(f, "Édité le   : %s\n", today);

	fprintf(f, "\nChiffres clés\n");
	text_num(f, "Situations ouvertes", r->situations);
	for (size_t i = 0; i < r->kinds.n; i++) {
		char l[160];

		snprintf(l, sizeof(l), "  dont %s", r->kinds.v[i].label);
		text_num(f, l, r->kinds.v[i].n);
	}
	text_num(f, "Situations clôturées", r->closed);
	text_num(f, "Situations en cours (non clôturées)", r->situations - r->closed);
	text_num(f, "Visites à domicile dans la période", r->home_visits);
	snprintf(v, sizeof(v), "Alertes en retard au %s", today);
	text_num(f, v, r->alerts_overdue);
	median_text(r, false, med, sizeof(med));
	if (r->has_median)
		snprintf(v, sizeof(v), "%s j", med);
	else
		snprintf(v, sizeof(v), "-");
	text_line(f, "Délai médian ouverture → 1re intervention", v);
	fprintf(f, "    (sur %zu situation%s ayant au moins une entrée de journal)\n", r->ndelay,
	        r->ndelay > 1 ? "s" : "");
	if (r->undated)
		text_num(f, "dont sans date d'ouverture", r->undated);

	text_table(f, "Problèmes repérés (observatoire des ruptures)", &r->problems, r->situations,
	           "aucun");
	text_table(f, "Par antenne", &r->antennas, r->situations, "aucune situation");
	text_table(f, "Par mois d'ouverture", &r->months, 0, "aucune situation datée");
	text_table(f, "Adresseurs", &r->referrers, r->situations, "aucun adresseur renseigné");
	text_table(f, "Motifs de clôture", &r->reasons, r->closed,
	           r->closed ? "aucun motif renseigné" : "aucune clôture");
	if (r->reasons.n > 0 && r->closed_noreason)
		text_num(f, "(sans motif)", r->closed_noreason);
}

/* ---- csv ---- */

/* One field, quoted only when needed (common/csv.h). */
static void
csv_field(FILE *f, const char *s)
{
	rl_csv_field(f, s, strlen(s), false);
}

static void
csv_row(FILE *f, const char *fig, const char *key, const char *value)
{
	csv_field(f, fig);
	fputc(',', f);
	csv_field(f, key);
	fputc(',', f);
	csv_field(f, value);
	fputs("\r\n", f);
}

static void
csv_num(FILE *f, const char *fig, const char *key, uint64_t n)
{
	char v[24];

	snprintf(v, sizeof(v), "%llu", (unsigned long long)n);
	csv_row(f, fig, key, v);
}

static void
csv_rows(FILE *f, const char *fig, const rows *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		csv_num(f, fig, rs->v[i].key, rs->v[i].n);
}

static void
render_csv(FILE *f, const report *r)
{
	char from[8] = "", to[8] = "", today[11], med[48];

	if (r->has_from)
		month_key(r->from, from);
	if (r->has_to)
		month_key(r->to, to);
	date_text(r->today, today);
	median_text(r, true, med, sizeof(med));
	csv_row(f, "figure", "key", "value");
	csv_row(f, "from", "", from);
	csv_row(f, "to", "", to);
	csv_row(f, "antenna", "", r->antenna ? r->antenna : "");
	csv_row(f, "generated", "", today);
	csv_num(f, "situations", "", r->situations);
	csv_rows(f, "by_kind", &r->kinds);
	csv_rows(f, "by_problem", &r->problems);
	csv_rows(f, "by_antenna", &r->antennas);
	csv_rows(f, "by_referrer", &r->referrers);
	csv_rows(f, "by_month", &r->months);
	csv_num(f, "closed", "", r->closed);
	csv_rows(f, "closed_reasons", &r->reasons);
	csv_num(f, "closed_without_reason", "", r->closed_noreason);
	csv_num(f, "open", "", r->situations - r->closed);
	csv_num(f, "home_visits", "", r->home_visits);
	csv_num(f, "alerts_overdue", "", r->alerts_overdue);
	csv_row(f, "median_days_to_first_intervention", "", r->has_median ? med : "");
	csv_num(f, "situations_with_intervention", "", r->ndelay);
	csv_num(f, "undated", "", r->undated);
}

/* ---- json ---- */

static bool
jset(json_t *o, const char *k, json_t *v)
{
	return v != NULL && json_object_set_new(o, k, v) == 0;
}

static json_t *
jrows(const rows *rs)
{
	json_t *o = json_object();

	for (size_t i = 0; o != NULL && i < rs->n; i++)
		if (!jset(o, rs->v[i].key, json_integer((json_int_t)rs->v[i].n))) {
			json_decref(o);
			return NULL;
		}
	return o;
}

static json_t *
jcount(uint64_t n)
{
	return json_integer((json_int_t)n);
}

static json_t *
report_json(const report *r)
{
	char from[8], to[8], today[11];
	json_t *o = json_object(), *med;
	bool ok = o != NULL;

	if (r->has_from)
		month_key(r->from, from);
	if (r->has_to)
		month_key(r->to, to);
	date_text(r->today, today);
	if (!r->has_median)
		med = json_null();
	else if (r->median2 % 2 == 0)
		med = json_integer((json_int_t)(r->median2 / 2));
	else
		med = json_real((double)r->median2 / 2.0);
	ok = ok && jset(o, "from", r->has_from ? json_string(from) : json_null());
	ok = ok && jset(o, "to", r->has_to ? json_string(to) : json_null());
	ok = ok && jset(o, "antenna", r->antenna ? json_string(r->antenna) : json_null());
	ok = ok && jset(o, "generated", json_string(today));
	ok = ok && jset(o, "situations", jcount(r->situations));
	ok = ok && jset(o, "by_kind", jrows(&r->kinds));
	ok = ok && jset(o, "by_problem", jrows(&r->problems));
	ok = ok && jset(o, "by_antenna", jrows(&r->antennas));
	ok = ok && jset(o, "by_referrer", jrows(&r->referrers));
	ok = ok && jset(o, "by_month", jrows(&r->months));
	ok = ok && jset(o, "closed", jcount(r->closed));
	ok = ok && jset(o, "closed_reasons", jrows(&r->reasons));
	ok = ok && jset(o, "closed_without_reason", jcount(r->closed_noreason));
	ok = ok && jset(o, "open", jcount(r->situations - r->closed));
	ok = ok && jset(o, "home_visits", jcount(r->home_visits));
	ok = ok && jset(o, "alerts_overdue", jcount(r->alerts_overdue));
	if (ok)
		ok = jset(o, "median_days_to_first_intervention", med); /* takes med */
	else
		json_decref(med);
	ok = ok && jset(o, "situations_with_intervention", jcount(r->ndelay));
	ok = ok && jset(o, "undated", jcount(r->undated));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- html ---- */

static void
html_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

/* s cut to at most cols characters (with "…"), escaped. */
static void
html_esc_cut(FILE *f, const char *s, size_t cols)
{
	size_t n;
	char *c;

	if (rl_text_width(s) <= cols) {
		html_esc(f, s);
		return;
	}
	n = rl_text_prefix(s, cols - 1);
	if ((c = malloc(n + 1)) == NULL) {
		html_esc(f, "…");
		return;
	}
	memcpy(c, s, n);
	c[n] = '\0';
	html_esc(f, c);
	fputs("…", f);
	free(c);
}

static uint64_t
rows_max(const rows *rs, size_t n)
{
	uint64_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (rs->v[i].n > m)
			m = rs->v[i].n;
	return m;
}

/* A horizontal bar chart: one labelled bar per row, with its count and,
 * when of is not 0, its share of of. */
static void
svg_hbars(FILE *f, const char *id, const char *title, const rows *rs, uint64_t of)
{
	const int barmax = REPORT_SVG_WIDTH - REPORT_SVG_LABEL - 100;
	size_t n = rs->n < REPORT_SVG_ROWS_MAX ? rs->n : REPORT_SVG_ROWS_MAX;
	uint64_t max = rows_max(rs, n);
	int h = (int)n * REPORT_SVG_ROW + 8;

	fprintf(f, "<svg id=\"%s\" class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
	           "role=\"img\" aria-label=\"",
	        id, REPORT_SVG_WIDTH, h, REPORT_SVG_WIDTH, h);
	html_esc(f, title);
	fputs("\">\n", f);
	fprintf(f, "<line class=\"axis\" x1=\"%d\" y1=\"0\" x2=\"%d\" y2=\"%d\"/>\n",
	        REPORT_SVG_LABEL, REPORT_SVG_LABEL, h);
	for (size_t i = 0; i < n; i++) {
		int y = 4 + (int)i * REPORT_SVG_ROW;
		int w = max ? (int)((double)rs->v[i].n * barmax / (double)max + 0.5) : 0;

		fputs("<g><title>", f);
		html_esc(f, rs->v[i].label);
		fprintf(f, " : %llu</title>", (unsigned long long)rs->v[i].n);
		fprintf(f, "<text class=\"lbl\" x=\"%d\" y=\"%d\">", REPORT_SVG_LABEL - 8,
		        y + REPORT_SVG_ROW / 2);
		html_esc_cut(f, rs->v[i].label, REPORT_SVG_LABEL_CHARS);
		fprintf(f, "</text><rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>",
		        REPORT_SVG_LABEL, y + 3, w, REPORT_SVG_ROW - 6);
		fprintf(f, "<text class=\"val\" x=\"%d\" y=\"%d\">%llu", REPORT_SVG_LABEL + w + 6,
		        y + REPORT_SVG_ROW / 2, (unsigned long long)rs->v[i].n);
		if (of)
			fprintf(f, " (%u&#160;%%)", percent(rs->v[i].n, of));
		fputs("</text></g>\n", f);
	}
	fputs("</svg>\n", f);
	if (n < rs->n)
		fprintf(f, "<p class=\"note\">Graphique limité aux %zu premières lignes ; le tableau "
		           "donne tout.</p>\n",
		        n);
}

/* A column chart of the months. */
static void
svg_months(FILE *f, const rows *rs)
{
	const int top = 20, base = 200, left = 8, right = 8, h = 240;
	int area = REPORT_SVG_WIDTH - left - right, mi;
	double col = rs->n ? (double)area / (double)rs->n : area;
	size_t every = rs->n / 24 + 1; /* label one month in every */
	uint64_t max = rows_max(rs, rs->n);

	fprintf(f, "<svg id=\"chart-months\" class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" "
	           "height=\"%d\" role=\"img\" aria-label=\"Situations par mois d&#39;ouverture\">\n",
	        REPORT_SVG_WIDTH, h, REPORT_SVG_WIDTH, h);
	fprintf(f, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", left, base,
	        REPORT_SVG_WIDTH - right, base);
	for (size_t i = 0; i < rs->n; i++) {
		double x = left + col * (double)i;
		double bh = max ? (double)rs->v[i].n * (base - top) / (double)max : 0;

		fputs("<g><title>", f);
		html_esc(f, rs->v[i].label);
		fprintf(f, " : %llu</title>", (unsigned long long)rs->v[i].n);
		fprintf(f, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>",
		        x + col * 0.15, base - bh, col * 0.7, bh);
		if (rs->n <= 36)
			fprintf(f, "<text class=\"val mid\" x=\"%.1f\" y=\"%.1f\">%llu</text>", x + col / 2,
			        base - bh - 5, (unsigned long long)rs->v[i].n);
		if (i % every == 0 && month_parse(rs->v[i].key, &mi))
			fprintf(f, "<text class=\"lbl mid\" x=\"%.1f\" y=\"%d\">%s %02d</text>",
			        x + col / 2, base + 18, month_abbr[mi % 12],
			        (REPORT_YEAR_MIN + mi / 12) % 100);
		fputs("</g>\n", f);
	}
	fputs("</svg>\n", f);
}

static void
html_table(FILE *f, const char *head, const rows *rs, uint64_t of, const char *figure)
{
	fprintf(f, "<table data-figure=\"%s\"><thead><tr><th>%s</th><th class=\"num\">nombre</th>",
	        figure, head);
	if (of)
		fputs("<th class=\"num\">part</th>", f);
	fputs("</tr></thead><tbody>\n", f);
	for (size_t i = 0; i < rs->n; i++) {
		fputs("<tr data-key=\"", f);
		html_esc(f, rs->v[i].key);
		fputs("\"><td>", f);
		html_esc(f, rs->v[i].label);
		fprintf(f, "</td><td class=\"num\">%llu</td>", (unsigned long long)rs->v[i].n);
		if (of)
			fprintf(f, "<td class=\"num\">%u&#160;%%</td>", percent(rs->v[i].n, of));
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

static void
html_kpi(FILE *f, const char *figure, const char *value, const char *label)
{
	fprintf(f, "<div class=\"kpi\"><b data-figure=\"%s\">%s</b><span>%s</span></div>\n", figure,
	        value, label);
}

static void
html_kpi_n(FILE *f, const char *figure, uint64_t n, const char *label)
{
	char v[24];

	snprintf(v, sizeof(v), "%llu", (unsigned long long)n);
	html_kpi(f, figure, v, label);
}

static const char html_style[] =
	"*{box-sizing:border-box}\n"
	"body{font-family:'DejaVu Sans',Arial,Helvetica,sans-serif;color:#1a202c;margin:24px auto;"
	"max-width:820px;padding:0 16px;line-height:1.4}\n"
	"h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.15em;margin:0 0 8px;"
	"border-bottom:2px solid #2b6cb0;padding-bottom:2px}\n"
	"header{margin-bottom:20px}.meta{color:#4a5568;margin:2px 0}\n"
	"section{margin:0 0 26px;break-inside:avoid;page-break-inside:avoid}\n"
	".kpis{display:flex;flex-wrap:wrap;gap:10px}\n"
	".kpi{flex:1 1 170px;border:1px solid #cbd5e0;border-radius:6px;padding:10px 12px}\n"
	".kpi b{display:block;font-size:1.7em;color:#2b6cb0}.kpi span{font-size:.9em;color:#4a5568}\n"
	"table{border-collapse:collapse;width:100%;margin-top:8px;font-size:.92em}\n"
	"th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #e2e8f0}\n"
	".num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
	"svg.chart{display:block;max-width:100%;height:auto}\n"
	".bar{fill:#2b6cb0}.axis{stroke:#718096;stroke-width:1}\n"
	"text{font-size:12px;fill:#1a202c}.lbl{text-anchor:end;dominant-baseline:middle}\n"
	".val{dominant-baseline:middle}.mid{text-anchor:middle}\n"
	".note{font-size:.85em;color:#4a5568}\n"
	"footer{font-size:.8em;color:#4a5568;border-top:1px solid #cbd5e0;padding-top:8px}\n"
	"@page{size:A4;margin:14mm}\n"
	"@media print{body{margin:0;max-width:none;padding:0;font-size:11pt}"
	"*{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
	".kpi{border-color:#999}h2{border-color:#333}.bar{fill:#444}.kpi b{color:#000}}\n";

static void
render_html(FILE *f, const report *r)
{
	char period[128], today[11], med[48], scope[64];

	period_label(r, period, sizeof(period));
	date_text(r->today, today);
	median_text(r, false, med, sizeof(med));
	snprintf(scope, sizeof(scope), "%s%s", r->antenna ? "antenne " : "tout le réseau",
	         r->antenna ? r->antenna : "");
	fputs("<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n", f);
	fputs("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'\">\n",
	      f);
	fputs("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n", f);
	fputs("<title>Rapport d&#39;activité – ", f);
	html_esc(f, period);
	fputs(" – ", f);
	html_esc(f, scope);
	fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", html_style);

	fputs("<header>\n<h1>Rapport d&#39;activité</h1>\n<p class=\"meta\">Période : <b>", f);
	html_esc(f, period);
	fputs("</b> (situations ouvertes dans la période) · Périmètre : <b>", f);
	html_esc(f, scope);
	fprintf(f, "</b> · Édité le %s</p>\n</header>\n", today);

	fputs("<section>\n<h2>Chiffres clés</h2>\n<div class=\"kpis\">\n", f);
	html_kpi_n(f, "situations", r->situations, "situations ouvertes dans la période");
	for (size_t i = 0; i < r->kinds.n; i++) {
		fprintf(f, "<div class=\"kpi\"><b data-figure=\"by_kind\" data-key=\"");
		html_esc(f, r->kinds.v[i].key);
		fprintf(f, "\">%llu</b><span>", (unsigned long long)r->kinds.v[i].n);
		html_esc(f, r->kinds.v[i].label);
		fputs("</span></div>\n", f);
	}
	html_kpi_n(f, "closed", r->closed, "situations clôturées");
	html_kpi_n(f, "home_visits", r->home_visits, "visites à domicile dans la période");
	html_kpi_n(f, "alerts_overdue", r->alerts_overdue, "alertes en retard aujourd&#39;hui");
	html_kpi(f, "median_days_to_first_intervention", med,
	         "jours, délai médian de l&#39;ouverture à la première intervention");
	fputs("</div>\n</section>\n", f);

	fputs("<section>\n<h2>Situations par antenne</h2>\n", f);
	if (r->antennas.n) {
		svg_hbars(f, "chart-antennas", "Situations par antenne", &r->antennas, r->situations);
		html_table(f, "antenne", &r->antennas, r->situations, "by_antenna");
	} else
		fputs("<p class=\"note\">Aucune situation.</p>\n", f);
	fputs("</section>\n", f);

	fputs("<section>\n<h2>Situations par mois d&#39;ouverture</h2>\n", f);
	if (r->months.n) {
		svg_months(f, &r->months);
		html_table(f, "mois", &r->months, 0, "by_month");
	} else
		fputs("<p class=\"note\">Aucune situation datée.</p>\n", f);
	fputs("</section>\n", f);

	fputs("<section>\n<h2>Observatoire des ruptures : problèmes repérés</h2>\n", f);
	svg_hbars(f, "chart-problems", "Situations par problème", &r->problems, r->situations);
	html_table(f, "problème", &r->problems, r->situations, "by_problem");
	fputs("<p class=\"note\">Une situation compte pour chacun de ses problèmes ; la part est "
	      "rapportée aux situations ouvertes.</p>\n</section>\n",
	      f);

	fputs("<section>\n<h2>Adresseurs</h2>\n", f);
	if (r->referrers.n)
		html_table(f, "adresseur", &r->referrers, r->situations, "by_referrer");
	else
		fputs("<p class=\"note\">Aucun adresseur renseigné.</p>\n", f);
	fputs("</section>\n", f);

	fputs("<section>\n<h2>Clôtures</h2>\n", f);
	fprintf(f, "<p>%llu situation%s clôturée%s sur %llu", (unsigned long long)r->closed,
	        r->closed > 1 ? "s" : "", r->closed > 1 ? "s" : "",
	        (unsigned long long)r->situations);
	if (r->closed_noreason)
		fprintf(f, ", dont %llu sans motif", (unsigned long long)r->closed_noreason);
	fputs(".</p>\n", f);
	if (r->reasons.n)
		html_table(f, "motif", &r->reasons, r->closed, "closed_reasons");
	fputs("</section>\n", f);

	fputs("<footer>\n<p>Une situation compte dans la période où elle a été ouverte ; les "
	      "situations effacées ne comptent jamais ; l&#39;antenne est l&#39;antenne actuelle "
	      "(après réaffectation). Les visites à domicile sont les entrées de journal de type "
	      "VAD datées dans la période, pour toutes les situations du périmètre ; une "
	      "correction d&#39;entrée n&#39;est pas comptée à nouveau. Les alertes en retard sont "
	      "celles non faites dont l&#39;échéance est passée, à la date d&#39;édition.",
	      f);
	fprintf(f, " Délai médian calculé sur %zu situation%s ayant au moins une entrée de "
	           "journal.</p>\n</footer>\n</body>\n</html>\n",
	        r->ndelay, r->ndelay > 1 ? "s" : "");
}

/* ---- output ---- */

/* A value typed by the user, fit for a one-line message: controls become
 * '?', at most 40 bytes. */
typedef struct quoted {
	char s[48];
} quoted;

static quoted
quote(const char *s)
{
	quoted q;
	size_t i = 0;

	for (; s != NULL && s[i] && i < 40; i++)
		q.s[i] = (uint8_t)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	q.s[i] = '\0';
	if (s != NULL && s[i])
		strcpy(q.s + i, "…");
	return q;
}

/* Prints "relais-server: <message>" on stderr; returns rc. */
static int __attribute__((format(printf, 2, 3)))
msg(int rc, const char *fmt, ...)
{
	va_list ap;

	fputs("relais-server: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return rc;
}

static void
render(FILE *f, const report *r, enum report_fmt fmt, json_t *doc)
{
	switch (fmt) {
	case FMT_TEXT:
		render_text(f, r);
		break;
	case FMT_CSV:
		render_csv(f, r);
		break;
	case FMT_JSON:
		json_dumpf(doc, f, JSON_INDENT(2));
		fputc('\n', f);
		break;
	case FMT_HTML:
		render_html(f, r);
		break;
	}
}

/* Writes the report to stdout, or to path atomically (common/file.h). */
static int
write_out(const report *r, enum report_fmt fmt, const char *path)
{
	json_t *doc = NULL;
	rl_afile a;
	rl_err e;

	if (fmt == FMT_JSON && (doc = report_json(r)) == NULL)
		return msg(1, "rapport : %s", rl_strerror_fr(RL_ENOMEM));
	if (path == NULL || strcmp(path, "-") == 0) {
		render(stdout, r, fmt, doc);
		json_decref(doc);
		if (fflush(stdout) != 0 || ferror(stdout))
			return msg(1, "rapport : écriture impossible sur la sortie standard");
		return 0;
	}
	if ((e = rl_afile_open(&a, path, 0644)) == RL_OK) {
		render(a.f, r, fmt, doc);
		e = rl_afile_commit(&a);
	}
	json_decref(doc);
	if (e != RL_OK)
		return msg(1, "rapport : écriture impossible dans %s (%s)", quote(path).s,
		           a.err ? strerror(a.err) : rl_strerror_fr(e));
	return 0;
}

int
rl_report_main(rl_hub *hub, const rl_report_opts *o)
{
	static const char *const fmts[] = { [FMT_TEXT] = "text", [FMT_CSV] = "csv",
		                                [FMT_JSON] = "json", [FMT_HTML] = "html" };
	const char *format = o->format ? o->format : "text";
	enum report_fmt fmt = FMT_TEXT;
	bool known = false;
	report r;
	rl_err e;
	int rc;

	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]) && !known; i++)
		if (strcmp(format, fmts[i]) == 0) {
			fmt = (enum report_fmt)i;
			known = true;
		}
	if (!known)
		return msg(2, "format inconnu : %s (text, csv, json ou html)", quote(format).s);

	memset(&r, 0, sizeof(r));
	r.from = 0;
	r.to = REPORT_MONTHS - 1;
	if (o->from != NULL) {
		if (!month_parse(o->from, &r.from))
			return msg(1, "mois invalide pour --from : %s (AAAA-MM attendu, mois de 01 à 12)",
			           quote(o->from).s);
		r.has_from = true;
	}
	if (o->to != NULL) {
		if (!month_parse(o->to, &r.to))
			return msg(1, "mois invalide pour --to : %s (AAAA-MM attendu, mois de 01 à 12)",
			           quote(o->to).s);
		r.has_to = true;
	}
	if (r.from > r.to)
		return msg(1, "période vide : --from %s est après --to %s", quote(o->from).s,
		           quote(o->to).s);
	if (o->antenna != NULL && !rl_antenna_valid(o->antenna))
		return msg(1, "code d'antenne invalide : %s", quote(o->antenna).s);
	r.antenna = o->antenna;
	r.today = o->today && rl_date_valid(o->today) ? o->today : rl_date_today();
	r.mmin = REPORT_MONTHS;
	r.mmax = -1;
	rl_buf_init(&r.scratch);
	if ((r.month = calloc(REPORT_MONTHS, sizeof(*r.month))) == NULL)
		e = RL_ENOMEM;
	else if ((e = report_scan(&r, hub)) == RL_OK)
		e = report_finish(&r);
	if (e != RL_OK) {
		report_fini(&r);
		fprintf(stderr, "relais-server: rapport : %s\n", rl_strerror_fr(e));
		return 1;
	}
	rc = write_out(&r, fmt, o->output);
	report_fini(&r);
	return rc;
}
