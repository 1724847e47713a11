/*
 * run.h - the HQ sync daemon (`relais-server run`).
 */
#ifndef RL_RUN_H
#define RL_RUN_H

#include "hub.h"

typedef struct rl_run_opts {
	const char *listen;     /* NNG url, default tcp://0.0.0.0:7401 */
	unsigned contexts;      /* concurrent requests in flight (REP contexts) */
	unsigned workers;       /* threads for handshakes and pulls */
	unsigned max_sessions;  /* session table size */
	unsigned sessions_per_device;
	uint64_t session_idle_ms;
	uint64_t skew_ms;       /* accepted device clock lead */
	uint32_t pull_max_entries; /* entries in one pull answer (<= RL_PULL_MAX_ENTRIES) */
	uint32_t write_group_ops;  /* changes the writer groups into one commit */
} rl_run_opts;

void rl_run_defaults(rl_run_opts *o);

/* Serves until SIGTERM or SIGINT. The hub must be open. Draws a new store
 * epoch first if the store is a backup copy never served (epoch.h). Returns
 * RL_OK after a clean stop, RL_EBUSY if the address is taken, RL_EINVAL for
 * a bad url, or a store error. */
rl_err rl_run_serve(rl_hub *hub, const rl_run_opts *o);

#endif
