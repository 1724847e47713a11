/*
 * casefile.c - the shared rules over a situation record (see casefile.h).
 *
 * An alert is a small record of registers keyed by the alert's operation
 * id: "due", "text" and "done" may each be rewritten (and be in conflict;
 * the winner, rl_record_reg's first value, is what every reader shows).
 */
#include <string.h>

#include "casefile.h"

uint32_t
rl_case_alert_due(const rl_record *rec, const rl_op *alert)
{
	rl_regval v;
	uint32_t ymd;

	if (rl_record_reg(rec, &alert->id, RL_F_ALERT_DUE, &v, 1) > 0 &&
	    rl_date_parse((const char *)v.value.p, v.value.len, &ymd) == RL_OK)
		return ymd;
	return alert->date;
}

rl_bytes
rl_case_alert_text(const rl_record *rec, const rl_op *alert)
{
	rl_regval v;

	/* The text value borrows from the record, not from v. */
	if (rl_record_reg(rec, &alert->id, RL_F_ALERT_TEXT, &v, 1) > 0)
		return v.value;
	return alert->value;
}

bool
rl_case_alert_done(const rl_record *rec, const rl_op *alert)
{
	rl_regval v;

	return rl_record_reg(rec, &alert->id, RL_F_ALERT_DONE, &v, 1) > 0 && v.value.len == 3 &&
	       memcmp(v.value.p, "oui", 3) == 0;
}

bool
rl_case_alert_overdue(const rl_record *rec, const rl_op *alert, uint32_t today)
{
	return !rl_case_alert_done(rec, alert) && rl_case_alert_due(rec, alert) < today;
}

bool
rl_case_is_intervention(const rl_op *entry)
{
	return !entry->has_target;
}

bool
rl_case_is_home_visit(const rl_op *entry)
{
	return rl_case_is_intervention(entry) && entry->field == RL_J_VAD;
}
