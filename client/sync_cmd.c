/*
 * sync_cmd.c - the server side of the client: `relais enroll`, `relais
 * sync [--watch]`, and the reachability probe `relais status` uses.
 *
 * --watch loops: a full sync, then a pause (5 s); when the server cannot be
 * reached the pause grows exponentially (1 s doubling to a cap of 60 s) with
 * full jitter, so seven antennas coming back at once do not hammer HQ in
 * step, and the next attempt after the link returns carries on at once.
 * SIGINT/SIGTERM end the loop between two syncs. The pause, the backoff
 * bounds, the request timeout, the push batch bounds and the server url come
 * from the configuration file ([sync]) when it sets them. In --watch mode
 * each event is one log line on stderr (level, no personal data), for
 * journald. A progress line is drawn on stderr when it is a terminal.
 *
 * A watchdog (common/watchdog.h) bounds every sync: the whole of it by
 * [sync] deadline (default 60 x timeout), each network call by its timeout
 * plus a margin (common/net.c). A one-shot sync leaves its sockets to the
 * process's exit instead of closing them (nng 1.5.2 can wedge in a close);
 * --watch closes them, under the watchdog.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/cli.h"
#include "client/sync.h"
#include "common/crypto.h"
#include "common/log.h"

#define WATCH_INTERVAL_MS 5000
#define DEADLINE_PER_TIMEOUT 60 /* default [sync] deadline, in request timeouts */
#define PROBE_TIMEOUT_MS 600    /* `relais status`: dial, handshake, ping: 1.8 s at most */
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000

static volatile sig_atomic_t watch_stop;

static void
on_signal(int sig)
{
	(void)sig;
	watch_stop = 1;
}

/* A French sentence for why a sync failed. */
static const char *
sync_reason(rl_err e)
{
	switch (e) {
	case RL_ENOSTORE: return "cet appareil n'est pas rattaché à un serveur (relais enroll)";
	case RL_EUNREACH: return "serveur injoignable";
	case RL_ETIMEDOUT: return "le serveur ne répond pas (délai dépassé)";
	case RL_EREVOKED: return "cet appareil a été révoqué par le siège";
	case RL_ENOTFOUND:
	case RL_EPERM: return "le serveur refuse cet appareil ou ces changements (hors périmètre)";
	case RL_ECLOCK:
		return "l'horloge de cet appareil est en avance : corrigez la date et l'heure, puis "
		       "relancez la synchronisation";
	case RL_ECRYPTO:
		return "la clé du serveur ne correspond pas à celle enregistrée (serveur usurpé ?)";
	case RL_ECLOSED: return "session interrompue par le serveur";
	case RL_EPROTO:
	case RL_EVERSION: return "erreur de protocole avec le serveur";
	case RL_EFULL: return "le serveur est plein : réessayez plus tard";
	case RL_EBUSY: return "le serveur est surchargé : réessayez plus tard";
	default: return rl_strerror_fr(e);
	}
}

static void
progress_line(void *arg, const rl_sync_progress *p)
{
	(void)arg;
	if (p->pulling)
		fprintf(stderr, "\rsynchronisation : %zu envoyés, %zu reçus   ", p->pushed, p->pulled);
	else
		fprintf(stderr, "\rsynchronisation : %zu/%zu envoyés   ", p->pushed, p->pending);
}

int
rl_cmd_enroll(rl_cli *cli)
{
	const char *url = rl_cli_opt(cli, "server"), *token = rl_cli_opt(cli, "token");
	rl_replica *rp;
	rl_err e;
	int rc;

	if (url == NULL || token == NULL)
		return rl_cli_usage(cli, "--server et --token sont obligatoires");
	if ((rc = rl_cli_open(cli, &rp)) != 0)
		return rc;
	e = rl_sync_enroll(rp, url, token, NULL);
	rl_replica_close(rp);
	switch (e) {
	case RL_OK:
		break;
	case RL_EINVAL: return rl_cli_fail("jeton mal formé");
	case RL_EKEY: return rl_cli_fail("jeton refusé : inconnu, déjà utilisé ou expiré");
	case RL_ECRYPTO: return rl_cli_fail("la réponse du serveur ne prouve pas la connaissance du jeton");
	case RL_EEXIST: return rl_cli_fail("cet appareil est déjà enrôlé");
	default: return rl_cli_fail("enrôlement impossible : %s", sync_reason(e));
	}
	if ((rc = rl_cli_open(cli, &rp)) != 0)
		return rc;
	printf("appareil rattaché à %s (antenne %s, rôle %s) ; lancez « relais sync »\n", url,
	       rl_replica_antenna(rp), rl_role_name(rl_replica_role(rp)));
	rl_replica_close(rp);
	return 0;
}

static void
sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (!watch_stop && nanosleep(&ts, &ts) != 0)
		;
}

/* The bound on one whole sync: [sync] deadline, else 60 request timeouts. */
static uint64_t
deadline_ms(const rl_client_config *cfg)
{
	uint64_t t = cfg->timeout_ms ? cfg->timeout_ms : RL_SYNC_TIMEOUT_MS;

	return cfg->deadline_ms ? cfg->deadline_ms : DEADLINE_PER_TIMEOUT * t;
}

static int
sync_watch(rl_cli *cli, rl_replica *rp, rl_sync_opts *o)
{
	const rl_client_config *cfg = &cli->cfg;
	uint64_t interval = cfg->interval_ms ? cfg->interval_ms : WATCH_INTERVAL_MS;
	uint64_t bmin = cfg->backoff_min_ms ? cfg->backoff_min_ms : BACKOFF_MIN_MS;
	uint64_t bmax = cfg->backoff_max_ms ? cfg->backoff_max_ms : BACKOFF_MAX_MS;
	uint64_t backoff;
	rl_err last = RL_OK;
	bool first = true;
	struct sigaction sa;

	/* Only one bound set, beyond the other's default: the set one wins. */
	if (bmax < bmin && cfg->backoff_max_ms != 0)
		bmin = bmax;
	else if (bmax < bmin)
		bmax = bmin;
	backoff = bmin;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rl_log(RL_LOG_INFO, "watching: sync every %llu ms, retries between %llu and %llu ms",
	       (unsigned long long)interval, (unsigned long long)bmin, (unsigned long long)bmax);
	while (!watch_stop) {
		rl_sync_stats st;
		rl_err e;

		rl_watchdog_arm(o->wd, RL_WATCHDOG_TOTAL, deadline_ms(cfg), "la synchronisation");
		e = rl_sync_once(rp, o, &st);
		rl_watchdog_disarm(o->wd, RL_WATCHDOG_TOTAL);

		if (o->progress && (st.pushed || st.pulled))
			fputc('\n', stderr);
		if (e == RL_OK) {
			if (first || last != RL_OK || st.pushed || st.pulled)
				rl_log(RL_LOG_INFO, "synced: %zu changes sent, %zu received", st.pushed,
				       st.pulled);
			backoff = bmin;
			last = e;
			first = false;
			sleep_ms(interval);
			continue;
		}
		if (e == RL_EREVOKED || e == RL_ENOSTORE) {
			rl_log(RL_LOG_ERROR, "sync stopped: %s", rl_strerror(e));
			return rl_cli_fail("synchronisation arrêtée : %s", sync_reason(e));
		}
		if (e != last)
			rl_log(e == RL_EUNREACH || e == RL_ETIMEDOUT ? RL_LOG_INFO : RL_LOG_WARN,
			       "sync failed: %s; retrying", rl_strerror(e));
		last = e;
		/* Full jitter over the current window, then widen it. */
		sleep_ms(bmin / 2 + rl_random_uniform((uint32_t)(backoff > UINT32_MAX ? UINT32_MAX
		                                                                         : backoff)));
		backoff = backoff * 2 > bmax ? bmax : backoff * 2;
	}
	rl_log(RL_LOG_INFO, "watch stopped by a signal");
	return 0;
}

int
rl_cmd_sync(rl_cli *cli)
{
	rl_sync_opts o = { 0 };
	rl_sync_stats st;
	rl_replica *rp;
	rl_err e;
	int rc;

	if ((rc = rl_cli_open(cli, &rp)) != 0)
		return rc;
	if (cli->cfg.server[0] != '\0')
		o.url = cli->cfg.server;
	o.timeout_ms = (int)cli->cfg.timeout_ms;
	o.push_ops = (uint32_t)cli->cfg.push_ops;
	o.push_bytes = (size_t)cli->cfg.push_bytes;
	if (isatty(STDERR_FILENO))
		o.progress = progress_line;
	if ((e = rl_watchdog_start("relais", &o.wd)) != RL_OK) {
		rl_replica_close(rp);
		return rl_cli_fail_err(e, "synchronisation");
	}
	if (rl_cli_flag(cli, "watch")) {
		rc = sync_watch(cli, rp, &o);
		rl_watchdog_stop(o.wd);
		rl_replica_close(rp);
		return rc;
	}
	o.abandon = true;
	rl_watchdog_arm(o.wd, RL_WATCHDOG_TOTAL, deadline_ms(&cli->cfg), "la synchronisation");
	e = rl_sync_once(rp, &o, &st);
	rl_watchdog_stop(o.wd);
	if (o.progress && (st.pushed || st.pulled))
		fputc('\n', stderr);
	rl_replica_close(rp);
	if (st.server_restored)
		fprintf(stderr, "relais: le serveur a été restauré depuis une sauvegarde : %zu "
		                "changements de cet appareil %s\n",
		        st.requeued, e == RL_OK ? "lui ont été renvoyés" : "lui seront renvoyés");
	if (e != RL_OK && (st.pushed || st.pulled))
		printf("synchronisation partielle : %zu changements envoyés, %zu reçus\n", st.pushed,
		       st.pulled);
	if (e != RL_OK)
		return rl_cli_fail("synchronisation incomplète : %s ; les changements non envoyés "
		                   "restent en attente",
		                   sync_reason(e));
	printf("synchronisé : %zu changements envoyés, %zu reçus\n", st.pushed, st.pulled);
	if (st.skew_ms > 5 * 60 * 1000 || st.skew_ms < -5 * 60 * 1000)
		fprintf(stderr, "relais: attention, l'horloge de cet appareil diffère de %lld s de "
		                "celle du serveur\n",
		        (long long)(st.skew_ms / 1000));
	return 0;
}

rl_cli_reach
rl_sync_probe(rl_cli *cli, rl_replica *rp)
{
	rl_sync_opts o = { 0 };
	rl_sync_conn *c;
	rl_err e;

	if (!rl_sync_enrolled(rp))
		return RL_CLI_REACH_UNKNOWN;
	/* The server the configuration names, if any; never write the store.
	 * A silent server fails the dial at its deadline: an answer within
	 * 2 s. The process exits soon after: no close. */
	o.url = cli->cfg.server[0] != '\0' ? cli->cfg.server : NULL;
	o.timeout_ms = PROBE_TIMEOUT_MS;
	o.probe = true;
	o.abandon = true;
	if (rl_watchdog_start("relais", &o.wd) != RL_OK)
		o.wd = NULL;
	if ((e = rl_sync_connect(rp, &o, &c)) == RL_OK)
		e = rl_sync_ping_conn(c);
	rl_sync_disconnect(c);
	rl_watchdog_stop(o.wd);
	return e == RL_OK          ? RL_CLI_REACH_YES
	       : e == RL_ETIMEDOUT ? RL_CLI_REACH_SILENT
	                           : RL_CLI_REACH_NO;
}
