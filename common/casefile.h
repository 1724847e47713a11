/*
 * casefile.h - the rules every reader of a situation shares, in one place:
 * what an alert is due, says and whether it is done or overdue, and what
 * counts as an intervention and as a home visit in the journal. The client's
 * views, its export and the HQ report all ask here, so that `relais show`
 * and the report can never count differently.
 *
 * Everything reads a decoded record (common/record.h) and borrows from it:
 * the results are valid as long as the record.
 */
#ifndef RL_CASEFILE_H
#define RL_CASEFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "record.h"

/* An alert's due date (YYYYMMDD): its "due" register, else the date the
 * alert was written with. */
uint32_t rl_case_alert_due(const rl_record *rec, const rl_op *alert);

/* An alert's text: its "text" register, else the text it was written with.
 * Borrowed from rec. */
rl_bytes rl_case_alert_text(const rl_record *rec, const rl_op *alert);

/* Whether the alert's "done" register says "oui". */
bool rl_case_alert_done(const rl_record *rec, const rl_op *alert);

/* Whether the alert is not done and was due before today (YYYYMMDD). */
bool rl_case_alert_overdue(const rl_record *rec, const rl_op *alert, uint32_t today);

/* Whether a journal entry is an intervention: an original entry, not an
 * amendment (a correction of an earlier entry). */
bool rl_case_is_intervention(const rl_op *entry);

/* Whether a journal entry counts as a home visit: an intervention of type
 * vad. A visit and its amendment are one visit. */
bool rl_case_is_home_visit(const rl_op *entry);

#endif
