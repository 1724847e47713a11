/*
 * log.h - one line per event on stderr (journald collects it).
 *
 * Lines look like "2026-11-22T20:51:31Z relais-server info: message". Log
 * lines carry device and situation ids only, never personal data (no
 * initials, no free text): callers pass ids, not content.
 */
#ifndef RL_LOG_H
#define RL_LOG_H

typedef enum rl_log_level {
	RL_LOG_ERROR = 0,
	RL_LOG_WARN,
	RL_LOG_INFO,
	RL_LOG_DEBUG,
} rl_log_level;

/* Sets the program name and the most verbose level printed (from main). */
void rl_log_setup(const char *prog, rl_log_level max);

/* Parses "error", "warn", "info", "debug". -1 if unknown. */
int rl_log_level_parse(const char *s);

void rl_log(rl_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
