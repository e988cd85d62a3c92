/* socks5: the client side of SOCKS version 5 (RFC 1928) with
 * username/password authentication (RFC 1929), and the proxy lists of
 * Exim's socks_proxy option that say which proxies to try and in what
 * order.
 *
 * THE LIST (socks5_list_parse)
 *   Colon-separated specifiers, as an Exim list: a doubled ':' stands for
 *   one inside an item (so IPv6 "::1" is written "::::1"), and a list
 *   that starts with '<' and a punctuation character uses that character
 *   instead ("<; ::1 port=1080; 127.0.0.1").  Empty items are skipped,
 *   and so are newlines, so a file may hold one specifier per line; a
 *   line whose first non-blank character is '#' is a comment, and so is
 *   the rest of a specifier from a word that starts with '#'.  Each
 *   specifier is space-separated: an IPv4 or IPv6 address (a literal,
 *   never a name: the proxy is how we reach names), then name=value
 *   options:
 *     auth=none|name  RFC 1929 username/password with "name" (default
 *                     none); name=USER pass=PASS, each 1 to 255 octets
 *     port=N          1..65535, default 1080
 *     tmo=N           seconds to connect to this proxy, 1..3600, default 5
 *     pri=N           priority, higher first, default 1 (0..65535)
 *     weight=N        selection bias within a priority, default 1
 *                     (1..65535)
 *   An unknown option or a bad value is an error naming it.  Credentials
 *   are never part of socks5_proxy_text().
 *
 * THE ORDER (socks5_order)
 *   Higher pri first; within one priority, a weighted random choice
 *   without replacement (weight 3 is three times as likely as weight 1
 *   to be tried first), as Exim's.
 *
 * THE HANDSHAKE (socks5_handshake)
 *   On a connected stream to the proxy: the method offer (no auth, and
 *   username/password when the proxy has credentials), RFC 1929
 *   sub-negotiation, then CONNECT to an IPv4, IPv6 or DOMAINNAME target.
 *   Every read and write is bounded by a deadline on the monotonic clock;
 *   nothing past the reply is read, so what follows belongs to the
 *   application.  A failure says why in one static line and classifies
 *   itself (enum socks5_fail) so that the caller can fail over.
 */
#ifndef MXKIT_SOCKS5_H
#define MXKIT_SOCKS5_H
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define SOCKS5_MAX_PROXIES	64
#define SOCKS5_MAX_CRED		255	/* RFC 1929: one octet of length */
#define SOCKS5_MAX_NAME		255	/* DOMAINNAME: one octet of length */
#define SOCKS5_DEFAULT_PORT	1080
#define SOCKS5_DEFAULT_TMO	5	/* seconds */
/* The longest reply: VER REP RSV ATYP, a DOMAINNAME of 255, a port. */
#define SOCKS5_REPLY_MAX	(4 + 1 + 255 + 2)

enum socks5_auth { SOCKS5_AUTH_NONE, SOCKS5_AUTH_NAME };

struct socks5_proxy {
	struct sockaddr_storage sa;	/* address and port */
	socklen_t	 salen;
	char		 addr[INET6_ADDRSTRLEN];	/* as inet_ntop writes it */
	unsigned	 port;
	enum socks5_auth auth;
	char		 name[SOCKS5_MAX_CRED + 1];
	char		 pass[SOCKS5_MAX_CRED + 1];
	unsigned	 tmo;		/* seconds */
	unsigned	 pri;
	unsigned	 weight;
};

struct socks5_list {
	struct socks5_proxy p[SOCKS5_MAX_PROXIES];
	size_t		 n;
};

/* Append the specifiers of spec (a list as above) to l.  0, or -1 with
 * why (static: "bad address \"x\"", "unknown option", ...) and *item set
 * to the 1-based number of the specifier in spec that is wrong; l keeps
 * the specifiers before it. */
int socks5_list_parse(struct socks5_list *l, const char *spec,
    const char **why, unsigned *item);

/* "127.0.0.1:1080" or "[::1]:1080" in buf (no credentials). */
void socks5_proxy_text(const struct socks5_proxy *p, char *buf,
    size_t size);

/* The order to try l's proxies in: idx[0..l->n) gets their indexes.
 * rnd returns uniformly random 32-bit numbers (NULL: OpenSSL's
 * RAND_bytes, falling back to random(3)). */
void socks5_order(const struct socks5_list *l, size_t *idx,
    uint32_t (*rnd)(void *), void *arg);

/* What to connect to through the proxy: an address, or a name the proxy
 * resolves (DOMAINNAME, --remote-dns). */
struct socks5_target {
	const struct sockaddr *sa;	/* AF_INET or AF_INET6, or NULL */
	const char	 *name;		/* used when sa is NULL */
	unsigned	  port;		/* for name */
};

/* How a handshake failed: the caller fails over to the next proxy in
 * every case, but reports them differently. */
enum socks5_fail {
	SOCKS5_OK = 0,
	SOCKS5_EIO,		/* read/write error, timeout, EOF */
	SOCKS5_EPROTO,		/* not a SOCKS5 server, malformed reply */
	SOCKS5_ENOMETHOD,	/* no acceptable method (0xFF) */
	SOCKS5_EAUTH,		/* credentials refused (RFC 1929 status) */
	SOCKS5_EREPLY,		/* CONNECT refused: rep holds the code */
	SOCKS5_EUSAGE		/* bad target (name too long, family) */
};

struct socks5_result {
	enum socks5_fail fail;
	int		 rep;		/* the CONNECT reply code, or -1 */
	const char	*why;		/* static; "" on success */
	/* BND.ADDR and BND.PORT of a successful CONNECT: the address the
	 * proxy connected from (Exim's $proxy_external_address and
	 * $proxy_external_port); a DOMAINNAME is given as it is,
	 * non-printable octets as '?'. */
	char		 bnd_addr[SOCKS5_MAX_NAME + 1];
	unsigned	 bnd_port;
};

/* Negotiate on fd (a connected, blocking or not, stream socket to p)
 * until deadline (a clock_ms() value).  0, or -1 with r filled. */
int socks5_handshake(int fd, const struct socks5_proxy *p,
    const struct socks5_target *t, long long deadline,
    struct socks5_result *r);

/* RFC 1928 6: the name of a reply code ("succeeded", "general SOCKS
 * server failure", "connection not allowed by ruleset", "network
 * unreachable", "host unreachable", "connection refused", "TTL expired",
 * "command not supported", "address type not supported"), or
 * "unassigned reply code" for the rest. */
const char *socks5_reply_name(int rep);

/* ---- the parsers, exposed for the fuzzer and the unit tests ----
 * Each looks at buf[0..len) received so far: the number of octets the
 * message takes when it is complete (it may be less than len), 0 when
 * more are needed, -1 when it is malformed (why set). */

/* Method selection: VER METHOD; *method the chosen one (0xFF: none). */
int socks5_parse_method(const unsigned char *buf, size_t len, int *method,
    const char **why);
/* RFC 1929 status: VER(1) STATUS; *status 0 is success. */
int socks5_parse_auth(const unsigned char *buf, size_t len, int *status,
    const char **why);
/* The CONNECT reply: VER REP RSV ATYP BND.ADDR BND.PORT; fills r's rep,
 * bnd_addr and bnd_port (not fail or why). */
int socks5_parse_reply(const unsigned char *buf, size_t len,
    struct socks5_result *r, const char **why);

/* The requests, for the same tests: the octets in buf (at least
 * SOCKS5_REPLY_MAX + 8 octets; 3 + 2 * 256 for the auth request); their
 * count, or -1 with why. */
int socks5_build_connect(const struct socks5_target *t, unsigned char *buf,
    size_t size, const char **why);
int socks5_build_auth(const char *name, const char *pass,
    unsigned char *buf, size_t size, const char **why);

#endif
