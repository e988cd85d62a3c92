/* sockaddr: address literals as socket addresses.  See sockaddr.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "sockaddr.h"

int
sockaddr_literal(const char *s, unsigned port, struct sockaddr_storage *sa,
    socklen_t *len, char *text, size_t size)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;

	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		*len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		*len = sizeof(*s6);
	} else
		return -1;
	sockaddr_set_port(sa, port);
	if (text != NULL)
		inet_ntop(sa->ss_family, sa->ss_family == AF_INET ?
		    (void *)&s4->sin_addr : (void *)&s6->sin6_addr, text,
		    (socklen_t)size);
	return 0;
}

void
sockaddr_set_port(struct sockaddr_storage *sa, unsigned port)
{
	if (sa->ss_family == AF_INET)
		((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
	else if (sa->ss_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)port);
}
