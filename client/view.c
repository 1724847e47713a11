/*
 * view.c - one situation as a coordinator reads it: the JSON object of
 * `show --json` (and of each element of `export --format json`), and the
 * French case file `show` prints.
 *
 * Both are computed from the record's views (registers, sets, journal,
 * alerts) at the time of the call. Anonymising happens here, in one place,
 * for every output that can carry it: for a person who has not consented,
 * the identifying registers, every free text (journal, alerts, closing
 * reason) and the conflicts on those fields are left out.
 */
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"

/* Registers that identify the person or hold free text: never shown
 * anonymised. */
static bool
field_identifying(uint8_t f)
{
	switch (f) {
	case RL_F_INITIALS:
	case RL_F_SEX:
	case RL_F_AGE:
	case RL_F_COMMUNE:
	case RL_F_LIVING:
	case RL_F_HISTORY:
	case RL_F_EVOLUTION:
	case RL_F_CLOSE_REASON:
	case RL_F_ALERT_TEXT:
		return true;
	default:
		return false;
	}
}

bool
rl_view_consented(const rl_record *rec)
{
	rl_bytes c = rl_record_get(rec, RL_F_CONSENT);

	return c.len == 3 && memcmp(c.p, "oui", 3) == 0;
}

/* Alerts in reading order: overdue first, then to come, then done; each
 * group by due date, then id. */
typedef struct alert_item {
	const rl_op *op;
	uint32_t due;
	bool done;
	bool overdue;
} alert_item;

static int
alert_rank(const alert_item *a)
{
	return a->done ? 2 : a->overdue ? 0 : 1;
}

static int
alert_item_cmp(const void *pa, const void *pb)
{
	const alert_item *a = pa, *b = pb;

	if (alert_rank(a) != alert_rank(b))
		return alert_rank(a) - alert_rank(b);
	if (a->due != b->due)
		return a->due < b->due ? -1 : 1;
	return rl_opid_cmp(&a->op->id, &b->op->id);
}

static rl_err
alert_items(const rl_record *rec, alert_item **out, size_t *n)
{
	const rl_op **ops;
	alert_item *items;
	uint32_t today = rl_date_today();
	rl_err e;

	*out = NULL;
	if ((e = rl_record_list(rec, RL_OP_ALERT, &ops, n)) != RL_OK)
		return e;
	if ((items = calloc(*n + 1, sizeof(*items))) == NULL) {
		free(ops);
		return RL_ENOMEM;
	}
	for (size_t i = 0; i < *n; i++) {
		items[i].op = ops[i];
		items[i].due = rl_case_alert_due(rec, ops[i]);
		items[i].done = rl_case_alert_done(rec, ops[i]);
		items[i].overdue = rl_case_alert_overdue(rec, ops[i], today);
	}
	free(ops);
	qsort(items, *n, sizeof(*items), alert_item_cmp);
	*out = items;
	return RL_OK;
}

/* ---- JSON ---- */

/* Sets key to v in o; a NULL v (allocation failure) marks *ok false. */
static void
jset(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (v == NULL || json_object_set_new(o, key, v) != 0)
		*ok = false;
}

static void
jpush(json_t *a, json_t *v, bool *ok)
{
	if (v == NULL || json_array_append_new(a, v) != 0)
		*ok = false;
}

static json_t *
jdate(uint32_t ymd)
{
	char d[11];

	rl_date_format(ymd, d);
	return json_string(d);
}

static json_t *
jopid(const rl_opid *id)
{
	char s[RL_CLI_OPID_MAX];

	rl_cli_opid_format(id, s);
	return json_string(s);
}

static json_t *
jdevice(const uint8_t dev[RL_DEV_BYTES])
{
	char hex[RL_CLI_DEV_HEX + 1];

	rl_hex_encode(dev, RL_DEV_BYTES, hex);
	return json_string(hex);
}

static json_t *
jset_array(const rl_record *rec, uint8_t set, bool *ok)
{
	json_t *a = json_array();
	rl_bytes *v = NULL;
	size_t n = 0;

	if (a == NULL || rl_record_set(rec, set, &v, &n) != RL_OK) {
		*ok = false;
		return a;
	}
	for (size_t i = 0; i < n; i++)
		jpush(a, rl_cli_jstr(v[i]), ok);
	free(v);
	return a;
}

/* The age as a number when it is one, else null. */
static json_t *
jage(rl_bytes b)
{
	unsigned v = 0;

	if (b.len == 0 || b.len > 3)
		return json_null();
	for (size_t i = 0; i < b.len; i++) {
		if (b.p[i] < '0' || b.p[i] > '9')
			return json_null();
		v = v * 10 + (unsigned)(b.p[i] - '0');
	}
	return json_integer((json_int_t)v);
}

static json_t *
jjournal(const rl_record *rec, bool hide_text, size_t *vad, bool *ok)
{
	json_t *a = json_array();
	const rl_op **ops = NULL;
	size_t n = 0;

	*vad = 0;
	if (a == NULL || rl_record_list(rec, RL_OP_JOURNAL, &ops, &n) != RL_OK) {
		*ok = false;
		return a;
	}
	for (size_t i = 0; i < n; i++) {
		const rl_op *op = ops[i];
		json_t *o = json_object();

		if (o == NULL) {
			*ok = false;
			break;
		}
		*vad += rl_case_is_home_visit(op);
		jset(o, "id", jopid(&op->id), ok);
		jset(o, "type", json_string(rl_jtype_name(op->field)), ok);
		jset(o, "date", jdate(op->date), ok);
		jset(o, "text", hide_text ? json_null() : rl_cli_jstr(op->value), ok);
		jset(o, "author", jdevice(op->id.dev), ok);
		jset(o, "amends", op->has_target ? jopid(&op->target) : json_null(), ok);
		jpush(a, o, ok);
	}
	free(ops);
	return a;
}

static json_t *
jalerts(const rl_record *rec, bool hide_text, size_t *open, bool *ok)
{
	json_t *a = json_array();
	alert_item *items = NULL;
	size_t n = 0;

	*open = 0;
	if (a == NULL || alert_items(rec, &items, &n) != RL_OK) {
		*ok = false;
		return a;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();

		if (o == NULL) {
			*ok = false;
			break;
		}
		*open += !items[i].done;
		jset(o, "id", jopid(&items[i].op->id), ok);
		jset(o, "due", jdate(items[i].due), ok);
		jset(o, "text",
		     hide_text ? json_null() : rl_cli_jstr(rl_case_alert_text(rec, items[i].op)), ok);
		jset(o, "done", json_boolean(items[i].done), ok);
		jset(o, "overdue", json_boolean(items[i].overdue), ok);
		jset(o, "author", jdevice(items[i].op->id.dev), ok);
		jpush(a, o, ok);
	}
	free(items);
	return a;
}

static json_t *
jconflicts(const rl_record *rec, bool anonymize, bool *ok)
{
	json_t *a = json_array();
	rl_cli_conflict *c = NULL;
	size_t n = 0;

	if (a == NULL || rl_cli_conflicts(rec, &c, &n) != RL_OK) {
		*ok = false;
		return a;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *o, *vals;
		char name[RL_CLI_OPID_MAX + 16];

		if (anonymize && field_identifying(c[i].field))
			continue;
		if ((o = json_object()) == NULL || (vals = json_array()) == NULL) {
			json_decref(o);
			*ok = false;
			break;
		}
		rl_cli_conflict_name(&c[i], name, sizeof(name));
		jset(o, "field", json_string(name), ok);
		for (size_t k = 0; k < c[i].n; k++) {
			json_t *v = json_object();

			if (v == NULL) {
				*ok = false;
				break;
			}
			jset(v, "value", rl_cli_jstr(c[i].vals[k].value), ok);
			jset(v, "author", jdevice(c[i].vals[k].op->id.dev), ok);
			jpush(vals, v, ok);
		}
		jset(o, "values", vals, ok);
		jpush(a, o, ok);
	}
	rl_cli_conflicts_free(c, n);
	return a;
}

json_t *
rl_view_json(const rl_record *rec, bool anonymize)
{
	static const uint8_t regs[] = { RL_F_INITIALS, RL_F_SEX,     RL_F_COMMUNE,
	                                RL_F_LIVING,   RL_F_HISTORY, RL_F_EVOLUTION };
	json_t *o = json_object(), *journal, *alerts, *counts;
	bool hide = anonymize && !rl_view_consented(rec), ok = true;
	char hex[RL_CLI_SIT_HEX + 1];
	size_t vad = 0, open = 0;

	if (o == NULL)
		return NULL;
	rl_cli_sit_hex(rec->sit, hex);
	jset(o, "id", json_string(hex), &ok);
	jset(o, "antenna", rl_cli_jstr_or_null(rl_record_get(rec, RL_F_ANTENNA)), &ok);
	jset(o, "kind", rl_cli_jstr_or_null(rl_record_get(rec, RL_F_KIND)), &ok);
	jset(o, "status", rl_cli_jstr_or_null(rl_record_get(rec, RL_F_STATUS)), &ok);
	jset(o, "opened", rl_cli_jstr_or_null(rl_record_get(rec, RL_F_OPENED)), &ok);
	jset(o, "closed", rl_cli_jstr_or_null(rl_record_get(rec, RL_F_CLOSED)), &ok);
	jset(o, "close_reason",
	     hide ? json_null() : rl_cli_jstr_or_null(rl_record_get(rec, RL_F_CLOSE_REASON)), &ok);
	jset(o, "consent", rl_cli_jstr_or_null(rl_record_get(rec, RL_F_CONSENT)), &ok);
	for (size_t i = 0; i < sizeof(regs); i++) {
		jset(o, rl_field_name(regs[i]),
		     hide ? json_null() : rl_cli_jstr_or_null(rl_record_get(rec, regs[i])), &ok);
		if (regs[i] == RL_F_SEX)
			jset(o, "age", hide ? json_null() : jage(rl_record_get(rec, RL_F_AGE)), &ok);
	}
	jset(o, "problems", jset_array(rec, RL_SET_PROBLEMS, &ok), &ok);
	jset(o, "referrers", jset_array(rec, RL_SET_REFERRERS, &ok), &ok);
	jset(o, "professionals", jset_array(rec, RL_SET_PROS, &ok), &ok);
	journal = jjournal(rec, hide, &vad, &ok);
	alerts = jalerts(rec, hide, &open, &ok);
	if ((counts = json_object()) != NULL) {
		jset(counts, "journal", json_integer((json_int_t)json_array_size(journal)), &ok);
		jset(counts, "home_visits", json_integer((json_int_t)vad), &ok);
		jset(counts, "alerts", json_integer((json_int_t)json_array_size(alerts)), &ok);
		jset(counts, "alerts_open", json_integer((json_int_t)open), &ok);
	}
	jset(o, "journal", journal, &ok);
	jset(o, "alerts", alerts, &ok);
	jset(o, "conflicts", jconflicts(rec, anonymize && hide, &ok), &ok);
	jset(o, "counts", counts, &ok);
	if (anonymize)
		jset(o, "anonymized", json_boolean(hide), &ok);
	if (!hide) {
		uint8_t h[RL_HASH_BYTES];
		char hh[2 * RL_HASH_BYTES + 1];

		if (rl_record_hash(rec, h) == RL_OK) {
			rl_hex_encode(h, sizeof(h), hh);
			jset(o, "state_hash", json_string(hh), &ok);
		} else
			ok = false;
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- text ---- */

static void
text_label(FILE *f, const char *label)
{
	fputs("  ", f);
	rl_cli_cell(f, label, 22);
}


static const char *
kind_fr(rl_bytes b)
{
	if (b.len == 12 && memcmp(b.p, "coordination", 12) == 0)
		return "coordination";
	if (b.len == 11 && memcmp(b.p, "orientation", 11) == 0)
		return "orientation";
	return NULL;
}

static const char *
jtype_fr(uint8_t t)
{
	switch (t) {
	case RL_J_VAD:
		return "visite à domicile";
	case RL_J_APPEL:
		return "appel";
	case RL_J_REUNION:
		return "réunion";
	case RL_J_ORIENTATION:
		return "orientation";
	case RL_J_NOTE:
		return "note";
	default:
		return "?";
	}
}

static bool
bytes_is(rl_bytes b, const char *s)
{
	size_t n = strlen(s);

	return b.len == n && memcmp(b.p, s, n) == 0;
}

/* Prints a register value, or "—" when empty, and marks a conflict. */
static void
text_reg(FILE *f, const rl_record *rec, uint8_t field, const char *label, const char *suffix)
{
	rl_bytes v = rl_record_get(rec, field);
	size_t live = rl_record_reg(rec, NULL, field, NULL, 0);

	text_label(f, label);
	if (v.len == 0)
		fputs("—", f);
	else {
		rl_cli_print_safe(f, v, "                          ");
		if (suffix)
			fputs(suffix, f);
	}
	if (live > 1)
		fputs("  [CONFLIT]", f);
	fputc('\n', f);
}

static void
text_set(FILE *f, const rl_record *rec, uint8_t set, const char *label)
{
	rl_bytes *v = NULL;
	size_t n = 0;

	text_label(f, label);
	if (rl_record_set(rec, set, &v, &n) != RL_OK || n == 0)
		fputs("—", f);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			fputs(", ", f);
		rl_cli_print_safe(f, v[i], NULL);
	}
	fputc('\n', f);
	free(v);
}

static void
short_dev(const uint8_t dev[RL_DEV_BYTES], char out[RL_CLI_SHORT_DEV + 1])
{
	char hex[RL_CLI_DEV_HEX + 1];

	rl_hex_encode(dev, RL_DEV_BYTES, hex);
	memcpy(out, hex, RL_CLI_SHORT_DEV);
	out[RL_CLI_SHORT_DEV] = '\0';
}

static rl_err
text_journal(FILE *f, const rl_record *rec)
{
	const rl_op **ops;
	size_t n;
	rl_err e;

	if ((e = rl_record_list(rec, RL_OP_JOURNAL, &ops, &n)) != RL_OK)
		return e;
	fprintf(f, "\nJournal (%zu entrée%s)\n", n, n > 1 ? "s" : "");
	if (n == 0)
		fputs("  (vide)\n", f);
	for (size_t i = 0; i < n; i++) {
		const rl_op *op = ops[i];
		char date[11], id[RL_CLI_OPID_MAX], who[RL_CLI_SHORT_DEV + 1];

		rl_date_format(op->date, date);
		rl_cli_opid_format(&op->id, id);
		short_dev(op->id.dev, who);
		fprintf(f, "  %s  ", date);
		rl_cli_cell(f, jtype_fr(op->field), 18);
		fprintf(f, " par %s  [%s]", who, id);
		if (op->has_target) {
			char t[RL_CLI_OPID_MAX];

			rl_cli_opid_format(&op->target, t);
			fprintf(f, "  corrige [%s]", t);
		}
		/* Show which later entries correct this one. */
		for (size_t k = 0; k < n; k++)
			if (ops[k]->has_target && rl_opid_cmp(&ops[k]->target, &op->id) == 0) {
				char c[RL_CLI_OPID_MAX];

				rl_cli_opid_format(&ops[k]->id, c);
				fprintf(f, "  (corrigée par [%s])", c);
			}
		fputs("\n      ", f);
		rl_cli_print_safe(f, op->value, "      ");
		fputc('\n', f);
	}
	free(ops);
	return RL_OK;
}

static rl_err
text_alerts(FILE *f, const rl_record *rec)
{
	alert_item *items;
	size_t n;
	rl_err e;

	if ((e = alert_items(rec, &items, &n)) != RL_OK)
		return e;
	fprintf(f, "\nAlertes (%zu)\n", n);
	if (n == 0)
		fputs("  (aucune)\n", f);
	for (size_t i = 0; i < n; i++) {
		char date[11], id[RL_CLI_OPID_MAX];

		rl_date_format(items[i].due, date);
		rl_cli_opid_format(&items[i].op->id, id);
		fputs("  ", f);
		rl_cli_cell(f, items[i].overdue ? "EN RETARD" : items[i].done ? "faite" : "à venir", 10);
		fprintf(f, " %s  [%s]  ", date, id);
		rl_cli_print_safe(f, rl_case_alert_text(rec, items[i].op), NULL);
		fputc('\n', f);
	}
	free(items);
	return RL_OK;
}

static rl_err
text_conflicts(FILE *f, const rl_record *rec, const char *hex)
{
	rl_cli_conflict *c;
	size_t n;
	rl_err e;

	if ((e = rl_cli_conflicts(rec, &c, &n)) != RL_OK)
		return e;
	if (n > 0)
		fprintf(f, "\nConflits à trancher (%zu) — relais resolve %.8s CHAMP VALEUR\n", n, hex);
	for (size_t i = 0; i < n; i++) {
		char name[RL_CLI_OPID_MAX + 16];

		rl_cli_conflict_name(&c[i], name, sizeof(name));
		fprintf(f, "  %s :\n", name);
		for (size_t k = 0; k < c[i].n; k++) {
			char who[RL_CLI_SHORT_DEV + 1];

			short_dev(c[i].vals[k].op->id.dev, who);
			fputs("    « ", f);
			rl_cli_print_safe(f, c[i].vals[k].value, NULL);
			fprintf(f, " »  par %s%s\n", who, k == 0 ? "  (affichée)" : "");
		}
	}
	rl_cli_conflicts_free(c, n);
	return RL_OK;
}

rl_err
rl_view_text(FILE *f, const rl_record *rec)
{
	char hex[RL_CLI_SIT_HEX + 1];
	rl_bytes status = rl_record_get(rec, RL_F_STATUS), kind = rl_record_get(rec, RL_F_KIND);
	rl_bytes consent = rl_record_get(rec, RL_F_CONSENT);
	rl_err e;

	rl_cli_sit_hex(rec->sit, hex);
	fprintf(f, "Situation %s\n", hex);
	text_label(f, "Type");
	if (kind_fr(kind))
		fputs(kind_fr(kind), f);
	else
		rl_cli_print_safe(f, kind, NULL);
	fputc('\n', f);
	text_reg(f, rec, RL_F_ANTENNA, "Antenne", NULL);
	text_reg(f, rec, RL_F_OPENED, "Ouverte le", NULL);
	text_label(f, "Statut");
	if (bytes_is(status, "open"))
		fputs("ouverte", f);
	else if (bytes_is(status, "closed")) {
		rl_bytes d = rl_record_get(rec, RL_F_CLOSED), r = rl_record_get(rec, RL_F_CLOSE_REASON);

		fputs("clôturée", f);
		if (d.len) {
			fputs(" le ", f);
			rl_cli_print_safe(f, d, NULL);
		}
		if (r.len) {
			fputs(" (motif : ", f);
			rl_cli_print_safe(f, r, NULL);
			fputc(')', f);
		}
	} else
		rl_cli_print_safe(f, status, NULL);
	if (rl_record_reg(rec, NULL, RL_F_STATUS, NULL, 0) > 1)
		fputs("  [CONFLIT]", f);
	fputc('\n', f);
	text_label(f, "Consentement");
	if (bytes_is(consent, "en_attente"))
		fputs("en attente", f);
	else if (consent.len)
		rl_cli_print_safe(f, consent, NULL);
	else
		fputs("—", f);
	if (rl_record_reg(rec, NULL, RL_F_CONSENT, NULL, 0) > 1)
		fputs("  [CONFLIT]", f);
	fputs("\n\nPersonne\n", f);
	text_reg(f, rec, RL_F_INITIALS, "Initiales", NULL);
	text_reg(f, rec, RL_F_SEX, "Sexe", NULL);
	text_reg(f, rec, RL_F_AGE, "Âge", " ans");
	text_reg(f, rec, RL_F_COMMUNE, "Commune", NULL);
	text_reg(f, rec, RL_F_LIVING, "Lieu de vie", NULL);
	text_reg(f, rec, RL_F_HISTORY, "Antécédents", NULL);
	text_reg(f, rec, RL_F_EVOLUTION, "Évolution à 2 mois", NULL);
	fputs("\nProblèmes et réseau\n", f);
	text_set(f, rec, RL_SET_PROBLEMS, "Problèmes");
	text_set(f, rec, RL_SET_REFERRERS, "Adresseurs");
	text_set(f, rec, RL_SET_PROS, "Professionnels");
	if ((e = text_journal(f, rec)) != RL_OK || (e = text_alerts(f, rec)) != RL_OK ||
	    (e = text_conflicts(f, rec, hex)) != RL_OK)
		return e;
	return RL_OK;
}
