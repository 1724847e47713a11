/*
 * cmd_admin.c - the store and the device: init, passwd, status.
 *
 * `init` makes the encrypted store and this device's identity (keys made
 * here, never leaving the device). `passwd` rewraps the store's data key
 * under a new passphrase or a key file; nothing else is re-encrypted.
 * `status` reports the device and what waits to be pushed; whether the
 * server answers comes from the sync module's probe (sync_cmd.c).
 *
 * RELAIS_KDF=min (tests only): `init` then derives the passphrase key with
 * argon2id's minimum cost instead of the interactive one (~90 ms per
 * command). The store records its own cost, so opening needs nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "client/cli.h"

/* Makes every missing parent directory of path (mode 0700). */
static int
mkdir_parents(const char *path)
{
	char *p = strdup(path);

	if (p == NULL)
		return -1;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			free(p);
			return -1;
		}
		*s = '/';
	}
	free(p);
	return 0;
}

int
rl_cmd_init(rl_cli *cli)
{
	const char *antenna = rl_cli_opt(cli, "antenna"), *role_s = rl_cli_opt(cli, "role");
	const char *dir, *kdf = getenv("RELAIS_KDF");
	char dev[RL_CLI_DEV_HEX + 1], probe[4096];
	rl_store_opts opts = { (size_t)cli->cfg.map_bytes, RL_KDF_INTERACTIVE };
	rl_cli_secret sec;
	rl_replica *rp;
	struct stat sb;
	rl_role role = RL_ROLE_ANTENNA;
	rl_err e;
	int rc;

	if (antenna == NULL)
		return rl_cli_usage(cli, "--antenna est obligatoire");
	if (!rl_antenna_valid(antenna))
		return rl_cli_fail("code d'antenne invalide : « %.40s » (1 à %d caractères parmi "
		                   "A-Z a-z 0-9 _ -)",
		                   antenna, RL_ANTENNA_MAX);
	if (role_s != NULL) {
		role = rl_role_parse(role_s);
		if (role != RL_ROLE_ANTENNA && role != RL_ROLE_MOBILE && role != RL_ROLE_HQ)
			return rl_cli_fail("rôle invalide : « %.40s » (antenna, mobile ou hq)", role_s);
	}
	if (kdf != NULL && strcmp(kdf, "min") == 0)
		opts.cost = RL_KDF_MIN;
	dir = rl_cli_store_dir(cli);
	snprintf(probe, sizeof(probe), "%s/data.mdb", dir);
	if (stat(probe, &sb) == 0)
		return rl_cli_fail("un magasin de données existe déjà dans %s", dir);
	if (cli->store == NULL && mkdir_parents(dir) != 0)
		return rl_cli_fail("création de %s impossible : %s", dir, strerror(errno));
	if ((rc = rl_cli_secret_get(cli->key_file, "RELAIS_PASSPHRASE",
	                            "Phrase secrète du nouveau magasin : ", true, &sec)) != 0)
		return rc;
	e = rl_replica_create(dir, &sec.s, &opts, antenna, role);
	if (e == RL_OK)
		e = rl_replica_open(dir, &sec.s, &opts, &rp);
	rl_cli_secret_fini(&sec);
	if (e == RL_EEXIST)
		return rl_cli_fail("un magasin de données existe déjà dans %s", dir);
	if (e != RL_OK)
		return rl_cli_fail("création du magasin dans %s impossible : %s", dir,
		                   rl_strerror_fr(e));
	rl_hex_encode(rl_replica_device(rp), RL_DEV_BYTES, dev);
	rl_replica_close(rp);
	printf("%s\n", dev);
	return 0;
}

int
rl_cmd_passwd(rl_cli *cli)
{
	const char *newkey = rl_cli_opt(cli, "new-key-file");
	rl_cli_secret sec;
	rl_replica *rp;
	rl_err e;
	int rc;

	if ((rc = rl_cli_open(cli, &rp)) != 0)
		return rc;
	if ((rc = rl_cli_secret_get(newkey, "RELAIS_NEW_PASSPHRASE",
	                            "Nouvelle phrase secrète : ", true, &sec)) != 0) {
		rl_replica_close(rp);
		return rc;
	}
	e = rl_store_rekey(rl_replica_store(rp), &sec.s);
	rl_cli_secret_fini(&sec);
	rl_replica_close(rp);
	if (e != RL_OK)
		return rl_cli_fail_err(e, "changement de secret impossible");
	printf(newkey ? "Le magasin est désormais protégé par le fichier de clé %s.\n"
	              : "Phrase secrète changée.\n",
	       newkey);
	return 0;
}

/* The meta value "last_sync" as JSON: 8 bytes are big-endian ms since the
 * epoch (shown in UTC, ISO 8601); anything else is shown as text. Also reads
 * "clock_error" (1 while the server refuses this device's clock), which the
 * sync code writes. */
static json_t *
last_sync_json(rl_replica *rp, bool *clock_error, rl_err *err)
{
	uint64_t ce = 0;
	rl_txn *txn;
	rl_buf b;
	json_t *j = NULL;
	rl_err e;

	rl_buf_init(&b);
	if ((e = rl_store_begin(rl_replica_store(rp), false, &txn)) != RL_OK) {
		*err = e;
		return NULL;
	}
	if ((e = rl_meta_get_u64(txn, "clock_error", &ce)) == RL_OK)
		e = rl_meta_get(txn, "last_sync", &b);
	*clock_error = ce == 1;
	rl_store_abort(txn);
	if (e == RL_ENOTFOUND)
		j = json_null();
	else if (e != RL_OK)
		*err = e;
	else if (b.len == 8) {
		time_t t = (time_t)(rl_get_be64(b.data) / 1000);
		struct tm tm;
		char s[32];

		if (gmtime_r(&t, &tm) != NULL && strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm))
			j = json_string(s);
		else
			j = json_null();
	} else
		j = rl_cli_jstr(rl_buf_view(&b));
	rl_buf_fini(&b);
	return j;
}

int
rl_cmd_status(rl_cli *cli)
{
	char dev[RL_CLI_DEV_HEX + 1];
	rl_cli_reach reach;
	rl_replica *rp;
	size_t pending = 0;
	json_t *o, *last;
	bool clock_error = false;
	rl_err e = RL_OK;
	int rc, ok = 1;

	if ((rc = rl_cli_open(cli, &rp)) != 0)
		return rc;
	if ((e = rl_outbox_count(rp, &pending)) != RL_OK ||
	    (last = last_sync_json(rp, &clock_error, &e)) == NULL) {
		rl_replica_close(rp);
		return rl_cli_fail_err(e ? e : RL_ENOMEM, "lecture du magasin");
	}
	reach = rl_sync_probe(cli, rp);
	rl_hex_encode(rl_replica_device(rp), RL_DEV_BYTES, dev);
	if ((o = json_object()) == NULL) {
		json_decref(last);
		rl_replica_close(rp);
		return rl_cli_fail_err(RL_ENOMEM, "état");
	}
	ok &= json_object_set_new(o, "device", json_string(dev)) == 0;
	ok &= json_object_set_new(o, "antenna", json_string(rl_replica_antenna(rp))) == 0;
	ok &= json_object_set_new(o, "role", json_string(rl_role_name(rl_replica_role(rp)))) == 0;
	ok &= json_object_set_new(o, "pending", json_integer((json_int_t)pending)) == 0;
	ok &= json_object_set_new(o, "last_sync", last) == 0;
	ok &= json_object_set_new(o, "server_reachable", json_boolean(reach == RL_CLI_REACH_YES)) ==
	      0;
	ok &= json_object_set_new(o, "server_status",
	                          json_string(reach == RL_CLI_REACH_YES      ? "reachable"
	                                      : reach == RL_CLI_REACH_NO     ? "unreachable"
	                                      : reach == RL_CLI_REACH_SILENT ? "silent"
	                                                                     : "unknown")) == 0;
	ok &= json_object_set_new(o, "clock_error", json_boolean(clock_error)) == 0;
	ok &= json_object_set_new(o, "store", rl_cli_jstr(RL_BYTES(rl_cli_store_dir(cli),
	                                                           strlen(rl_cli_store_dir(cli))))) ==
	      0;
	rl_replica_close(rp);
	if (!ok) {
		json_decref(o);
		return rl_cli_fail_err(RL_ENOMEM, "état");
	}
	if (rl_cli_flag(cli, "json"))
		return rl_cli_json_print(o);
	printf("Appareil             %s\n", dev);
	printf("Antenne              %s\n", json_string_value(json_object_get(o, "antenna")));
	printf("Rôle                 %s\n", json_string_value(json_object_get(o, "role")));
	printf("Magasin              ");
	rl_cli_cell(stdout, json_string_value(json_object_get(o, "store")), 0);
	printf("\nEn attente d'envoi   %zu changement%s\n", pending, pending > 1 ? "s" : "");
	printf("Dernière synchro     ");
	if (json_is_string(json_object_get(o, "last_sync")))
		rl_cli_cell(stdout, json_string_value(json_object_get(o, "last_sync")), 0);
	else
		fputs("jamais", stdout);
	printf("\nServeur              %s\n",
	       reach == RL_CLI_REACH_YES      ? "joignable"
	       : reach == RL_CLI_REACH_NO     ? "injoignable"
	       : reach == RL_CLI_REACH_SILENT ? "ne répond pas (connexion sans réponse en 2 s)"
	                                      : "inconnu (appareil non rattaché : relais enroll)");
	if (clock_error)
		printf("Horloge              en avance sur le serveur : corrigez l'heure de cet "
		       "appareil (les changements attendent)\n");
	json_decref(o);
	return 0;
}
