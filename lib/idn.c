/* idn: A-labels from UTF-8 domain names with libidn2. */
#include <stdlib.h>
#include <string.h>
#include <idn2.h>

#include "idn.h"

int
idn_is_unicode(const char *name)
{
	for (; *name != '\0'; name++)
		if ((unsigned char)*name >= 0x80)
			return 1;
	return 0;
}

char *
idn_to_alabels(const char *name, const char **why)
{
	char *out = NULL, *copy;
	int rc;

	if (!idn_is_unicode(name)) {
		if ((copy = strdup(name)) == NULL)
			*why = "out of memory";
		return copy;
	}
	/* Non-transitional IDNA2008 with UTS #46 mapping, as browsers and
	 * MTAs do: "Bücher.Example" and "bücher.example" look up alike. */
	rc = idn2_to_ascii_8z(name, &out, IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK) {
		*why = idn2_strerror(rc);
		return NULL;
	}
	/* out comes from libidn2's allocator; hand back one of ours. */
	copy = strdup(out);
	idn2_free(out);
	if (copy == NULL)
		*why = "out of memory";
	return copy;
}
