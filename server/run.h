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
} rl_run_opts;

void rl_run_defaults(rl_run_opts *o);

/* Serves until SIGTERM or SIGINT. The hub must be open. Returns RL_OK after a
 * clean stop, RL_EBUSY if the address is taken, RL_EINVAL for a bad url. */
rl_err rl_run_serve(rl_hub *hub, const rl_run_opts *o);

#endif
