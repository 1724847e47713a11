/*
 * report.c - consolidated activity report. Not written yet: the issue
 * "HQ consolidation" builds it.
 */
#include <stdio.h>

#include "report.h"

int
rl_report_main(rl_hub *hub, const rl_report_opts *o)
{
	(void)hub;
	(void)o;
	fprintf(stderr, "relais-server: le rapport n'est pas encore disponible\n");
	return 1;
}
