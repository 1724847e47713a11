/*
 * test_report.c - the activity report over a real HQ store.
 *
 * Each test makes a fresh server store (key secret, no argon2) in a mkdtemp
 * directory and writes situations into it with local edits of the hub's own
 * replica, so every register, set, journal entry and alert is a real
 * operation in a real state. The report is written with -o into the same
 * directory and read back: JSON parsed with jansson, the other formats as
 * text. "Today" is fixed, so overdue alerts do not depend on the clock.
 *
 * The "many" test fills the store with RL_REPORT_N synthetic situations
 * (default 20,000; 100,000 for the figure quoted in the issue) applied in
 * bulk, and prints how long the report takes.
 */
#include "rl_test.h"

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/crypto.h"
#include "common/record.h"
#include "common/replica.h"
#include "common/store.h"
#include "server/hub.h"
#include "server/report.h"

#define TODAY 20250615u

typedef struct fx {
	char base[64];
	char store[128];
	char out[160];
	uint8_t key[RL_KEY_BYTES];
	rl_secret s;
	rl_hub hub;
} fx;

static void
rm_tree(const char *path)
{
	struct stat sb;
	struct dirent *de;
	char sub[512];
	DIR *d;

	if (lstat(path, &sb) != 0)
		return;
	if (S_ISDIR(sb.st_mode) && (d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			rm_tree(sub);
		}
		closedir(d);
		rmdir(path);
	} else
		unlink(path);
}

static int
setup(void **state)
{
	static const rl_store_opts opts = { 0, RL_KDF_MIN };
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->base, sizeof(f->base), "/tmp/rl_test_report_XXXXXX");
	assert_non_null(mkdtemp(f->base));
	snprintf(f->store, sizeof(f->store), "%s/hq", f->base);
	snprintf(f->out, sizeof(f->out), "%s/out", f->base);
	assert_int_equal(mkdir(f->out, 0700), 0);
	snprintf(f->out, sizeof(f->out), "%s/out/report", f->base);
	rl_random(f->key, sizeof(f->key));
	f->s = (rl_secret){ NULL, 0, f->key };
	RL_PASS(rl_replica_create(f->store, &f->s, &opts, "HQ", RL_ROLE_SERVER));
	RL_PASS(rl_hub_open(f->store, &f->s, NULL, &f->hub));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	rl_hub_close(&f->hub);
	rm_tree(f->base);
	free(f);
	return 0;
}

/* ---- writing situations ---- */

typedef struct jspec {
	uint8_t type; /* 0: none */
	uint32_t date;
	bool amends_prev; /* amends the entry just before */
} jspec;

typedef struct aspec {
	uint32_t due; /* 0: none */
	bool done;
	uint32_t due_moved; /* a later write of the due register, or 0 */
} aspec;

typedef struct spec {
	const char *antenna, *kind, *opened;
	const char *problems[4], *referrers[4];
	const char *removed_problem; /* added then removed */
	bool closed;
	const char *reason;
	jspec journal[4];
	aspec alerts[3];
	const char *reassign; /* the antenna it is handed to afterwards */
	bool erase;
} spec;

static rl_bytes
B(const char *s)
{
	return RL_BYTES(s, strlen(s));
}

static void
put(fx *f, const spec *sp)
{
	rl_edit *ed;
	rl_opid prev = { { 0 }, 0 }, id;
	uint8_t sit[RL_SIT_BYTES];

	RL_PASS(rl_edit_begin(f->hub.rp, NULL, &ed));
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_KIND, B(sp->kind)));
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_ANTENNA, B(sp->antenna)));
	if (sp->opened)
		RL_PASS(rl_edit_reg(ed, NULL, RL_F_OPENED, B(sp->opened)));
	RL_PASS(rl_edit_reg(ed, NULL, RL_F_STATUS, B("open")));
	for (int i = 0; i < 4 && sp->problems[i]; i++)
		RL_PASS(rl_edit_add(ed, RL_SET_PROBLEMS, B(sp->problems[i])));
	for (int i = 0; i < 4 && sp->referrers[i]; i++)
		RL_PASS(rl_edit_add(ed, RL_SET_REFERRERS, B(sp->referrers[i])));
	if (sp->removed_problem) {
		RL_PASS(rl_edit_add(ed, RL_SET_PROBLEMS, B(sp->removed_problem)));
		RL_PASS(rl_edit_rem(ed, RL_SET_PROBLEMS, B(sp->removed_problem)));
	}
	for (int i = 0; i < 4 && sp->journal[i].type; i++) {
		RL_PASS(rl_edit_journal(ed, sp->journal[i].type, sp->journal[i].date, B("entrée"),
		                        sp->journal[i].amends_prev ? &prev : NULL, &id));
		prev = id;
	}
	for (int i = 0; i < 3 && sp->alerts[i].due; i++) {
		char due[11];

		RL_PASS(rl_edit_alert(ed, sp->alerts[i].due, B("rappel"), &id));
		if (sp->alerts[i].done)
			RL_PASS(rl_edit_reg(ed, &id, RL_F_ALERT_DONE, B("oui")));
		if (sp->alerts[i].due_moved) {
			rl_date_format(sp->alerts[i].due_moved, due);
			RL_PASS(rl_edit_reg(ed, &id, RL_F_ALERT_DUE, B(due)));
		}
	}
	if (sp->closed) {
		RL_PASS(rl_edit_reg(ed, NULL, RL_F_STATUS, B("closed")));
		if (sp->reason)
			RL_PASS(rl_edit_reg(ed, NULL, RL_F_CLOSE_REASON, B(sp->reason)));
	}
	if (sp->reassign)
		RL_PASS(rl_edit_reg(ed, NULL, RL_F_ANTENNA, B(sp->reassign)));
	memcpy(sit, rl_edit_record(ed)->sit, RL_SIT_BYTES);
	RL_PASS(rl_edit_commit(ed));
	if (sp->erase) {
		RL_PASS(rl_edit_begin(f->hub.rp, sit, &ed));
		RL_PASS(rl_edit_erase(ed));
		RL_PASS(rl_edit_commit(ed));
	}
}

/* ---- running the report ---- */

static int
report(fx *f, const char *format, const char *from, const char *to, const char *antenna)
{
	rl_report_opts o = { from, to, antenna, format, f->out, TODAY };

	return rl_report_main(&f->hub, &o);
}

static json_t *
report_json(fx *f, const char *from, const char *to, const char *antenna)
{
	json_error_t err;
	json_t *doc;

	assert_int_equal(report(f, "json", from, to, antenna), 0);
	doc = json_load_file(f->out, 0, &err);
	if (doc == NULL)
		fail_msg("report JSON does not parse: %s (line %d)", err.text, err.line);
	return doc;
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	long n;
	char *s;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
	s[n] = '\0';
	fclose(fp);
	return s;
}

static json_int_t
jint(json_t *doc, const char *key)
{
	json_t *v = json_object_get(doc, key);

	if (!json_is_integer(v))
		fail_msg("%s is not an integer", key);
	return json_integer_value(v);
}

/* doc[obj][key], which must be an integer (0 if want0 and absent). */
static json_int_t
jget2(json_t *doc, const char *obj, const char *key)
{
	json_t *o = json_object_get(doc, obj), *v;

	if (!json_is_object(o))
		fail_msg("%s is not an object", obj);
	v = json_object_get(o, key);
	if (!json_is_integer(v))
		fail_msg("%s.%s is not an integer", obj, key);
	return json_integer_value(v);
}

static size_t
jsize(json_t *doc, const char *obj)
{
	return json_object_size(json_object_get(doc, obj));
}

/* ---- the data set ---- */

#define VAD RL_J_VAD
#define NOTE RL_J_NOTE
#define APPEL RL_J_APPEL

/*
 * Nine situations; with today 2025-06-15:
 *   s1 A coord 2025-05-02 psy,logement  CCAS        vad 05-04, note 05-10     overdue alert
 *   s2 A orient 2025-05-20 logement      CCAS,CMP    closed "relais CMP"       alert done
 *   s3 B coord 2025-06-01 justice,autre  Hôpital     vad 06-03 + amendment     alert due 2025-07-01
 *   s4 B coord 2025-07-05 addiction      -           closed no reason          alert due moved to 2025-06-20
 *   s5 A→B coord 2025-04-28 precarite    CCAS        vad 05-15 (visit in May, opened in April)
 *   s6 B orient 2025-05-06 (erased)      CCAS        vad 05-07, overdue alert: never count
 *   s7 A coord 2024-12-31 soins_somatiques -         appel 2024-12-20 (before opening: delay 0)
 *   s8 A orient no opening date         -           vad 2025-05-30
 *   s9 C coord 2025-05-31 logement (precarite removed)   note 2025-06-10
 */
static void
dataset(fx *f)
{
	const spec specs[] = {
		{ .antenna = "A", .kind = "coordination", .opened = "2025-05-02",
		  .problems = { "acces_soins_psy", "logement" }, .referrers = { "CCAS" },
		  .journal = { { VAD, 20250504 }, { NOTE, 20250510 } },
		  .alerts = { { 20250601 } } },
		{ .antenna = "A", .kind = "orientation", .opened = "2025-05-20",
		  .problems = { "logement" }, .referrers = { "CCAS", "CMP" }, .closed = true,
		  .reason = "relais CMP", .alerts = { { 20250501, true } } },
		{ .antenna = "B", .kind = "coordination", .opened = "2025-06-01",
		  .problems = { "justice", "autre" }, .referrers = { "Hôpital" },
		  .journal = { { VAD, 20250603 }, { VAD, 20250604, true } },
		  .alerts = { { 20250701 } } },
		{ .antenna = "B", .kind = "coordination", .opened = "2025-07-05",
		  .problems = { "addiction" }, .closed = true,
		  .alerts = { { 20250601, false, 20250620 } } },
		{ .antenna = "A", .kind = "coordination", .opened = "2025-04-28",
		  .problems = { "precarite" }, .referrers = { "CCAS" },
		  .journal = { { VAD, 20250515 } }, .reassign = "B" },
		{ .antenna = "B", .kind = "orientation", .opened = "2025-05-06",
		  .problems = { "logement" }, .referrers = { "CCAS" },
		  .journal = { { VAD, 20250507 } }, .alerts = { { 20250101 } }, .erase = true },
		{ .antenna = "A", .kind = "coordination", .opened = "2024-12-31",
		  .problems = { "soins_somatiques" }, .journal = { { APPEL, 20241220 } } },
		{ .antenna = "A", .kind = "orientation", .journal = { { VAD, 20250530 } } },
		{ .antenna = "C", .kind = "coordination", .opened = "2025-05-31",
		  .problems = { "logement" }, .removed_problem = "precarite",
		  .journal = { { NOTE, 20250610 } } },
	};

	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		put(f, &specs[i]);
}

/* ---- tests ---- */

static void
test_empty(void **state)
{
	fx *f = *state;
	json_t *doc = report_json(f, NULL, NULL, NULL);
	const char *fmts[] = { "text", "csv", "html" };

	assert_int_equal(jint(doc, "situations"), 0);
	assert_int_equal(jint(doc, "home_visits"), 0);
	assert_int_equal(jint(doc, "alerts_overdue"), 0);
	assert_true(json_is_null(json_object_get(doc, "median_days_to_first_intervention")));
	assert_true(json_is_null(json_object_get(doc, "from")));
	assert_true(json_is_null(json_object_get(doc, "antenna")));
	assert_int_equal(jsize(doc, "by_problem"), 6);
	assert_int_equal(jget2(doc, "by_problem", "acces_soins_psy"), 0);
	assert_int_equal(jget2(doc, "by_kind", "orientation"), 0);
	assert_int_equal(jsize(doc, "by_month"), 0);
	assert_int_equal(jsize(doc, "by_antenna"), 0);
	json_decref(doc);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(report(f, fmts[i], NULL, NULL, NULL), 0);
	/* A bounded period is shown month by month even when empty. */
	doc = report_json(f, "2025-11", "2026-02", NULL);
	assert_int_equal(jsize(doc, "by_month"), 4);
	assert_int_equal(jget2(doc, "by_month", "2026-01"), 0);
	json_decref(doc);
}

static void
test_network(void **state)
{
	fx *f = *state;
	json_t *doc;

	dataset(f);
	doc = report_json(f, NULL, NULL, NULL);
	/* s1 s2 s3 s4 s5 s7 s8 s9; s6 erased; s8 undated but no period given. */
	assert_int_equal(jint(doc, "situations"), 8);
	assert_int_equal(jint(doc, "undated"), 1);
	assert_int_equal(jget2(doc, "by_kind", "coordination"), 6);
	assert_int_equal(jget2(doc, "by_kind", "orientation"), 2);
	assert_int_equal(jget2(doc, "by_problem", "acces_soins_psy"), 1);
	assert_int_equal(jget2(doc, "by_problem", "logement"), 3);
	assert_int_equal(jget2(doc, "by_problem", "soins_somatiques"), 1);
	assert_int_equal(jget2(doc, "by_problem", "precarite"), 1);
	assert_int_equal(jget2(doc, "by_problem", "justice"), 1);
	assert_int_equal(jget2(doc, "by_problem", "addiction"), 1);
	assert_int_equal(jget2(doc, "by_problem", "autre"), 1);
	assert_int_equal(jsize(doc, "by_problem"), 7);
	assert_int_equal(jget2(doc, "by_referrer", "CCAS"), 3);
	assert_int_equal(jget2(doc, "by_referrer", "CMP"), 1);
	assert_int_equal(jget2(doc, "by_referrer", "Hôpital"), 1);
	assert_int_equal(jsize(doc, "by_referrer"), 3);
	assert_int_equal(jget2(doc, "by_antenna", "A"), 4); /* s1 s2 s7 s8 */
	assert_int_equal(jget2(doc, "by_antenna", "B"), 3); /* s3 s4 s5 */
	assert_int_equal(jget2(doc, "by_antenna", "C"), 1);
	assert_int_equal(jsize(doc, "by_antenna"), 3);
	/* 2024-12 .. 2025-07, zeros filled. */
	assert_int_equal(jsize(doc, "by_month"), 8);
	assert_int_equal(jget2(doc, "by_month", "2024-12"), 1);
	assert_int_equal(jget2(doc, "by_month", "2025-02"), 0);
	assert_int_equal(jget2(doc, "by_month", "2025-04"), 1);
	assert_int_equal(jget2(doc, "by_month", "2025-05"), 3);
	assert_int_equal(jget2(doc, "by_month", "2025-06"), 1);
	assert_int_equal(jget2(doc, "by_month", "2025-07"), 1);
	assert_int_equal(jint(doc, "closed"), 2);
	assert_int_equal(jget2(doc, "closed_reasons", "relais CMP"), 1);
	assert_int_equal(jint(doc, "closed_without_reason"), 1);
	assert_int_equal(jint(doc, "open"), 6);
	/* s1 05-04, s3 06-03 (its amendment not), s5 05-15, s8 05-30. */
	assert_int_equal(jint(doc, "home_visits"), 4);
	/* s1 (06-01 < 06-15); s4 due moved to 06-20: not; s3 07-01: not; s6 erased. */
	assert_int_equal(jint(doc, "alerts_overdue"), 1);
	/* Delays: s1 2, s3 2, s5 17, s7 0 (clamped), s9 10 -> median 2. */
	assert_int_equal(jint(doc, "situations_with_intervention"), 5);
	assert_int_equal(jint(doc, "median_days_to_first_intervention"), 2);
	json_decref(doc);
}

static void
test_antenna_and_period(void **state)
{
	fx *f = *state;
	json_t *doc;

	dataset(f);
	doc = report_json(f, NULL, NULL, "B");
	assert_string_equal(json_string_value(json_object_get(doc, "antenna")), "B");
	assert_int_equal(jint(doc, "situations"), 3);
	assert_int_equal(jsize(doc, "by_antenna"), 1);
	assert_int_equal(jget2(doc, "by_antenna", "B"), 3);
	assert_int_equal(jint(doc, "home_visits"), 2); /* s3, s5 (visited while at A) */
	assert_int_equal(jint(doc, "alerts_overdue"), 0);
	/* s3 2, s5 17: median 9.5 */
	assert_true(json_is_real(json_object_get(doc, "median_days_to_first_intervention")));
	assert_true(json_real_value(json_object_get(doc, "median_days_to_first_intervention")) ==
	            9.5);
	json_decref(doc);

	/* An antenna with nothing is listed with 0. */
	doc = report_json(f, NULL, NULL, "Z");
	assert_int_equal(jint(doc, "situations"), 0);
	assert_int_equal(jget2(doc, "by_antenna", "Z"), 0);
	json_decref(doc);

	doc = report_json(f, "2025-05", "2025-06", NULL);
	assert_string_equal(json_string_value(json_object_get(doc, "from")), "2025-05");
	assert_string_equal(json_string_value(json_object_get(doc, "to")), "2025-06");
	/* s1 s2 s9 (May), s3 (June); s8 undated does not count in a period. */
	assert_int_equal(jint(doc, "situations"), 4);
	assert_int_equal(jint(doc, "undated"), 0);
	assert_int_equal(jsize(doc, "by_month"), 2);
	assert_int_equal(jget2(doc, "by_month", "2025-05"), 3);
	assert_int_equal(jget2(doc, "by_month", "2025-06"), 1);
	assert_int_equal(jget2(doc, "by_problem", "logement"), 3);
	assert_int_equal(jget2(doc, "by_problem", "precarite"), 0);
	assert_int_equal(jget2(doc, "by_antenna", "B"), 1);
	assert_int_equal(jget2(doc, "by_antenna", "C"), 1);
	assert_int_equal(jint(doc, "closed"), 1);
	/* Visits dated May-June over every situation: s1, s3, s5 (opened in
	 * April), s8 (undated). */
	assert_int_equal(jint(doc, "home_visits"), 4);
	assert_int_equal(jint(doc, "alerts_overdue"), 1);
	json_decref(doc);

	/* Inclusive bounds: one month. */
	doc = report_json(f, "2025-07", "2025-07", NULL);
	assert_int_equal(jint(doc, "situations"), 1);
	assert_int_equal(jint(doc, "home_visits"), 0);
	assert_true(json_is_null(json_object_get(doc, "median_days_to_first_intervention")));
	json_decref(doc);

	/* Open-ended. */
	doc = report_json(f, "2025-06", NULL, NULL);
	assert_int_equal(jint(doc, "situations"), 2);
	json_decref(doc);
	doc = report_json(f, NULL, "2024-12", NULL);
	assert_int_equal(jint(doc, "situations"), 1);
	json_decref(doc);
}

/* Whether text has a line "  LABEL   ...   VALUE" (label, spaces, value). */
static bool
text_has_figure(const char *text, const char *label, const char *value)
{
	for (const char *p = strstr(text, label); p != NULL; p = strstr(p + 1, label)) {
		const char *q = p + strlen(label);

		while (*q == ' ')
			q++;
		if (strncmp(q, value, strlen(value)) == 0 && q[strlen(value)] == '\n')
			return true;
	}
	return false;
}

static void
test_formats(void **state)
{
	fx *f = *state;
	char *s;

	dataset(f);
	assert_int_equal(report(f, "text", NULL, NULL, NULL), 0);
	s = slurp(f->out);
	assert_non_null(strstr(s, "Rapport d'activité"));
	assert_true(text_has_figure(s, "Situations ouvertes", "8"));
	assert_true(text_has_figure(s, "Visites à domicile dans la période", "4"));
	assert_true(text_has_figure(s, "Alertes en retard au 2025-06-15", "1"));
	assert_non_null(strstr(s, "Logement"));
	assert_non_null(strstr(s, "relais CMP"));
	free(s);

	assert_int_equal(report(f, "csv", NULL, NULL, NULL), 0);
	s = slurp(f->out);
	assert_true(strncmp(s, "figure,key,value\r\n", 18) == 0);
	assert_non_null(strstr(s, "\r\nsituations,,8\r\n"));
	assert_non_null(strstr(s, "\r\nby_problem,logement,3\r\n"));
	assert_non_null(strstr(s, "\r\nby_month,2025-05,3\r\n"));
	assert_non_null(strstr(s, "\r\nhome_visits,,4\r\n"));
	free(s);

	assert_int_equal(report(f, "html", NULL, NULL, NULL), 0);
	s = slurp(f->out);
	assert_true(strncmp(s, "<!DOCTYPE html>", 15) == 0);
	assert_non_null(strstr(s, "id=\"chart-antennas\""));
	assert_non_null(strstr(s, "id=\"chart-months\""));
	assert_non_null(strstr(s, "id=\"chart-problems\""));
	assert_non_null(strstr(s, "data-figure=\"situations\">8<"));
	assert_non_null(strstr(s, "data-figure=\"home_visits\">4<"));
	assert_null(strstr(s, "src="));
	assert_null(strstr(s, "href="));
	assert_null(strstr(s, "url("));
	assert_null(strstr(s, "<script"));
	assert_non_null(strstr(s, "</html>\n"));
	free(s);
}

/* Data that would break a format if it were not escaped. */
static void
test_escaping(void **state)
{
	fx *f = *state;
	const spec sp = { .antenna = "A", .kind = "coordination", .opened = "2025-05-02",
		              .problems = { "logement" },
		              .referrers = { "<script>alert(1)</script>", "Dr \"X\" & Co, Aix",
		                             "=HYPERLINK(\"x\")", "bad\xff\x01utf8" },
		              .closed = true, .reason = "a,\"b\"\nc" };
	json_t *doc;
	char *s;

	put(f, &sp);
	doc = report_json(f, NULL, NULL, NULL);
	assert_int_equal(jget2(doc, "by_referrer", "<script>alert(1)</script>"), 1);
	assert_int_equal(jget2(doc, "by_referrer", "bad\xef\xbf\xbd?utf8"), 1);
	assert_int_equal(jget2(doc, "closed_reasons", "a,\"b\"?c"), 1);
	json_decref(doc);

	assert_int_equal(report(f, "html", NULL, NULL, NULL), 0);
	s = slurp(f->out);
	assert_null(strstr(s, "<script"));
	assert_non_null(strstr(s, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(s, "Dr &quot;X&quot; &amp; Co, Aix"));
	free(s);

	assert_int_equal(report(f, "csv", NULL, NULL, NULL), 0);
	s = slurp(f->out);
	assert_non_null(strstr(s, "\r\nby_referrer,\"Dr \"\"X\"\" & Co, Aix\",1\r\n"));
	assert_non_null(strstr(s, "\r\nby_referrer,\"'=HYPERLINK(\"\"x\"\")\",1\r\n"));
	assert_non_null(strstr(s, "\r\nclosed_reasons,\"a,\"\"b\"\"?c\",1\r\n"));
	free(s);

	assert_int_equal(report(f, "text", NULL, NULL, NULL), 0);
	s = slurp(f->out);
	assert_null(strchr(s, '\x01'));
	assert_null(strstr(s, "\xff"));
	free(s);
}

static void
test_bad_options(void **state)
{
	fx *f = *state;
	static const char *bad_months[] = { "2025-13", "2025-00", "2025-5", "25-05", "2025/05",
		                                "2025-05-01", "", "abcd-ef", "1899-12", "3000-01" };
	FILE *fp;
	char *s;

	/* The output file is left alone by every failure. */
	fp = fopen(f->out, "w");
	assert_non_null(fp);
	fputs("old", fp);
	fclose(fp);
	for (size_t i = 0; i < sizeof(bad_months) / sizeof(bad_months[0]); i++) {
		assert_int_equal(report(f, "json", bad_months[i], NULL, NULL), 1);
		assert_int_equal(report(f, "json", NULL, bad_months[i], NULL), 1);
	}
	assert_int_equal(report(f, "json", "2025-09", "2025-05", NULL), 1);
	assert_int_equal(report(f, "pdf", NULL, NULL, NULL), 2);
	assert_int_equal(report(f, "JSON", NULL, NULL, NULL), 2);
	assert_int_equal(report(f, "json", NULL, NULL, "bad code!"), 1);
	assert_int_equal(report(f, "json", NULL, NULL, ""), 1);
	s = slurp(f->out);
	assert_string_equal(s, "old");
	free(s);
	/* An unwritable destination is a user error, not a crash. */
	{
		rl_report_opts o = { NULL, NULL, NULL, "json", "/nonexistent-dir/r.json", TODAY };

		assert_int_equal(rl_report_main(&f->hub, &o), 1);
	}
	/* Boundaries that are fine. */
	assert_int_equal(report(f, "json", "1900-01", "2999-12", NULL), 0);
	assert_int_equal(report(f, "json", "2025-05", "2025-05", NULL), 0);
}

/* -o writes through a temporary file: nothing else is left beside it. */
static void
test_output_atomic(void **state)
{
	fx *f = *state;
	char dir[160];
	struct dirent *de;
	struct stat sb;
	int entries = 0;
	DIR *d;

	dataset(f);
	assert_int_equal(report(f, "html", NULL, NULL, NULL), 0);
	assert_int_equal(report(f, "json", NULL, NULL, NULL), 0);
	snprintf(dir, sizeof(dir), "%s/out", f->base);
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			entries++;
	closedir(d);
	assert_int_equal(entries, 1);
	assert_int_equal(stat(f->out, &sb), 0);
	assert_true(sb.st_size > 100);
}

/* ---- many situations ---- */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_many(void **state)
{
	static const char *kinds[] = { "coordination", "orientation" };
	static const char *ants[] = { "A", "B", "C", "D", "E", "F", "G" };
	static const char *probs[] = { "acces_soins_psy", "logement", "soins_somatiques",
		                           "precarite",       "justice",  "addiction" };
	static const char *refs[] = { "CCAS", "CMP", "Hôpital", "Médecin traitant", "Famille" };
	fx *f = *state;
	const char *env = getenv("RL_REPORT_N");
	size_t n = env ? (size_t)strtoul(env, NULL, 10) : 20000, batch = 5000, per = 9;
	char (*dates)[11] = calloc(n, 11);
	rl_op *ops = calloc(batch * per, sizeof(rl_op));
	uint8_t dev[RL_DEV_BYTES];
	uint64_t ctr = 0, expect_vad = 0;
	rl_hlc hlc = rl_hlc_make(1700000000000ull, 0);
	double t0, t1;
	json_t *doc;

	assert_non_null(dates);
	assert_non_null(ops);
	memset(dev, 0x5a, sizeof(dev));
	t0 = now_s();
	for (size_t base = 0; base < n; base += batch) {
		size_t k = 0;

		for (size_t i = base; i < n && i < base + batch; i++) {
			uint8_t sit[RL_SIT_BYTES];
			uint32_t opened = 20240101 + (uint32_t)(i % 12) * 100 + (uint32_t)(i % 28);
			rl_op proto;

			memset(sit, 0, sizeof(sit));
			sit[0] = 0xa5;
			for (int b = 0; b < 8; b++)
				sit[8 + b] = (uint8_t)(i >> (8 * (7 - b)));
			rl_date_format(opened, dates[i]);
			memset(&proto, 0, sizeof(proto));
			memcpy(proto.sit, sit, RL_SIT_BYTES);
			memcpy(proto.id.dev, dev, RL_DEV_BYTES);
#define NEXT(o) (o = proto, o.id.ctr = ++ctr, o.hlc = ++hlc)
			NEXT(ops[k]), ops[k].kind = RL_OP_REG, ops[k].field = RL_F_KIND,
				ops[k].value = B(kinds[i % 2]), k++;
			NEXT(ops[k]), ops[k].kind = RL_OP_REG, ops[k].field = RL_F_ANTENNA,
				ops[k].value = B(ants[i % 7]), k++;
			NEXT(ops[k]), ops[k].kind = RL_OP_REG, ops[k].field = RL_F_OPENED,
				ops[k].value = B(dates[i]), k++;
			NEXT(ops[k]), ops[k].kind = RL_OP_REG, ops[k].field = RL_F_STATUS,
				ops[k].value = B(i % 5 ? "open" : "closed"), k++;
			NEXT(ops[k]), ops[k].kind = RL_OP_ADD, ops[k].field = RL_SET_PROBLEMS,
				ops[k].value = B(probs[i % 6]), k++;
			NEXT(ops[k]), ops[k].kind = RL_OP_ADD, ops[k].field = RL_SET_PROBLEMS,
				ops[k].value = B(probs[(i / 6) % 6]), k++;
			NEXT(ops[k]), ops[k].kind = RL_OP_ADD, ops[k].field = RL_SET_REFERRERS,
				ops[k].value = B(refs[i % 5]), k++;
			NEXT(ops[k]), ops[k].kind = RL_OP_JOURNAL, ops[k].field = RL_J_VAD,
				ops[k].date = opened + 1, ops[k].value = B("visite"), k++;
			NEXT(ops[k]), ops[k].kind = RL_OP_ALERT, ops[k].date = 20250101,
				ops[k].value = B("rappel"), k++;
#undef NEXT
			expect_vad++;
		}
		RL_PASS(rl_replica_apply(f->hub.rp, ops, k, NULL));
	}
	t1 = now_s();
	printf("# filled %zu situations in %.2f s\n", n, t1 - t0);

	t0 = now_s();
	doc = report_json(f, NULL, NULL, NULL);
	t1 = now_s();
	printf("# report json over %zu situations: %.3f s\n", n, t1 - t0);
	assert_int_equal(jint(doc, "situations"), (json_int_t)n);
	assert_int_equal(jint(doc, "home_visits"), (json_int_t)expect_vad);
	assert_int_equal(jint(doc, "alerts_overdue"), (json_int_t)n);
	assert_int_equal(jint(doc, "closed"), (json_int_t)((n + 4) / 5));
	assert_int_equal(jint(doc, "median_days_to_first_intervention"), 1);
	json_decref(doc);
	/* Linear, not quadratic: generous for sanitizer builds. */
	assert_true(t1 - t0 < 1.0 + (double)n / 5000.0);

	t0 = now_s();
	assert_int_equal(report(f, "html", "2024-03", "2024-08", "C"), 0);
	printf("# report html, one antenna, 6 months: %.3f s\n", now_s() - t0);
	free(ops);
	free(dates);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_network, setup, teardown),
		cmocka_unit_test_setup_teardown(test_antenna_and_period, setup, teardown),
		cmocka_unit_test_setup_teardown(test_formats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many, setup, teardown),
	};

	if (rl_crypto_init() != RL_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
