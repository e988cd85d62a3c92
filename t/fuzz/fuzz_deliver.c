/* libFuzzer target: lib/deliver's two parsers of what a client sends.
 * The streaming mboxrd quoting of the message, fed in pieces of the size
 * the first input octet picks, must give exactly what lib/mbox's
 * in-memory writer gives for the whole text; and deliver_check_rcpt on
 * the input as a local part must refuse (550 5.1.1) exactly the values
 * deliver.h says it refuses: empty, longer than 255 octets, holding '/'
 * or a control character, or starting with '.'. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "mbox.h"

/* deliver.h's rule, written out again independently. */
static int
refusable(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 255 || v[0] == '.')
		return 1;
	for (; *v != '\0'; v++)
		if (*v == '/' || (unsigned char)*v < 0x20 || *v == 0x7f)
			return 1;
	return 0;
}

static void
check_quote(const uint8_t *data, size_t size, size_t step)
{
	struct deliver_quote q = { 0, 0 };
	char *out, *ref;
	size_t off, k, got = 0, rlen;
	FILE *fp;

	if ((out = malloc(2 * size + 16)) == NULL)
		return;
	for (off = 0; off < size; off += k) {
		k = step < size - off ? step : size - off;
		got += deliver_mbox_quote(&q, (const char *)data + off, k,
		    out + got);
	}
	got += deliver_mbox_quote_end(&q, out + got);
	if ((fp = open_memstream(&ref, &rlen)) == NULL) {
		free(out);
		return;
	}
	if (mbox_write(fp, "From x", (const char *)data, size) == -1)
		abort();
	fclose(fp);
	/* ref: "From x\n", the quoted text, a line end if missing, "\n". */
	k = rlen - 8 - (size > 0 && data[size - 1] != '\n');
	if (got != k || memcmp(out, ref + 7, got) != 0)
		abort();
	free(ref);
	free(out);
}

static void
check_rcpt(const uint8_t *data, size_t size)
{
	static struct deliver *d;
	struct deliver_result res;
	struct deliver_rcpt r;
	char *lp, *err;
	int rc;

	if (d == NULL && (d = deliver_parse("mbox:/m/%{local_part}", &err)) ==
	    NULL)
		abort();
	if ((lp = strndup((const char *)data, size)) == NULL)
		return;
	r.address = "x@y";
	r.local_part = lp;
	r.domain = "y";
	rc = deliver_check_rcpt(d, &r, &res);
	if ((rc == 0) == refusable(lp))
		abort();
	if (rc != 0 && (res.code != 550 || strcmp(res.esc, "5.1.1") != 0 ||
	    res.status != DELIVER_PERM))
		abort();
	free(lp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t step;

	if (size < 1 || size > 65536)
		return 0;
	step = 1 + data[0] % 17;
	data++;
	size--;
	/* A message with CR before its first LF would make mbox_write use
	 * CRLF; the spool is LF-only. */
	if (memchr(data, '\r', size) == NULL)
		check_quote(data, size, step);
	check_rcpt(data, size);
	return 0;
}
