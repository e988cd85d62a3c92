/* dmarc_report: DMARC's reports without a database.
 *
 *   history    one line per evaluated message appended to a file (the
 *              facts OpenDMARC writes to its history file), safe against
 *              concurrent writers (O_APPEND, one write per line, flock);
 *   aggregate  RFC 7489 appendix C XML, one report per reporting (policy)
 *              domain and period, rows with the same facts merged;
 *   forensic   an RFC 6591 failure report (multipart/report, ARF) for the
 *              record's ruf= addresses, honoring fo=;
 *   destinations  which rua=/ruf= addresses may get reports (RFC 7489
 *              7.1: one outside the policy's organizational domain must
 *              agree in the DNS).
 *
 * The history line (version 1).  Fields are separated by one TAB, each is
 * KEY=VALUE, in this order (readers must ignore keys they do not know and
 * take them in any order):
 *   v=1  time=EPOCH  job=ID  pdomain=D  from=D  ip=IP  status=WORD
 *   dmarc=RESULT  disposition=WORD  policy_tag=p|sp|np  p=WORD  sp=WORD
 *   np=WORD  pct=N  adkim=r|s  aspf=r|s  fo=FO  sampled_out=0|1
 *   testing=0|1  spf=RESULT  spf_domain=D  spf_scope=mfrom|helo
 *   spf_aligned=0|1  dkim=ITEM,ITEM...  dkim_aligned=0|1
 *   dkim_aligned_domain=D  rua=URI,URI...
 * pdomain is where the record was found (empty without one), p/sp/np are
 * the record's (sp= defaults to p=, np= to sp=), spf is "none" when the
 * caller had no SPF result, a dkim ITEM is DOMAIN/SELECTOR/RESULT/0|1 (the
 * last field: that signature aligned).  job is a per-process unique id
 * (TIME.PID.COUNTER).  Every VALUE, and each part of a list item, is
 * percent-encoded: any byte outside [A-Za-z0-9.:@+_-] becomes %XX
 * (upper-case hex), so a value never holds a TAB, a line break, '=',
 * ',' or '/'; an absent value is empty.  Lines starting with '#' and
 * empty lines are comments.
 */
#ifndef MXKIT_DMARC_REPORT_H
#define MXKIT_DMARC_REPORT_H
#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include "dmarc.h"

#define DMARC_HISTORY_MAX_LINE	65536	/* longer history lines are malformed;
				   dmarc_history_append drops DKIM and rua
				   items past the first 32 KiB / 48 KiB */

/* Append the history line for one message.  ip may be NULL.  0, or -1
 * with *why set (static or strerror text). */
int dmarc_history_append(const char *path, const struct dmarc_verdict *v,
    const struct dmarc_auth *a, const char *ip, time_t when,
    const char **why);

struct dmarc_agg_opts {
	const char *org;	/* <org_name> */
	const char *email;	/* <email> */
	const char *extra_contact;	/* may be NULL */
	time_t begin, end;	/* period [begin, end); 0, 0: every line of
				   the history, one report per domain and
				   UTC day (date_range DAY .. DAY+86399) */
	const char *outdir;	/* write the reports as files here, named
				   RECEIVER!POLICY-DOMAIN!BEGIN!END.xml (RFC
				   7489 7.2.1.1); NULL: all to out */
	const char *receiver;	/* RECEIVER in the names; NULL: the domain
				   of email */
};
/* Read history and write the aggregate reports: messages whose record
 * asked for them (rua= present), grouped per policy domain and period,
 * rows with the same facts merged into one <row> with its <count>.
 * policy_published is the policy of the period's last message.  A
 * report names no rua= address: whoever mails it sends it only to what
 * dmarc_report_destinations(POLICY-DOMAIN, NULL, rua, n, 0, ...) keeps
 * (history lines carry no organizational domain).  The XML
 * validates against RFC 7489's schema (t/data/dmarc/rua.xsd): root
 * element dmarc:feedback in the schema's namespace, every value
 * XML-escaped, IPv6 sources written in full (the schema's pattern wants
 * eight groups), a missing source as 0.0.0.0.  Returns the number of
 * reports written (>= 0), or -1 with *why set ("history:LINE: why" for a
 * malformed line, "PATH: strerror" for I/O; thread-local storage). */
int dmarc_aggregate(const char *history, const struct dmarc_agg_opts *o,
    FILE *out, const char **why);

/* 1 when the record's fo= asks for a failure report for this message,
 * else 0 (RFC 7489 6.3): fo=0: neither SPF nor DKIM gave an aligned pass
 * (DMARC failed); 1: either did not; d: a DKIM signature failed
 * verification (fail or permerror), aligned or not; s: SPF failed (fail
 * or permerror), aligned or not.  So fo=1, d and s may ask for a report
 * on a message that passed DMARC, as the RFC says.  Always 0 without a
 * ruf= URI, and for norecord, nofrom, temperror and off. */
int dmarc_forensic_wanted(const struct dmarc_verdict *v,
    const struct dmarc_auth *a);

/* The whole RFC 6591 report as a message, CRLF line ends, 7-bit:
 * header fields From: sender (NULL: postmaster@ the host name), To: the
 * ruf= mailto addresses, Subject, Date, Message-ID, MIME-Version,
 * Auto-Submitted; multipart/report; report-type=feedback-report with a
 * text/plain part, the message/feedback-report part (Feedback-Type:
 * auth-failure, User-Agent, Version: 1, Auth-Failure: dmarc,
 * Original-Mail-From from the message's Return-Path when it has one,
 * Arrival-Date, Source-IP, Reported-Domain, Authentication-Results,
 * Identity-Alignment, Delivery-Result), then the message: as
 * message/rfc822 when it is 7-bit with lines of at most 998 characters
 * and at most 256 KiB, else its header alone as text/rfc822-headers
 * (quoted-printable when it holds 8-bit bytes).  To: holds only the
 * addresses dmarc_verified_addresses(v, 1, ...) keeps, so making the
 * report may ask the DNS.  malloc'd, length in *len, *why then NULL or
 * which ruf= addresses were left out; NULL with *why set (no verified
 * ruf= mailto address, a sender with controls in it, no memory). */
char *dmarc_forensic_report(const struct dmarc_verdict *v,
    const struct dmarc_auth *a, const char *ip, const char *sender,
    const char *msg, size_t msglen, time_t when, size_t *len,
    const char **why);

/* The mailto: addresses of v->ruf (each element may itself be a comma-
 * separated list): "mailto:" case-insensitive, ?query and the "!10m" size
 * limit dropped, %XX decoded, then kept only when it is a plain
 * local@domain address (no controls, spaces, quotes or list syntax);
 * duplicates and non-mailto URIs dropped; at most 16.  NULL-terminated,
 * malloc'd (free each and the array); NULL when none.  These are the
 * addresses as published: whether they may get reports is
 * dmarc_verified_addresses' question. */
char **dmarc_ruf_addresses(const struct dmarc_verdict *v);

/* Verifying external destinations (RFC 7489 7.1; RFC 9990 section 4 and
 * RFC 9991 for DMARCbis).  The mailto: addresses of uris, taken as
 * dmarc_ruf_addresses takes them, that may receive reports:
 *   - an address whose domain is org_domain or below it (policy_domain
 *     when org_domain is NULL or ""), no DNS query;
 *   - any other only when the destination agreed: a TXT query at
 *     POLICY-DOMAIN._report._dmarc.DEST-DOMAIN returns at least one record
 *     starting "v=DMARC1" (other TXT records are ignored; the RFCs say "at
 *     least one").  After an NXDOMAIN the literal name
 *     *._report._dmarc.DEST-DOMAIN is asked too, as OpenDMARC does:
 *     master files loaded with dns_load_zone do not synthesize
 *     wildcards, and a resolver that does gives the same answer.  A
 *     temporary DNS failure counts as not verified (try the report later).
 *   - the destination's record may override the address (RFC 7489 7.1
 *     step 8): when its rua= (ruf=, with ruf set) holds mailto: addresses
 *     at the same destination domain, they replace the address; addresses
 *     at any other domain in it are ignored, and when none is left the
 *     published address stands.  Only the first v=DMARC1 record is read.
 * The policy domain is where the DMARC record was found (the verdict's
 * used_domain, the history's pdomain).  "Within the organizational
 * domain" is taken as "at or below org_domain", which is what having the
 * same organizational domain means save for a public suffix below
 * org_domain.  At most 16 addresses (overrides included), duplicates
 * dropped, order kept.  NULL-terminated, malloc'd (free each and the
 * array); NULL when none is left.  *why (thread-local text, may be NULL)
 * is NULL when every published address was kept, else it says which
 * was dropped and why ("x@dest.example: not authorized: no v=DMARC1
 * record at example.com._report._dmarc.dest.example (and 1 more)"), or
 * why there is nothing at all ("no ruf= mailto: address"). */
char **dmarc_report_destinations(const char *policy_domain,
    const char *org_domain, char *const *uris, size_t nuris, int ruf,
    const char **why);
/* The same for a verdict: v->rua (ruf 0) or v->ruf (ruf 1), policy
 * domain v->used_domain, organizational domain v->org_domain.  This is
 * the list to send failure reports to (dmarc_forensic_report's To: is
 * it). */
char **dmarc_verified_addresses(const struct dmarc_verdict *v, int ruf,
    const char **why);

#endif
