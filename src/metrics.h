/*-------------------------------------------------------------------------
 *
 * metrics.h
 *	  What the HTTP endpoint says about this node: the checks behind
 *	  /primary, /replica and /health, and the bodies of /status and
 *	  /metrics.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_METRICS_H
#define PGREPL_METRICS_H

#include "lib/stringinfo.h"

#include "http_request.h"

/* Most lag limits one /replica request may give. */
#define PGREPL_MAX_LAG_LIMITS	4

extern bool pgrepl_check_primary(StringInfo why);
extern bool pgrepl_check_replica(const HttpLagLimit *limits, int nlimits,
								 StringInfo why);
extern bool pgrepl_check_health(StringInfo why);
extern void pgrepl_status_json(StringInfo out);
extern void pgrepl_metrics_text(StringInfo out);

#endif							/* PGREPL_METRICS_H */
