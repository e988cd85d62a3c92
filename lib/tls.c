/* tls: session descriptions shared by the TLS client and server.  See
 * tls.h. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls.h"

const char *
tls_ocsp_word(enum tls_ocsp o)
{
	static const char *const words[] = {
		"notreq", "notresp", "vfynotdone", "failed", "verified"
	};

	return (unsigned)o < sizeof(words) / sizeof(words[0]) ?
	    words[o] : "failed";
}

/* "TLSv1.3" -> "TLS1.3", as Exim writes the version; other names (none
 * in OpenSSL 3 for TLS) are kept. */
static void
exim_version(const char *v, char *buf, size_t size)
{
	if (strncmp(v, "TLSv", 4) == 0)
		snprintf(buf, size, "TLS%s", v + 4);
	else
		snprintf(buf, size, "%s", v);
}

void
tls_exim_cipher(const SSL *ssl, char *buf, size_t size)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	char v[32];
	int bits = 0;

	exim_version(SSL_get_version(ssl), v, sizeof(v));
	if (c != NULL)
		SSL_CIPHER_get_bits(c, &bits);
	snprintf(buf, size, "%s:%s:%d", v,
	    c != NULL ? SSL_CIPHER_get_name(c) : "?", bits);
}

void
tls_received_text(const SSL *ssl, char *buf, size_t size)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	int bits = 0, alg = 0;

	if (c != NULL)
		bits = SSL_CIPHER_get_bits(c, &alg);
	snprintf(buf, size, "(using %s with cipher %s (%d/%d bits))",
	    SSL_get_version(ssl), c != NULL ? SSL_CIPHER_get_name(c) : "?",
	    bits, alg);
}

void
tls_dn(const X509_NAME *name, char *buf, size_t size)
{
	if (size == 0)
		return;
	buf[0] = '\0';
	if (name != NULL && size > 1 &&
	    X509_NAME_oneline(name, buf, (int)(size > 65536 ? 65536 : size))
	    == NULL)
		buf[0] = '\0';
}

const char *
tls_error_reason(char *buf, size_t size, const char *what)
{
	unsigned long e = ERR_peek_error();
	const char *r;

	if (e == 0 || size == 0)
		return what;
	if ((r = ERR_reason_error_string(e)) != NULL)
		snprintf(buf, size, "%s", r);
	else	/* no strings loaded (cli_openssl_init): say what failed */
		snprintf(buf, size, "%s (OpenSSL error %08lx)", what, e);
	ERR_clear_error();
	return buf;
}

int
tls_version_parse(const char *s)
{
	static const struct {
		const char	*name;
		int		 v;
	} vs[] = {
		{ "1.0", TLS1_VERSION }, { "1", TLS1_VERSION },
		{ "1.1", TLS1_1_VERSION }, { "1.2", TLS1_2_VERSION },
		{ "1.3", TLS1_3_VERSION },
	};
	size_t i;

	if (s == NULL)
		return 0;
	if (strncasecmp(s, "TLSv", 4) == 0)
		s += 4;
	else if (strncasecmp(s, "TLS", 3) == 0)
		s += 3;
	for (i = 0; i < sizeof(vs) / sizeof(vs[0]); i++)
		if (strcmp(s, vs[i].name) == 0)
			return vs[i].v;
	return 0;
}

SSL_CTX *
tls_client_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
	return ctx;
}
