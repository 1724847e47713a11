/*
 * cmd_read.c - the commands that read: show, list, alerts, conflicts.
 *
 * Every read command builds its answer once, as jansson values, and then
 * prints either that JSON document (--json) or a French text rendering of
 * it, so the two outputs always say the same thing. Reads use one read
 * transaction and never write.
 */
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"

/* ---- show ---- */

int
rl_cmd_show(rl_cli *cli)
{
	uint8_t sit[RL_SIT_BYTES];
	char hex[RL_CLI_SIT_HEX + 1];
	rl_replica *rp;
	rl_record rec;
	rl_err e;
	int rc;

	if ((rc = rl_cli_open(cli, &rp)) != 0)
		return rc;
	if ((rc = rl_cli_resolve_sit(rp, cli->pos[0], sit)) != 0) {
		rl_replica_close(rp);
		return rc;
	}
	e = rl_cli_load(rp, sit, &rec);
	rl_replica_close(rp);
	rl_cli_sit_hex(sit, hex);
	if (e != RL_OK) {
		rl_record_fini(&rec);
		return rl_cli_fail_err(e, "lecture de la situation");
	}
	if (rec.erased) {
		rl_record_fini(&rec);
		return rl_cli_fail("situation effacée : %s", hex);
	}
	if (rl_cli_flag(cli, "json"))
		rc = rl_cli_json_print(rl_view_json(&rec, false));
	else if ((e = rl_view_text(stdout, &rec)) != RL_OK)
		rc = rl_cli_fail_err(e, "affichage");
	rl_record_fini(&rec);
	return rc;
}

/* ---- shared: collecting JSON rows over every situation ---- */

typedef struct collect {
	json_t *rows;
	const char *antenna;  /* list --antenna */
	bool open_only;       /* list --open */
	uint32_t due_before;  /* alerts --due-before, 0 for all */
	uint32_t today;
	bool oom;
} collect;

static void
put(json_t *o, const char *k, json_t *v, bool *oom)
{
	if (v == NULL || json_object_set_new(o, k, v) != 0)
		*oom = true;
}

static void
push(json_t *a, json_t *v, bool *oom)
{
	if (v == NULL || json_array_append_new(a, v) != 0)
		*oom = true;
}

static const char *
sget(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* A row and its sort keys (strings owned by the row). */
typedef struct sort_row {
	json_t *o;
	const char *k[3];
} sort_row;

static int
row_cmp(const void *pa, const void *pb)
{
	const sort_row *a = pa, *b = pb;

	for (int i = 0; i < 3; i++) {
		int c = strcmp(a->k[i], b->k[i]);

		if (c != 0)
			return c;
	}
	return 0;
}

/* A new array of the rows sorted by the string keys k1, k2, k3 (k3 may be
 * NULL); rows is released. NULL on allocation failure. */
static json_t *
sorted(json_t *rows, const char *k1, const char *k2, const char *k3)
{
	size_t n = json_array_size(rows);
	sort_row *v;
	json_t *out;

	if ((v = malloc((n + 1) * sizeof(*v))) == NULL || (out = json_array()) == NULL) {
		free(v);
		json_decref(rows);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		v[i].o = json_array_get(rows, i);
		v[i].k[0] = sget(v[i].o, k1);
		v[i].k[1] = sget(v[i].o, k2);
		v[i].k[2] = k3 ? sget(v[i].o, k3) : "";
	}
	qsort(v, n, sizeof(*v), row_cmp);
	for (size_t i = 0; i < n; i++)
		if (json_array_append(out, v[i].o) != 0) {
			json_decref(out);
			out = NULL;
			break;
		}
	free(v);
	json_decref(rows);
	return out;
}

/* ---- list ---- */

static int
list_one(const rl_record *rec, void *arg)
{
	collect *c = arg;
	rl_bytes antenna = rl_record_get(rec, RL_F_ANTENNA);
	rl_bytes status = rl_record_get(rec, RL_F_STATUS);
	rl_cli_conflict *conf;
	size_t nconf = 0;
	char hex[RL_CLI_SIT_HEX + 1];
	json_t *o;

	if (c->open_only && !(status.len == 4 && memcmp(status.p, "open", 4) == 0))
		return 0;
	if (c->antenna && !(antenna.len == strlen(c->antenna) &&
	                    memcmp(antenna.p, c->antenna, antenna.len) == 0))
		return 0;
	if ((o = json_object()) == NULL) {
		c->oom = true;
		return 1;
	}
	if (rl_cli_conflicts(rec, &conf, &nconf) != RL_OK)
		c->oom = true;
	else
		rl_cli_conflicts_free(conf, nconf);
	rl_cli_sit_hex(rec->sit, hex);
	put(o, "id", json_string(hex), &c->oom);
	put(o, "antenna", rl_cli_jstr_or_null(antenna), &c->oom);
	put(o, "kind", rl_cli_jstr_or_null(rl_record_get(rec, RL_F_KIND)), &c->oom);
	put(o, "status", rl_cli_jstr_or_null(status), &c->oom);
	put(o, "opened", rl_cli_jstr_or_null(rl_record_get(rec, RL_F_OPENED)), &c->oom);
	put(o, "consent", rl_cli_jstr_or_null(rl_record_get(rec, RL_F_CONSENT)), &c->oom);
	put(o, "initials", rl_cli_jstr_or_null(rl_record_get(rec, RL_F_INITIALS)), &c->oom);
	put(o, "conflicts", json_integer((json_int_t)nconf), &c->oom);
	push(c->rows, o, &c->oom);
	return c->oom ? 1 : 0;
}

int
rl_cmd_list(rl_cli *cli)
{
	collect c = { 0 };
	rl_replica *rp;
	json_t *rows;
	int rc;

	c.antenna = rl_cli_opt(cli, "antenna");
	c.open_only = rl_cli_flag(cli, "open");
	if (c.antenna && !rl_antenna_valid(c.antenna))
		return rl_cli_fail("code d'antenne invalide : « %.40s »", c.antenna);
	if ((rc = rl_cli_open(cli, &rp)) != 0)
		return rc;
	if ((c.rows = json_array()) == NULL) {
		rl_replica_close(rp);
		return rl_cli_fail_err(RL_ENOMEM, "liste");
	}
	rc = rl_cli_each(rp, list_one, &c);
	rl_replica_close(rp);
	rows = sorted(c.rows, "opened", "id", NULL);
	if (c.oom || rows == NULL) {
		json_decref(rows);
		return rc ? rc : rl_cli_fail_err(RL_ENOMEM, "liste");
	}
	if (rc != 0) {
		json_decref(rows);
		return rc;
	}
	if (rl_cli_flag(cli, "json"))
		return rl_cli_json_print(rows);
	if (json_array_size(rows) == 0)
		printf("Aucune situation.\n");
	else {
		rl_cli_cell(stdout, "SITUATION", 34);
		rl_cli_cell(stdout, "OUVERTE", 12);
		rl_cli_cell(stdout, "ANTENNE", 10);
		rl_cli_cell(stdout, "TYPE", 14);
		rl_cli_cell(stdout, "STATUT", 10);
		rl_cli_cell(stdout, "CONFLITS", 10);
		rl_cli_cell(stdout, "INITIALES", 0);
		putchar('\n');
	}
	for (size_t i = 0; i < json_array_size(rows); i++) {
		json_t *o = json_array_get(rows, i);
		const char *st = sget(o, "status");
		json_int_t nconf = json_integer_value(json_object_get(o, "conflicts"));
		char nc[24];

		rl_cli_cell(stdout, sget(o, "id"), 34);
		rl_cli_cell(stdout, sget(o, "opened"), 12);
		rl_cli_cell(stdout, sget(o, "antenna"), 10);
		rl_cli_cell(stdout, sget(o, "kind"), 14);
		rl_cli_cell(stdout,
		            strcmp(st, "open") == 0     ? "ouverte"
		            : strcmp(st, "closed") == 0 ? "clôturée"
		                                        : st,
		            10);
		snprintf(nc, sizeof(nc), "%lld", (long long)nconf);
		rl_cli_cell(stdout, nconf > 0 ? nc : "", 10);
		rl_cli_cell(stdout, sget(o, "initials"), 0);
		putchar('\n');
	}
	json_decref(rows);
	return 0;
}

/* ---- alerts ---- */

static int
alerts_one(const rl_record *rec, void *arg)
{
	collect *c = arg;
	const rl_op **ops;
	size_t n;
	char hex[RL_CLI_SIT_HEX + 1];

	if (rl_record_list(rec, RL_OP_ALERT, &ops, &n) != RL_OK) {
		c->oom = true;
		return 1;
	}
	rl_cli_sit_hex(rec->sit, hex);
	for (size_t i = 0; i < n && !c->oom; i++) {
		uint32_t due = rl_case_alert_due(rec, ops[i]);
		char d[11], id[RL_CLI_OPID_MAX];
		json_t *o;

		if (rl_case_alert_done(rec, ops[i]) || (c->due_before && due >= c->due_before))
			continue;
		if ((o = json_object()) == NULL) {
			c->oom = true;
			break;
		}
		rl_date_format(due, d);
		rl_cli_opid_format(&ops[i]->id, id);
		put(o, "situation", json_string(hex), &c->oom);
		put(o, "id", json_string(id), &c->oom);
		put(o, "due", json_string(d), &c->oom);
		put(o, "text", rl_cli_jstr(rl_case_alert_text(rec, ops[i])), &c->oom);
		put(o, "done", json_false(), &c->oom);
		put(o, "overdue", json_boolean(rl_case_alert_overdue(rec, ops[i], c->today)), &c->oom);
		put(o, "antenna", rl_cli_jstr_or_null(rl_record_get(rec, RL_F_ANTENNA)), &c->oom);
		put(o, "initials", rl_cli_jstr_or_null(rl_record_get(rec, RL_F_INITIALS)), &c->oom);
		push(c->rows, o, &c->oom);
	}
	free(ops);
	return c->oom ? 1 : 0;
}

int
rl_cmd_alerts(rl_cli *cli)
{
	const char *before = rl_cli_opt(cli, "due-before");
	collect c = { 0 };
	rl_replica *rp;
	json_t *rows;
	int rc;

	c.today = rl_date_today();
	if (before != NULL && (rc = rl_cli_parse_date("--due-before", before, &c.due_before)) != 0)
		return rc;
	if ((rc = rl_cli_open(cli, &rp)) != 0)
		return rc;
	if ((c.rows = json_array()) == NULL) {
		rl_replica_close(rp);
		return rl_cli_fail_err(RL_ENOMEM, "alertes");
	}
	rc = rl_cli_each(rp, alerts_one, &c);
	rl_replica_close(rp);
	rows = sorted(c.rows, "due", "situation", "id");
	if (c.oom || rows == NULL || rc != 0) {
		json_decref(rows);
		return rc ? rc : rl_cli_fail_err(RL_ENOMEM, "alertes");
	}
	if (rl_cli_flag(cli, "json"))
		return rl_cli_json_print(rows);
	if (json_array_size(rows) == 0)
		printf("Aucune alerte en cours.\n");
	for (size_t i = 0; i < json_array_size(rows); i++) {
		json_t *o = json_array_get(rows, i);
		char sit8[9];

		snprintf(sit8, sizeof(sit8), "%s", sget(o, "situation"));
		rl_cli_cell(stdout, json_is_true(json_object_get(o, "overdue")) ? "EN RETARD" : "",
		            10);
		rl_cli_cell(stdout, sget(o, "due"), 12);
		rl_cli_cell(stdout, sit8, 10);
		rl_cli_cell(stdout, sget(o, "initials"), 10);
		printf("[%s]  ", sget(o, "id"));
		rl_cli_cell(stdout, sget(o, "text"), 0);
		putchar('\n');
	}
	json_decref(rows);
	return 0;
}

/* ---- conflicts ---- */

static int
conflicts_one(const rl_record *rec, void *arg)
{
	collect *c = arg;
	rl_cli_conflict *conf;
	size_t n;
	char hex[RL_CLI_SIT_HEX + 1];

	if (rl_cli_conflicts(rec, &conf, &n) != RL_OK) {
		c->oom = true;
		return 1;
	}
	rl_cli_sit_hex(rec->sit, hex);
	for (size_t i = 0; i < n && !c->oom; i++) {
		char name[RL_CLI_OPID_MAX + 16], dev[RL_CLI_DEV_HEX + 1];
		json_t *o = json_object(), *vals = json_array();

		if (o == NULL || vals == NULL) {
			json_decref(o);
			json_decref(vals);
			c->oom = true;
			break;
		}
		rl_cli_conflict_name(&conf[i], name, sizeof(name));
		put(o, "situation", json_string(hex), &c->oom);
		put(o, "field", json_string(name), &c->oom);
		for (size_t k = 0; k < conf[i].n; k++) {
			json_t *v = json_object();

			if (v == NULL) {
				c->oom = true;
				break;
			}
			rl_hex_encode(conf[i].vals[k].op->id.dev, RL_DEV_BYTES, dev);
			put(v, "value", rl_cli_jstr(conf[i].vals[k].value), &c->oom);
			put(v, "author", json_string(dev), &c->oom);
			push(vals, v, &c->oom);
		}
		put(o, "values", vals, &c->oom);
		push(c->rows, o, &c->oom);
	}
	rl_cli_conflicts_free(conf, n);
	return c->oom ? 1 : 0;
}

int
rl_cmd_conflicts(rl_cli *cli)
{
	collect c = { 0 };
	rl_replica *rp;
	json_t *rows;
	int rc;

	if ((rc = rl_cli_open(cli, &rp)) != 0)
		return rc;
	if ((rows = c.rows = json_array()) == NULL) {
		rl_replica_close(rp);
		return rl_cli_fail_err(RL_ENOMEM, "conflits");
	}
	rc = rl_cli_each(rp, conflicts_one, &c);
	rl_replica_close(rp);
	if (c.oom || rc != 0) {
		json_decref(rows);
		return rc ? rc : rl_cli_fail_err(RL_ENOMEM, "conflits");
	}
	if (rl_cli_flag(cli, "json"))
		return rl_cli_json_print(rows);
	if (json_array_size(rows) == 0)
		printf("Aucun conflit.\n");
	for (size_t i = 0; i < json_array_size(rows); i++) {
		json_t *o = json_array_get(rows, i), *vals = json_object_get(o, "values");

		printf("%s  %s :\n", sget(o, "situation"), sget(o, "field"));
		for (size_t k = 0; k < json_array_size(vals); k++) {
			json_t *v = json_array_get(vals, k);
			char who[RL_CLI_SHORT_DEV + 1];

			snprintf(who, sizeof(who), "%s", sget(v, "author"));
			fputs("    « ", stdout);
			rl_cli_cell(stdout, sget(v, "value"), 0);
			printf(" »  par %s%s\n", who, k == 0 ? "  (affichée)" : "");
		}
	}
	if (json_array_size(rows) > 0)
		printf("Pour trancher : relais resolve SITUATION CHAMP VALEUR\n");
	json_decref(rows);
	return 0;
}
