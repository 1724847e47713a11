/*
 * config.h - the INI configuration files of relais-server and relais.
 *
 * Both programs read one INI file (parsed with libinih): `relais-server
 * --config FILE` (default /etc/relais/server.conf when it exists) and
 * `relais --config FILE` (default $XDG_CONFIG_HOME/relais/relais.conf or
 * ~/.config/relais/relais.conf when it exists). deploy/server.conf.example
 * and deploy/relais.conf.example document every key.
 *
 * A configuration file is untrusted input: it is read whole, at most
 * RL_CFG_MAX_BYTES, lines of at most RL_CFG_LINE_MAX bytes, no NUL byte.
 * An unknown section or key, a key given twice, a value out of its range or
 * a line that is not `[section]`, `key = value` or a comment (`#`, `;`) is
 * refused with the line number; nothing of a refused file is used.
 *
 * Values:
 *   durations  an integer with a unit: 250ms, 5s, 10m, 2h (bare: seconds)
 *   sizes      an integer with an optional binary unit K, M, G or T (k, m, g,
 *              t alike): 512K, 1M, 64G (bare: bytes)
 *   counts     a decimal integer
 *   paths      any printable text (no control character), not empty
 *   urls       an NNG url: tcp://HOST:PORT, tcp4://, tcp6://, ipc://PATH,
 *              tls+tcp://HOST:PORT
 *   log_level  error, warn, info or debug
 *
 * The structures below hold what the file said; a field the file did not
 * set stays "unset" (empty string, 0, or -1 for log_level) and the program
 * applies, in this order, its command-line option, its environment
 * variable, the file, and its built-in default.
 */
#ifndef RL_CONFIG_H
#define RL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define RL_CFG_MAX_BYTES (64 * 1024) /* a configuration file, at most */
#define RL_CFG_LINE_MAX 190          /* one line, at most (libinih's bound is 200) */
#define RL_CFG_STR_MAX (RL_CFG_LINE_MAX + 1)
#define RL_CFG_ERR_MAX 256           /* room for an error message */

/* map_size, the LMDB map of a store: address space reserved, not disk
 * space (the data file grows only as data is written). At least 16 MiB, at
 * most 1 TiB. */
#define RL_CFG_MAP_MIN ((uint64_t)16 << 20)
#define RL_CFG_MAP_MAX ((uint64_t)1 << 40)

/* relais-server: sections [server], [sessions], [sync]. */
typedef struct rl_server_config {
	char listen[RL_CFG_STR_MAX];   /* [server] listen: url to serve on */
	char store[RL_CFG_STR_MAX];    /* [server] store: store directory */
	char key_file[RL_CFG_STR_MAX]; /* [server] key_file: store key file */
	int log_level;                 /* [server] log_level: rl_log_level, -1 unset */
	uint64_t map_bytes;            /* [server] map_size: LMDB map size, bytes */
	uint64_t max_sessions;         /* [sessions] max: session table size */
	uint64_t sessions_per_device;  /* [sessions] per_device */
	uint64_t session_idle_ms;      /* [sessions] idle_timeout */
	uint64_t workers;              /* [sessions] workers: handshake/pull threads */
	uint64_t contexts;             /* [sessions] contexts: requests in flight */
	uint64_t skew_ms;              /* [sync] clock_skew: accepted device clock lead (<= 1 h) */
	uint64_t pull_max_entries;     /* [sync] pull_max_entries: entries per pull answer */
	uint64_t write_group_ops;      /* [sync] write_group_ops: changes per commit */
} rl_server_config;

/* relais: sections [client], [sync]. */
typedef struct rl_client_config {
	char store[RL_CFG_STR_MAX];    /* [client] store: store directory */
	char key_file[RL_CFG_STR_MAX]; /* [client] key_file: store key file */
	int log_level;                 /* [client] log_level: rl_log_level, -1 unset */
	uint64_t map_bytes;            /* [client] map_size: LMDB map size, bytes */
	char server[RL_CFG_STR_MAX];   /* [sync] server: url instead of the enrolled one */
	uint64_t interval_ms;          /* [sync] interval: pause between syncs (--watch) */
	uint64_t backoff_min_ms;       /* [sync] backoff_min: first retry window */
	uint64_t backoff_max_ms;       /* [sync] backoff_max: largest retry window */
	uint64_t timeout_ms;           /* [sync] timeout: per request */
	uint64_t deadline_ms;          /* [sync] deadline: one whole sync (watchdog) */
	uint64_t push_ops;             /* [sync] push_ops: changes per push batch */
	uint64_t push_bytes;           /* [sync] push_bytes: bytes per push batch */
} rl_client_config;

/* Sets every field to "unset". */
void rl_server_config_init(rl_server_config *cfg);
void rl_client_config_init(rl_client_config *cfg);

/*
 * Parses a configuration held in memory (text, len bytes; no terminating
 * NUL needed) into cfg, which the call initialises first. On error cfg is
 * left initialised (all unset) and err (errcap bytes, may be NULL) receives
 * a French one-line message starting with "ligne N : " when the error has a
 * line. Errors: RL_ETOOBIG (more than RL_CFG_MAX_BYTES or a line longer than
 * RL_CFG_LINE_MAX), RL_EINVAL (syntax, unknown section or key, key given
 * twice, invalid value, backoff_min above backoff_max), RL_ENOMEM.
 */
rl_err rl_server_config_parse(const char *text, size_t len, rl_server_config *cfg, char *err,
                              size_t errcap);
rl_err rl_client_config_parse(const char *text, size_t len, rl_client_config *cfg, char *err,
                              size_t errcap);

/*
 * Reads and parses the file at path. Errors as the parse functions, plus
 * RL_ENOTFOUND (no such file), RL_EIO (unreadable, or not a regular file).
 */
rl_err rl_server_config_load(const char *path, rl_server_config *cfg, char *err, size_t errcap);
rl_err rl_client_config_load(const char *path, rl_client_config *cfg, char *err, size_t errcap);

/*
 * Parses a size as the files take it (see "sizes" above), for a command-line
 * option that mirrors a file key: s is the whole value, NUL-terminated. On
 * success *out receives the size in bytes; on error *out is unchanged and
 * err (errcap bytes, may be NULL) receives a French message without line
 * number, e.g. "hors des bornes (16M à 1T)". Errors: RL_EINVAL (empty, a
 * sign, a space, an unknown unit, more than 19 digits, or above 2^64 - 1
 * bytes once scaled), RL_ETOOBIG (below min or above max).
 */
rl_err rl_config_size_parse(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
                            size_t errcap);

#endif
