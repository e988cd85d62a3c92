/* libFuzzer target: DMARC record handling on arbitrary bytes.
 *   - dmarc_record_check on the input as a TXT record (the way dmarc_eval
 *     takes records);
 *   - the input's ruf= value (up to ';') as the verdict's ruf URIs through
 *     dmarc_ruf_addresses and dmarc_forensic_report (with the input as the
 *     reported message): addresses plain, the report 7-bit with CRLF
 *     lines;
 *   - an input starting "v=1\t" is a history file for dmarc_aggregate
 *     (through a memfd): no crash, and a result or a reason.
 */
#include <sys/mman.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmarc.h"
#include "dmarc_report.h"

#define MAX_URIS 16

static void
check_addresses(char **l)
{
	size_t i, j, n;

	for (i = 0; l != NULL && l[i] != NULL; i++) {
		n = strlen(l[i]);
		if (i >= 16 || n == 0 || n > 254 || l[i][0] == '-' ||
		    strchr(l[i], '@') == NULL ||
		    strchr(l[i], '@') != strrchr(l[i], '@'))
			abort();
		for (j = 0; j < n; j++)
			if ((unsigned char)l[i][j] <= 0x20 ||
			    (unsigned char)l[i][j] >= 0x7F ||
			    strchr("\"(),:;<>[\\]", l[i][j]) != NULL)
				abort();
	}
}

static void
check_report(const char *r, size_t len)
{
	size_t i, line = 0;

	if (len < 2 || r[len - 2] != '\r' || r[len - 1] != '\n')
		abort();
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)r[i];

		if (c == 0 || c >= 0x80)
			abort();
		if (c == '\n' && (i == 0 || r[i - 1] != '\r'))
			abort();
		if (c == '\r' && r[i + 1] != '\n')
			abort();
		if (c == '\n')
			line = 0;
		else if (c != '\r' && ++line > 998)
			abort();
	}
}

/* The value of the first "ruf=" in data, split on ','. */
static void
ruf_from_input(const uint8_t *data, size_t size)
{
	struct dmarc_verdict v;
	struct dmarc_auth a;
	struct dmarc_dkim dk = { "example.com", "sel", "fail" };
	char *copy, *s, *e, *uris[MAX_URIS], **l, *r;
	const char *why;
	size_t n = 0, i, len;

	if ((copy = malloc(size + 1)) == NULL)
		return;
	memcpy(copy, data, size);
	copy[size] = '\0';
	if ((s = strstr(copy, "ruf=")) == NULL) {
		free(copy);
		return;
	}
	s += 4;
	if ((e = strchr(s, ';')) != NULL)
		*e = '\0';
	while (n < MAX_URIS && s != NULL) {
		uris[n++] = s;
		if ((s = strchr(s, ',')) != NULL)
			*s++ = '\0';
	}
	memset(&v, 0, sizeof(v));
	memset(&a, 0, sizeof(a));
	v.status = DMARC_REJECT;
	v.result = "fail";
	v.from_domain = "example.com";
	v.used_domain = "example.com";
	v.domain_policy = "reject";
	v.policy_tag = "p";
	v.disposition = "reject";
	v.pct = 100;
	v.record = copy;
	v.ruf = uris;
	v.nruf = n;
	v.fo = "1";
	v.ar_header = copy;
	a.have_spf = 1;
	a.spf = SPFR_FAIL;
	a.spf_domain = "example.com";
	a.dkim = &dk;
	a.ndkim = 1;
	l = dmarc_ruf_addresses(&v);
	check_addresses(l);
	for (i = 0; l != NULL && l[i] != NULL; i++)
		free(l[i]);
	free(l);
	(void)dmarc_forensic_wanted(&v, &a);
	r = dmarc_forensic_report(&v, &a, "192.0.2.1", "r@example.net",
	    (const char *)data, size, 1700000000, &len, &why);
	if (r != NULL) {
		check_report(r, len);
		free(r);
	} else if (why == NULL)
		abort();
	free(copy);
}

static void
history_from_input(const uint8_t *data, size_t size)
{
	struct dmarc_agg_opts o = { .org = "Org", .email = "r@example.net" };
	char path[64];
	const char *why = NULL;
	FILE *null;
	int fd, n;

	if ((fd = memfd_create("history", 0)) == -1)
		return;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((null = fopen("/dev/null", "w")) != NULL) {
		n = dmarc_aggregate(path, &o, null, &why);
		if (n < 0 && why == NULL)
			abort();
		fclose(null);
	}
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	char *copy;

	/* an exact-size copy so that any read past len is caught */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if (dmarc_record_check(copy, size, &why) == -1 && why == NULL)
		abort();
	free(copy);
	ruf_from_input(data, size);
	if (size >= 4 && memcmp(data, "v=1\t", 4) == 0)
		history_from_input(data, size);
	return 0;
}
