/*
 * main.c - the `relais` program: command table, command-line parsing, help.
 *
 * The command line is: global options, a command name, then the command's
 * options and positional arguments in any order. The global options
 * (--store, --key-file) are also accepted after the command name, so
 * `relais --store D list` and `relais list --store D` are the same. Options
 * take their value as the next argument or after '='; "--" ends the options.
 * Each command declares its options in the table below, which also drives
 * --help, so what is accepted and what is documented cannot drift apart.
 *
 * Configuration: an INI file (--config, else $RELAIS_CONFIG, else
 * $XDG_CONFIG_HOME/relais/relais.conf or ~/.config/relais/relais.conf when
 * it exists; deploy/relais.conf.example documents every key) is read once
 * the command line is parsed. Each setting comes from, in this order: the
 * command line, the environment ($RELAIS_STORE, $RELAIS_PASSPHRASE), the
 * file, the built-in default.
 *
 * Exit status: 0 success, 1 a user error (a one-line French message on
 * stderr), 2 a usage error (unknown command or option, missing argument).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/cli.h"
#include "common/log.h"

#define R RL_CLI_REPEAT
#define V RL_CLI_VALUE
#define F RL_CLI_FLAG
#define JSON_OPT { "json", F, NULL, "un document JSON sur la sortie standard" }

static const rl_cli_command commands[] = {
	{ "init", rl_cmd_init, "--antenna CODE [--role antenna|mobile|hq]",
	  "crée le magasin chiffré et les clés de cet appareil", 0, 0, false, false,
	  { { "antenna", V, "CODE", "antenne de cet appareil (obligatoire)" },
	    { "role", V, "antenna|mobile|hq", "rôle de l'appareil (défaut : antenna)" } } },
	{ "passwd", rl_cmd_passwd, "[--new-key-file FICHIER]",
	  "change la phrase secrète du magasin, ou passe à un fichier de clé", 0, 0, false, true,
	  { { "new-key-file", V, "FICHIER",
	      "protéger désormais le magasin par ce fichier de clé (sinon : nouvelle phrase "
	      "secrète, de $RELAIS_NEW_PASSPHRASE ou du terminal)" } } },
	{ "enroll", rl_cmd_enroll, "--server URL --token JETON",
	  "rattache cet appareil au serveur du siège", 0, 0, false, true,
	  { { "server", V, "URL", "adresse du serveur" },
	    { "token", V, "JETON", "jeton donné par « relais-server enroll »" } } },
	{ "sync", rl_cmd_sync, "[--watch]", "envoie puis reçoit les changements", 0, 0, false,
	  true, { { "watch", F, NULL, "synchroniser en continu" } } },
	{ "status", rl_cmd_status, "[--json]",
	  "appareil, antenne, rôle, changements en attente, dernière synchronisation", 0, 0,
	  false, true, { JSON_OPT } },
	{ "new", rl_cmd_new,
	  "--kind coordination|orientation [--antenna CODE] [--date AAAA-MM-JJ] [--initials S] "
	  "[--sex F|M|X] [--age N] [--commune S] [--referrer S]... [--problem P]... [--pro S]... "
	  "[--consent oui|non|en_attente]",
	  "ouvre une situation ; affiche son identifiant", 0, 0, false, true,
	  { { "kind", V, "coordination|orientation", "type de situation (obligatoire)" },
	    { "antenna", V, "CODE", "antenne responsable (défaut : celle de l'appareil)" },
	    { "date", V, "AAAA-MM-JJ", "date d'ouverture (défaut : aujourd'hui)" },
	    { "initials", V, "S", "initiales de la personne" },
	    { "sex", V, "F|M|X", "sexe" },
	    { "age", V, "N", "âge (0 à 130)" },
	    { "commune", V, "S", "commune" },
	    { "living", V, "TEXTE", "lieu et conditions de vie" },
	    { "history", V, "TEXTE", "antécédents" },
	    { "referrer", R, "S", "adresseur (répétable)" },
	    { "problem", R, "CODE", "problème : acces_soins_psy, logement... (répétable)" },
	    { "pro", R, "S", "professionnel impliqué (répétable)" },
	    { "consent", V, "oui|non|en_attente", "consentement (défaut : en_attente)" } } },
	{ "set", rl_cmd_set, "ID CHAMP=VALEUR...",
	  "écrit des champs : kind, consent, initials, sex, age, commune, living, history, "
	  "evolution",
	  2, -1, false, true, { { NULL } } },
	{ "tag", rl_cmd_tag, "ID +CODE -CODE +referrer:S -pro:S ...",
	  "ajoute (+) ou retire (-) problèmes, adresseurs (referrer:) et professionnels (pro:)",
	  2, -1, true, true, { { NULL } } },
	{ "log", rl_cmd_log,
	  "ID --type vad|appel|reunion|orientation|note [--date AAAA-MM-JJ] [--amends ENTRÉE] "
	  "TEXTE",
	  "ajoute une entrée au journal (TEXTE « - » : lu sur l'entrée standard) ; affiche son "
	  "identifiant",
	  2, -1, false, true,
	  { { "type", V, "vad|appel|reunion|orientation|note",
	      "type d'entrée (vad : visite à domicile) (obligatoire)" },
	    { "date", V, "AAAA-MM-JJ", "date de l'intervention (défaut : aujourd'hui)" },
	    { "amends", V, "ENTRÉE", "identifiant de l'entrée que celle-ci corrige" } } },
	{ "alert", rl_cmd_alert, "ID --due AAAA-MM-JJ TEXTE",
	  "crée une alerte de suivi ; affiche son identifiant", 2, -1, false, true,
	  { { "due", V, "AAAA-MM-JJ", "échéance (obligatoire)" } } },
	{ "alert-done", rl_cmd_alert_done, "ID ALERTE", "marque une alerte comme faite", 2, 2,
	  false, true, { { NULL } } },
	{ "close", rl_cmd_close, "ID [--reason S] [--date AAAA-MM-JJ]", "clôture une situation",
	  1, 1, false, true,
	  { { "reason", V, "TEXTE", "motif de clôture" },
	    { "date", V, "AAAA-MM-JJ", "date de clôture (défaut : aujourd'hui)" } } },
	{ "reopen", rl_cmd_reopen, "ID", "rouvre une situation clôturée", 1, 1, false, true,
	  { { NULL } } },
	{ "assign", rl_cmd_assign, "ID ANTENNE", "confie la situation à une autre antenne", 2, 2,
	  false, true, { { NULL } } },
	{ "erase", rl_cmd_erase, "ID --confirm",
	  "efface définitivement la situation (droit à l'effacement), sur tous les appareils", 1,
	  1, false, true, { { "confirm", F, NULL, "confirme l'effacement (obligatoire)" } } },
	{ "show", rl_cmd_show, "ID [--json]",
	  "affiche la situation : personne, journal, alertes, conflits", 1, 1, false, true,
	  { JSON_OPT } },
	{ "list", rl_cmd_list, "[--open] [--antenna CODE] [--json]",
	  "liste les situations de cet appareil", 0, 0, false, true,
	  { { "open", F, NULL, "seulement les situations ouvertes" },
	    { "antenna", V, "CODE", "seulement celles de cette antenne" }, JSON_OPT } },
	{ "alerts", rl_cmd_alerts, "[--due-before AAAA-MM-JJ] [--json]",
	  "alertes non faites, la plus ancienne échéance d'abord", 0, 0, false, true,
	  { { "due-before", V, "AAAA-MM-JJ", "seulement celles dues avant cette date" },
	    JSON_OPT } },
	{ "conflicts", rl_cmd_conflicts, "[--json]",
	  "champs modifiés en même temps sur plusieurs appareils", 0, 0, false, true,
	  { JSON_OPT } },
	{ "resolve", rl_cmd_resolve, "ID CHAMP VALEUR",
	  "tranche un conflit : écrit une valeur qui remplace toutes les valeurs concurrentes "
	  "(champ d'une alerte : due@ALERTE, text@ALERTE, done@ALERTE)",
	  3, 3, false, true, { { NULL } } },
	{ "export", rl_cmd_export, "[--anonymize] [--format csv|json]",
	  "exporte les situations pour une commission de cas", 0, 0, false, true,
	  { { "anonymize", F, NULL,
	      "sans consentement (consent ≠ oui) : retire initiales, sexe, âge, commune, lieu de "
	      "vie, antécédents, évolution et textes libres" },
	    { "format", V, "csv|json", "format (défaut : csv)" } } },
	{ "export-changes", rl_cmd_export_changes, "FICHIER",
	  "écrit tous les changements de ce magasin dans un fichier (échange hors ligne)", 1, 1,
	  false, true, { { NULL } } },
	{ "import-changes", rl_cmd_import_changes, "FICHIER",
	  "fusionne les changements d'un fichier écrit par « export-changes »", 1, 1, false,
	  true, { { NULL } } },
};

#undef R
#undef V
#undef F

static const rl_cli_command *
find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void
print_global_help(FILE *f)
{
	fputs("Options globales (avant ou après la commande) :\n"
	      "  --store DOSSIER      magasin de données (sinon $RELAIS_STORE, sinon\n"
	      "                       $XDG_DATA_HOME/relais ou ~/.local/share/relais)\n"
	      "  --key-file FICHIER   clé du magasin (sinon $RELAIS_PASSPHRASE, sinon la phrase\n"
	      "                       secrète est demandée au terminal)\n"
	      "  --config FICHIER     fichier de configuration (sinon $RELAIS_CONFIG, sinon\n"
	      "                       ~/.config/relais/relais.conf s'il existe) ; la ligne de\n"
	      "                       commande, puis l'environnement, l'emportent sur lui\n"
	      "  --log-level NIVEAU   journal sur la sortie d'erreur : error, warn, info, debug\n"
	      "  --help, -h           cette aide\n",
	      f);
}

static void
print_main_help(FILE *f)
{
	fputs("usage : relais [--store DOSSIER] [--key-file FICHIER] [--config FICHIER] COMMANDE "
	      "[ARGUMENTS]\n"
	      "Le client de coordination relais : fonctionne sans connexion.\n\n"
	      "Commandes :\n",
	      f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-15s %s\n", commands[i].name, commands[i].summary);
	fputs("  --version       version du programme\n\n", f);
	print_global_help(f);
	fputs("\nAide d'une commande : relais COMMANDE --help\n"
	      "Codes de sortie : 0 succès, 1 erreur (message sur la sortie d'erreur), 2 "
	      "usage incorrect.\n",
	      f);
}

static void
print_command_help(const rl_cli_command *c)
{
	printf("usage : relais %s %s\n%s.\n", c->name, c->usage, c->summary);
	if (c->opts[0].name != NULL) {
		printf("\nOptions :\n");
		for (int i = 0; i < RL_CLI_MAX_OPTS && c->opts[i].name; i++) {
			char left[64];

			snprintf(left, sizeof(left), "--%s%s%s", c->opts[i].name,
			         c->opts[i].meta ? " " : "", c->opts[i].meta ? c->opts[i].meta : "");
			if (strlen(left) > 22)
				printf("  %s\n  %-22s %s\n", left, "", c->opts[i].help);
			else
				printf("  %-22s %s\n", left, c->opts[i].help);
		}
	}
	putchar('\n');
	print_global_help(stdout);
}

/* Matches "--name" or "--name=value" against name; *val gets the inline
 * value or NULL. */
static bool
long_opt_is(const char *arg, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(arg + 2, name, n) != 0)
		return false;
	if (arg[2 + n] == '\0') {
		*val = NULL;
		return true;
	}
	if (arg[2 + n] == '=') {
		*val = arg + 3 + n;
		return true;
	}
	return false;
}

/* Takes the value of an option: inline, or the next argument. Returns 0, or
 * an exit code after printing the usage error. */
static int
take_value(rl_cli *cli, const char *optname, const char *inl, int argc, char **argv, int *i,
           const char **out)
{
	if (inl != NULL) {
		*out = inl;
		return 0;
	}
	if (*i + 1 >= argc)
		return rl_cli_usage(cli, "l'option --%s attend une valeur", optname);
	*out = argv[++*i];
	return 0;
}

/* A global option at argv[*i]? 1 if consumed, 0 if not global, else -exit. */
static int
global_option(rl_cli *cli, int argc, char **argv, int *i)
{
	const char *inl, *val = NULL;
	int rc;

	if (long_opt_is(argv[*i], "store", &inl)) {
		if ((rc = take_value(cli, "store", inl, argc, argv, i, &val)) != 0)
			return -rc;
		if (val[0] == '\0')
			return -rl_cli_usage(cli, "--store attend un dossier");
		cli->store = val;
		return 1;
	}
	if (long_opt_is(argv[*i], "key-file", &inl)) {
		if ((rc = take_value(cli, "key-file", inl, argc, argv, i, &val)) != 0)
			return -rc;
		cli->key_file = val;
		return 1;
	}
	if (long_opt_is(argv[*i], "config", &inl)) {
		if ((rc = take_value(cli, "config", inl, argc, argv, i, &val)) != 0)
			return -rc;
		if (val[0] == '\0')
			return -rl_cli_usage(cli, "--config attend un fichier");
		cli->config = val;
		return 1;
	}
	if (long_opt_is(argv[*i], "log-level", &inl)) {
		if ((rc = take_value(cli, "log-level", inl, argc, argv, i, &val)) != 0)
			return -rc;
		if ((cli->log_level = rl_log_level_parse(val)) < 0)
			return -rl_cli_usage(cli, "niveau de journal inconnu : %.40s (error, warn, "
			                          "info ou debug)",
			                     val);
		return 1;
	}
	return 0;
}

/* Reads the configuration file (see the top of this file) and takes from it
 * what neither the command line nor the environment set. 0, or exit 1. */
static int
load_config(rl_cli *cli)
{
	const char *path = cli->config, *env;
	char err[RL_CFG_ERR_MAX], def[4096];
	rl_err e;

	rl_client_config_init(&cli->cfg);
	if (path == NULL && (env = getenv("RELAIS_CONFIG")) != NULL && env[0] != '\0')
		path = env;
	if (path == NULL) {
		if ((env = getenv("XDG_CONFIG_HOME")) != NULL && env[0] == '/')
			snprintf(def, sizeof(def), "%s/relais/relais.conf", env);
		else if ((env = getenv("HOME")) != NULL && env[0] != '\0')
			snprintf(def, sizeof(def), "%s/.config/relais/relais.conf", env);
		else
			def[0] = '\0';
		if (def[0] != '\0' && access(def, F_OK) == 0)
			path = def;
	}
	if (path != NULL && (e = rl_client_config_load(path, &cli->cfg, err, sizeof(err))) != RL_OK)
		return rl_cli_fail("configuration %s : %s", path, err);
	if (cli->store == NULL && cli->cfg.store[0] != '\0' &&
	    ((env = getenv("RELAIS_STORE")) == NULL || env[0] == '\0'))
		cli->store = cli->cfg.store;
	if (cli->key_file == NULL && cli->cfg.key_file[0] != '\0' &&
	    getenv("RELAIS_PASSPHRASE") == NULL)
		cli->key_file = cli->cfg.key_file;
	if (cli->log_level < 0)
		cli->log_level = cli->cfg.log_level;
	rl_log_setup("relais", cli->log_level < 0 ? RL_LOG_INFO : (rl_log_level)cli->log_level);
	return 0;
}

static int
parse_command_args(rl_cli *cli, int argc, char **argv, int start)
{
	const rl_cli_command *c = cli->cmd;
	bool only_pos = false;
	int rc;

	for (int i = start; i < argc; i++) {
		const char *a = argv[i], *inl;
		int k;

		if (only_pos || a[0] != '-' || a[1] == '\0') {
			cli->pos[cli->npos++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = true;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			print_command_help(c);
			return -1;
		}
		if (a[1] != '-') {
			if (c->dash_args) {
				cli->pos[cli->npos++] = argv[i];
				continue;
			}
			return rl_cli_usage(cli, "option inconnue : %s", a);
		}
		if ((k = global_option(cli, argc, argv, &i)) < 0)
			return -k;
		if (k > 0)
			continue;
		for (k = 0; k < RL_CLI_MAX_OPTS && c->opts[k].name; k++)
			if (long_opt_is(a, c->opts[k].name, &inl))
				break;
		if (k == RL_CLI_MAX_OPTS || c->opts[k].name == NULL) {
			char name[48];
			size_t n = strcspn(a, "=");

			snprintf(name, sizeof(name), "%.*s", (int)(n < 40 ? n : 40), a);
			return rl_cli_usage(cli, "option inconnue pour %s : %s", c->name, name);
		}
		if (c->opts[k].arg == RL_CLI_FLAG) {
			if (inl != NULL)
				return rl_cli_usage(cli, "l'option --%s ne prend pas de valeur",
				                    c->opts[k].name);
			cli->count[k]++;
			continue;
		}
		if ((rc = take_value(cli, c->opts[k].name, inl, argc, argv, &i, &cli->value[k])) != 0)
			return rc;
		if (c->opts[k].arg == RL_CLI_REPEAT) {
			if (cli->values[k] == NULL &&
			    (cli->values[k] = calloc((size_t)argc, sizeof(char *))) == NULL)
				return rl_cli_fail_err(RL_ENOMEM, "arguments");
			cli->values[k][cli->count[k]] = cli->value[k];
		}
		cli->count[k]++;
	}
	if (cli->npos < c->min_pos)
		return rl_cli_usage(cli, "argument manquant");
	if (c->max_pos >= 0 && cli->npos > c->max_pos)
		return rl_cli_usage(cli, "trop d'arguments (« %.40s » en trop)", cli->pos[c->max_pos]);
	return 0;
}

static int
run(int argc, char **argv, rl_cli *cli)
{
	int i = 1, rc;

	while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
		int k;

		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			print_main_help(stdout);
			return -1;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("relais %s\n", RL_VERSION);
			return -1;
		}
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if ((k = global_option(cli, argc, argv, &i)) < 0)
			return -k;
		if (k == 0) {
			char name[48];

			snprintf(name, sizeof(name), "%.40s", argv[i]);
			return rl_cli_usage(NULL, "option inconnue : %s", name);
		}
		i++;
	}
	if (i >= argc) {
		print_main_help(stderr);
		return RL_CLI_EXIT_USAGE;
	}
	if (strcmp(argv[i], "help") == 0) {
		const rl_cli_command *c = i + 1 < argc ? find_command(argv[i + 1]) : NULL;

		if (c != NULL)
			print_command_help(c);
		else
			print_main_help(stdout);
		return -1;
	}
	if ((cli->cmd = find_command(argv[i])) == NULL) {
		char name[48];

		snprintf(name, sizeof(name), "%.40s", argv[i]);
		return rl_cli_usage(NULL, "commande inconnue : %s", name);
	}
	if ((cli->pos = calloc((size_t)argc, sizeof(char *))) == NULL)
		return rl_cli_fail_err(RL_ENOMEM, "arguments");
	if ((rc = parse_command_args(cli, argc, argv, i + 1)) != 0)
		return rc;
	if ((rc = load_config(cli)) != 0)
		return rc;
	return cli->cmd->run(cli);
}

int
main(int argc, char **argv)
{
	rl_cli cli;
	int rc;

	memset(&cli, 0, sizeof(cli));
	cli.log_level = -1;
	/* A file-size limit (ulimit -f) must fail a write with EFBIG, which the
	 * store reports as a full disk, rather than kill the program mid-edit. */
	signal(SIGXFSZ, SIG_IGN);
	if (rl_crypto_init() != RL_OK)
		return rl_cli_fail("initialisation de la cryptographie impossible");
	rc = run(argc, argv, &cli);
	if (rc < 0)
		rc = 0; /* help or version printed */
	if (fflush(stdout) != 0 && rc == 0)
		rc = rl_cli_fail("écriture de la sortie impossible");
	for (int k = 0; k < RL_CLI_MAX_OPTS; k++)
		free(cli.values[k]);
	free(cli.pos);
	free(cli.store_default);
	return rc;
}
