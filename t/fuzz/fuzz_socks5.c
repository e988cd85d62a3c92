/* libFuzzer target: lib/socks5's reply parsers on the octets a proxy
 * sends, and socks5_list_parse on the same octets as a proxy list.  The
 * first byte picks the parser (modulo 3: the method selection, the RFC
 * 1929 status, the CONNECT reply); the rest is its input, and also,
 * NUL-terminated, the list.  Invariants:
 *   - a parser returns -1 with why, 0, or a length within the input
 *     (2 for the two short replies, at most SOCKS5_REPLY_MAX for CONNECT);
 *   - a message of n octets parses as n from its n octets alone, and
 *     every shorter prefix asks for more (the handshake never reads past
 *     a reply);
 *   - BND.ADDR is a printable string of at most 255 octets;
 *   - a list parses or fails with why and an item number, holds at most
 *     SOCKS5_MAX_PROXIES proxies, each within the documented ranges,
 *     and socks5_order gives a permutation with priorities in order. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "socks5.h"

#define FUZZ_MAX_INPUT	65536

static int
parse(int which, const unsigned char *b, size_t n, struct socks5_result *r,
    const char **why)
{
	int v;

	switch (which) {
	case 0:
		return socks5_parse_method(b, n, &v, why);
	case 1:
		return socks5_parse_auth(b, n, &v, why);
	default:
		return socks5_parse_reply(b, n, r, why);
	}
}

static void
check_parser(int which, const unsigned char *b, size_t n)
{
	struct socks5_result r, r2;
	const char *why = NULL;
	size_t i, k;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = parse(which, b, n, &r, &why);
	if (rc == -1) {
		if (why == NULL || why[0] == '\0')
			abort();
		return;
	}
	if (rc < 0 || (size_t)rc > n)
		abort();
	if (rc == 0) {
		if (n >= (which == 2 ? SOCKS5_REPLY_MAX : 2))
			abort();
		return;
	}
	if (which != 2 && rc != 2)
		abort();
	if (which == 2) {
		if (rc < 7 || rc > SOCKS5_REPLY_MAX || r.rep != b[1] ||
		    r.bnd_port > 65535)
			abort();
		k = strlen(r.bnd_addr);
		if (k > SOCKS5_MAX_NAME)
			abort();
		for (i = 0; i < k; i++)
			if (r.bnd_addr[i] < 0x20 || r.bnd_addr[i] > 0x7e)
				abort();
	}
	/* The message alone gives the same length; any prefix asks for
	 * more. */
	memset(&r2, 0, sizeof(r2));
	if (parse(which, b, (size_t)rc, &r2, &why) != rc)
		abort();
	if (which == 2 && (strcmp(r.bnd_addr, r2.bnd_addr) != 0 ||
	    r.bnd_port != r2.bnd_port || r.rep != r2.rep))
		abort();
	for (k = 0; k < (size_t)rc; k++)
		if (parse(which, b, k, &r2, &why) != 0)
			abort();
}

/* Random numbers for socks5_order from the input itself. */
struct rnd {
	const unsigned char *b;
	size_t n, i;
};

static uint32_t
rnd(void *arg)
{
	struct rnd *s = arg;
	uint32_t v = 0;
	int k;

	for (k = 0; k < 4; k++)
		v = v << 8 | (s->n ? s->b[s->i++ % s->n] : 0x5a);
	return v * 2654435761u + (uint32_t)s->i;
}

static void
check_list(const unsigned char *b, size_t n)
{
	static struct socks5_list l;
	size_t idx[SOCKS5_MAX_PROXIES], i;
	int seen[SOCKS5_MAX_PROXIES];
	struct rnd rs = { b, n, 0 };
	const char *why = NULL;
	unsigned item = 0;
	char *spec, text[64];
	int rc;

	if ((spec = malloc(n + 1)) == NULL)
		return;
	memcpy(spec, b, n);
	spec[n] = '\0';
	memset(&l, 0, sizeof(l));
	rc = socks5_list_parse(&l, spec, &why, &item);
	free(spec);
	if (rc != 0 && (rc != -1 || why == NULL || why[0] == '\0' ||
	    item == 0))
		abort();
	if (l.n > SOCKS5_MAX_PROXIES)
		abort();
	for (i = 0; i < l.n; i++) {
		const struct socks5_proxy *p = &l.p[i];

		if ((p->sa.ss_family != AF_INET &&
		    p->sa.ss_family != AF_INET6) || p->addr[0] == '\0' ||
		    p->port < 1 || p->port > 65535 || p->tmo < 1 ||
		    p->tmo > 3600 || p->pri > 65535 || p->weight < 1 ||
		    p->weight > 65535 || strlen(p->name) > SOCKS5_MAX_CRED ||
		    strlen(p->pass) > SOCKS5_MAX_CRED)
			abort();
		if (p->auth == SOCKS5_AUTH_NAME &&
		    (p->name[0] == '\0' || p->pass[0] == '\0'))
			abort();
		socks5_proxy_text(p, text, sizeof(text));
		if (strlen(text) < 3 || strlen(text) >= sizeof(text))
			abort();
	}
	socks5_order(&l, idx, rnd, &rs);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < l.n; i++) {
		if (idx[i] >= l.n || seen[idx[i]]++)
			abort();
		if (i > 0 && l.p[idx[i - 1]].pri < l.p[idx[i]].pri)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > FUZZ_MAX_INPUT)
		return 0;
	check_parser(data[0] % 3, data + 1, size - 1);
	check_list(data + 1, size - 1);
	return 0;
}
