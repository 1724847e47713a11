/*
 * watchdog.h - the last resort against a call that never returns.
 *
 * A thread watches up to two deadlines: RL_WATCHDOG_TOTAL bounds a whole
 * operation (one sync, one cycle of `relais sync --watch`), and
 * RL_WATCHDOG_STEP one call inside it (common/net.c arms it around every
 * call that enters nng). Past either, the process cannot be trusted to come
 * back: the thread writes one French line on stderr ("relais : ... bloquée
 * depuis N s ; arrêt"), one log line, and ends the process with
 * RL_WATCHDOG_EXIT. Nothing is lost: every step of a sync is an LMDB
 * transaction, and systemd's Restart= (or the next `relais sync`) carries
 * on where it stopped.
 *
 * The arm/disarm calls take a mutex and signal a condition variable: a few
 * hundred nanoseconds, cheap enough around every network call.
 */
#ifndef RL_WATCHDOG_H
#define RL_WATCHDOG_H

#include <stdint.h>

#include "err.h"

#define RL_WATCHDOG_EXIT 3 /* the process's exit status when it fires */

enum { RL_WATCHDOG_TOTAL, RL_WATCHDOG_STEP, RL_WATCHDOG_SLOTS };

typedef struct rl_watchdog rl_watchdog;

/* Starts the watchdog thread, nothing armed. prog names the program in the
 * message ("relais"; a static string). RL_ENOMEM, RL_EIO (no thread). */
rl_err rl_watchdog_start(const char *prog, rl_watchdog **out);

/* Arms slot: the process ends unless the slot is disarmed or armed again
 * within ms. what is a French noun phrase for what may be stuck ("la
 * synchronisation"); a static string. NULL-safe on w. Any thread. */
void rl_watchdog_arm(rl_watchdog *w, int slot, uint64_t ms, const char *what);

/* Disarms slot. NULL-safe. Any thread. */
void rl_watchdog_disarm(rl_watchdog *w, int slot);

/* Stops the thread and frees w. NULL-safe. */
void rl_watchdog_stop(rl_watchdog *w);

#endif
