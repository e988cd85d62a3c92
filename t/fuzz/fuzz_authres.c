/* libFuzzer target: authres_claims and authres_parse on arbitrary bytes,
 * and the invariants of authres_format on arbitrary ids and values (no
 * header injection, a formatted field claims its own id, and it parses
 * back to what went in). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"

#define PREFIX	"Authentication-Results:"

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7F)
			return 0;
	return 1;
}

/* Line breaks appear only as eol + tab (folds) and at the very end. */
static void
check_lines(const char *f)
{
	size_t n = strlen(f), i;

	if (n < 2 || f[n - 2] != '\r' || f[n - 1] != '\n')
		abort();
	for (i = 0; i < n - 2; i++) {
		if (f[i] == '\n')
			abort();
		if (f[i] == '\r' && (f[i + 1] != '\n' || f[i + 2] != '\t'))
			abort();
		if (f[i] == '\r')
			i++;
	}
}

/* Whatever authres_parse accepts is well-formed: keywords lower case
 * and non-empty, no CR/LF/NUL in what a caller might copy into a header,
 * counts within bounds; and it claims its own id. */
static void
parse_invariants(const char *v, size_t n)
{
	struct authres_parsed p;
	const char *why = NULL, *s;
	size_t i, j;

	if (authres_parse(v, n, &p, &why) == -1) {
		if (why == NULL || strchr(why, '\n') != NULL)
			abort();
		return;
	}
	if (p.authserv_id == NULL || *p.authserv_id == '\0' || p.n > 256)
		abort();
	for (i = 0; i < p.n; i++) {
		if (*p.r[i].method == '\0' || *p.r[i].result == '\0' ||
		    p.r[i].nprops > 32)
			abort();
		for (s = p.r[i].method; *s; s++)
			if (*s >= 'A' && *s <= 'Z')
				abort();
		for (j = 0; j < p.r[i].nprops; j++)
			if (strpbrk(p.r[i].props[j].value, "\r\n") != NULL ||
			    *p.r[i].props[j].ptype == '\0')
				abort();
	}
	authres_parsed_free(&p);
}

/* A field built by authres_format parses back to the same values. */
static void
parse_back(const char *f, const char *value)
{
	struct authres_parsed p;
	const char *why, *c;
	size_t n = strlen(f);
	int printable_value = 1;

	if (n > 65536)
		return;		/* over authres_parse's bound */
	for (c = value; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7F)
			printable_value = 0;
	if (authres_parse(f + strlen(PREFIX), n - strlen(PREFIX) - 2, &p,
	    &why) == -1)
		abort();
	if (p.n != 2 || strcmp(p.r[0].method, "dkim") != 0 ||
	    p.r[0].nprops != 2 || p.r[1].nprops != 1)
		abort();
	/* values over the bound are cut, and controls become '?' */
	if (printable_value && strlen(value) <= 4096 &&
	    (strcmp(p.r[0].reason, value) != 0 ||
	    strcmp(p.r[0].props[0].value, value) != 0))
		abort();
	authres_parsed_free(&p);
}

static void
format_roundtrip(const uint8_t *data, size_t size)
{
	struct authres *ar;
	const uint8_t *semi;
	char *id, *value, *f;
	size_t idlen;

	semi = memchr(data, ';', size < 64 ? size : 64);
	idlen = semi ? (size_t)(semi - data) : 0;
	if ((id = strndup((const char *)data, idlen)) == NULL)
		return;
	size -= semi ? idlen + 1 : 0;
	data += semi ? idlen + 1 : 0;
	if ((value = strndup((const char *)data, size)) == NULL) {
		free(id);
		return;
	}
	if (*id == '\0')
		ar = authres_new("mx.example.org");
	else
		ar = authres_new(id);
	if (ar != NULL) {
		authres_add(ar, "dkim", "fail", value);
		authres_prop(ar, "header", "d", value);
		authres_prop(ar, "header", "i", value);
		authres_add(ar, "spf", "pass", NULL);
		authres_prop(ar, "smtp", "mailfrom", value);
		if ((f = authres_format(ar, "\r\n")) != NULL) {
			check_lines(f);
			parse_back(f, value);
			if (*id != '\0' && printable(id) &&
			    !authres_claims(f + strlen(PREFIX),
			    strlen(f) - strlen(PREFIX), id))
				abort();
			free(f);
		}
		authres_free(ar);
	}
	free(value);
	free(id);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	/* An exact-size copy so that any read past len is caught. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	(void)authres_claims((const char *)copy, size, "mx.example.org");
	(void)authres_claims((const char *)copy, size, "\"");
	parse_invariants((const char *)copy, size);
	free(copy);
	format_roundtrip(data, size);
	return 0;
}
