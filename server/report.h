/*
 * report.h - consolidated activity report (`relais-server report`).
 */
#ifndef RL_REPORT_H
#define RL_REPORT_H

#include "hub.h"

typedef struct rl_report_opts {
	const char *from;    /* YYYY-MM or NULL */
	const char *to;      /* YYYY-MM or NULL */
	const char *antenna; /* NULL: the whole network */
	const char *format;  /* text | csv | json | html */
	const char *output;  /* file, NULL: stdout */
} rl_report_opts;

/* Runs the report command; returns the process exit code (0, 1 or 2). */
int rl_report_main(rl_hub *hub, const rl_report_opts *o);

#endif
