/* maillog: one-line log records on stderr or syslog. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "maillog.h"

static int log_syslog;

void
maillog_open(int use_syslog, const char *ident)
{
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
maillog(const char *fmt, ...)
{
	char line[4096], stamp[32];
	va_list ap;
	struct tm tm;
	time_t now = time(NULL);

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (log_syslog) {
		syslog(LOG_INFO, "%s", line);
		return;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	/* One write per line: concurrent sessions share stderr. */
	char out[4200];
	int n = snprintf(out, sizeof(out), "%s [%ld] %s\n", stamp,
	    (long)getpid(), line);
	if (n > 0)
		(void)!write(2, out, (size_t)n < sizeof(out) ? (size_t)n :
		    sizeof(out) - 1);
}
