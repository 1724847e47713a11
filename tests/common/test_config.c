/*
 * test_config.c - the INI configuration files: every key of both programs,
 * units and bounds, and hostile files (unknown keys and sections, repeated
 * keys, indentation, control characters, long lines, huge files, a
 * directory instead of a file), each refused with its line number.
 */
#include "rl_test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"

static rl_err
srv(const char *text, rl_server_config *cfg, char *err)
{
	return rl_server_config_parse(text, strlen(text), cfg, err, RL_CFG_ERR_MAX);
}

static rl_err
cli(const char *text, rl_client_config *cfg, char *err)
{
	return rl_client_config_parse(text, strlen(text), cfg, err, RL_CFG_ERR_MAX);
}

/* Expects text to be refused with want, and err to contain needle. */
static void
srv_bad(const char *text, rl_err want, const char *needle)
{
	char err[RL_CFG_ERR_MAX];
	rl_server_config cfg;

	RL_FAIL(srv(text, &cfg, err), want);
	if (strstr(err, needle) == NULL)
		fail_msg("message '%s' lacks '%s' (input: %s)", err, needle, text);
	/* Nothing of a refused file is kept. */
	assert_string_equal(cfg.listen, "");
	assert_int_equal(cfg.log_level, -1);
	assert_true(cfg.max_sessions == 0);
}

static void
cli_bad(const char *text, rl_err want, const char *needle)
{
	char err[RL_CFG_ERR_MAX];
	rl_client_config cfg;

	RL_FAIL(cli(text, &cfg, err), want);
	if (strstr(err, needle) == NULL)
		fail_msg("message '%s' lacks '%s' (input: %s)", err, needle, text);
	assert_string_equal(cfg.store, "");
	assert_true(cfg.interval_ms == 0);
}

static void
test_server_all_keys(void **state)
{
	static const char text[] = "# relais-server\n"
	                           "; comments either way\n"
	                           "\n"
	                           "[server]\n"
	                           "listen = tcp://127.0.0.1:7999\n"
	                           "store=/var/lib/relais-server\n"
	                           "key_file = /etc/relais/server.key ; inline comment\n"
	                           "log_level = debug\r\n"
	                           "map_size = 64G\n"
	                           "[sessions]\n"
	                           "max = 1024\n"
	                           "per_device = 2\n"
	                           "idle_timeout = 5m\n"
	                           "workers = 4\n"
	                           "contexts = 64\n"
	                           "[sync]\n"
	                           "clock_skew = 30m\n"
	                           "pull_max_entries = 1000\n"
	                           "write_group_ops = 8192\n";
	char err[RL_CFG_ERR_MAX];
	rl_server_config c;

	(void)state;
	RL_PASS(srv(text, &c, err));
	assert_string_equal(c.listen, "tcp://127.0.0.1:7999");
	assert_string_equal(c.store, "/var/lib/relais-server");
	assert_string_equal(c.key_file, "/etc/relais/server.key");
	assert_int_equal(c.log_level, RL_LOG_DEBUG);
	assert_true(c.map_bytes == (uint64_t)64 << 30);
	assert_true(c.max_sessions == 1024);
	assert_true(c.sessions_per_device == 2);
	assert_true(c.session_idle_ms == 300000);
	assert_true(c.workers == 4);
	assert_true(c.contexts == 64);
	assert_true(c.skew_ms == 1800000);
	assert_true(c.pull_max_entries == 1000);
	assert_true(c.write_group_ops == 8192);
}

static void
test_server_unset(void **state)
{
	char err[RL_CFG_ERR_MAX];
	rl_server_config c;

	(void)state;
	/* Empty files, comments only, empty known sections: all unset. */
	RL_PASS(srv("", &c, err));
	RL_PASS(srv("# nothing\n[server]\n[sync]\n", &c, err));
	assert_string_equal(c.listen, "");
	assert_string_equal(c.store, "");
	assert_int_equal(c.log_level, -1);
	assert_true(c.skew_ms == 0 && c.workers == 0 && c.map_bytes == 0);
	/* No final newline, a byte order mark, ipc and tcp6 urls. */
	RL_PASS(srv("\xef\xbb\xbf[server]\nlisten = ipc:///tmp/relais.ipc", &c, err));
	assert_string_equal(c.listen, "ipc:///tmp/relais.ipc");
	RL_PASS(srv("[server]\nlisten = tcp6://[::1]:7401\n", &c, err));
	RL_PASS(srv("[server]\nlisten = tls+tcp://hq.dac13.fr:7401\n", &c, err));
}

static void
test_client_all_keys(void **state)
{
	static const char text[] = "[client]\n"
	                           "store = /var/lib/relais\n"
	                           "key_file = /etc/relais/relais.key\n"
	                           "log_level = warn\n"
	                           "map_size = 512M\n"
	                           "[sync]\n"
	                           "server = tcp://hq.dac13.fr:7401\n"
	                           "interval = 30s\n"
	                           "backoff_min = 500ms\n"
	                           "backoff_max = 2h\n"
	                           "timeout = 45\n"
	                           "push_ops = 1000\n"
	                           "push_bytes = 512K\n";
	char err[RL_CFG_ERR_MAX];
	rl_client_config c;

	(void)state;
	RL_PASS(cli(text, &c, err));
	assert_string_equal(c.store, "/var/lib/relais");
	assert_string_equal(c.key_file, "/etc/relais/relais.key");
	assert_int_equal(c.log_level, RL_LOG_WARN);
	assert_true(c.map_bytes == 512u << 20);
	assert_string_equal(c.server, "tcp://hq.dac13.fr:7401");
	assert_true(c.interval_ms == 30000);
	assert_true(c.backoff_min_ms == 500);
	assert_true(c.backoff_max_ms == 7200000);
	assert_true(c.timeout_ms == 45000); /* bare durations are seconds */
	assert_true(c.push_ops == 1000);
	assert_true(c.push_bytes == 512 * 1024);
	RL_PASS(cli("[sync]\npush_bytes = 1M\n", &c, err));
	assert_true(c.push_bytes == 1u << 20);
	RL_PASS(cli("[sync]\npush_bytes = 65536\n", &c, err));
	assert_true(c.push_bytes == 65536);
}

static void
test_unknown(void **state)
{
	(void)state;
	srv_bad("[server]\nlisten = tcp://a:1\nlisen = tcp://b:2\n", RL_EINVAL,
	        "ligne 3 : clé inconnue « lisen » dans [server]");
	srv_bad("# c\n\n[serveur]\n", RL_EINVAL, "ligne 3 : section inconnue [serveur]");
	srv_bad("[server]\n[client]\nstore = x\n", RL_EINVAL, "ligne 2 : section inconnue [client]");
	cli_bad("[client]\nstore = /a\n[server]\n", RL_EINVAL, "ligne 3 : section inconnue [server]");
	/* A client key in the server file, and the other way round. */
	srv_bad("[sync]\ninterval = 5s\n", RL_EINVAL, "ligne 2 : clé inconnue « interval » dans [sync]");
	cli_bad("[sync]\nclock_skew = 1h\n", RL_EINVAL, "ligne 2 : clé inconnue « clock_skew »");
	cli_bad("store = /a\n", RL_EINVAL, "ligne 1 : clé « store » hors de toute [section]");
	/* Names are case-sensitive. */
	cli_bad("[Client]\n", RL_EINVAL, "ligne 1 : section inconnue [Client]");
	cli_bad("[client]\nStore = /a\n", RL_EINVAL, "ligne 2 : clé inconnue « Store »");
}

static void
test_syntax(void **state)
{
	(void)state;
	srv_bad("[server]\nlisten 127.0.0.1\n", RL_EINVAL, "ligne 2 : syntaxe invalide");
	srv_bad("[server]\nlisten tcp://a:1\n", RL_EINVAL, "ligne 2 : clé inconnue « listen tcp »");
	srv_bad("[server\nlisten = tcp://a:1\n", RL_EINVAL, "ligne 1 : syntaxe invalide");
	/* Repeated keys, and libinih's multi-line values, are refused. */
	srv_bad("[server]\nstore = /a\nstore = /b\n", RL_EINVAL, "ligne 3 : clé « store » répétée");
	srv_bad("[server]\nstore = /a\n  /b\n", RL_EINVAL,
	        "ligne 3 : une ligne ne commence pas par une espace");
	srv_bad("[server]\n\tstore = /a\n", RL_EINVAL, "ligne 2 : une ligne ne commence pas");
	/* ...but indented comments and blank lines are fine. */
	{
		rl_server_config c;
		char err[RL_CFG_ERR_MAX];

		RL_PASS(srv("[server]\n   # note\n  \t\nstore = /a\n", &c, err));
		assert_string_equal(c.store, "/a");
	}
	/* The first error is the one reported. */
	srv_bad("[server]\nbad line\nnope = 1\n", RL_EINVAL, "ligne 2 : syntaxe");
	srv_bad("[server]\nnope = 1\nbad line\n", RL_EINVAL, "ligne 2 : clé inconnue");
}

static void
test_values(void **state)
{
	(void)state;
	srv_bad("[server]\nlog_level = verbose\n", RL_EINVAL, "ligne 2 : log_level = verbose");
	srv_bad("[server]\nlisten = http://a:1\n", RL_EINVAL, "tcp://HÔTE:PORT");
	srv_bad("[server]\nlisten = tcp://a\n", RL_EINVAL, "valeur invalide");
	srv_bad("[server]\nlisten = tcp://a:0\n", RL_EINVAL, "valeur invalide");
	srv_bad("[server]\nlisten = tcp://a:65536\n", RL_EINVAL, "valeur invalide");
	srv_bad("[server]\nlisten = tcp://a:7401/x\n", RL_EINVAL, "valeur invalide");
	srv_bad("[server]\nstore =\n", RL_EINVAL, "ligne 2 : store");
	srv_bad("[sessions]\nmax = -1\n", RL_EINVAL, "nombre entier");
	srv_bad("[sessions]\nmax = 12abc\n", RL_EINVAL, "nombre entier");
	srv_bad("[sessions]\nmax = 0x10\n", RL_EINVAL, "nombre entier");
	srv_bad("[sessions]\nmax = 99999999999999999999999\n", RL_EINVAL, "nombre entier");
	srv_bad("[sessions]\nmax = 8\n", RL_EINVAL, "hors des bornes (16 à 1048576)");
	srv_bad("[sessions]\nper_device = 0\n", RL_EINVAL, "hors des bornes");
	srv_bad("[sessions]\nidle_timeout = 5\n", RL_EINVAL, "hors des bornes"); /* 5 s < 10 s */
	srv_bad("[sessions]\nidle_timeout = 5 m\n", RL_EINVAL, "durée");
	srv_bad("[sessions]\nidle_timeout = 5min\n", RL_EINVAL, "durée");
	srv_bad("[sync]\nclock_skew = 18446744073709551615h\n", RL_EINVAL, "durée");
	srv_bad("[sync]\npull_max_entries = 8193\n", RL_EINVAL, "hors des bornes");
	srv_bad("[sync]\nclock_skew = 2h\n", RL_EINVAL, "hors des bornes");
	cli_bad("[sync]\npush_ops = 16385\n", RL_EINVAL, "hors des bornes");
	cli_bad("[sync]\npush_bytes = 5M\n", RL_EINVAL, "hors des bornes");
	cli_bad("[sync]\npush_bytes = 1G\n", RL_EINVAL,
	        "ligne 2 : push_bytes = 1G : hors des bornes (4K à 4M)");
	cli_bad("[sync]\npush_bytes = 1MB\n", RL_EINVAL, "valeur invalide (attendu : une taille");
	cli_bad("[sync]\ninterval = 10ms\n", RL_EINVAL, "hors des bornes");
	cli_bad("[sync]\nbackoff_min = 10s\nbackoff_max = 5s\n", RL_EINVAL,
	        "backoff_min (10000 ms) dépasse backoff_max (5000 ms)");
	cli_bad("[sync]\nserver = \n", RL_EINVAL, "ligne 2 : server");
}

/* map_size in both files: units, bounds (16M to 1T), junk, overflow. */
static void
test_map_size(void **state)
{
	char err[RL_CFG_ERR_MAX];
	rl_server_config sc;
	rl_client_config cc;

	(void)state;
	RL_PASS(srv("[server]\nmap_size = 16M\n", &sc, err));
	assert_true(sc.map_bytes == RL_CFG_MAP_MIN);
	RL_PASS(srv("[server]\nmap_size = 1T\n", &sc, err));
	assert_true(sc.map_bytes == RL_CFG_MAP_MAX);
	RL_PASS(srv("[server]\nmap_size = 16777216\n", &sc, err));
	assert_true(sc.map_bytes == 16u << 20);
	RL_PASS(srv("[server]\nmap_size = 1048576k\n", &sc, err));
	assert_true(sc.map_bytes == (uint64_t)1 << 30);
	RL_PASS(cli("[client]\nmap_size = 4g\n", &cc, err));
	assert_true(cc.map_bytes == (uint64_t)4 << 30);
	srv_bad("[server]\nmap_size = 16777215\n", RL_EINVAL,
	        "ligne 2 : map_size = 16777215 : hors des bornes (16M à 1T)");
	srv_bad("[server]\nmap_size = 8M\n", RL_EINVAL, "hors des bornes (16M à 1T)");
	srv_bad("[server]\nmap_size = 1025G\n", RL_EINVAL, "hors des bornes (16M à 1T)");
	srv_bad("[server]\nmap_size = 0\n", RL_EINVAL, "hors des bornes");
	srv_bad("[server]\nmap_size = -64G\n", RL_EINVAL,
	        "ligne 2 : map_size = -64G : valeur invalide (attendu : une taille comme 65536, 512K, "
	        "1M, 64G)");
	srv_bad("[server]\nmap_size = 64GB\n", RL_EINVAL, "valeur invalide");
	srv_bad("[server]\nmap_size = 64 G\n", RL_EINVAL, "valeur invalide");
	srv_bad("[server]\nmap_size = 1.5G\n", RL_EINVAL, "valeur invalide");
	srv_bad("[server]\nmap_size = G\n", RL_EINVAL, "valeur invalide");
	srv_bad("[server]\nmap_size = 16777216T\n", RL_EINVAL, "valeur invalide"); /* 2^64 */
	srv_bad("[server]\nmap_size = 64G\nmap_size = 32G\n", RL_EINVAL,
	        "ligne 3 : clé « map_size » répétée");
	srv_bad("[sessions]\nmap_size = 64G\n", RL_EINVAL, "clé inconnue « map_size » dans [sessions]");
	cli_bad("[client]\nmap_size = 2T\n", RL_EINVAL, "ligne 2 : map_size = 2T : hors des bornes");
	cli_bad("[sync]\nmap_size = 1G\n", RL_EINVAL, "clé inconnue « map_size » dans [sync]");
}

/* The size parser behind map_size and --map-size. */
static void
test_size_parse(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "0", 0 },
		{ "1", 1 },
		{ "4096", 4096 },
		{ "512K", 512u << 10 },
		{ "512k", 512u << 10 },
		{ "3M", 3u << 20 },
		{ "3m", 3u << 20 },
		{ "64G", (uint64_t)64 << 30 },
		{ "64g", (uint64_t)64 << 30 },
		{ "1T", (uint64_t)1 << 40 },
		{ "1t", (uint64_t)1 << 40 },
		{ "0064G", (uint64_t)64 << 30 },
		{ "9999999999999999999", 9999999999999999999ull }, /* 19 digits */
		{ "16777215T", (uint64_t)16777215 << 40 },         /* 2^64 - 2^40 */
		{ "18014398509481983K", (uint64_t)18014398509481983 << 10 },
	};
	static const char *const junk[] = {
		"",     " ",    "-1",   "+1",  "-0",   "1 ",  " 1", "1 G", "1GB", "1GiB", "1KM",
		"1B",   "1P",   "1E",   "G",   "K1",   "1.5G", "1,5G", "0x10", "1e9", "\xd9\xa1",
		"10000000000000000000", /* 20 digits */
		"18446744073709551616", /* 2^64 */
		"16777216T",            /* 2^64 once scaled */
		"18014398509481984K",   /* 2^64 once scaled */
		"9999999999999999999T",
	};
	char err[RL_CFG_ERR_MAX];
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 1;
		if (rl_config_size_parse(ok[i].s, 0, UINT64_MAX, &v, err, sizeof(err)) != RL_OK)
			fail_msg("'%s' refused: %s", ok[i].s, err);
		if (v != ok[i].v)
			fail_msg("'%s': %llu, want %llu", ok[i].s, (unsigned long long)v,
			         (unsigned long long)ok[i].v);
		assert_string_equal(err, "");
	}
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		v = 7;
		if (rl_config_size_parse(junk[i], 0, UINT64_MAX, &v, err, sizeof(err)) != RL_EINVAL)
			fail_msg("'%s' accepted as %llu", junk[i], (unsigned long long)v);
		assert_true(v == 7); /* untouched on error */
		assert_non_null(strstr(err, "valeur invalide (attendu : une taille comme"));
	}
	/* Bounds: inclusive, RL_ETOOBIG outside, named in units in the message. */
	RL_PASS(rl_config_size_parse("16M", RL_CFG_MAP_MIN, RL_CFG_MAP_MAX, &v, err, sizeof(err)));
	assert_true(v == RL_CFG_MAP_MIN);
	RL_PASS(rl_config_size_parse("1024G", RL_CFG_MAP_MIN, RL_CFG_MAP_MAX, &v, err, sizeof(err)));
	assert_true(v == RL_CFG_MAP_MAX);
	v = 7;
	RL_FAIL(rl_config_size_parse("16383K", RL_CFG_MAP_MIN, RL_CFG_MAP_MAX, &v, err, sizeof(err)),
	        RL_ETOOBIG);
	assert_string_equal(err, "hors des bornes (16M à 1T)");
	RL_FAIL(rl_config_size_parse("1099511627777", RL_CFG_MAP_MIN, RL_CFG_MAP_MAX, &v, err,
	                             sizeof(err)),
	        RL_ETOOBIG);
	RL_FAIL(rl_config_size_parse("0", RL_CFG_MAP_MIN, RL_CFG_MAP_MAX, &v, err, sizeof(err)),
	        RL_ETOOBIG);
	assert_true(v == 7);
	/* Bounds that are no whole unit print in bytes. */
	RL_FAIL(rl_config_size_parse("5K", 4100, 5000, &v, err, sizeof(err)), RL_ETOOBIG);
	assert_string_equal(err, "hors des bornes (4100 à 5000)");
	/* A small error buffer, or none. */
	RL_FAIL(rl_config_size_parse("x", 0, 1, &v, err, 6), RL_EINVAL);
	assert_string_equal(err, "valeu");
	RL_FAIL(rl_config_size_parse("x", 0, 1, &v, NULL, 0), RL_EINVAL);
	RL_PASS(rl_config_size_parse("1", 0, 1, &v, NULL, 0));
	assert_true(v == 1);
}

static void
test_hostile(void **state)
{
	char big[RL_CFG_MAX_BYTES + 64], err[RL_CFG_ERR_MAX];
	rl_client_config c;
	size_t n;

	(void)state;
	/* A NUL byte in the middle. */
	RL_FAIL(rl_client_config_parse("[client]\nstore = /a\0b\n", 20, &c, err, sizeof(err)),
	        RL_EINVAL);
	assert_non_null(strstr(err, "ligne 2 : caractère de contrôle"));
	cli_bad("[client]\nstore = /a\x1b[31m\n", RL_EINVAL, "ligne 2 : caractère de contrôle");
	/* A line just at the bound is fine; one byte more is not. */
	memset(big, 0, sizeof(big));
	n = (size_t)snprintf(big, sizeof(big), "[client]\nstore = ");
	memset(big + n, 'a', RL_CFG_LINE_MAX - 8);
	RL_PASS(cli(big, &c, err));
	assert_int_equal(strlen(c.store), RL_CFG_LINE_MAX - 8);
	big[n + RL_CFG_LINE_MAX - 8] = 'a';
	cli_bad(big, RL_ETOOBIG, "ligne 2 : ligne trop longue");
	/* Many short lines up to the size bound, then one byte more. */
	memset(big, '\n', sizeof(big));
	memcpy(big, "# x", 3);
	RL_PASS(rl_client_config_parse(big, RL_CFG_MAX_BYTES, &c, err, sizeof(err)));
	RL_FAIL(rl_client_config_parse(big, RL_CFG_MAX_BYTES + 1, &c, err, sizeof(err)),
	        RL_ETOOBIG);
	assert_non_null(strstr(err, "trop grand"));
	/* A tiny error buffer, or none, is fine. */
	RL_FAIL(rl_client_config_parse("[x]", 3, &c, err, 4), RL_EINVAL);
	assert_int_equal(strlen(err), 3);
	RL_FAIL(rl_client_config_parse("[x]", 3, &c, NULL, 0), RL_EINVAL);
}

static void
test_files(void **state)
{
	char dir[] = "/tmp/rl_test_config_XXXXXX", path[64], err[RL_CFG_ERR_MAX];
	static const char text[] = "[server]\nlisten = tcp://127.0.0.1:7402\n";
	rl_server_config c;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/server.conf", dir);
	RL_FAIL(rl_server_config_load(path, &c, err, sizeof(err)), RL_ENOTFOUND);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (int)sizeof(text) - 1);
	close(fd);
	RL_PASS(rl_server_config_load(path, &c, err, sizeof(err)));
	assert_string_equal(c.listen, "tcp://127.0.0.1:7402");
	/* A directory is not a configuration file. */
	RL_FAIL(rl_server_config_load(dir, &c, err, sizeof(err)), RL_EIO);
	/* A file grown past the bound. */
	assert_int_equal(truncate(path, RL_CFG_MAX_BYTES + 1), 0);
	RL_FAIL(rl_server_config_load(path, &c, err, sizeof(err)), RL_ETOOBIG);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_all_keys), cmocka_unit_test(test_server_unset),
		cmocka_unit_test(test_client_all_keys), cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_syntax),          cmocka_unit_test(test_values),
		cmocka_unit_test(test_map_size),        cmocka_unit_test(test_size_parse),
		cmocka_unit_test(test_hostile),         cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
