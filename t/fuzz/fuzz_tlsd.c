/* libFuzzer target: tlsd_sni_normalize on arbitrary bytes (a client's
 * SNI) and the file name it makes through tlsd_expand.  Invariants: an
 * accepted name is the input lowercased (one trailing dot dropped), only
 * [a-z0-9.-], no leading or trailing dot, no "..", at most 253 octets; the
 * expanded file name is the template with exactly that name in place, so
 * it never leaves the template's directory. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlsd.h"

static void
check_name(const uint8_t *data, size_t size, const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0 || n > TLSD_NAME_MAX || name[0] == '.' ||
	    name[n - 1] == '.' || strstr(name, "..") != NULL)
		abort();
	if (!(n == size || (n + 1 == size && data[n] == '.')))
		abort();
	for (i = 0; i < n; i++) {
		char c = name[i], in = (char)data[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '-'))
			abort();
		if (in >= 'A' && in <= 'Z')
			in = (char)(in - 'A' + 'a');
		if (in != c)
			abort();
	}
}

static void
check_path(const char *name)
{
	static const char tmpl[] = "/etc/certs/%{sni}.pem";
	char out[TLSD_PATH_MAX], want[TLSD_PATH_MAX];

	if (tlsd_expand(tmpl, name, out, sizeof(out)) != 0)
		abort();
	memcpy(want, "/etc/certs/", 11);
	memcpy(want + 11, name, strlen(name));
	memcpy(want + 11 + strlen(name), ".pem", 5);
	if (strcmp(out, want) != 0 || strchr(out + 11, '/') != NULL)
		abort();
	/* Too small a buffer is refused, never overrun. */
	if (tlsd_expand(tmpl, name, out, strlen(want)) != -1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[TLSD_NAME_MAX + 1], *copy, *tout;
	size_t tsize;

	/* An exact-size copy so that any read past size is caught. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if (tlsd_sni_normalize(copy, size, name, sizeof(name)) == 0) {
		check_name(data, size, name);
		check_path(name);
	}
	/* The input as a template, with a fixed name. */
	tsize = size * 2 + 16;
	if ((tout = malloc(tsize)) != NULL) {
		char *t = strndup(copy, size);

		if (t != NULL && tlsd_expand(t, "ab", tout, tsize) != 0)
			abort();
		free(t);
		free(tout);
	}
	free(copy);
	return 0;
}
