/*
 * report.h - consolidated activity report (`relais-server report`).
 *
 * The report reads the situation states the HQ store holds (not the change
 * log), in one read transaction, and prints the figures HQ sends to the
 * regional health agency: situations opened in a period, coordinations and
 * orientations, problems ("observatoire des ruptures"), referrers, antennas,
 * months, closures and their reasons, home visits, overdue alerts and the
 * median delay to the first intervention. Formats: text (French, for a
 * terminal), csv (long format figure,key,value), json (the keys of CLI.md and
 * more) and html (one self-contained file with inline SVG bar charts).
 *
 * What counts where (the definitions are repeated in report.c):
 *   - a situation counts when its opening date ("opened") falls in the
 *     months --from..--to (inclusive; an open side is unbounded); erased
 *     situations never count; --antenna and by_antenna use the current
 *     antenna (the displayed winner of the "antenna" register);
 *   - home_visits: journal entries of type vad dated in the period, over
 *     every situation of the scope whatever its opening date;
 *   - alerts_overdue: today's snapshot over every situation of the scope.
 */
#ifndef RL_REPORT_H
#define RL_REPORT_H

#include <stdint.h>

#include "hub.h"

typedef struct rl_report_opts {
	const char *from;    /* YYYY-MM or NULL */
	const char *to;      /* YYYY-MM or NULL */
	const char *antenna; /* NULL: the whole network */
	const char *format;  /* text | csv | json | html; NULL: text */
	const char *output;  /* file, NULL or "-": stdout */
	uint32_t today;      /* YYYYMMDD used for overdue alerts; 0: the local date */
} rl_report_opts;

/*
 * Runs the report command on an open hub: validates the options, computes
 * the figures in one read transaction, and writes the report to o->output
 * (through a temporary file in the same directory renamed over it, so the
 * file is either the old one or the whole new report) or to stdout.
 * Messages go to stderr as one French line. Returns the process exit code:
 * 0 success; 1 a bad value (malformed or impossible month, --from after
 * --to, bad antenna code), an unreadable store or an output that cannot be
 * written; 2 an unknown format (usage error).
 */
int rl_report_main(rl_hub *hub, const rl_report_opts *o);

#endif
