/* sockaddr: an IPv4 or IPv6 address literal as a socket address, for
 * the places that take an address and never a name (a SOCKS proxy, an
 * SMTP server given as [192.0.2.1] or [IPv6:2001:db8::1]). */
#ifndef MXKIT_SOCKADDR_H
#define MXKIT_SOCKADDR_H
#include <stddef.h>
#include <sys/socket.h>

/* s ("192.0.2.1", "2001:db8::1"; no brackets, no zone) with port into
 * *sa and *len, and its canonical text (inet_ntop's) into text[0..size)
 * when text is not NULL.  0, or -1 when s is not an address literal. */
int sockaddr_literal(const char *s, unsigned port,
    struct sockaddr_storage *sa, socklen_t *len, char *text, size_t size);
/* Set the port of an AF_INET or AF_INET6 address. */
void sockaddr_set_port(struct sockaddr_storage *sa, unsigned port);

#endif
