/*
 * cmd_edit.c - the commands that write: new, set, tag, log, alert,
 * alert-done, close, reopen, assign, erase, resolve.
 *
 * Each command is one rl_edit: every value is checked while the edit is
 * built and the first bad one aborts it, so a command either writes all its
 * changes in one durable transaction or nothing at all (the store is then
 * unchanged). Commands that create something print its id alone on stdout.
 */
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"

/* An edit of one situation in progress. */
typedef struct edit_ctx {
	rl_replica *rp;
	rl_edit *ed;
	char *scratch; /* RL_MAX_VALUE + 1: a normalised value */
} edit_ctx;

static void
edit_cancel(edit_ctx *x)
{
	rl_edit_abort(x->ed);
	rl_replica_close(x->rp);
	free(x->scratch);
	memset(x, 0, sizeof(*x));
}

static int
edit_fail(edit_ctx *x, int rc)
{
	edit_cancel(x);
	return rc;
}

/* Opens the store and starts an edit of the situation typed (or of a new
 * one when typed is NULL). */
static int
edit_start(rl_cli *cli, const char *typed, edit_ctx *x)
{
	uint8_t sit[RL_SIT_BYTES];
	char hex[RL_CLI_SIT_HEX + 1] = "";
	rl_err e;
	int rc;

	memset(x, 0, sizeof(*x));
	if ((x->scratch = malloc(RL_MAX_VALUE + 1)) == NULL)
		return rl_cli_fail_err(RL_ENOMEM, "édition");
	if ((rc = rl_cli_open(cli, &x->rp)) != 0)
		return edit_fail(x, rc);
	if (typed != NULL && (rc = rl_cli_resolve_sit(x->rp, typed, sit)) != 0)
		return edit_fail(x, rc);
	if ((e = rl_edit_begin(x->rp, typed ? sit : NULL, &x->ed)) != RL_OK) {
		x->ed = NULL;
		if (typed != NULL)
			rl_cli_sit_hex(sit, hex);
		if (e == RL_EERASED)
			return edit_fail(x, rl_cli_fail("situation effacée : %s", hex));
		if (e == RL_ENOTFOUND)
			return edit_fail(x, rl_cli_fail("situation inconnue : %s", hex));
		return edit_fail(x, rl_cli_fail_err(e, "édition impossible"));
	}
	return 0;
}

static int
edit_commit(edit_ctx *x)
{
	rl_err e = rl_edit_commit(x->ed);

	x->ed = NULL;
	edit_cancel(x);
	if (e != RL_OK)
		return rl_cli_fail_err(e, "enregistrement impossible");
	return 0;
}

static int
edit_err(edit_ctx *x, rl_err e, const char *what)
{
	if (e == RL_ETOOBIG)
		return edit_fail(x, rl_cli_fail("%s : taille maximale dépassée (au plus %d octets)",
		                                what, RL_MAX_VALUE));
	return edit_fail(x, rl_cli_fail_err(e, what));
}

/* Checks, normalises and writes one register. */
static int
put_field(edit_ctx *x, const rl_opid *target, uint8_t field, const char *typed)
{
	rl_err e;
	int rc;

	if ((rc = rl_cli_check_field(field, typed, x->scratch, RL_MAX_VALUE + 1)) != 0)
		return rc;
	if ((e = rl_edit_reg(x->ed, target, field, RL_BYTES(x->scratch, strlen(x->scratch)))) !=
	    RL_OK)
		return rl_cli_fail_err(e, rl_field_name(field));
	return 0;
}

static const char *
set_label(uint8_t set)
{
	switch (set) {
	case RL_SET_PROBLEMS:
		return "problème";
	case RL_SET_REFERRERS:
		return "adresseur";
	default:
		return "professionnel";
	}
}

/* Checks a set element (problem code, referrer, professional). */
static int
check_elem(uint8_t set, const char *s)
{
	int rc;

	if (set == RL_SET_PROBLEMS) {
		if (!rl_cli_problem_valid(s))
			return rl_cli_fail("code de problème invalide : « %.48s » (minuscules, chiffres "
			                   "et _ ; au plus %d caractères)",
			                   s, RL_MAX_ELEM);
		return 0;
	}
	if ((rc = rl_cli_check_text(set_label(set), s, false)) != 0)
		return rc;
	if (s[0] == '\0')
		return rl_cli_fail("%s vide", set_label(set));
	if (strlen(s) > RL_MAX_ELEM)
		return rl_cli_fail("%s trop long (au plus %d octets)", set_label(set), RL_MAX_ELEM);
	return 0;
}

static int
add_elem(edit_ctx *x, uint8_t set, const char *s)
{
	rl_err e;
	int rc;

	if ((rc = check_elem(set, s)) != 0)
		return rc;
	if ((e = rl_edit_add(x->ed, set, RL_BYTES(s, strlen(s)))) != RL_OK)
		return rl_cli_fail_err(e, set_label(set));
	return 0;
}

/* ---- new ---- */

int
rl_cmd_new(rl_cli *cli)
{
	static const struct {
		const char *opt;
		uint8_t field;
	} optional[] = {
		{ "initials", RL_F_INITIALS }, { "sex", RL_F_SEX },       { "age", RL_F_AGE },
		{ "commune", RL_F_COMMUNE },   { "living", RL_F_LIVING }, { "history", RL_F_HISTORY },
	};
	static const struct {
		const char *opt;
		uint8_t set;
	} sets[] = {
		{ "problem", RL_SET_PROBLEMS },
		{ "referrer", RL_SET_REFERRERS },
		{ "pro", RL_SET_PROS },
	};
	const char *kind = rl_cli_opt(cli, "kind"), *date = rl_cli_opt(cli, "date");
	const char *consent = rl_cli_opt(cli, "consent"), *antenna = rl_cli_opt(cli, "antenna");
	char opened[11], hex[RL_CLI_SIT_HEX + 1];
	uint8_t sit[RL_SIT_BYTES];
	uint32_t ymd = rl_date_today();
	edit_ctx x;
	int rc;

	if (kind == NULL)
		return rl_cli_usage(cli, "--kind est obligatoire (coordination ou orientation)");
	if (date != NULL && (rc = rl_cli_parse_date("--date", date, &ymd)) != 0)
		return rc;
	rl_date_format(ymd, opened);
	if ((rc = edit_start(cli, NULL, &x)) != 0)
		return rc;
	/* The antenna first: the server takes a situation it does not hold
	 * only from a change-set carrying its antenna, and the outbox is
	 * pushed in order, so a batch boundary never falls before it. */
	if ((rc = put_field(&x, NULL, RL_F_ANTENNA,
	                    antenna ? antenna : rl_replica_antenna(x.rp))) != 0 ||
	    (rc = put_field(&x, NULL, RL_F_KIND, kind)) != 0 ||
	    (rc = put_field(&x, NULL, RL_F_OPENED, opened)) != 0 ||
	    (rc = put_field(&x, NULL, RL_F_STATUS, "open")) != 0 ||
	    (rc = put_field(&x, NULL, RL_F_CONSENT, consent ? consent : "en_attente")) != 0)
		return edit_fail(&x, rc);
	for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
		const char *v = rl_cli_opt(cli, optional[i].opt);

		if (v != NULL && (rc = put_field(&x, NULL, optional[i].field, v)) != 0)
			return edit_fail(&x, rc);
	}
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		size_t n;
		const char **v = rl_cli_optv(cli, sets[i].opt, &n);

		for (size_t k = 0; k < n; k++)
			if ((rc = add_elem(&x, sets[i].set, v[k])) != 0)
				return edit_fail(&x, rc);
	}
	memcpy(sit, rl_edit_record(x.ed)->sit, RL_SIT_BYTES);
	if ((rc = edit_commit(&x)) != 0)
		return rc;
	rl_cli_sit_hex(sit, hex);
	printf("%s\n", hex);
	return 0;
}

/* ---- set ---- */

static uint8_t
settable_field(const char *name)
{
	static const uint8_t ok[] = { RL_F_KIND,    RL_F_CONSENT, RL_F_INITIALS,
	                              RL_F_SEX,     RL_F_AGE,     RL_F_COMMUNE,
	                              RL_F_LIVING,  RL_F_HISTORY, RL_F_EVOLUTION };
	uint8_t f = rl_field_parse(name);

	for (size_t i = 0; i < sizeof(ok); i++)
		if (f == ok[i])
			return f;
	return 0;
}

int
rl_cmd_set(rl_cli *cli)
{
	edit_ctx x;
	int rc;

	/* The shape of every argument first: a usage error writes nothing. */
	for (int i = 1; i < cli->npos; i++)
		if (strchr(cli->pos[i], '=') == NULL)
			return rl_cli_usage(cli, "argument invalide : « %.40s » (CHAMP=VALEUR attendu)",
			                    cli->pos[i]);
	if ((rc = edit_start(cli, cli->pos[0], &x)) != 0)
		return rc;
	for (int i = 1; i < cli->npos; i++) {
		char name[32];
		const char *eq = strchr(cli->pos[i], '=');
		size_t n = (size_t)(eq - cli->pos[i]);
		uint8_t f;

		snprintf(name, sizeof(name), "%.*s", (int)(n < 24 ? n : 24), cli->pos[i]);
		if (n >= 24 || (f = settable_field(name)) == 0)
			return edit_fail(&x, rl_cli_fail("champ inconnu : « %s%s » (kind, consent, "
			                                 "initials, sex, age, commune, living, history, "
			                                 "evolution)",
			                                 name, n >= 24 ? "…" : ""));
		if ((rc = put_field(&x, NULL, f, eq + 1)) != 0)
			return edit_fail(&x, rc);
	}
	return edit_commit(&x);
}

/* ---- tag ---- */

int
rl_cmd_tag(rl_cli *cli)
{
	edit_ctx x;
	int rc;

	for (int i = 1; i < cli->npos; i++)
		if ((cli->pos[i][0] != '+' && cli->pos[i][0] != '-') || cli->pos[i][1] == '\0')
			return rl_cli_usage(cli, "étiquette invalide : « %.40s » (+CODE ou -CODE)",
			                    cli->pos[i]);
	if ((rc = edit_start(cli, cli->pos[0], &x)) != 0)
		return rc;
	for (int i = 1; i < cli->npos; i++) {
		const char *t = cli->pos[i] + 1;
		uint8_t set = RL_SET_PROBLEMS;
		rl_err e;

		if (strncmp(t, "referrer:", 9) == 0) {
			set = RL_SET_REFERRERS;
			t += 9;
		} else if (strncmp(t, "pro:", 4) == 0) {
			set = RL_SET_PROS;
			t += 4;
		}
		if (cli->pos[i][0] == '+') {
			if ((rc = add_elem(&x, set, t)) != 0)
				return edit_fail(&x, rc);
			continue;
		}
		if ((rc = check_elem(set, t)) != 0)
			return edit_fail(&x, rc);
		e = rl_edit_rem(x.ed, set, RL_BYTES(t, strlen(t)));
		if (e == RL_ENOTFOUND)
			return edit_fail(&x, rl_cli_fail("%s absent de cette situation : « %.48s »",
			                                 set_label(set), t));
		if (e != RL_OK)
			return edit_err(&x, e, set_label(set));
	}
	return edit_commit(&x);
}

/* ---- log, alert ---- */

/* The text of log/alert: the positional arguments after the id joined by
 * spaces, or stdin for a single "-". The caller frees *out. */
static int
gather_text(rl_cli *cli, rl_buf *out)
{
	rl_err e = RL_OK;
	int rc;

	rl_buf_init(out);
	if (cli->npos == 2 && strcmp(cli->pos[1], "-") == 0) {
		if ((rc = rl_cli_read_file("-", RL_MAX_VALUE + 1, out)) != 0)
			return rc;
		if (out->len > 0 && out->data[out->len - 1] == '\n')
			out->len--;
		if (memchr(out->data, '\0', out->len) != NULL)
			return rl_cli_fail("texte : caractère de contrôle refusé");
	} else {
		for (int i = 1; i < cli->npos && e == RL_OK; i++) {
			if (out->len > RL_MAX_VALUE)
				break;
			if (i > 1)
				e = rl_buf_append(out, " ", 1);
			if (e == RL_OK)
				e = rl_buf_append(out, cli->pos[i], strlen(cli->pos[i]));
		}
	}
	if (e == RL_OK)
		e = rl_buf_append(out, "", 1);
	if (e != RL_OK)
		return rl_cli_fail_err(e, "texte");
	out->len--; /* the NUL stays after the text */
	if ((rc = rl_cli_check_text("texte", (const char *)out->data, true)) != 0)
		return rc;
	if (out->len == 0)
		return rl_cli_fail("texte vide");
	return 0;
}

int
rl_cmd_log(rl_cli *cli)
{
	const char *type = rl_cli_opt(cli, "type"), *date = rl_cli_opt(cli, "date");
	const char *amends = rl_cli_opt(cli, "amends");
	const rl_op *target = NULL;
	char id[RL_CLI_OPID_MAX];
	uint32_t ymd = rl_date_today();
	uint8_t jtype;
	rl_opid out;
	rl_buf text;
	edit_ctx x;
	rl_err e;
	int rc;

	if (type == NULL)
		return rl_cli_usage(cli, "--type est obligatoire (vad, appel, reunion, orientation, "
		                         "note)");
	if ((jtype = rl_jtype_parse(type)) == 0)
		return rl_cli_fail("type d'entrée invalide : « %.40s » (vad, appel, reunion, "
		                   "orientation ou note)",
		                   type);
	if (date != NULL && (rc = rl_cli_parse_date("--date", date, &ymd)) != 0)
		return rc;
	if ((rc = gather_text(cli, &text)) != 0) {
		rl_buf_fini(&text);
		return rc;
	}
	if ((rc = edit_start(cli, cli->pos[0], &x)) != 0) {
		rl_buf_fini(&text);
		return rc;
	}
	if (amends != NULL && (rc = rl_cli_find_opid(rl_edit_record(x.ed), RL_OP_JOURNAL, amends,
	                                             "entrée du journal", &target)) != 0) {
		rl_buf_fini(&text);
		return edit_fail(&x, rc);
	}
	e = rl_edit_journal(x.ed, jtype, ymd, rl_buf_view(&text), target ? &target->id : NULL,
	                    &out);
	rl_buf_fini(&text);
	if (e != RL_OK)
		return edit_err(&x, e, "journal");
	if ((rc = edit_commit(&x)) != 0)
		return rc;
	rl_cli_opid_format(&out, id);
	printf("%s\n", id);
	return 0;
}

int
rl_cmd_alert(rl_cli *cli)
{
	const char *due = rl_cli_opt(cli, "due");
	char id[RL_CLI_OPID_MAX];
	uint32_t ymd;
	rl_opid out;
	rl_buf text;
	edit_ctx x;
	rl_err e;
	int rc;

	if (due == NULL)
		return rl_cli_usage(cli, "--due est obligatoire (AAAA-MM-JJ)");
	if ((rc = rl_cli_parse_date("--due", due, &ymd)) != 0)
		return rc;
	if ((rc = gather_text(cli, &text)) != 0) {
		rl_buf_fini(&text);
		return rc;
	}
	if ((rc = edit_start(cli, cli->pos[0], &x)) != 0) {
		rl_buf_fini(&text);
		return rc;
	}
	e = rl_edit_alert(x.ed, ymd, rl_buf_view(&text), &out);
	rl_buf_fini(&text);
	if (e != RL_OK)
		return edit_err(&x, e, "alerte");
	if ((rc = edit_commit(&x)) != 0)
		return rc;
	rl_cli_opid_format(&out, id);
	printf("%s\n", id);
	return 0;
}

int
rl_cmd_alert_done(rl_cli *cli)
{
	const rl_op *alert;
	edit_ctx x;
	int rc;

	if ((rc = edit_start(cli, cli->pos[0], &x)) != 0)
		return rc;
	if ((rc = rl_cli_find_opid(rl_edit_record(x.ed), RL_OP_ALERT, cli->pos[1], "alerte",
	                           &alert)) != 0)
		return edit_fail(&x, rc);
	if (rl_case_alert_done(rl_edit_record(x.ed), alert) &&
	    rl_record_reg(rl_edit_record(x.ed), &alert->id, RL_F_ALERT_DONE, NULL, 0) == 1) {
		edit_cancel(&x); /* already done: nothing to write */
		return 0;
	}
	if ((rc = put_field(&x, &alert->id, RL_F_ALERT_DONE, "oui")) != 0)
		return edit_fail(&x, rc);
	return edit_commit(&x);
}

/* ---- life cycle ---- */

int
rl_cmd_close(rl_cli *cli)
{
	const char *date = rl_cli_opt(cli, "date"), *reason = rl_cli_opt(cli, "reason");
	uint32_t ymd = rl_date_today();
	char closed[11];
	edit_ctx x;
	int rc;

	if (date != NULL && (rc = rl_cli_parse_date("--date", date, &ymd)) != 0)
		return rc;
	rl_date_format(ymd, closed);
	if ((rc = edit_start(cli, cli->pos[0], &x)) != 0)
		return rc;
	if ((rc = put_field(&x, NULL, RL_F_STATUS, "closed")) != 0 ||
	    (rc = put_field(&x, NULL, RL_F_CLOSED, closed)) != 0 ||
	    (reason != NULL && (rc = put_field(&x, NULL, RL_F_CLOSE_REASON, reason)) != 0))
		return edit_fail(&x, rc);
	return edit_commit(&x);
}

int
rl_cmd_reopen(rl_cli *cli)
{
	edit_ctx x;
	int rc;

	if ((rc = edit_start(cli, cli->pos[0], &x)) != 0)
		return rc;
	if ((rc = put_field(&x, NULL, RL_F_STATUS, "open")) != 0)
		return edit_fail(&x, rc);
	/* A reopened situation has no closing date or reason any more. */
	if (rl_record_get(rl_edit_record(x.ed), RL_F_CLOSED).len > 0 &&
	    (rc = put_field(&x, NULL, RL_F_CLOSED, "")) != 0)
		return edit_fail(&x, rc);
	if (rl_record_get(rl_edit_record(x.ed), RL_F_CLOSE_REASON).len > 0 &&
	    (rc = put_field(&x, NULL, RL_F_CLOSE_REASON, "")) != 0)
		return edit_fail(&x, rc);
	return edit_commit(&x);
}

int
rl_cmd_assign(rl_cli *cli)
{
	edit_ctx x;
	int rc;

	if ((rc = edit_start(cli, cli->pos[0], &x)) != 0)
		return rc;
	if ((rc = put_field(&x, NULL, RL_F_ANTENNA, cli->pos[1])) != 0)
		return edit_fail(&x, rc);
	return edit_commit(&x);
}

int
rl_cmd_erase(rl_cli *cli)
{
	edit_ctx x;
	rl_err e;
	int rc;

	if (!rl_cli_flag(cli, "confirm"))
		return rl_cli_usage(cli, "l'effacement est définitif : ajoutez --confirm");
	if ((rc = edit_start(cli, cli->pos[0], &x)) != 0)
		return rc;
	if ((e = rl_edit_erase(x.ed)) != RL_OK)
		return edit_err(&x, e, "effacement");
	return edit_commit(&x);
}

/* ---- resolve ---- */

int
rl_cmd_resolve(rl_cli *cli)
{
	const char *name = cli->pos[1], *at = strchr(name, '@');
	const rl_op *alert = NULL;
	char fname[32];
	uint8_t f;
	edit_ctx x;
	int rc;

	snprintf(fname, sizeof(fname), "%.*s", (int)(at ? (size_t)(at - name) : strlen(name)),
	         name);
	f = rl_field_parse(fname);
	if (at ? !(f >= RL_F_ALERT_DUE && f < RL_F__ALERT_END)
	       : !(f >= RL_F_KIND && f < RL_F__SITUATION_END))
		return rl_cli_fail("champ inconnu : « %.40s » (un champ de la situation, ou "
		                   "due@ALERTE, text@ALERTE, done@ALERTE)",
		                   name);
	if ((rc = edit_start(cli, cli->pos[0], &x)) != 0)
		return rc;
	if (at != NULL &&
	    (rc = rl_cli_find_opid(rl_edit_record(x.ed), RL_OP_ALERT, at + 1, "alerte", &alert)) !=
	        0)
		return edit_fail(&x, rc);
	if ((rc = put_field(&x, alert ? &alert->id : NULL, f, cli->pos[2])) != 0)
		return edit_fail(&x, rc);
	return edit_commit(&x);
}
