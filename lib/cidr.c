/* cidr: address-in-network-list matching. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"

static int
parse_one(const char *s, size_t n, struct cidr *c)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash, *end;
	unsigned max;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else
		return -1;
	c->bits = max;
	if (slash) {
		if (*slash < '0' || *slash > '9')
			return -1;
		unsigned long b = strtoul(slash, &end, 10);
		if (*end != '\0' || b > max)
			return -1;
		c->bits = (unsigned)b;
	}
	return 0;
}

int
cidr_list_add(struct cidr_list *l, const char *s, const char **why)
{
	size_t n0 = l->n;

	while (*s) {
		size_t n = strcspn(s, ", \t");

		if (n > 0) {
			if (l->n == CIDR_MAX) {
				*why = "too many networks";
				l->n = n0;
				return -1;
			}
			if (parse_one(s, n, &l->net[l->n]) < 0) {
				*why = "not an address or network";
				l->n = n0;
				return -1;
			}
			l->n++;
		}
		s += n;
		s += strspn(s, ", \t");
	}
	return 0;
}

static int
prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return 0;
	if (rest == 0)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

int
cidr_match(const struct cidr_list *l, const char *ip)
{
	unsigned char a[16];
	int family;

	if (inet_pton(AF_INET, ip, a) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, ip, a) == 1) {
		static const unsigned char mapped[12] = {
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
		};
		family = AF_INET6;
		if (memcmp(a, mapped, 12) == 0) {
			memmove(a, a + 12, 4);
			family = AF_INET;
		}
	} else
		return 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->net[i].family == family &&
		    prefix_equal(a, l->net[i].addr, l->net[i].bits))
			return 1;
	return 0;
}
