/* libFuzzer target: dnssec_classify on arbitrary DNS replies.  The input
 * is a sequence of [2-octet length][wire packet]: the first is the reply
 * to "www.example. A", each later one answers the validator's next DS or
 * DNSKEY fetch (none left: the fetch times out).  The trust anchor is a
 * fixed DS for example., so the walk reaches the signature checks.
 * Invariant: a classification, whatever the bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnssec.h"

static const char anchor[] =
    "example. 3600 IN DS 31406 8 2 "
    "f78cf3344f72137235098ecbbd08947c2c9001c7f6a085a17f518b5d8f6b916d\n";

struct feed {
	const uint8_t *p;
	size_t left;
};

/* The next packet of the feed, or NULL when it is used up. */
static ldns_pkt *
next_pkt(struct feed *f)
{
	ldns_pkt *p = NULL;
	size_t n;

	if (f->left < 2)
		return NULL;
	n = (size_t)f->p[0] << 8 | f->p[1];
	f->p += 2;
	f->left -= 2;
	if (n > f->left)
		n = f->left;
	if (ldns_wire2pkt(&p, f->p, n) != LDNS_STATUS_OK)
		p = NULL;
	f->p += n;
	f->left -= n;
	return p;
}

static ldns_pkt *
fetch(void *arg, const ldns_rdf *name, ldns_rr_type type)
{
	(void)name;
	(void)type;
	return next_pkt(arg);
}

static struct dnssec *
validator(void)
{
	static struct dnssec *v;
	char path[] = "/tmp/fuzz-dnssec-XXXXXX", *why = NULL;
	FILE *fp;
	int fd;

	if (v != NULL)
		return v;
	if ((fd = mkstemp(path)) == -1 || (fp = fdopen(fd, "w")) == NULL)
		abort();
	fputs(anchor, fp);
	fclose(fp);
	v = dnssec_new(path, &why);
	unlink(path);
	if (v == NULL)
		abort();
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct feed f = { data, size };
	ldns_rdf *q = ldns_dname_new_frm_str("www.example.");
	ldns_pkt *p = next_pkt(&f);
	enum dnssec_result r;
	char why[256];

	if (q != NULL && p != NULL) {
		/* A fixed time inside the seeds' signature validity. */
		r = dnssec_classify(validator(), p, q, LDNS_RR_TYPE_A, fetch, &f,
		    1767225600, why, sizeof(why));
		if (r != DNSSEC_SECURE && r != DNSSEC_INSECURE &&
		    r != DNSSEC_BOGUS)
			abort();
	}
	ldns_pkt_free(p);
	ldns_rdf_deep_free(q);
	return 0;
}
