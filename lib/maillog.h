/* maillog: a mail server's log, one line per event, on stderr (with a
 * timestamp, as Exim's mainlog has) or through syslog(3) facility mail.
 * Lines are grep-able: the fields and their letters (H=, P=, S=, X=) are
 * Exim's. */
#ifndef MXKIT_MAILLOG_H
#define MXKIT_MAILLOG_H

/* Choose the destination once, before the first line.  ident: the
 * program's name for syslog. */
void maillog_open(int use_syslog, const char *ident);

/* One line; newlines and control characters in it are shown as "?" (a
 * client's bytes must not forge log lines). */
void maillog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
