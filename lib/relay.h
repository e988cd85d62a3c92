/* relay: deliver one message over SMTP to its recipients, as a sending
 * MTA's smtp transport does, directly or through SOCKS5 proxies (Exim's
 * socks_proxy); and open a plain stream through the same proxies.
 *
 * HOSTS
 *   Recipients are grouped by domain (one transaction per domain).  The
 *   hosts of a domain are its MX records by preference, equal ones in
 *   random order (RFC 5321 5.1), the domain itself when it has none
 *   (implicit MX); a null MX (RFC 7505) or a domain that does not exist
 *   fails its recipients; a DNS failure defers them.  An address literal
 *   ("user@[192.0.2.1]", "[IPv6:...]") is its own host.  opts.server
 *   replaces all of this with one host.  Each host's A and AAAA records
 *   are tried in turn (A first), unless the proxy resolves the name
 *   (remote_dns).
 *
 * CONNECTIONS
 *   Without proxies, a TCP connection within connect_timeout_ms.  With
 *   them, the proxies in socks5_order's order, each given its own tmo
 *   for the TCP connection and again for the SOCKS5 handshake, all of
 *   them within connect_timeout_ms; a proxy that does not connect, does
 *   not speak SOCKS5, refuses the method or the credentials, or answers
 *   CONNECT with an error is logged and skipped.  A proxy that could not
 *   be reached or refused the credentials is not tried again in the same
 *   run; one that refused a CONNECT is (another target may be allowed).
 *
 * THE SESSION
 *   Banner (220, else the next host), EHLO (HELO when EHLO gets a 5xx),
 *   STARTTLS when offered (RELAY_TLS_TRY: a failed handshake is retried
 *   in clear on a new connection, as Exim does; RELAY_TLS_REQUIRE: no
 *   STARTTLS or a failed one defers the host before MAIL), then MAIL with
 *   SIZE=, BODY=8BITMIME, SMTPUTF8 and PRDR as the server offers and the
 *   message needs, the RCPTs and DATA, pipelined when PIPELINING is
 *   offered (RFC 2920).  SMTPUTF8 is needed when a local part of the
 *   envelope or the header section is not ASCII; a non-ASCII domain alone
 *   is sent as A-labels.  A server without SMTPUTF8 for a message that
 *   needs it, or with a SIZE smaller than the message, fails the
 *   recipients before MAIL.
 *
 * RESULTS
 *   A reply to RCPT, or (PRDR) to the data for one recipient, settles
 *   that recipient: 2xx delivered, 5xx failed, 4xx deferred (not tried on
 *   another host).  A failure of the host as a whole (no connection, a
 *   banner other than 220, EHLO, STARTTLS, a 4xx to MAIL or to the data,
 *   a lost connection) moves the recipients still open to the next host;
 *   after the last, they are deferred with its reason.  A 5xx to MAIL or
 *   to the data fails them.
 *
 * EVENTS (event_hook, run by lib/hook's hook_event, Exim's names)
 *   tcp:connect before each TCP connection (to the proxy when proxied: a
 *   non-zero exit skips it), tcp:close after it, smtp:connect with the
 *   banner (non-zero: the host is deferred), msg:delivery per delivered
 *   recipient with the reply, msg:host:defer per failed host attempt with
 *   the reason and event_defer_errno.  The environment: sender_address,
 *   host, host_address, host_port, proxy_local_address,
 *   proxy_local_port, proxy_external_address, proxy_external_port,
 *   tls_out_cipher, and local_part and domain at msg:delivery.
 */
#ifndef MXKIT_RELAY_H
#define MXKIT_RELAY_H
#include <stddef.h>
#include <netinet/in.h>

#include "socks5.h"
#include "tls.h"

#define RELAY_MAX_RCPTS	1000
#define RELAY_HOST_MAX	256

enum relay_status {
	RELAY_PENDING,		/* not settled (only while delivering) */
	RELAY_DELIVERED,
	RELAY_FAILED,
	RELAY_DEFERRED
};
/* "pending", "delivered", "failed", "deferred" */
const char *relay_status_name(enum relay_status s);

/* Where a connection went: the server, and the proxy on the way. */
struct relay_path {
	char	 host[RELAY_HOST_MAX];	/* the host name (or literal) */
	char	 host_address[INET6_ADDRSTRLEN];	/* "" with remote DNS */
	unsigned host_port;
	char	 proxy_local_address[INET6_ADDRSTRLEN];	/* "": direct */
	unsigned proxy_local_port;
	char	 proxy_external_address[SOCKS5_MAX_NAME + 1];
	unsigned proxy_external_port;
};

struct relay_rcpt {
	const char	*addr;		/* as given: local@domain (caller's) */
	enum relay_status status;
	int		 code;		/* the reply's code; 0: none */
	char		*reply;		/* the reply (lines joined with '\n')
					   or why there is none; malloc'd */
	struct relay_path path;		/* the host that settled it */
	char		 tls_cipher[TLS_CIPHER_MAX];	/* "": no TLS */
	int		 prdr;		/* PRDR was used for it */
};

enum relay_tls { RELAY_TLS_TRY, RELAY_TLS_NEVER, RELAY_TLS_REQUIRE };

struct relay_opts {
	const char	*sender;	/* "": the null sender */
	const char	*helo;
	const char	*server;	/* "HOST[:PORT]", "[IPV6]:PORT"; NULL: MX */
	unsigned	 port;		/* for MX hosts and a server without
					   a port; 0: 25 */
	const struct socks5_list *proxies;	/* NULL or empty: direct */
	int		 remote_dns;	/* names to the proxy (DOMAINNAME) */
	enum relay_tls	 tls;
	int		 try_prdr;
	unsigned	 connect_timeout_ms;	/* 0: 300 s */
	unsigned	 command_timeout_ms;	/* 0: 300 s */
	const char	*event_hook;	/* NULL: none */
	/* Each skipped proxy, failed host and the like, one line (no
	 * newline); NULL: not told. */
	void		(*log)(void *arg, const char *line);
	void		*log_arg;
};

/* Deliver msg[0..len) (a whole RFC 5322 message; line ends normalized on
 * the wire) to r[0..n), filling each r's result.  0, or -1 when out of
 * memory (the results may be partial).  Free with relay_rcpts_free. */
int relay_deliver(const struct relay_opts *o, const char *msg, size_t len,
    struct relay_rcpt *r, size_t n);
void relay_rcpts_free(struct relay_rcpt *r, size_t n);

/* A stream to host:port ("HOST:PORT" or "[IPV6]:PORT") through o's
 * proxies (or directly), for a tunnel: the connected fd (blocking) and
 * its path, or -1 with why (the last failure, in buf why of whysize). */
int relay_connect(const struct relay_opts *o, const char *hostport,
    struct relay_path *path, char *why, size_t whysize);

/* What a sendmail-like submission does to the message before sending
 * it: a leading mbox "From " line is dropped (as Postfix's sendmail
 * does); with extract (sendmail -t) the mailboxes of To:, Cc: and Bcc:
 * are appended to rcpts (lib/addr) and the Bcc: fields removed.  The
 * message to send is msg[*off .. *off + *len) when nothing is removed,
 * else the malloc'd *copy (then *off is 0).  0, or -1 with why (a
 * malformed header or address list: EX_DATAERR; ENOMEM). */
struct addr_list;
int relay_prepare(const char *msg, size_t len, int extract,
    struct addr_list *rcpts, char **copy, size_t *off, size_t *outlen,
    const char **why);

/* Split "HOST[:PORT]", "[IPV6]" or "[IPV6]:PORT" into host (no
 * brackets) and *port (left alone when none is given).  0, or -1 when
 * malformed (an empty host, a bad port, an unclosed bracket). */
int relay_split_hostport(const char *s, char *host, size_t hostsize,
    unsigned *port);

#endif
