/* cidr: lists of networks ("192.0.2.0/24,2001:db8::/32,127.0.0.1") and
 * whether an address is in one: smtpfront's --proxy-hosts. */
#ifndef MXKIT_CIDR_H
#define MXKIT_CIDR_H
#include <stddef.h>

#define CIDR_MAX	64

struct cidr {
	int	family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned bits;
};

struct cidr_list {
	struct cidr net[CIDR_MAX];
	size_t	n;
};

/* Append the comma- or space-separated networks of s.  0, or -1 with
 * *why naming the problem (the list is left as it was before the call). */
int cidr_list_add(struct cidr_list *l, const char *s, const char **why);

/* 1 when the textual address ip (IPv4, IPv6, or IPv4-mapped IPv6, which
 * matches the IPv4 networks) is in the list. */
int cidr_match(const struct cidr_list *l, const char *ip);

#endif
