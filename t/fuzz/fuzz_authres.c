/* libFuzzer target: authres_claims on arbitrary bytes, and the invariants
 * of authres_format on arbitrary ids and values (no header injection,
 * and a formatted field claims its own id). */
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
	free(copy);
	format_roundtrip(data, size);
	return 0;
}
