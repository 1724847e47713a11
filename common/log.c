/*
 * log.c - timestamped single-line logging to stderr.
 *
 * The program name and level are process-wide settings made once in main();
 * each line is formatted into a local buffer and written with one write(2)
 * so lines from several threads do not interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_prog = "relais";
static rl_log_level log_max = RL_LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
rl_log_setup(const char *prog, rl_log_level max)
{
	log_prog = prog;
	log_max = max;
}

int
rl_log_level_parse(const char *s)
{
	for (int i = 0; i <= RL_LOG_DEBUG; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

void
rl_log(rl_log_level lvl, const char *fmt, ...)
{
	char line[1024];
	struct tm tm;
	time_t now;
	va_list ap;
	int n, m;

	if (lvl > log_max)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02dZ %s %s: ",
	             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	             tm.tm_sec, log_prog, level_names[lvl]);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	/* Control characters would break the one-line format. */
	for (int i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20)
			line[i] = ' ';
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
