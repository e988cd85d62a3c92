/* smtpd: one ESMTP server session (RFC 5321) from the banner to QUIT, with
 * every policy decision made by an external hook (lib/hook), the message
 * spooled to a file and stored durably (lib/deliver) before the 250.
 *
 * Extensions: PIPELINING (RFC 2920, with synchronization checks), SIZE
 * (1870), 8BITMIME (6152), ENHANCEDSTATUSCODES (2034), SMTPUTF8 (6531),
 * STARTTLS (3207, lib/tlsd), PRDR (draft-hall-prdr-00, as Exim speaks it),
 * CHUNKING (3030).  PROXY protocol v1/v2 from trusted hosts (lib/proxy).
 *
 * The wording of replies and log lines follows Exim where Exim has one:
 * that is what the people who run this already grep for.
 */
#ifndef MXKIT_SMTPD_H
#define MXKIT_SMTPD_H
#include <stddef.h>

#include "cidr.h"
#include "hook.h"

struct deliver;
struct tlsd;

#define SMTPD_STAGES	(HOOK_STAGE_QUIT + 1)

struct smtpd_config {
	const char *hostname;		/* primary host name (banner, Received) */
	const char *banner;		/* text after "220 hostname " */
	/* By enum hook_stage; NULL: accept. */
	const char *hooks[SMTPD_STAGES];
	const char *event_hook;
	unsigned hook_timeout_ms;
	struct deliver *deliver;	/* NULL: accept and drop (tests) */
	int deliver_per_rcpt;		/* pipe: one run per recipient */
	const char *spool_dir;		/* where messages wait for the hooks */
	struct tlsd *tls;		/* NULL: no STARTTLS */
	unsigned tls_timeout_ms;	/* the handshake */
	struct cidr_list proxy_hosts;	/* must send a PROXY header */
	unsigned proxy_timeout_ms;

	unsigned long long max_size;	/* SIZE; 0: no limit */
	unsigned max_rcpts;		/* per message (RFC 5321: >= 100) */
	unsigned max_errors;		/* protocol errors before 421 */
	unsigned max_line;		/* command line, CRLF included */
	unsigned max_text_line;		/* message text line, CRLF included */
	unsigned cmd_timeout_ms;	/* RFC 5321 4.5.3.2: 5 minutes */
	unsigned data_timeout_ms;	/* a DATA block: 3 minutes */
	unsigned session_timeout_ms;	/* the whole session; 0: none */
	unsigned banner_delay_ms;	/* wait before the banner (early talkers) */

	int no_pipelining, no_chunking, no_prdr, no_smtputf8, no_8bitmime;
	int require_tls;		/* MAIL refused before STARTTLS */
	int bare_lf_reject;		/* refuse messages with a bare LF */
	int syslog;			/* log to syslog instead of stderr */
};

struct smtpd_peer {
	char remote_ip[128], local_ip[128];	/* text; room for a PROXY address */
	unsigned remote_port, local_port;
};

/* An address as text (an IPv4-mapped IPv6 one as IPv4) and its port;
 * "" and 0 for other families. */
struct sockaddr_storage;
void smtpd_addr_text(const struct sockaddr_storage *ss, char *ip,
    size_t iplen, unsigned *port);

/* Defaults for every limit and timeout. */
void smtpd_config_init(struct smtpd_config *c);

/* The peer of fd (getpeername/getsockname), overridden by the ucspi
 * variables TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALIP, TCPLOCALPORT when they
 * are set (tcpserver, proxyhdr wrap). */
void smtpd_peer_of(int fd, struct smtpd_peer *p);

/* Run one session on rfd/wfd (the same socket, or fds 0 and 1) until QUIT,
 * EOF or a fatal error.  0 after a normal end, 1 after a dropped or
 * timed-out connection. */
int smtpd_session(const struct smtpd_config *c, int rfd, int wfd,
    const struct smtpd_peer *peer);

/* Ask running sessions to end at the next command (SIGTERM handler). */
void smtpd_request_stop(void);

#endif
