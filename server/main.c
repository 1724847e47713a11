/*
 * main.c - `relais-server`: the HQ daemon and its admin commands.
 *
 * Global options (--store, --key-file, --config, --log-level, --map-size) are
 * accepted before or after the command name. Each setting comes from, in
 * this order: the command line, the environment, the configuration file
 * (--config, else $RELAIS_SERVER_CONFIG, else /etc/relais/server.conf when
 * it exists), the built-in default. The store is --store,
 * $RELAIS_SERVER_STORE, [server] store, /var/lib/relais-server; its secret
 * is --key-file, $RELAIS_SERVER_PASSPHRASE, [server] key_file, else the key
 * file server.key inside the store directory that `init` made; its LMDB map
 * is --map-size, [server] map_size, else RL_HUB_DEFAULT_MAP (64 GiB of
 * address space, not of disk). Admin commands open the same store as a
 * running server; LMDB arbitrates between the processes.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/config.h"
#include "common/log.h"
#include "common/text.h"
#include "epoch.h"
#include "hub.h"
#include "report.h"
#include "run.h"

#define MAX_ARGS 64
#define DEFAULT_CONFIG "/etc/relais/server.conf"

typedef struct opts {
	const char *store;
	const char *key_file;
	const char *listen;
	const char *antenna;
	const char *role;
	const char *name;
	const char *from, *to, *format, *output;
	const char *config;
	int log_level; /* -1: not given */
	uint64_t map_bytes; /* --map-size, else [server] map_size; 0: the default */
	rl_server_config cfg;
	bool json;
	int nargs;
	const char *args[MAX_ARGS];
} opts;

static const char usage_text[] =
	"usage: relais-server [--store DIR] [--key-file F] [--config FILE] [--log-level L]\n"
	"                     [--map-size SIZE] COMMAND [options]\n"
	"\n"
	"commands:\n"
	"  init                                   create the HQ store and the server keys\n"
	"  run [--listen URL]                     serve sync (default tcp://0.0.0.0:7401)\n"
	"  enroll --antenna CODE --role antenna|mobile|hq [--name S]\n"
	"                                         print a one-time enrollment token\n"
	"  devices [--json]                       enrolled devices\n"
	"  revoke DEVICE                          cut a device off at once\n"
	"  report [--from YYYY-MM] [--to YYYY-MM] [--antenna CODE]\n"
	"         [--format text|csv|json|html] [-o FILE]\n"
	"                                         consolidated activity\n"
	"  backup DEST                            consistent copy of the live store\n"
	"\n"
	"  --version                              print the version\n"
	"\n"
	"store: --store DIR, else $RELAIS_SERVER_STORE, else [server] store, else\n"
	"       /var/lib/relais-server\n"
	"secret: --key-file F, else $RELAIS_SERVER_PASSPHRASE, else [server] key_file,\n"
	"        else DIR/server.key\n"
	"config: --config FILE, else $RELAIS_SERVER_CONFIG, else " DEFAULT_CONFIG "\n"
	"        if it exists (INI; every key in deploy/server.conf.example)\n"
	"log level: --log-level error|warn|info|debug, else [server] log_level, else info\n"
	"map size: --map-size SIZE (16M to 1T, e.g. 512M, 64G), else [server] map_size,\n"
	"          else 64G; the store's largest size, reserved as address space only\n";

static int
usage_error(const char *msg, const char *arg)
{
	if (msg != NULL)
		fprintf(stderr, "relais-server: %s%s%s\n", msg, arg ? " : " : "", arg ? arg : "");
	fputs(usage_text, stderr);
	return 2;
}

static int
fail(const char *what, rl_err e)
{
	fprintf(stderr, "relais-server: %s : %s\n", what, rl_strerror_fr(e));
	return 1;
}

static const char *
store_dir(const opts *o)
{
	const char *d = o->store ? o->store : getenv("RELAIS_SERVER_STORE");

	return d && *d ? d : "/var/lib/relais-server";
}

/* Fills the secret; key receives file keys. */
static rl_err
load_secret(const opts *o, rl_secret *s, uint8_t key[RL_KEY_BYTES])
{
	const char *pass = getenv("RELAIS_SERVER_PASSPHRASE");
	char path[4096];

	memset(s, 0, sizeof(*s));
	if (o->key_file) {
		s->key = key;
		return rl_store_read_keyfile(o->key_file, key);
	}
	if (pass && *pass) {
		s->pass = pass;
		s->passlen = strlen(pass);
		return RL_OK;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/server.key", store_dir(o)) >= sizeof(path))
		return RL_EINVAL;
	s->key = key;
	return rl_store_read_keyfile(path, key);
}

/* The store options of every command: the map size (0: the hub's default). */
static rl_store_opts
store_opts(const opts *o)
{
	rl_store_opts so = { (size_t)o->map_bytes, RL_KDF_INTERACTIVE };

	if (so.map_bytes == 0)
		so.map_bytes = RL_HUB_DEFAULT_MAP;
	return so;
}

static rl_err
open_hub(const opts *o, rl_hub *hub)
{
	rl_store_opts so = store_opts(o);
	uint8_t key[RL_KEY_BYTES];
	rl_secret s;
	rl_err e;

	if ((e = load_secret(o, &s, key)) == RL_EIO)
		e = RL_ENOSTORE;
	if (e == RL_OK)
		e = rl_hub_open(store_dir(o), &s, &so, hub);
	rl_wipe(key, sizeof(key));
	return e;
}

/* A store that did not open. Mapping it is what needs much memory (address
 * space, under ulimit -v): say which setting to lower. */
static int
fail_open(const opts *o, rl_err e)
{
	if (e != RL_ENOMEM)
		return fail(store_dir(o), e);
	fprintf(stderr,
	        "relais-server: %s : %s (carte LMDB de %llu Mio impossible à réserver ? réduisez "
	        "--map-size ou [server] map_size)\n",
	        store_dir(o), rl_strerror_fr(e), (unsigned long long)(store_opts(o).map_bytes >> 20));
	return 1;
}

/* ---- commands ---- */

static int
cmd_init(const opts *o)
{
	const char *dir = store_dir(o);
	rl_store_opts so = store_opts(o);
	uint8_t key[RL_KEY_BYTES];
	char path[4096], hex[2 * RL_KEY_BYTES + 2];
	rl_secret s;
	rl_err e;
	int fd;

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (access(path, F_OK) == 0)
		return fail("init", RL_EEXIST);
	memset(&s, 0, sizeof(s));
	if (o->key_file || (getenv("RELAIS_SERVER_PASSPHRASE") && *getenv("RELAIS_SERVER_PASSPHRASE"))) {
		if ((e = load_secret(o, &s, key)) != RL_OK)
			return fail("clé", e);
	} else {
		/* A fresh key file inside the store directory. */
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return fail(dir, RL_EIO);
		snprintf(path, sizeof(path), "%s/server.key", dir);
		rl_random(key, sizeof(key));
		rl_hex_encode(key, sizeof(key), hex);
		hex[2 * RL_KEY_BYTES] = '\n';
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0)
			return fail(path, errno == EEXIST ? RL_EEXIST : RL_EIO);
		if (write(fd, hex, 2 * RL_KEY_BYTES + 1) != 2 * RL_KEY_BYTES + 1 || fsync(fd) != 0) {
			close(fd);
			return fail(path, RL_EIO);
		}
		close(fd);
		s.key = key;
	}
	e = rl_replica_create(dir, &s, &so, "HQ", RL_ROLE_SERVER);
	rl_wipe(key, sizeof(key));
	if (e != RL_OK)
		return fail("init", e);
	{
		rl_hub hub;
		char dhex[2 * RL_DEV_BYTES + 1];

		if ((e = open_hub(o, &hub)) != RL_OK)
			return fail("init", e);
		rl_hex_encode(rl_replica_device(hub.rp), RL_DEV_BYTES, dhex);
		rl_hub_close(&hub);
		printf("magasin HQ créé dans %s\n", dir);
		printf("clé publique du serveur : %s\n", dhex);
		printf("étape suivante : relais-server run, puis relais-server enroll --antenna CODE "
		       "--role antenna pour chaque appareil\n");
	}
	return 0;
}

static int
cmd_run(const opts *o)
{
	rl_run_opts ro;
	rl_hub hub;
	rl_err e;

	rl_run_defaults(&ro);
	if (o->listen)
		ro.listen = o->listen;
	else if (o->cfg.listen[0])
		ro.listen = o->cfg.listen;
	if (o->cfg.max_sessions)
		ro.max_sessions = (unsigned)o->cfg.max_sessions;
	if (o->cfg.sessions_per_device)
		ro.sessions_per_device = (unsigned)o->cfg.sessions_per_device;
	if (o->cfg.session_idle_ms)
		ro.session_idle_ms = o->cfg.session_idle_ms;
	if (o->cfg.workers)
		ro.workers = (unsigned)o->cfg.workers;
	if (o->cfg.contexts)
		ro.contexts = (unsigned)o->cfg.contexts;
	if (o->cfg.skew_ms)
		ro.skew_ms = o->cfg.skew_ms;
	if (o->cfg.pull_max_entries)
		ro.pull_max_entries = (uint32_t)o->cfg.pull_max_entries;
	if (o->cfg.write_group_ops)
		ro.write_group_ops = (uint32_t)o->cfg.write_group_ops;
	if ((e = open_hub(o, &hub)) != RL_OK)
		return fail_open(o, e);
	rl_log(RL_LOG_DEBUG, "store map: %llu MiB",
	       (unsigned long long)(store_opts(o).map_bytes >> 20));
	e = rl_run_serve(&hub, &ro);
	rl_hub_close(&hub);
	return e == RL_OK ? 0 : fail("run", e);
}

static int
cmd_enroll(const opts *o)
{
	char token[RL_TOKEN_HEX + 1];
	rl_role role;
	rl_hub hub;
	rl_err e;

	if (o->antenna == NULL || o->role == NULL)
		return usage_error("enroll demande --antenna et --role", NULL);
	role = rl_role_parse(o->role);
	if (role == 0 || role == RL_ROLE_SERVER)
		return usage_error("rôle inconnu", o->role);
	if (!rl_antenna_valid(o->antenna)) {
		fprintf(stderr, "relais-server: code d'antenne invalide : %s\n", o->antenna);
		return 1;
	}
	if ((e = open_hub(o, &hub)) != RL_OK)
		return fail_open(o, e);
	e = rl_hub_token_create(&hub, o->antenna, role, o->name ? o->name : "", RL_TOKEN_TTL_MS,
	                        token);
	rl_hub_close(&hub);
	if (e != RL_OK)
		return fail("enroll", e);
	printf("jeton à usage unique pour l'antenne %s, rôle %s (valable 24 h).\n", o->antenna,
	       o->role);
	printf("sur l'appareil : relais enroll --server tcp://ADRESSE:7401 --token <jeton>\n");
	printf("%s\n", token);
	return 0;
}

static void
fmt_time(uint64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms == 0) {
		strcpy(out, "-");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* One line of `devices`: columns by display width (names come from
 * enrollment, accents and all; unprintable bytes shown as '?'). */
static void
devices_row(const char *dev, const char *ant, const char *role, const char *name,
            const char *seen, const char *changes, const char *revoked)
{
	static const size_t widths[] = { 16, 10, 7, 20, 20, 11, 0 };
	const char *cells[] = { dev, ant, role, name, seen, changes, revoked };
	rl_buf clean;

	rl_buf_init(&clean);
	for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
		if (rl_text_printable(RL_BYTES(cells[i], strlen(cells[i])), &clean) != RL_OK)
			break;
		rl_text_cell(stdout, (const char *)clean.data, widths[i]);
		fputs(widths[i] ? "  " : "\n", stdout);
	}
	rl_buf_fini(&clean);
}

static int
cmd_devices(const opts *o)
{
	json_t *arr = o->json ? json_array() : NULL;
	rl_hub hub;
	rl_txn *txn;
	rl_cursor *c;
	rl_bytes k;
	rl_err e;

	if ((e = open_hub(o, &hub)) != RL_OK)
		return fail_open(o, e);
	if ((e = rl_store_begin(hub.st, false, &txn)) != RL_OK) {
		rl_hub_close(&hub);
		return fail("devices", e);
	}
	if (!o->json)
		devices_row("appareil", "antenne", "rôle", "nom", "dernière synchro", "changements",
		            "révoqué");
	e = rl_cursor_open(txn, RL_T_DEVICES, &c);
	for (e = e ? e : rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, NULL); e == RL_OK;
	     e = rl_cursor_next(c, &k, NULL)) {
		char hex[2 * RL_DEV_BYTES + 1], seen[32], rev[32];
		rl_device d;

		if (k.len != RL_DEV_BYTES || rl_hub_device_get(txn, k.p, &d) != RL_OK)
			continue;
		rl_hex_encode(d.pk, RL_DEV_BYTES, hex);
		fmt_time(d.last_seen_ms, seen);
		fmt_time(d.revoked_ms, rev);
		if (o->json) {
			json_t *obj = json_object();

			json_object_set_new(obj, "device", json_string(hex));
			json_object_set_new(obj, "name", json_string(d.name));
			json_object_set_new(obj, "antenna", json_string(d.antenna));
			json_object_set_new(obj, "role", json_string(rl_role_name(d.role)));
			json_object_set_new(obj, "last_seen",
			                    d.last_seen_ms ? json_string(seen) : json_null());
			json_object_set_new(obj, "changes", json_integer((json_int_t)d.changes));
			json_object_set_new(obj, "revoked", json_boolean(d.revoked_ms != 0));
			json_object_set_new(obj, "revoked_at",
			                    d.revoked_ms ? json_string(rev) : json_null());
			json_array_append_new(arr, obj);
		} else {
			char n[24];

			hex[16] = '\0';
			snprintf(n, sizeof(n), "%llu", (unsigned long long)d.changes);
			devices_row(hex, d.antenna, rl_role_name(d.role), d.name[0] ? d.name : "-",
			            d.last_seen_ms ? seen : "jamais", n, d.revoked_ms ? rev : "non");
		}
	}
	rl_cursor_close(c);
	rl_store_abort(txn);
	rl_hub_close(&hub);
	if (e != RL_ENOTFOUND && e != RL_OK) {
		json_decref(arr);
		return fail("devices", e);
	}
	if (o->json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(arr);
	}
	return 0;
}

/* Finds the one device whose hex id starts with prefix (>= 8 chars). */
static rl_err
device_by_prefix(rl_hub *hub, const char *prefix, uint8_t pk[RL_DEV_BYTES])
{
	size_t plen = strlen(prefix), found = 0;
	rl_txn *txn;
	rl_cursor *c;
	rl_bytes k;
	rl_err e;

	if (plen < 8 || plen > 2 * RL_DEV_BYTES)
		return RL_EINVAL;
	if ((e = rl_store_begin(hub->st, false, &txn)) != RL_OK)
		return e;
	if ((e = rl_cursor_open(txn, RL_T_DEVICES, &c)) != RL_OK) {
		rl_store_abort(txn);
		return e;
	}
	for (e = rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, NULL); e == RL_OK;
	     e = rl_cursor_next(c, &k, NULL)) {
		char hex[2 * RL_DEV_BYTES + 1];

		if (k.len != RL_DEV_BYTES)
			continue;
		rl_hex_encode(k.p, RL_DEV_BYTES, hex);
		if (strncasecmp(hex, prefix, plen) == 0) {
			memcpy(pk, k.p, RL_DEV_BYTES);
			found++;
		}
	}
	rl_cursor_close(c);
	rl_store_abort(txn);
	if (e != RL_ENOTFOUND)
		return e;
	return found == 1 ? RL_OK : found == 0 ? RL_ENOTFOUND : RL_EINVAL;
}

static int
cmd_revoke(const opts *o)
{
	uint8_t pk[RL_DEV_BYTES];
	rl_hub hub;
	rl_err e;

	if (o->nargs != 1)
		return usage_error("revoke demande un identifiant d'appareil", NULL);
	if ((e = open_hub(o, &hub)) != RL_OK)
		return fail_open(o, e);
	if ((e = device_by_prefix(&hub, o->args[0], pk)) == RL_OK)
		e = rl_hub_revoke(&hub, pk, rl_wall_ms());
	rl_hub_close(&hub);
	if (e == RL_ENOTFOUND || e == RL_EINVAL) {
		fprintf(stderr, "relais-server: appareil inconnu ou ambigu : %s\n", o->args[0]);
		return 1;
	}
	if (e != RL_OK)
		return fail("revoke", e);
	printf("appareil révoqué : %s\n", o->args[0]);
	return 0;
}

static int
cmd_backup(const opts *o)
{
	char src[4096], dst[4096], buf[256];
	rl_hub hub;
	rl_err e;
	ssize_t n;
	int in, out;

	if (o->nargs != 1)
		return usage_error("backup demande une destination", NULL);
	if ((e = open_hub(o, &hub)) != RL_OK)
		return fail_open(o, e);
	e = rl_store_backup(hub.st, o->args[0]);
	rl_hub_close(&hub);
	if (e != RL_OK)
		return fail("backup", e);
	/* A server restored from this copy must tell its clients it lost what
	 * came after it: the first `run` on the copy draws a new epoch. */
	{
		rl_store_opts so = store_opts(o);
		uint8_t key[RL_KEY_BYTES];
		rl_secret sec;

		if ((e = load_secret(o, &sec, key)) == RL_OK &&
		    (e = rl_hub_open(o->args[0], &sec, &so, &hub)) == RL_OK) {
			e = rl_epoch_mark_copy(&hub);
			rl_hub_close(&hub);
			/* Nobody else has the copy open: its lock file is noise. */
			snprintf(dst, sizeof(dst), "%s/lock.mdb", o->args[0]);
			unlink(dst);
		}
		rl_wipe(key, sizeof(key));
		if (e != RL_OK)
			return fail("backup", e);
	}
	/* The key file goes with the copy, or the copy cannot be opened. */
	snprintf(src, sizeof(src), "%s/server.key", store_dir(o));
	snprintf(dst, sizeof(dst), "%s/server.key", o->args[0]);
	if (o->key_file == NULL && (in = open(src, O_RDONLY)) >= 0) {
		if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0) {
			close(in);
			return fail(dst, RL_EIO);
		}
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)n) != n) {
				n = -1;
				break;
			}
		if (fsync(out) != 0)
			n = -1;
		close(in);
		close(out);
		if (n < 0)
			return fail(dst, RL_EIO);
	}
	printf("copie cohérente écrite dans %s\n", o->args[0]);
	return 0;
}

static int
cmd_report(const opts *o)
{
	rl_report_opts ro;
	rl_hub hub;
	rl_err e;
	int rc;

	memset(&ro, 0, sizeof(ro));
	ro.from = o->from;
	ro.to = o->to;
	ro.antenna = o->antenna;
	ro.format = o->format ? o->format : "text";
	ro.output = o->output;
	/* A usage error is a usage error even when the store is missing. */
	if (strcmp(ro.format, "text") != 0 && strcmp(ro.format, "csv") != 0 &&
	    strcmp(ro.format, "json") != 0 && strcmp(ro.format, "html") != 0)
	{
		fprintf(stderr, "relais-server: format inconnu : %s (text, csv, json ou html)\n",
		        ro.format);
		return 2;
	}
	if ((e = open_hub(o, &hub)) != RL_OK)
		return fail_open(o, e);
	rc = rl_report_main(&hub, &ro);
	rl_hub_close(&hub);
	return rc;
}

/* ---- configuration ---- */

/* Reads the configuration file and folds it under the command line and the
 * environment: what they set, the file does not override. */
static int
load_config(opts *o)
{
	const char *path = o->config, *env = getenv("RELAIS_SERVER_CONFIG");
	char err[RL_CFG_ERR_MAX];
	rl_err e;

	rl_server_config_init(&o->cfg);
	if (path == NULL && env != NULL && env[0] != '\0')
		path = env;
	if (path == NULL && access(DEFAULT_CONFIG, F_OK) == 0)
		path = DEFAULT_CONFIG;
	if (path != NULL && (e = rl_server_config_load(path, &o->cfg, err, sizeof(err))) != RL_OK) {
		fprintf(stderr, "relais-server: configuration %s : %s\n", path, err);
		return 1;
	}
	if (o->store == NULL && (env = getenv("RELAIS_SERVER_STORE")) != NULL && env[0] != '\0')
		o->store = env;
	if (o->store == NULL && o->cfg.store[0] != '\0')
		o->store = o->cfg.store;
	if (o->key_file == NULL && o->cfg.key_file[0] != '\0' &&
	    ((env = getenv("RELAIS_SERVER_PASSPHRASE")) == NULL || env[0] == '\0'))
		o->key_file = o->cfg.key_file;
	if (o->log_level < 0)
		o->log_level = o->cfg.log_level;
	if (o->map_bytes == 0)
		o->map_bytes = o->cfg.map_bytes;
	rl_log_setup("relais-server", o->log_level < 0 ? RL_LOG_INFO : (rl_log_level)o->log_level);
	if (path != NULL)
		rl_log(RL_LOG_DEBUG, "configuration read from %s", path);
	return 0;
}

/* ---- argument parsing ---- */

static int
parse(int argc, char **argv, const char **cmd, opts *o)
{
	static const struct {
		const char *name;
		size_t off;
	} valued[] = {
		{ "--store", offsetof(opts, store) },   { "--key-file", offsetof(opts, key_file) },
		{ "--listen", offsetof(opts, listen) }, { "--antenna", offsetof(opts, antenna) },
		{ "--role", offsetof(opts, role) },     { "--name", offsetof(opts, name) },
		{ "--from", offsetof(opts, from) },     { "--to", offsetof(opts, to) },
		{ "--format", offsetof(opts, format) }, { "-o", offsetof(opts, output) },
		{ "--output", offsetof(opts, output) }, { "--config", offsetof(opts, config) },
	};

	*cmd = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool matched = false;

		if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		}
		if (strcmp(a, "--log-level") == 0 && i + 1 < argc) {
			int l = rl_log_level_parse(argv[++i]);

			if (l < 0)
				return usage_error("niveau de journal inconnu", argv[i]);
			o->log_level = l;
			continue;
		}
		if (strcmp(a, "--map-size") == 0) {
			char err[RL_CFG_ERR_MAX];

			if (i + 1 >= argc)
				return usage_error("option sans valeur", a);
			if (rl_config_size_parse(argv[++i], RL_CFG_MAP_MIN, RL_CFG_MAP_MAX,
			                         &o->map_bytes, err, sizeof(err)) != RL_OK) {
				fprintf(stderr, "relais-server: --map-size %.40s : %s\n", argv[i], err);
				return 2;
			}
			continue;
		}
		for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++) {
			if (strcmp(a, valued[k].name) != 0)
				continue;
			if (i + 1 >= argc)
				return usage_error("option sans valeur", a);
			*(const char **)((char *)o + valued[k].off) = argv[++i];
			matched = true;
			break;
		}
		if (matched)
			continue;
		if (a[0] == '-' && a[1] != '\0')
			return usage_error("option inconnue", a);
		if (*cmd == NULL)
			*cmd = a;
		else if (o->nargs < MAX_ARGS)
			o->args[o->nargs++] = a;
		else
			return usage_error("trop d'arguments", NULL);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *cmd;
	opts o;
	int rc;

	memset(&o, 0, sizeof(o));
	rl_log_setup("relais-server", RL_LOG_INFO);
	/* A file-size limit (ulimit -f) must fail a write with EFBIG, which the
	 * store reports as a full disk (error "full"), rather than kill the
	 * server in the middle of a commit. */
	signal(SIGXFSZ, SIG_IGN);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("relais-server %s\n", RL_VERSION);
			return 0;
		}
	}
	o.log_level = -1;
	if ((rc = parse(argc, argv, &cmd, &o)) != 0)
		return rc;
	if (cmd == NULL)
		return usage_error(NULL, NULL);
	if ((rc = load_config(&o)) != 0)
		return rc;
	if (rl_crypto_init() != RL_OK) {
		fprintf(stderr, "relais-server: libsodium indisponible\n");
		return 1;
	}
	if (strcmp(cmd, "init") == 0)
		return cmd_init(&o);
	if (strcmp(cmd, "run") == 0)
		return cmd_run(&o);
	if (strcmp(cmd, "enroll") == 0)
		return cmd_enroll(&o);
	if (strcmp(cmd, "devices") == 0)
		return cmd_devices(&o);
	if (strcmp(cmd, "revoke") == 0)
		return cmd_revoke(&o);
	if (strcmp(cmd, "report") == 0)
		return cmd_report(&o);
	if (strcmp(cmd, "backup") == 0)
		return cmd_backup(&o);
	return usage_error("commande inconnue", cmd);
}
