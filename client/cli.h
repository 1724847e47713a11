/*
 * cli.h - internals of the `relais` client program, shared by its modules.
 *
 * main.c parses the command line into an rl_cli (global options, the
 * command's own options, its positional arguments) and calls the command's
 * run function. Commands return an exit status: 0 success, 1 a user error
 * (one French line on stderr), 2 a usage error. The helpers below print
 * those messages, open the store with the user's secret, resolve the ids a
 * coordinator types, validate values, and build JSON with jansson.
 *
 * Modules: main.c (parsing, dispatch, help), util.c (helpers declared here),
 * view.c (a situation as JSON and as text), cmd_edit.c (commands that
 * write), cmd_read.c (commands that read), cmd_admin.c (init, passwd,
 * status), export.c (case-commission export), changes.c (offline exchange
 * of changes between stores), sync_cmd.c (server side: sync, enroll, the
 * reachability probe; replaced by the sync implementation).
 */
#ifndef RL_CLI_H
#define RL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "common/config.h"
#include "common/record.h"
#include "common/casefile.h"
#include "common/replica.h"

#define RL_CLI_EXIT_OK 0
#define RL_CLI_EXIT_USER 1
#define RL_CLI_EXIT_USAGE 2

#define RL_CLI_MAX_OPTS 16       /* options one command declares */
#define RL_CLI_SIT_PREFIX_MIN 6  /* shortest situation id prefix accepted */
#define RL_CLI_SIT_HEX (2 * RL_SIT_BYTES)
#define RL_CLI_DEV_HEX (2 * RL_DEV_BYTES)
#define RL_CLI_OPID_DEV_BYTES 8  /* device bytes shown in an entry/alert id */
#define RL_CLI_OPID_MAX 96       /* room for any printed or typed opid */
#define RL_CLI_SHORT_DEV 8       /* hex chars of an author shown in text */

/* One option a command accepts, spelled --name. */
typedef enum rl_cli_arg {
	RL_CLI_FLAG,   /* no value */
	RL_CLI_VALUE,  /* one value; given twice, the last one counts */
	RL_CLI_REPEAT, /* a value, may be given several times */
} rl_cli_arg;

typedef struct rl_cli_optspec {
	const char *name;
	rl_cli_arg arg;
	const char *meta; /* what the value is, for --help ("AAAA-MM-JJ"), or NULL */
	const char *help; /* French, one line, for --help */
} rl_cli_optspec;

typedef struct rl_cli rl_cli;

typedef struct rl_cli_command {
	const char *name;
	int (*run)(rl_cli *cli);
	const char *usage;   /* arguments after the name, e.g. "ID FIELD=VALUE..." */
	const char *summary; /* French, one line */
	int min_pos;         /* positional arguments, at least */
	int max_pos;         /* at most; -1 for no bound */
	bool dash_args;      /* "-word" is a positional argument (tag) */
	bool needs_store;    /* documented: works on an existing store */
	rl_cli_optspec opts[RL_CLI_MAX_OPTS]; /* ends with a NULL name */
} rl_cli_command;

/* The parsed command line. */
struct rl_cli {
	const rl_cli_command *cmd;
	const char *store;    /* --store, else [client] store unless $RELAIS_STORE
	                         is set, else NULL (then $RELAIS_STORE or the default) */
	const char *key_file; /* --key-file, else [client] key_file unless
	                         $RELAIS_PASSPHRASE is set, else NULL */
	const char *config;   /* --config, else NULL */
	int log_level;        /* --log-level, else -1 */
	rl_client_config cfg; /* the configuration file, all unset if none */
	int npos;
	char **pos;           /* positional arguments (borrow argv) */
	/* Option values, parallel to cmd->opts. */
	unsigned count[RL_CLI_MAX_OPTS];
	const char *value[RL_CLI_MAX_OPTS];  /* last value given */
	const char **values[RL_CLI_MAX_OPTS]; /* every value (RL_CLI_REPEAT) */
	char *store_default;  /* owned: the per-user default, once computed */
};

/* ---- the commands (their table is in main.c) ---- */

int rl_cmd_init(rl_cli *cli);
int rl_cmd_passwd(rl_cli *cli);
int rl_cmd_status(rl_cli *cli);
int rl_cmd_new(rl_cli *cli);
int rl_cmd_set(rl_cli *cli);
int rl_cmd_tag(rl_cli *cli);
int rl_cmd_log(rl_cli *cli);
int rl_cmd_alert(rl_cli *cli);
int rl_cmd_alert_done(rl_cli *cli);
int rl_cmd_close(rl_cli *cli);
int rl_cmd_reopen(rl_cli *cli);
int rl_cmd_assign(rl_cli *cli);
int rl_cmd_erase(rl_cli *cli);
int rl_cmd_resolve(rl_cli *cli);
int rl_cmd_show(rl_cli *cli);
int rl_cmd_list(rl_cli *cli);
int rl_cmd_alerts(rl_cli *cli);
int rl_cmd_conflicts(rl_cli *cli);
int rl_cmd_export(rl_cli *cli);
int rl_cmd_export_changes(rl_cli *cli);
int rl_cmd_import_changes(rl_cli *cli);

/* A decoded changes file (changes.c; the fuzz target uses it too). */
typedef struct rl_changes {
	uint8_t device[RL_DEV_BYTES];
	size_t n;
	rl_op **ops; /* each from rl_op_dup */
} rl_changes;

/* Decodes a whole changes file into ch (owned by the caller on success:
 * rl_changes_free() it; on error ch is empty). Ops are validated; nothing
 * else is checked. RL_EPROTO (malformed), RL_EVERSION, RL_EINVAL /
 * RL_ETOOBIG (an op out of bounds), RL_ENOMEM. */
rl_err rl_changes_decode(rl_bytes in, rl_changes *ch);
void rl_changes_free(rl_changes *ch);

/* sync_cmd.c: the server side of the client (enroll, sync, the status probe). */
int rl_cmd_sync(rl_cli *cli);
int rl_cmd_enroll(rl_cli *cli);

/* Whether the HQ server answers, for `relais status`. */
typedef enum rl_cli_reach {
	RL_CLI_REACH_UNKNOWN = -1, /* no server configured, or not probed */
	RL_CLI_REACH_NO = 0,       /* refused, or no route */
	RL_CLI_REACH_YES = 1,
	RL_CLI_REACH_SILENT = 2,   /* connects but does not answer in time */
} rl_cli_reach;

/* Probes the server this replica is enrolled with; returns quickly.
 * Must not write to the store. */
rl_cli_reach rl_sync_probe(rl_cli *cli, rl_replica *rp);

/* ---- options ---- */

/* The last value of option name, or NULL if not given. */
const char *rl_cli_opt(const rl_cli *cli, const char *name);
/* Whether a flag was given. */
bool rl_cli_flag(const rl_cli *cli, const char *name);
/* Every value of a repeatable option; *n receives the count. */
const char **rl_cli_optv(const rl_cli *cli, const char *name, size_t *n);

/* ---- messages and exit codes ---- */

/* Prints "relais: <message>" on stderr; returns RL_CLI_EXIT_USER. */
int rl_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "relais: <what> : <French text of e>"; returns RL_CLI_EXIT_USER. */
int rl_cli_fail_err(rl_err e, const char *what);
/* Prints the message and the command's usage line on stderr; returns
 * RL_CLI_EXIT_USAGE. */
int rl_cli_usage(const rl_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- store and secret ---- */

/* The store directory to use (never NULL). */
const char *rl_cli_store_dir(rl_cli *cli);

/* A secret obtained from --key-file, $RELAIS_PASSPHRASE or the terminal. */
typedef struct rl_cli_secret {
	rl_secret s;
	char *pass;   /* secret memory, or NULL */
	uint8_t *key; /* secret memory, or NULL */
} rl_cli_secret;

/*
 * Gets the secret that opens (or, with creating true, protects) the store:
 * key_file if not NULL, else env_name's value, else a prompt on the
 * terminal (twice when creating). Prints the error and returns
 * RL_CLI_EXIT_USER when there is none; 0 on success. Release with
 * rl_cli_secret_fini().
 */
int rl_cli_secret_get(const char *key_file, const char *env_name, const char *prompt,
                      bool creating, rl_cli_secret *out);
void rl_cli_secret_fini(rl_cli_secret *sec);

/* Opens the replica with the user's secret; prints the error and returns 1
 * on failure. */
int rl_cli_open(rl_cli *cli, rl_replica **out);

/* ---- ids ---- */

/*
 * Resolves a situation id as typed (32 hex chars, or a unique prefix of at
 * least RL_CLI_SIT_PREFIX_MIN) to the full id held in the store. Erased
 * situations resolve too. Prints the error (unknown, ambiguous, malformed)
 * and returns 1 on failure.
 */
int rl_cli_resolve_sit(rl_replica *rp, const char *typed, uint8_t sit[RL_SIT_BYTES]);

/* Lowercase hex of a situation id into out[RL_CLI_SIT_HEX + 1]. */
void rl_cli_sit_hex(const uint8_t sit[RL_SIT_BYTES], char *out);

/* The printed form of an entry or alert id: the first
 * RL_CLI_OPID_DEV_BYTES of the author device in hex, '-', the counter. */
void rl_cli_opid_format(const rl_opid *id, char out[RL_CLI_OPID_MAX]);

/*
 * Finds the operation of the given kind in rec whose id matches typed:
 * "HEX-CTR" where HEX is a prefix (4 to 64 hex chars) of the author device.
 * Prints an error naming what (e.g. "entrée du journal") and returns 1 when
 * it is malformed, unknown or ambiguous.
 */
int rl_cli_find_opid(const rl_record *rec, uint8_t kind, const char *typed, const char *what,
                     const rl_op **out);

/* ---- values ---- */

/* Parses a date option; prints "date invalide" and returns 1 on failure. */
int rl_cli_parse_date(const char *opt, const char *s, uint32_t *ymd);

/* Checks a value typed by the user: at most RL_MAX_VALUE bytes, valid
 * UTF-8, no control characters (newline and tab allowed when multiline).
 * Prints the error and returns 1 on failure. */
int rl_cli_check_text(const char *what, const char *s, bool multiline);

/*
 * Validates and normalises the value of a situation register (kind,
 * consent, sex, age, ...) into out (holds RL_MAX_VALUE + 1). Prints the
 * error and returns 1 when it is not acceptable.
 */
int rl_cli_check_field(uint8_t field, const char *s, char *out, size_t cap);

/* A problem code: [a-z0-9_]+, at most RL_MAX_ELEM bytes. */
bool rl_cli_problem_valid(const char *s);

/* Reads a whole small file (or stdin for "-") of at most max bytes into
 * out. Prints the error and returns 1 on failure. */
int rl_cli_read_file(const char *path, size_t max, rl_buf *out);

/* ---- records ---- */

/* Loads a situation in a read transaction. */
rl_err rl_cli_load(rl_replica *rp, const uint8_t sit[RL_SIT_BYTES], rl_record *rec);

/* Calls fn for every situation the store holds, in id order; stops at the
 * first non-zero return, which it returns. Erased ones are skipped. */
typedef int (*rl_cli_each_fn)(const rl_record *rec, void *arg);
int rl_cli_each(rl_replica *rp, rl_cli_each_fn fn, void *arg);

/* Alerts and journal rules: common/casefile.h. */

/* A conflict: a register with several distinct live values. */
typedef struct rl_cli_conflict {
	const rl_op *alert; /* NULL for a situation field */
	uint8_t field;
	size_t n;
	rl_regval *vals;    /* heap array of n */
} rl_cli_conflict;

/* The conflicts of a record (situation fields, then alert fields). Free
 * with rl_cli_conflicts_free(). */
rl_err rl_cli_conflicts(const rl_record *rec, rl_cli_conflict **out, size_t *n);
void rl_cli_conflicts_free(rl_cli_conflict *c, size_t n);

/* The name of a conflict's field as shown and typed back to `resolve`:
 * "commune", or "done@ALERTID" for an alert field. */
void rl_cli_conflict_name(const rl_cli_conflict *c, char *out, size_t cap);

/* ---- output ---- */

/* A JSON string of untrusted bytes: invalid UTF-8 sequences become U+FFFD.
 * NULL only on allocation failure. */
json_t *rl_cli_jstr(rl_bytes b);
/* json null for a zero-length value, else rl_cli_jstr. */
json_t *rl_cli_jstr_or_null(rl_bytes b);
/* Prints one JSON document on stdout and releases it; 1 on failure. */
int rl_cli_json_print(json_t *doc);

/* Writes untrusted text to f for a terminal: control characters (and the
 * C1 range) become '?'; with indent not NULL, newlines are kept and
 * followed by indent, otherwise they become spaces. */
void rl_cli_print_safe(FILE *f, rl_bytes b, const char *indent);

/* Prints s (untrusted, NUL-terminated) as a table cell of width columns:
 * control characters become '?', a longer text is cut with "…", a shorter
 * one padded with spaces. width 0: printed whole, unpadded. */
void rl_cli_cell(FILE *f, const char *s, int width);

/* ---- views (view.c) ---- */

/* The situation as the JSON object of `show --json`; anonymize drops the
 * identifying fields and free texts (export --anonymize). NULL on ENOMEM. */
json_t *rl_view_json(const rl_record *rec, bool anonymize);
/* Whether rec's consent is "oui". */
bool rl_view_consented(const rl_record *rec);
/* The case file as French text on f. */
rl_err rl_view_text(FILE *f, const rl_record *rec);

#endif
