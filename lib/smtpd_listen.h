/* smtpd_listen: smtpfront's own listener: bound sockets, one process per
 * connection, limits on concurrent connections (in all, and per client
 * address), dropping privileges after binding, and a clean stop on
 * SIGTERM (no new connections; sessions finish their current message and
 * close with 421).
 *
 * The per-address count is of the TCP peer: behind a PROXY protocol load
 * balancer that is the balancer (as Exim's smtp_accept_max_per_host). */
#ifndef MXKIT_SMTPD_LISTEN_H
#define MXKIT_SMTPD_LISTEN_H
#include <stddef.h>

#include "smtpd.h"

#define LISTEN_MAX	16	/* --listen options */

struct smtpd_listen {
	int	fd[LISTEN_MAX];
	char	name[LISTEN_MAX][80];	/* as given, for the log */
	size_t	n;
	unsigned max_conn;		/* 0: no limit */
	unsigned max_conn_per_ip;	/* 0: no limit */
	unsigned stop_wait_ms;		/* after SIGTERM, for the sessions */
};

/* Bind and listen on spec: "ADDR:PORT", "[IPv6]:PORT", "*:PORT" or
 * "PORT" (every address, IPv6 and IPv4).  0, or -1 with *why naming the
 * problem (static, or strerror's). */
int smtpd_listen_add(struct smtpd_listen *l, const char *spec,
    const char **why);

/* setgroups, setgid and setuid to user's (by name); 0, or -1 with why. */
int smtpd_drop_privileges(const char *user, const char **why);

/* Accept connections until SIGTERM (or SIGINT); each runs smtpd_session
 * in a child.  Returns 0 after a clean stop, 1 when accepting failed. */
int smtpd_listen_run(struct smtpd_listen *l, const struct smtpd_config *c);

#endif
