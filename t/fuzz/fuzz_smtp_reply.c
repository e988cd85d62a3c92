/* libFuzzer target: smtp_read_reply on arbitrary bytes from the server
 * (a pipe stands in for the socket), then smtp_has_extension and
 * smtp_ehlo_parse (the EHLO keywords and SIZE's limit) on every reply it
 * accepts.  Invariants: a reply is NUL-free up to its end, its
 * code is 200..599, and it never exceeds SMTP_MAX_REPLY. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtp.h"

/* A pipe holds 64 KiB without a reader; stay below it. */
#define FUZZ_MAX_INPUT	60000

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtp s;
	struct smtp_ehlo e;
	int p[2], code, n;

	if (size > FUZZ_MAX_INPUT || pipe(p) == -1)
		return 0;
	if (write(p[1], data, size) != (ssize_t)size) {
		close(p[0]);
		close(p[1]);
		return 0;
	}
	close(p[1]);
	memset(&s, 0, sizeof(s));
	s.fd = p[0];
	s.timeout_ms = 1000;
	for (n = 0; n < 1000 && (code = smtp_read_reply(&s)) != -1; n++) {
		if (code < 200 || code > 599 || s.code != code ||
		    strlen(s.reply) >= sizeof(s.reply))
			abort();
		(void)smtp_has_extension(&s, "STARTTLS");
		(void)smtp_has_extension(&s, "SIZE");
		smtp_ehlo_parse(&s, &e);
		if (e.size_max != 0 && !e.size)
			abort();
	}
	close(p[0]);
	return 0;
}
