/* dmarc_report: DMARC's reports without a database.
 *
 *   history    one line per evaluated message appended to a file (the
 *              facts OpenDMARC writes to its history file), safe against
 *              concurrent writers (O_APPEND, one write per line, flock);
 *   aggregate  RFC 7489 appendix C XML, one report per reporting (policy)
 *              domain and period, rows with the same facts merged;
 *   forensic   an RFC 6591 failure report (multipart/report, ARF) for the
 *              record's ruf= addresses, honoring fo=.
 */
#ifndef MXKIT_DMARC_REPORT_H
#define MXKIT_DMARC_REPORT_H
#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include "dmarc.h"

/* Append the history line for one message.  ip may be NULL.  0, or -1
 * with *why set (static or strerror text). */
int dmarc_history_append(const char *path, const struct dmarc_verdict *v,
    const struct dmarc_auth *a, const char *ip, time_t when,
    const char **why);

struct dmarc_agg_opts {
	const char *org;	/* <org_name> */
	const char *email;	/* <email> */
	const char *extra_contact;	/* may be NULL */
	time_t begin, end;	/* period; 0, 0: every line of the history,
				   one report per domain and UTC day */
	const char *outdir;	/* write DOMAIN!... .xml files here (RFC 7489
				   7.2.1.1 names); NULL: all to out */
};
/* Read history and write the aggregate reports.  Returns the number of
 * reports written (>= 0), or -1 with *why set ("history:LINE: why" for a
 * malformed line, strerror text for I/O). */
int dmarc_aggregate(const char *history, const struct dmarc_agg_opts *o,
    FILE *out, const char **why);

/* 1 when the record's fo= asks for a failure report for this verdict
 * (fo=0: both SPF and DKIM failed alignment; 1: either; d: DKIM failed;
 * s: SPF failed), else 0; also 0 without ruf= or when DMARC passed. */
int dmarc_forensic_wanted(const struct dmarc_verdict *v,
    const struct dmarc_auth *a);

/* The whole RFC 6591 report as a message (header fields From: sender,
 * To: the ruf= mailto addresses, Subject, Date, Message-ID, MIME parts:
 * text/plain, message/feedback-report, then message/rfc822 or
 * text/rfc822-headers), CRLF line ends.  malloc'd, length in *len; NULL
 * with *why set. */
char *dmarc_forensic_report(const struct dmarc_verdict *v,
    const struct dmarc_auth *a, const char *ip, const char *sender,
    const char *msg, size_t msglen, time_t when, size_t *len,
    const char **why);

/* The mailto: addresses of v->ruf (size limits "!10m" dropped), NULL-
 * terminated, malloc'd (free each and the array); NULL when none. */
char **dmarc_ruf_addresses(const struct dmarc_verdict *v);

#endif
