/* libFuzzer target: dkim_key_parse on any bytes, as a key record TXT. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_key key;
	const char *why = NULL;

	if (dkim_key_parse((const char *)data, size, &key, &why) != 0) {
		if (why == NULL || key.pkey != NULL || key.ktype != NULL)
			abort();
		return 0;
	}
	if (key.ktype == NULL || key.notes == NULL || key.srvtype == NULL ||
	    key.granularity == NULL || key.flags == NULL)
		abort();
	if (key.revoked && (key.pkey != NULL || key.plen != 0))
		abort();
	if (key.pkey != NULL && (key.bits <= 0 || key.p == NULL))
		abort();
	if ((key.hashes & ~(DKIM_HASH_SHA1 | DKIM_HASH_SHA256)) != 0)
		abort();
	dkim_key_free(&key);
	if (key.pkey != NULL || key.p != NULL)
		abort();
	return 0;
}
