/* test_dkim.h: what the t/unit/test_dkim_*.c tests share.  Include after
 * <cmocka.h>. */
#ifndef MXKIT_TEST_DKIM_H
#define MXKIT_TEST_DKIM_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "dkim.h"
#include "dns.h"
#include "msg.h"

/* RFC 6376 appendix A.2: the DKIM-Signature value as folded there. */
#define RFC6376_A2_SIG \
    " v=1; a=rsa-sha256; s=brisbane; d=example.com;\r\n" \
    "      c=simple/simple; q=dns/txt; i=joe@football.example.com;\r\n" \
    "      h=Received : From : To : Subject : Date : Message-ID;\r\n" \
    "      bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n" \
    "      b=AuUoFEfDxTDkHlLXSZEpZj79LICEps6eda7W3deTVFOk4yAUoqOB\r\n" \
    "        4nujc7YopdG5dWLSdNg6xNAZpOPr+kHxt1IrE+NahM6L/LbvaHut\r\n" \
    "        KVdkLLkpVaVVQPzeRDI009SO2Il5Lu7rDNH6mZckBdrIx0orEtZV\r\n" \
    "        4bmp/YzhwvcubU4=;"

/* The RFC 6376 example message, moved to example.com (CRLF). */
#define DKIM_TEST_MSG \
    "From: Joe SixPack <joe@example.com>\r\n" \
    "To: Suzie Q <suzie@example.net>\r\n" \
    "Subject: Is dinner ready?\r\n" \
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n" \
    "Message-ID: <20030712040037.46341.5F8J@example.com>\r\n" \
    "\r\n" \
    "Hi.\r\n" \
    "\r\n" \
    "We lost the game.  Are you hungry yet?\r\n" \
    "\r\n" \
    "Joe.\r\n"

/* a and b joined, malloc'd. */
static inline char *
test_cat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);

	assert_non_null(s);
	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

/* dkim_verify over text, which must parse; the results in *r. */
static inline void
test_verify(const char *text, unsigned policy, time_t now, size_t max,
    struct dkim_results *r)
{
	struct dkim_verify_opts o = { now, policy, max, 0, 0 };
	struct msg m;
	const char *why = NULL;

	memset(&m, 0, sizeof m);
	assert_int_equal(msg_parse(&m, text, strlen(text), &why), 0);
	assert_int_equal(dkim_verify(&m, &o, r), 0);
	msg_free(&m);
}

/* r has this status and reason. */
static inline void
test_outcome(const struct dkim_result *r, enum dkim_status st,
    enum dkim_reason why)
{
	if (r->status != st || r->reason != why)
		fail_msg("got %s/%s (%s), want %s/%s",
		    dkim_status_name(r->status), dkim_reason_name(r->reason),
		    r->detail ? r->detail : "", dkim_status_name(st),
		    dkim_reason_name(why));
}

/* The keys the signing and verifying tests use: RSA-2048, Ed25519, and
 * an RSA-512 that RFC 8301 refuses.  0, or -1. */
static inline int
test_keys_new(EVP_PKEY **rsa, EVP_PKEY **ed, EVP_PKEY **rsa512)
{
	unsetenv("MXKIT_DNS_ZONE");
	unsetenv("MXKIT_RESOLVER");
	*rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	*ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	*rsa512 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	return *rsa != NULL && *ed != NULL && *rsa512 != NULL ? 0 : -1;
}

/* lib/dns with the test zone.  0, or -1 (said on stderr). */
static inline int
test_dns_start(const struct dns_opts *o, const char *zonepath)
{
	const char *why = NULL;
	char *zwhy = NULL;

	if (dns_init(o, &why) != 0 || dns_load_zone(zonepath, &zwhy) != 0) {
		fprintf(stderr, "dns: %s\n", why ? why : zwhy);
		return -1;
	}
	return 0;
}

/* Undo both, and the verifier's key cache. */
static inline void
test_stop(EVP_PKEY *rsa, EVP_PKEY *ed, EVP_PKEY *rsa512,
    const char *zonepath)
{
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(rsa512);
	unlink(zonepath);
	dkim_key_cache_clear();
	dns_shutdown();
}

#endif
