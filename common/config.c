/*
 * config.c - INI configuration files, parsed with libinih, checked against a
 * table of known keys.
 *
 * The file is read whole (bounded) and checked byte by byte before libinih
 * sees it: no NUL, no control character but tab and line ends, no line
 * longer than RL_CFG_LINE_MAX. libinih then reads it through our own line
 * reader (ini_parse_stream), which is how we know the line number of every
 * key the handler receives: libinih's stock handler has no line number.
 *
 * libinih is lenient where a configuration file should not be: a section it
 * has no key for is never reported, an indented line continues the previous
 * value (Python's multi-line values), a key may be repeated. The reader
 * refuses the first two itself, and the handler refuses repeated keys, so
 * the same file means the same thing whatever libinih's build options.
 *
 * Only the first error is reported: the smallest line among ours and the
 * one libinih returns for its own syntax errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "log.h"

#define CFG_ECHO_MAX 40 /* bytes of a refused value quoted in a message */

typedef enum cfg_kind {
	K_TEXT,  /* printable text: paths */
	K_URL,   /* NNG url */
	K_LEVEL, /* log level */
	K_COUNT, /* decimal integer */
	K_MS,    /* duration, stored in ms */
	K_BYTES, /* size, stored in bytes */
} cfg_kind;

typedef struct cfg_spec {
	const char *section;
	const char *name;
	cfg_kind kind;
	uint64_t min, max; /* K_COUNT, K_MS, K_BYTES */
	size_t off;        /* into the configuration structure */
} cfg_spec;

#define SEC 1000ull
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

#define KIB 1024ull
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)
#define TIB (1024 * GIB)
#define CFG_SIZE_EXPECT "une taille comme 65536, 512K, 1M, 64G"
#define CFG_SIZE_STR_MAX 24 /* a size printed by cfg_size_str */

#define S(f) offsetof(rl_server_config, f)
static const cfg_spec server_specs[] = {
	{ "server", "listen", K_URL, 0, 0, S(listen) },
	{ "server", "store", K_TEXT, 0, 0, S(store) },
	{ "server", "key_file", K_TEXT, 0, 0, S(key_file) },
	{ "server", "log_level", K_LEVEL, 0, 0, S(log_level) },
	{ "server", "map_size", K_BYTES, RL_CFG_MAP_MIN, RL_CFG_MAP_MAX, S(map_bytes) },
	{ "sessions", "max", K_COUNT, 16, 1u << 20, S(max_sessions) },
	{ "sessions", "per_device", K_COUNT, 1, 64, S(sessions_per_device) },
	{ "sessions", "idle_timeout", K_MS, 10 * SEC, DAY, S(session_idle_ms) },
	{ "sessions", "workers", K_COUNT, 1, 64, S(workers) },
	{ "sessions", "contexts", K_COUNT, 1, 4096, S(contexts) },
	{ "sync", "clock_skew", K_MS, MIN, HOUR, S(skew_ms) },
	{ "sync", "pull_max_entries", K_COUNT, 1, 8192, S(pull_max_entries) },
	{ "sync", "write_group_ops", K_COUNT, 1, 1u << 20, S(write_group_ops) },
};
static const char *const server_sections[] = { "server", "sessions", "sync" };
#undef S

#define C(f) offsetof(rl_client_config, f)
static const cfg_spec client_specs[] = {
	{ "client", "store", K_TEXT, 0, 0, C(store) },
	{ "client", "key_file", K_TEXT, 0, 0, C(key_file) },
	{ "client", "log_level", K_LEVEL, 0, 0, C(log_level) },
	{ "client", "map_size", K_BYTES, RL_CFG_MAP_MIN, RL_CFG_MAP_MAX, C(map_bytes) },
	{ "sync", "server", K_URL, 0, 0, C(server) },
	{ "sync", "interval", K_MS, 100, DAY, C(interval_ms) },
	{ "sync", "backoff_min", K_MS, 100, HOUR, C(backoff_min_ms) },
	{ "sync", "backoff_max", K_MS, 100, DAY, C(backoff_max_ms) },
	{ "sync", "timeout", K_MS, SEC, 10 * MIN, C(timeout_ms) },
	{ "sync", "deadline", K_MS, 10 * SEC, DAY, C(deadline_ms) },
	{ "sync", "push_ops", K_COUNT, 1, 16384, C(push_ops) },
	{ "sync", "push_bytes", K_BYTES, 4096, 4u << 20, C(push_bytes) },
};
static const char *const client_sections[] = { "client", "sync" };
#undef C

typedef struct cfg_parse {
	const cfg_spec *specs;
	size_t nspecs;
	const char *const *sections;
	size_t nsections;
	void *dst;
	uint64_t seen; /* one bit per spec */
	/* the reader */
	const char *p, *end;
	int line;
	/* the first error of ours */
	int err_line; /* 0: none */
	rl_err err;
	char msg[RL_CFG_ERR_MAX];
} cfg_parse;

static void
cfg_fail(cfg_parse *c, rl_err e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void
cfg_msg(char *err, size_t errcap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
cfg_fail(cfg_parse *c, rl_err e, const char *fmt, ...)
{
	va_list ap;

	if (c->err_line != 0)
		return;
	c->err_line = c->line;
	c->err = e;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
}

/* ---- values ---- */

/* A decimal integer at s[0..n) into *v; false on anything else or overflow. */
static bool
cfg_digits(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	if (n == 0 || n > 19)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return true;
}

/* An integer followed by a unit from units (NULL-terminated names, scales
 * parallel); a bare integer takes bare_scale. */
static bool
cfg_scaled(const char *s, const char *const *units, const uint64_t *scales, uint64_t bare_scale,
           uint64_t *v)
{
	size_t n = strspn(s, "0123456789");
	uint64_t x, scale = 0;

	if (!cfg_digits(s, n, &x))
		return false;
	if (s[n] == '\0')
		scale = bare_scale;
	for (size_t i = 0; units[i] != NULL && scale == 0; i++)
		if (strcmp(s + n, units[i]) == 0)
			scale = scales[i];
	if (scale == 0 || __builtin_mul_overflow(x, scale, v))
		return false;
	return true;
}

/* v in the largest binary unit that divides it (16M, 1T; 4100 stays bare),
 * as a file would write it. */
static void
cfg_size_str(uint64_t v, char out[CFG_SIZE_STR_MAX])
{
	static const char units[] = "KMGT";
	size_t u = 0;

	while (u < sizeof(units) - 1 && v != 0 && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, CFG_SIZE_STR_MAX, "%llu", (unsigned long long)v);
	else
		snprintf(out, CFG_SIZE_STR_MAX, "%llu%c", (unsigned long long)v, units[u - 1]);
}

rl_err
rl_config_size_parse(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
                     size_t errcap)
{
	static const char *const units[] = { "K", "k", "M", "m", "G", "g", "T", "t", NULL };
	static const uint64_t scales[] = { KIB, KIB, MIB, MIB, GIB, GIB, TIB, TIB };
	char lo[CFG_SIZE_STR_MAX], hi[CFG_SIZE_STR_MAX];
	uint64_t v;

	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if (!cfg_scaled(s, units, scales, 1, &v)) {
		cfg_msg(err, errcap, "valeur invalide (attendu : %s)", CFG_SIZE_EXPECT);
		return RL_EINVAL;
	}
	if (v < min || v > max) {
		cfg_size_str(min, lo);
		cfg_size_str(max, hi);
		cfg_msg(err, errcap, "hors des bornes (%s à %s)", lo, hi);
		return RL_ETOOBIG;
	}
	*out = v;
	return RL_OK;
}

static bool
cfg_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* tcp://host:port (tcp4, tcp6, tls+tcp) or ipc://path. */
static bool
cfg_url(const char *s)
{
	static const char *const tcp[] = { "tcp://", "tcp4://", "tcp6://", "tls+tcp://" };
	const char *rest = NULL, *colon;
	uint64_t port;

	if (strncmp(s, "ipc://", 6) == 0)
		return s[6] != '\0' && strchr(s, ' ') == NULL;
	for (size_t i = 0; i < sizeof(tcp) / sizeof(tcp[0]) && rest == NULL; i++)
		if (strncmp(s, tcp[i], strlen(tcp[i])) == 0)
			rest = s + strlen(tcp[i]);
	if (rest == NULL || strchr(rest, ' ') != NULL || strchr(rest, '/') != NULL)
		return false;
	colon = strrchr(rest, ':');
	if (colon == NULL || colon == rest)
		return false;
	return cfg_digits(colon + 1, strlen(colon + 1), &port) && port >= 1 && port <= 65535;
}

/* Parses value for spec into the destination; false with a message. */
static bool
cfg_set(cfg_parse *c, const cfg_spec *sp, const char *value)
{
	static const char *const ms_units[] = { "ms", "s", "m", "h", NULL };
	static const uint64_t ms_scales[] = { 1, SEC, MIN, HOUR };
	char msg[RL_CFG_ERR_MAX], *dst = (char *)c->dst + sp->off;
	const char *expect = NULL;
	uint64_t v = 0;
	int level;

	switch (sp->kind) {
	case K_TEXT:
	case K_URL:
		if (value[0] == '\0' || !cfg_printable(value))
			expect = "un texte non vide";
		else if (sp->kind == K_URL && !cfg_url(value))
			expect = "une adresse tcp://HÔTE:PORT ou ipc://CHEMIN";
		else if (strlen(value) >= RL_CFG_STR_MAX)
			expect = "un texte plus court";
		else {
			memcpy(dst, value, strlen(value) + 1);
			return true;
		}
		break;
	case K_LEVEL:
		if ((level = rl_log_level_parse(value)) < 0) {
			expect = "error, warn, info ou debug";
			break;
		}
		*(int *)(void *)dst = level;
		return true;
	case K_COUNT:
		if (!cfg_digits(value, strlen(value), &v))
			expect = "un nombre entier";
		break;
	case K_MS:
		if (!cfg_scaled(value, ms_units, ms_scales, SEC, &v))
			expect = "une durée comme 500ms, 5s, 10m, 1h";
		break;
	case K_BYTES:
		/* Its own messages, bounds in units: 16M reads better than 16777216. */
		if (rl_config_size_parse(value, sp->min, sp->max, &v, msg, sizeof(msg)) != RL_OK) {
			cfg_fail(c, RL_EINVAL, "%s = %.*s : %s", sp->name, CFG_ECHO_MAX, value, msg);
			return false;
		}
		break;
	}
	if (expect == NULL && (v < sp->min || v > sp->max)) {
		cfg_fail(c, RL_EINVAL, "%s = %.*s : hors des bornes (%llu à %llu%s)", sp->name,
		         CFG_ECHO_MAX, value, (unsigned long long)sp->min,
		         (unsigned long long)sp->max,
		         sp->kind == K_MS ? " ms" : "");
		return false;
	}
	if (expect != NULL) {
		cfg_fail(c, RL_EINVAL, "%s = %.*s : valeur invalide (attendu : %s)", sp->name,
		         CFG_ECHO_MAX, value, expect);
		return false;
	}
	*(uint64_t *)(void *)dst = v;
	return true;
}

/* ---- libinih callbacks ---- */

static bool
cfg_known_section(const cfg_parse *c, const char *name, size_t n)
{
	for (size_t i = 0; i < c->nsections; i++)
		if (strlen(c->sections[i]) == n && memcmp(c->sections[i], name, n) == 0)
			return true;
	return false;
}

/* fgets-like over the checked buffer; also refuses what libinih would take
 * silently (unknown empty sections, indented continuation lines). */
static char *
cfg_reader(char *str, int num, void *stream)
{
	cfg_parse *c = stream;
	const char *nl, *s;
	size_t n;

	if (c->p >= c->end || c->err_line != 0)
		return NULL;
	nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	n = nl ? (size_t)(nl - c->p) + 1 : (size_t)(c->end - c->p);
	c->line++;
	/* Checked before parsing: n - 1 <= RL_CFG_LINE_MAX < num - 2. */
	if (n + 1 > (size_t)num) {
		cfg_fail(c, RL_ETOOBIG, "ligne trop longue");
		return NULL;
	}
	memcpy(str, c->p, n);
	str[n] = '\0';
	c->p += n;
	s = str + strspn(str, " \t");
	if (s != str && *s != '\0' && *s != '\r' && *s != '\n' && *s != '#' && *s != ';')
		cfg_fail(c, RL_EINVAL, "une ligne ne commence pas par une espace");
	else if (*s == '[') {
		const char *close = strchr(s, ']');

		if (close != NULL && !cfg_known_section(c, s + 1, (size_t)(close - s - 1)))
			cfg_fail(c, RL_EINVAL, "section inconnue [%.*s]",
			         (int)((size_t)(close - s - 1) < CFG_ECHO_MAX ? close - s - 1
			                                                       : CFG_ECHO_MAX),
			         s + 1);
	}
	return str;
}

static int
cfg_handler(void *user, const char *section, const char *name, const char *value)
{
	cfg_parse *c = user;

	if (c->err_line != 0)
		return 0;
	if (section[0] == '\0') {
		cfg_fail(c, RL_EINVAL, "clé « %.*s » hors de toute [section]", CFG_ECHO_MAX, name);
		return 0;
	}
	if (!cfg_known_section(c, section, strlen(section)))
		return 0; /* reported by the reader */
	if (value == NULL) { /* only if libinih was built to allow it */
		cfg_fail(c, RL_EINVAL, "clé « %.*s » sans valeur", CFG_ECHO_MAX, name);
		return 0;
	}
	for (size_t i = 0; i < c->nspecs; i++) {
		const cfg_spec *sp = &c->specs[i];

		if (strcmp(sp->section, section) != 0 || strcmp(sp->name, name) != 0)
			continue;
		if (c->seen & (1ull << i)) {
			cfg_fail(c, RL_EINVAL, "clé « %s » répétée dans [%s]", name, section);
			return 0;
		}
		c->seen |= 1ull << i;
		return cfg_set(c, sp, value) ? 1 : 0;
	}
	cfg_fail(c, RL_EINVAL, "clé inconnue « %.*s » dans [%s]", CFG_ECHO_MAX, name, section);
	return 0;
}

/* ---- parse and load ---- */

static void
cfg_msg(char *err, size_t errcap, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errcap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errcap, fmt, ap);
	va_end(ap);
}

/* Checks the raw bytes: size, characters, line lengths. */
static rl_err
cfg_precheck(const char *text, size_t len, char *err, size_t errcap)
{
	size_t col = 0;
	int line = 1;

	if (len > RL_CFG_MAX_BYTES) {
		cfg_msg(err, errcap, "fichier trop grand (plus de %d octets)", RL_CFG_MAX_BYTES);
		return RL_ETOOBIG;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (ch == '\n') {
			line++;
			col = 0;
			continue;
		}
		if ((ch < 0x20 && ch != '\t' && ch != '\r') || ch == 0x7f) {
			cfg_msg(err, errcap, "ligne %d : caractère de contrôle interdit", line);
			return RL_EINVAL;
		}
		if (++col > RL_CFG_LINE_MAX) {
			cfg_msg(err, errcap, "ligne %d : ligne trop longue (plus de %d octets)", line,
			        RL_CFG_LINE_MAX);
			return RL_ETOOBIG;
		}
	}
	return RL_OK;
}

static rl_err
cfg_parse_text(const char *text, size_t len, const cfg_spec *specs, size_t nspecs,
               const char *const *sections, size_t nsections, void *dst, char *err,
               size_t errcap)
{
	cfg_parse c;
	rl_err e;
	int rc;

	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if ((e = cfg_precheck(text, len, err, errcap)) != RL_OK)
		return e;
	/* A UTF-8 byte order mark is tolerated, and skipped here so that the
	 * reader's own checks see the first line as libinih does. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		text += 3;
		len -= 3;
	}
	memset(&c, 0, sizeof(c));
	c.specs = specs;
	c.nspecs = nspecs;
	c.sections = sections;
	c.nsections = nsections;
	c.dst = dst;
	c.p = text;
	c.end = text + len;
	rc = ini_parse_stream(cfg_reader, &c, cfg_handler, &c);
	if (rc == -2) {
		cfg_msg(err, errcap, "mémoire insuffisante");
		return RL_ENOMEM;
	}
	if (rc > 0 && (c.err_line == 0 || rc < c.err_line)) {
		cfg_msg(err, errcap,
		        "ligne %d : syntaxe invalide (attendu « [section] », « clé = valeur » ou un "
		        "commentaire # ou ;)",
		        rc);
		return RL_EINVAL;
	}
	if (c.err_line != 0) {
		cfg_msg(err, errcap, "ligne %d : %s", c.err_line, c.msg);
		return c.err;
	}
	return rc == 0 ? RL_OK : RL_EINVAL;
}

void
rl_server_config_init(rl_server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = -1;
}

void
rl_client_config_init(rl_client_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = -1;
}

rl_err
rl_server_config_parse(const char *text, size_t len, rl_server_config *cfg, char *err,
                       size_t errcap)
{
	rl_err e;

	rl_server_config_init(cfg);
	e = cfg_parse_text(text, len, server_specs, sizeof(server_specs) / sizeof(server_specs[0]),
	                   server_sections, sizeof(server_sections) / sizeof(server_sections[0]), cfg,
	                   err, errcap);
	if (e != RL_OK)
		rl_server_config_init(cfg);
	return e;
}

rl_err
rl_client_config_parse(const char *text, size_t len, rl_client_config *cfg, char *err,
                       size_t errcap)
{
	rl_err e;

	rl_client_config_init(cfg);
	e = cfg_parse_text(text, len, client_specs, sizeof(client_specs) / sizeof(client_specs[0]),
	                   client_sections, sizeof(client_sections) / sizeof(client_sections[0]), cfg,
	                   err, errcap);
	if (e == RL_OK && cfg->backoff_min_ms != 0 && cfg->backoff_max_ms != 0 &&
	    cfg->backoff_min_ms > cfg->backoff_max_ms) {
		cfg_msg(err, errcap, "backoff_min (%llu ms) dépasse backoff_max (%llu ms)",
		        (unsigned long long)cfg->backoff_min_ms,
		        (unsigned long long)cfg->backoff_max_ms);
		e = RL_EINVAL;
	}
	if (e != RL_OK)
		rl_client_config_init(cfg);
	return e;
}

/* Reads a whole regular file of at most RL_CFG_MAX_BYTES into a heap buffer. */
static rl_err
cfg_read(const char *path, char **out, size_t *len, char *err, size_t errcap)
{
	struct stat sb;
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;
	rl_err e = RL_OK;
	int fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		cfg_msg(err, errcap, "lecture impossible : %s", strerror(errno));
		return errno == ENOENT ? RL_ENOTFOUND : RL_EIO;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		cfg_msg(err, errcap, "ce n'est pas un fichier ordinaire");
		e = RL_EIO;
		goto out;
	}
	if (sb.st_size > RL_CFG_MAX_BYTES) {
		cfg_msg(err, errcap, "fichier trop grand (plus de %d octets)", RL_CFG_MAX_BYTES);
		e = RL_ETOOBIG;
		goto out;
	}
	/* One byte more than allowed, to see a file that grew meanwhile. */
	if ((buf = malloc(RL_CFG_MAX_BYTES + 1)) == NULL) {
		e = RL_ENOMEM;
		goto out;
	}
	while (n <= RL_CFG_MAX_BYTES && (r = read(fd, buf + n, RL_CFG_MAX_BYTES + 1 - n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			cfg_msg(err, errcap, "lecture impossible : %s", strerror(errno));
			e = RL_EIO;
			goto out;
		}
		n += (size_t)r;
	}
	if (n > RL_CFG_MAX_BYTES) {
		cfg_msg(err, errcap, "fichier trop grand (plus de %d octets)", RL_CFG_MAX_BYTES);
		e = RL_ETOOBIG;
		goto out;
	}
	*out = buf;
	*len = n;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return e;
}

rl_err
rl_server_config_load(const char *path, rl_server_config *cfg, char *err, size_t errcap)
{
	char *text;
	size_t len;
	rl_err e;

	rl_server_config_init(cfg);
	if ((e = cfg_read(path, &text, &len, err, errcap)) != RL_OK)
		return e;
	e = rl_server_config_parse(text, len, cfg, err, errcap);
	free(text);
	return e;
}

rl_err
rl_client_config_load(const char *path, rl_client_config *cfg, char *err, size_t errcap)
{
	char *text;
	size_t len;
	rl_err e;

	rl_client_config_init(cfg);
	if ((e = cfg_read(path, &text, &len, err, errcap)) != RL_OK)
		return e;
	e = rl_client_config_parse(text, len, cfg, err, errcap);
	free(text);
	return e;
}
