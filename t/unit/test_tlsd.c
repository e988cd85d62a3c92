/* Unit tests for lib/tlsd (and lib/tls): real TLS handshakes over a
 * socketpair (or two pipes) with an OpenSSL client in a forked child.
 * The test PKI, the certificate files and the OCSP responses are made
 * here at run time in a temporary directory, so nothing expires. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "tlsd.h"

#define DAY	86400L

static time_t now;
static char dir[64];
static EVP_PKEY *ca_key, *rsa_key, *ec_key, *ec2_key;
static X509 *ca, *rsa_leaf, *ec_leaf, *client_leaf;

/* ---- the PKI ---- */

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	assert_non_null(e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value));
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* cn's certificate for key, issued by ca (NULL: a self-signed CA). */
static X509 *
mkcert(const char *cn, EVP_PKEY *key, long serial)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509 *issuer = strcmp(cn, "Test CA") == 0 ? NULL : ca;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_time_adj_ex(X509_getm_notBefore(x), -1, 0, &now);
	X509_time_adj_ex(X509_getm_notAfter(x), 30, 0, &now);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	X509_set_pubkey(x, key);
	add_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
	if (issuer == NULL) {
		add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, issuer, NID_authority_key_identifier, "keyid");
		add_ext(x, issuer, NID_basic_constraints, "CA:FALSE");
	}
	assert_true(X509_sign(x, issuer ? ca_key : key, EVP_sha256()) > 0);
	return x;
}

static const char *
path(const char *name)
{
	static char buf[8][512];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* Write name atomically (a new inode: the change is seen). */
static void
put(const char *name, const void *data, size_t len)
{
	char tmp[600];
	FILE *fp;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path(name));
	assert_non_null(fp = fopen(tmp, "w"));
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(rename(tmp, path(name)), 0);
}

/* A PEM file: the leaf, the CA when chain, the key when key. */
static void
put_pem(const char *name, X509 *leaf, int chain, EVP_PKEY *key)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	assert_non_null(b);
	if (leaf != NULL)
		assert_int_equal(PEM_write_bio_X509(b, leaf), 1);
	if (chain)
		assert_int_equal(PEM_write_bio_X509(b, ca), 1);
	if (key != NULL)
		assert_int_equal(PEM_write_bio_PrivateKey(b, key, NULL, NULL,
		    0, NULL, NULL), 1);
	n = BIO_get_mem_data(b, &p);
	put(name, p, (size_t)n);
	BIO_free(b);
}

/* A response about cert signed by the CA, valid from now + this_off to
 * now + next_off; DER in a malloc'd buffer. */
static unsigned char *
mkresp(X509 *cert, long this_off, long next_off, size_t *len)
{
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	ASN1_TIME *thisu, *nextu;
	OCSP_RESPONSE *r;
	OCSP_CERTID *id;
	unsigned char *der = NULL;
	int n;

	assert_non_null(bs);
	assert_non_null(id = OCSP_cert_to_id(EVP_sha1(), cert, ca));
	thisu = X509_time_adj_ex(NULL, 0, this_off, &now);
	nextu = X509_time_adj_ex(NULL, 0, next_off, &now);
	assert_non_null(OCSP_basic_add1_status(bs, id,
	    V_OCSP_CERTSTATUS_GOOD, 0, NULL, thisu, nextu));
	assert_int_equal(OCSP_basic_sign(bs, ca, ca_key, EVP_sha256(), NULL,
	    0), 1);
	assert_non_null(r = OCSP_response_create(
	    OCSP_RESPONSE_STATUS_SUCCESSFUL, bs));
	assert_true((n = i2d_OCSP_RESPONSE(r, &der)) > 0);
	*len = (size_t)n;
	OCSP_RESPONSE_free(r);
	OCSP_BASICRESP_free(bs);
	OCSP_CERTID_free(id);
	ASN1_TIME_free(thisu);
	ASN1_TIME_free(nextu);
	return der;
}

/* Write a response file; its bytes stay in *der (free them). */
static unsigned char *
put_resp(const char *name, X509 *cert, long this_off, long next_off,
    size_t *len)
{
	unsigned char *der = mkresp(cert, this_off, next_off, len);

	put(name, der, *len);
	return der;
}

static int
setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	now = time(NULL);
	snprintf(dir, sizeof(dir), "/tmp/mxkit-t.tlsd.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	ca_key = EVP_EC_gen("P-256");
	ec_key = EVP_EC_gen("P-256");
	ec2_key = EVP_EC_gen("P-256");
	rsa_key = EVP_RSA_gen(2048);
	if (!ca_key || !ec_key || !ec2_key || !rsa_key)
		return -1;
	ca = mkcert("Test CA", ca_key, 1);
	rsa_leaf = mkcert("rsa.mx.test", rsa_key, 10);
	ec_leaf = mkcert("ec.mx.test", ec_key, 11);
	client_leaf = mkcert("client.test", ec2_key, 12);
	put_pem("rsa.pem", rsa_leaf, 1, NULL);
	put_pem("rsa.key", NULL, 0, rsa_key);
	put_pem("ec.pem", ec_leaf, 1, ec_key);
	put_pem("client.pem", client_leaf, 0, ec2_key);
	return 0;
}

static int
teardown(void **state)
{
	struct dirent *e;
	DIR *dp;

	(void)state;
	X509_free(ca);
	X509_free(rsa_leaf);
	X509_free(ec_leaf);
	X509_free(client_leaf);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(ec2_key);
	/* dir is ours (mkdtemp above) and holds only plain files. */
	if ((dp = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(dp)) != NULL)
		if (e->d_name[0] != '.')
			(void)unlink(path(e->d_name));
	closedir(dp);
	return rmdir(dir);
}

/* ---- the client, in a child ---- */

struct copts {
	const char	*sni;
	const char	*sigalgs;
	const char	*ciphers;	/* TLS 1.2 list */
	int		 status;	/* ask for OCSP */
	int		 max_version;
	int		 cert;		/* send client.pem */
	int		 pipes;		/* two pipes, not a socketpair */
};

struct report {
	int		 ok;
	char		 cn[128];
	char		 version[16];
	char		 reply[64];
	long		 staple_len;
	unsigned char	 staple[16384];
};

static void
client(const struct copts *o, int rfd, int wfd, struct report *r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl;
	const unsigned char *st = NULL;
	X509 *peer;
	int n, got = 0;

	if (ctx == NULL)
		return;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (o->max_version)
		SSL_CTX_set_max_proto_version(ctx, o->max_version);
	if (o->ciphers && SSL_CTX_set_cipher_list(ctx, o->ciphers) != 1)
		return;
	if (o->cert && (SSL_CTX_use_certificate_file(ctx, path("client.pem"),
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_use_PrivateKey_file(ctx,
	    path("client.pem"), SSL_FILETYPE_PEM) != 1))
		return;
	if ((ssl = SSL_new(ctx)) == NULL)
		return;
	if (o->sni)
		SSL_set_tlsext_host_name(ssl, o->sni);
	if (o->sigalgs && SSL_set1_sigalgs_list(ssl, o->sigalgs) != 1)
		return;
	if (o->status)
		SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp);
	SSL_set_rfd(ssl, rfd);
	SSL_set_wfd(ssl, wfd);
	if (SSL_connect(ssl) != 1)
		return;
	snprintf(r->version, sizeof(r->version), "%s", SSL_get_version(ssl));
	if ((peer = SSL_get0_peer_certificate(ssl)) != NULL)
		X509_NAME_get_text_by_NID(X509_get_subject_name(peer),
		    NID_commonName, r->cn, sizeof(r->cn));
	r->staple_len = SSL_get_tlsext_status_ocsp_resp(ssl, &st);
	if (st != NULL && r->staple_len > 0 &&
	    r->staple_len <= (long)sizeof(r->staple))
		memcpy(r->staple, st, (size_t)r->staple_len);
	if (SSL_write(ssl, "EHLO x\r\n", 8) != 8)
		return;
	while (got < (int)sizeof(r->reply) - 1 &&
	    (n = SSL_read(ssl, r->reply + got,
	    (int)sizeof(r->reply) - 1 - got)) > 0) {
		got += n;
		if (memchr(r->reply, '\n', (size_t)got) != NULL)
			break;
	}
	/* The server's close_notify, then ours. */
	r->ok = SSL_read(ssl, r->reply + got, 1) == 0 &&
	    SSL_get_error(ssl, 0) == SSL_ERROR_ZERO_RETURN;
	SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
}

static int
read_full(int fd, void *buf, size_t n)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		if (poll(&p, 1, 10000) != 1)
			return -1;
		if ((r = read(fd, (char *)buf + got, n - got)) <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* The server side of one session: handshake, read "EHLO x\r\n", answer,
 * close_notify. */
static int
serve(struct tlsd *t, int rfd, int wfd, struct tlsd_info *info, char *err,
    size_t errlen)
{
	struct tlsd_conn *c;
	char buf[16];
	size_t got = 0;
	ssize_t n;
	int rc;

	if ((rc = tlsd_handshake(t, rfd, wfd, 5000, &c, err, errlen)) != 0)
		return rc;
	*info = *tlsd_info(c);
	while (got < 8 && (n = tlsd_read(c, buf + got, 8 - got, 5000)) > 0)
		got += (size_t)n;
	assert_int_equal(got, 8);
	assert_memory_equal(buf, "EHLO x\r\n", 8);
	assert_int_equal(tlsd_pending(c), 0);
	assert_int_equal(tlsd_write_all(c, "250 ok\r\n", 8, 5000), 0);
	assert_int_equal(tlsd_shutdown(c, 2000), 0);
	tlsd_conn_free(c);
	return 0;
}

/* One session with the client o: the handshake's result; rep and info
 * filled. */
static int
session(struct tlsd *t, const struct copts *o, struct report *rep,
    struct tlsd_info *info, char *err, size_t errlen)
{
	int sv[2], up[2], down[2], rp[2], status, rc;
	int srfd, swfd, crfd, cwfd;
	pid_t pid;

	memset(rep, 0, sizeof(*rep));
	memset(info, 0, sizeof(*info));
	if (o->pipes) {
		assert_int_equal(pipe(up), 0);
		assert_int_equal(pipe(down), 0);
		srfd = up[0], cwfd = up[1], crfd = down[0], swfd = down[1];
	} else {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		srfd = swfd = sv[0];
		crfd = cwfd = sv[1];
	}
	assert_int_equal(pipe(rp), 0);
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		struct report *r = calloc(1, sizeof(*r));

		alarm(20);
		close(srfd);
		close(swfd);
		close(rp[0]);
		if (r != NULL) {
			client(o, crfd, cwfd, r);
			if (write(rp[1], r, sizeof(*r)) != (ssize_t)sizeof(*r))
				_exit(2);
		}
		_exit(0);
	}
	close(crfd);
	if (cwfd != crfd)
		close(cwfd);
	close(rp[1]);
	rc = serve(t, srfd, swfd, info, err, errlen);
	close(srfd);
	if (swfd != srfd)
		close(swfd);
	assert_int_equal(read_full(rp[0], rep, sizeof(*rep)), 0);
	close(rp[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return rc;
}

static struct tlsd *
server(struct tlsd_config *cfg)
{
	struct tlsd *t;
	char err[300];

	if ((t = tlsd_new(cfg, err, sizeof(err))) == NULL)
		fail_msg("tlsd_new: %s", err);
	return t;
}

/* The RSA and ECDSA pairs, each with its OCSP file. */
static struct tlsd_config
two_pairs(void)
{
	struct tlsd_config c = { .npairs = 2 };

	c.pair[0].cert = path("rsa.pem");
	c.pair[0].key = path("rsa.key");
	c.pair[0].ocsp = path("rsa.ocsp");
	c.pair[1].cert = path("ec.pem");
	c.pair[1].ocsp = path("ec.ocsp");
	return c;
}

/* ---- the tests ---- */

static void
test_names(void **state)
{
	static const char *const bad[] = {
		"", ".", ".a.test", "a..test", "a/b", "../etc/passwd", "a b",
		"a_b.test", "a.test..", "\xc3\xa9.test", "a%{sni}"
	};
	char out[TLSD_NAME_MAX + 1], big[300];
	size_t i;

	(void)state;
	assert_int_equal(tlsd_sni_normalize("MX.Example.TEST.", 16, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "mx.example.test");
	assert_int_equal(tlsd_sni_normalize("xn--bcher-kva.test", 18, out,
	    sizeof(out)), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (tlsd_sni_normalize(bad[i], strlen(bad[i]), out,
		    sizeof(out)) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
	memset(big, 'a', sizeof(big));
	assert_int_equal(tlsd_sni_normalize(big, 253, out, sizeof(out)), 0);
	assert_int_equal(tlsd_sni_normalize(big, 254, out, sizeof(out)), -1);
	assert_int_equal(tlsd_sni_normalize("a.test", 6, out, 6), -1);

	assert_int_equal(tlsd_expand("/c/%{sni}.pem", "a.test", big,
	    sizeof(big)), 0);
	assert_string_equal(big, "/c/a.test.pem");
	assert_int_equal(tlsd_expand("%{sni}/%{sni}%{sn", "x", big,
	    sizeof(big)), 0);
	assert_string_equal(big, "x/x%{sn");
	assert_int_equal(tlsd_expand("/c/%{sni}", "abc", big, 7), 0);
	assert_int_equal(tlsd_expand("/c/%{sni}", "abcd", big, 7), -1);

	assert_int_equal(tls_version_parse("TLSv1.2"), TLS1_2_VERSION);
	assert_int_equal(tls_version_parse("tls1.3"), TLS1_3_VERSION);
	assert_int_equal(tls_version_parse("1.1"), TLS1_1_VERSION);
	assert_int_equal(tls_version_parse("TLSv1"), TLS1_VERSION);
	assert_int_equal(tls_version_parse("SSLv3"), 0);
	assert_string_equal(tls_ocsp_word(TLS_OCSP_NOTREQ), "notreq");
	assert_string_equal(tls_ocsp_word(TLS_OCSP_NOTRESP), "notresp");
	assert_string_equal(tls_ocsp_word(TLS_OCSP_VFYNOTDONE), "vfynotdone");
	assert_string_equal(tls_ocsp_word(TLS_OCSP_VERIFIED), "verified");
	assert_string_equal(tls_ocsp_word((enum tls_ocsp)9), "failed");
	tls_dn(X509_get_subject_name(ec_leaf), big, sizeof(big));
	assert_string_equal(big, "/CN=ec.mx.test");
}

static void
test_config_errors(void **state)
{
	struct tlsd_config c = { .npairs = 1 };
	char err[300];

	(void)state;
	c.pair[0].cert = path("nonexistent.pem");
	assert_null(tlsd_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "No such file"));
	c.pair[0].cert = path("rsa.pem");
	c.pair[0].key = path("ec.pem");
	assert_null(tlsd_new(&c, err, sizeof(err)));
	c.pair[0].cert = path("%{sni}.pem");
	c.pair[0].key = NULL;
	assert_null(tlsd_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "no host name"));
	c.hostname = "bad/name";
	assert_null(tlsd_new(&c, err, sizeof(err)));
	c = two_pairs();
	c.pair[0].cert = path("ec.pem");
	c.pair[0].key = NULL;
	assert_null(tlsd_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "a second certificate"));
	c = two_pairs();
	c.ciphers = "NO-SUCH-CIPHER";
	assert_null(tlsd_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "ciphers"));
	c = two_pairs();
	c.npairs = 0;
	assert_null(tlsd_new(&c, err, sizeof(err)));
}

static void
test_pairs_by_sigalgs(void **state)
{
	struct tlsd_config c = two_pairs();
	struct tlsd *t = server(&c);
	struct copts ec = { .sigalgs = "ECDSA+SHA256" };
	struct copts rsa = { .sigalgs = "RSA-PSS+SHA256:RSA+SHA256" };
	struct report r;
	struct tlsd_info in;
	char err[300];

	(void)state;
	assert_int_equal(session(t, &ec, &r, &in, err, sizeof(err)), 0);
	assert_true(r.ok);
	assert_string_equal(r.cn, "ec.mx.test");
	assert_string_equal(r.reply, "250 ok\r\n");
	assert_string_equal(in.version, "TLSv1.3");
	assert_string_equal(r.version, "TLSv1.3");
	assert_true(strncmp(in.cipher, "TLS1.3:TLS_", 11) == 0);
	assert_int_equal(in.ocsp, TLS_OCSP_NOTREQ);
	assert_false(in.ocsp_requested);
	assert_string_equal(in.sni, "");
	assert_string_equal(in.peerdn, "");
	assert_string_equal(in.note, "");

	assert_int_equal(session(t, &rsa, &r, &in, err, sizeof(err)), 0);
	assert_true(r.ok);
	assert_string_equal(r.cn, "rsa.mx.test");
	tlsd_free(t);
}

static void
test_tls12_and_text(void **state)
{
	struct tlsd_config c = two_pairs();
	struct tlsd *t = server(&c);
	struct copts o = { .max_version = TLS1_2_VERSION,
	    .ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256" };
	struct report r;
	struct tlsd_info in;
	char err[300];

	(void)state;
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), 0);
	assert_true(r.ok);
	assert_string_equal(r.cn, "ec.mx.test");
	assert_string_equal(in.version, "TLSv1.2");
	assert_string_equal(in.cipher,
	    "TLS1.2:ECDHE-ECDSA-AES128-GCM-SHA256:128");
	assert_string_equal(in.cipher_name, "ECDHE-ECDSA-AES128-GCM-SHA256");
	assert_int_equal(in.bits, 128);
	assert_int_equal(in.alg_bits, 128);
	assert_string_equal(in.received, "(using TLSv1.2 with cipher "
	    "ECDHE-ECDSA-AES128-GCM-SHA256 (128/128 bits))");
	tlsd_free(t);

	/* TLS 1.3 with a fixed suite, for the Exim string. */
	c.ciphersuites = "TLS_AES_256_GCM_SHA384";
	t = server(&c);
	o = (struct copts){ 0 };
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), 0);
	assert_string_equal(in.cipher, "TLS1.3:TLS_AES_256_GCM_SHA384:256");
	assert_string_equal(in.received, "(using TLSv1.3 with cipher "
	    "TLS_AES_256_GCM_SHA384 (256/256 bits))");
	tlsd_free(t);
}

static void
test_pipes_and_client_cert(void **state)
{
	struct tlsd_config c = two_pairs();
	struct tlsd *t;
	struct copts o = { .pipes = 1, .cert = 1 };
	struct report r;
	struct tlsd_info in;
	char err[300];

	(void)state;
	t = server(&c);
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), 0);
	assert_true(r.ok);
	assert_string_equal(in.peerdn, "");	/* not asked for */
	tlsd_free(t);
	c.request_client_cert = 1;
	t = server(&c);
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), 0);
	assert_true(r.ok);
	assert_string_equal(in.peerdn, "/CN=client.test");
	o.cert = 0;
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), 0);
	assert_true(r.ok);
	assert_string_equal(in.peerdn, "");
	tlsd_free(t);
}

static void
test_handshake_errors(void **state)
{
	struct tlsd_config c = two_pairs();
	struct tlsd *t;
	struct copts o = { .max_version = TLS1_2_VERSION,
	    .ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305" };
	struct report r;
	struct tlsd_info in;
	char err[300];

	(void)state;
	c.ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384";
	t = server(&c);
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), -1);
	assert_false(r.ok);
	assert_string_equal(err, "handshake failed: no shared cipher");
	tlsd_free(t);

	c = two_pairs();
	c.min_version = TLS1_3_VERSION;
	t = server(&c);
	o.ciphers = NULL;
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), -1);
	assert_false(r.ok);
	assert_string_equal(err, "handshake failed: unsupported protocol");
	tlsd_free(t);
}

/* Plaintext where the ClientHello belongs (what a STARTTLS injection
 * leaves on the wire if the core did not read it): the handshake reads
 * it as TLS and fails; it never becomes a command. */
static void
test_plaintext_before_hello(void **state)
{
	struct tlsd_config c = two_pairs();
	struct tlsd *t = server(&c);
	struct tlsd_conn *conn = NULL;
	char err[300];
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], "RSET\r\nMAIL FROM:<a@b>\r\n", 23), 23);
	assert_int_equal(tlsd_handshake(t, sv[0], sv[0], 2000, &conn, err,
	    sizeof(err)), -1);
	assert_null(conn);
	assert_true(strncmp(err, "handshake failed: ", 18) == 0);
	close(sv[0]);
	close(sv[1]);
	tlsd_free(t);
}

static long
elapsed_ms(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 +
	    (b.tv_nsec - a->tv_nsec) / 1000000;
}

static void
test_deadline(void **state)
{
	struct tlsd_config c = two_pairs();
	struct tlsd *t = server(&c);
	struct tlsd_conn *conn = NULL;
	struct timespec t0;
	char err[300];
	long ms;
	int sv[2], fl;

	(void)state;
	/* A client that connects and says nothing. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fl = fcntl(sv[0], F_GETFL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(tlsd_handshake(t, sv[0], sv[0], 300, &conn, err,
	    sizeof(err)), -2);
	ms = elapsed_ms(&t0);
	assert_true(ms >= 290 && ms < 800);
	assert_string_equal(err, "handshake timed out");
	assert_int_equal(fcntl(sv[0], F_GETFL), fl);	/* restored */
	/* One that stops in the middle of its ClientHello's record. */
	assert_int_equal(write(sv[1], "\x16\x03\x01\x00\xc8\x01\x00\x00", 8),
	    8);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(tlsd_handshake(t, sv[0], sv[0], 300, &conn, err,
	    sizeof(err)), -2);
	ms = elapsed_ms(&t0);
	assert_true(ms >= 290 && ms < 800);
	close(sv[1]);
	close(sv[0]);
	/* A peer gone before a word: an error at once, not a timeout. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	assert_int_equal(tlsd_handshake(t, sv[0], sv[0], 3000, &conn, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "handshake failed: connection closed by "
	    "the peer");
	close(sv[0]);
	tlsd_free(t);
}

/* After the handshake: a read with nothing coming times out, EOF after
 * close_notify reads 0. */
static void
test_read_timeout(void **state)
{
	struct tlsd_config c = two_pairs();
	struct tlsd *t = server(&c);
	struct tlsd_conn *conn = NULL;
	struct timespec t0;
	SSL_CTX *cctx;
	SSL *cssl;
	char err[300], buf[8];
	int sv[2], r;
	pid_t pid;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		alarm(20);
		close(sv[0]);
		cctx = SSL_CTX_new(TLS_client_method());
		cssl = SSL_new(cctx);
		SSL_set_fd(cssl, sv[1]);
		if (SSL_connect(cssl) != 1)
			_exit(1);
		/* Wait for the server's go, then close_notify. */
		r = SSL_read(cssl, buf, 1);
		SSL_shutdown(cssl);
		_exit(r == 1 ? 0 : 3);
	}
	close(sv[1]);
	assert_int_equal(tlsd_handshake(t, sv[0], sv[0], 5000, &conn, err,
	    sizeof(err)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(tlsd_read(conn, buf, sizeof(buf), 200), -2);
	assert_true(elapsed_ms(&t0) >= 190 && elapsed_ms(&t0) < 700);
	assert_non_null(strstr(tlsd_error(conn), "timed out"));
	assert_int_equal(tlsd_write_all(conn, "g", 1, 2000), 0);
	assert_int_equal(tlsd_read(conn, buf, sizeof(buf), 5000), 0);
	tlsd_conn_free(conn);
	close(sv[0]);
	assert_int_equal(waitpid(pid, &r, 0), pid);
	assert_true(WIFEXITED(r) && WEXITSTATUS(r) == 0);
	tlsd_free(t);
}

static void
test_ocsp(void **state)
{
	struct tlsd_config c = two_pairs();
	struct tlsd *t = server(&c);
	struct copts ec = { .status = 1, .sigalgs = "ECDSA+SHA256" };
	struct copts rsa = { .status = 1, .sigalgs = "RSA-PSS+SHA256" };
	struct copts ask_not = { .sigalgs = "ECDSA+SHA256" };
	struct report r;
	struct tlsd_info in;
	unsigned char *d1, *d2, *d3;
	size_t l1, l2, l3;
	char err[300];

	(void)state;
	unlink(path("ec.ocsp"));
	unlink(path("rsa.ocsp"));
	/* Missing file: nothing sent, notresp. */
	assert_int_equal(session(t, &ec, &r, &in, err, sizeof(err)), 0);
	assert_true(r.ok);
	assert_true(in.ocsp_requested);
	assert_int_equal(in.ocsp, TLS_OCSP_NOTRESP);
	assert_int_equal(r.staple_len, -1);
	assert_non_null(strstr(in.ocsp_note, "No such file"));

	/* Fresh: stapled, the file's very bytes, per certificate. */
	d1 = put_resp("ec.ocsp", ec_leaf, -60, DAY, &l1);
	d2 = put_resp("rsa.ocsp", rsa_leaf, -60, DAY, &l2);
	assert_int_equal(session(t, &ec, &r, &in, err, sizeof(err)), 0);
	assert_int_equal(in.ocsp, TLS_OCSP_VFYNOTDONE);
	assert_int_equal(in.ocsp_len, l1);
	assert_int_equal(r.staple_len, (long)l1);
	assert_memory_equal(r.staple, d1, l1);
	assert_int_equal(session(t, &rsa, &r, &in, err, sizeof(err)), 0);
	assert_string_equal(r.cn, "rsa.mx.test");
	assert_int_equal(r.staple_len, (long)l2);
	assert_memory_equal(r.staple, d2, l2);

	/* Not asked: not sent. */
	assert_int_equal(session(t, &ask_not, &r, &in, err, sizeof(err)), 0);
	assert_int_equal(in.ocsp, TLS_OCSP_NOTREQ);
	assert_int_equal(r.staple_len, -1);

	/* Replaced between two handshakes: the new bytes. */
	d3 = put_resp("ec.ocsp", ec_leaf, -30, 2 * DAY, &l3);
	assert_int_equal(session(t, &ec, &r, &in, err, sizeof(err)), 0);
	assert_int_equal(r.staple_len, (long)l3);
	assert_memory_equal(r.staple, d3, l3);
	OPENSSL_free(d3);

	/* Stale: nextUpdate past (beyond the skew). */
	d3 = put_resp("ec.ocsp", ec_leaf, -3 * DAY, -DAY, &l3);
	assert_int_equal(session(t, &ec, &r, &in, err, sizeof(err)), 0);
	assert_true(r.ok);
	assert_int_equal(in.ocsp, TLS_OCSP_NOTRESP);
	assert_int_equal(r.staple_len, -1);
	assert_non_null(strstr(in.ocsp_note, "stale"));
	OPENSSL_free(d3);

	/* Not yet valid, and about another certificate: not sent. */
	d3 = put_resp("ec.ocsp", ec_leaf, DAY, 2 * DAY, &l3);
	assert_int_equal(session(t, &ec, &r, &in, err, sizeof(err)), 0);
	assert_int_equal(in.ocsp, TLS_OCSP_NOTRESP);
	OPENSSL_free(d3);
	put("ec.ocsp", d2, l2);
	assert_int_equal(session(t, &ec, &r, &in, err, sizeof(err)), 0);
	assert_int_equal(in.ocsp, TLS_OCSP_NOTRESP);
	assert_int_equal(r.staple_len, -1);
	/* Garbage. */
	put("ec.ocsp", "not DER", 7);
	assert_int_equal(session(t, &ec, &r, &in, err, sizeof(err)), 0);
	assert_int_equal(in.ocsp, TLS_OCSP_NOTRESP);

	/* TLS 1.2 staples the same way (CertificateStatus message). */
	put("ec.ocsp", d1, l1);
	ec.max_version = TLS1_2_VERSION;
	assert_int_equal(session(t, &ec, &r, &in, err, sizeof(err)), 0);
	assert_string_equal(in.version, "TLSv1.2");
	assert_int_equal(in.ocsp, TLS_OCSP_VFYNOTDONE);
	assert_int_equal(r.staple_len, (long)l1);
	assert_memory_equal(r.staple, d1, l1);
	OPENSSL_free(d1);
	OPENSSL_free(d2);
	tlsd_free(t);
}

/* A certificate file without its issuer: the staple's CertID serial and
 * times are still checked. */
static void
test_ocsp_without_issuer(void **state)
{
	struct tlsd_config c = { .npairs = 1 };
	struct tlsd *t;
	struct copts o = { .status = 1 };
	struct report r;
	struct tlsd_info in;
	unsigned char *d;
	size_t l;
	char err[300];

	(void)state;
	put_pem("alone.pem", ec_leaf, 0, ec_key);
	c.pair[0].cert = path("alone.pem");
	c.pair[0].ocsp = path("alone.ocsp");
	t = server(&c);
	d = put_resp("alone.ocsp", ec_leaf, -60, DAY, &l);
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), 0);
	assert_int_equal(in.ocsp, TLS_OCSP_VFYNOTDONE);
	assert_int_equal(r.staple_len, (long)l);
	assert_memory_equal(r.staple, d, l);
	OPENSSL_free(d);
	d = put_resp("alone.ocsp", ec_leaf, -3 * DAY, -DAY, &l);
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), 0);
	assert_int_equal(in.ocsp, TLS_OCSP_NOTRESP);
	assert_non_null(strstr(in.ocsp_note, "stale"));
	OPENSSL_free(d);
	d = put_resp("alone.ocsp", rsa_leaf, -60, DAY, &l);
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), 0);
	assert_int_equal(in.ocsp, TLS_OCSP_NOTRESP);
	assert_non_null(strstr(in.ocsp_note, "not about this certificate"));
	OPENSSL_free(d);
	tlsd_free(t);
}

static void
test_sni(void **state)
{
	struct tlsd_config c = { .npairs = 1, .hostname = "MX.test",
	    .sni_cache = 2 };
	struct tlsd *t;
	struct copts o = { .status = 1 };
	struct report r;
	struct tlsd_info in;
	X509 *a, *a2, *b, *d, *mx, *mx2;
	unsigned char *resp;
	size_t l;
	char err[300];

	(void)state;
	mx = mkcert("mx.test", ec_key, 20);
	a = mkcert("a.test", ec_key, 21);
	b = mkcert("b.test", ec_key, 22);
	d = mkcert("d.test", ec_key, 23);
	put_pem("mx.test.pem", mx, 1, ec_key);
	put_pem("a.test.pem", a, 1, ec_key);
	put_pem("b.test.pem", b, 1, ec_key);
	put_pem("d.test.pem", d, 1, ec_key);
	c.pair[0].cert = path("%{sni}.pem");
	c.pair[0].ocsp = path("%{sni}.ocsp");
	t = server(&c);

	/* No SNI: the host name's files. */
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), 0);
	assert_string_equal(r.cn, "mx.test");
	assert_string_equal(in.cert_name, "mx.test");
	assert_int_equal(in.ocsp, TLS_OCSP_NOTRESP);

	/* A name with files of its own (any case), and its staple. */
	resp = put_resp("a.test.ocsp", a, -60, DAY, &l);
	o.sni = "A.Test";
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), 0);
	assert_string_equal(r.cn, "a.test");
	assert_string_equal(in.sni, "A.Test");
	assert_true(in.sni_valid);
	assert_string_equal(in.cert_name, "a.test");
	assert_int_equal(in.ocsp, TLS_OCSP_VFYNOTDONE);
	assert_int_equal(r.staple_len, (long)l);
	assert_memory_equal(r.staple, resp, l);
	OPENSSL_free(resp);

	/* A name without files: the default, silently. */
	o.sni = "c.test";
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), 0);
	assert_string_equal(r.cn, "mx.test");
	assert_string_equal(in.cert_name, "mx.test");
	assert_string_equal(in.note, "");

	/* An invalid name: ignored. */
	o.sni = "..";
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), 0);
	assert_string_equal(r.cn, "mx.test");
	assert_false(in.sni_valid);
	assert_string_equal(in.sni, "..");
	o.sni = "x/../a.test";
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), 0);
	assert_string_equal(r.cn, "mx.test");

	/* More names than the cache holds (2): each still right. */
	o.sni = "b.test";
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), 0);
	assert_string_equal(r.cn, "b.test");
	o.sni = "d.test";
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), 0);
	assert_string_equal(r.cn, "d.test");
	o.sni = "a.test";
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), 0);
	assert_string_equal(r.cn, "a.test");

	/* A renewed certificate is seen at once (cached name). */
	a2 = mkcert("a2.test", ec_key, 24);
	put_pem("a.test.pem", a2, 1, ec_key);
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), 0);
	assert_string_equal(r.cn, "a2.test");
	/* A broken one: the default, with a note. */
	put_pem("a.test.pem", a2, 1, rsa_key);
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), 0);
	assert_string_equal(r.cn, "mx.test");
	assert_non_null(strstr(in.note, "SNI a.test"));

	/* The default renewed; then broken: the last good one stays. */
	mx2 = mkcert("mx2.test", ec_key, 25);
	put_pem("mx.test.pem", mx2, 1, ec_key);
	o.sni = NULL;
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), 0);
	assert_string_equal(r.cn, "mx2.test");
	put_pem("mx.test.pem", mx2, 1, rsa_key);
	assert_int_equal(session(t, &o, &r, &in, err, sizeof(err)), 0);
	assert_string_equal(r.cn, "mx2.test");
	assert_non_null(strstr(in.note, "not reloaded"));
	assert_int_equal(tlsd_refresh(t, err, sizeof(err)), -1);
	tlsd_free(t);
	X509_free(a);
	X509_free(a2);
	X509_free(b);
	X509_free(d);
	X509_free(mx);
	X509_free(mx2);
}

/* ---- the project's rig (t/0872-tlsd-stapling.t sets TLSD_RIG_DIR) ---- */

static char *
rig(const char *name)
{
	static char buf[8][1024];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", getenv("TLSD_RIG_DIR"),
	    name);
	return buf[i];
}

static unsigned char *
slurp(const char *file, size_t *len)
{
	static unsigned char buf[65536];
	FILE *fp;

	assert_non_null(fp = fopen(file, "rb"));
	*len = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	assert_true(*len > 0 && *len < sizeof(buf));
	return buf;
}

/* `openssl s_client -status` against the server on a loopback port: its
 * output in the rig directory, for the shell test to read. */
static void
rig_s_client(struct tlsd *t)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct pollfd p;
	struct tlsd_conn *c;
	char port[32], err[300], buf[256];
	int l, fd, out, st;
	pid_t pid;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((l = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &sl), 0);
	snprintf(port, sizeof(port), "127.0.0.1:%u", ntohs(sa.sin_port));
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		alarm(20);
		out = open(rig("s_client.out"), O_WRONLY | O_CREAT | O_TRUNC,
		    0644);
		fd = open("/dev/null", O_RDONLY);
		if (out == -1 || fd == -1 || dup2(fd, 0) == -1 ||
		    dup2(out, 1) == -1 || dup2(out, 2) == -1)
			_exit(127);
		execlp("openssl", "openssl", "s_client", "-connect", port,
		    "-status", "-servername", "mx.test", "-sigalgs",
		    "ECDSA+SHA256", (char *)NULL);
		_exit(127);
	}
	p = (struct pollfd){ .fd = l, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 10000), 1);
	assert_true((fd = accept(l, NULL, NULL)) != -1);
	close(l);
	assert_int_equal(tlsd_handshake(t, fd, fd, 10000, &c, err,
	    sizeof(err)), 0);
	assert_int_equal(tlsd_info(c)->ocsp, TLS_OCSP_VFYNOTDONE);
	while (tlsd_read(c, buf, sizeof(buf), 10000) > 0)
		;
	tlsd_conn_free(c);
	close(fd);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ocsp-fetch's files from a real `openssl ocsp` responder (a delegated
 * signer) for an ECDSA and an RSA leaf of t/rig/pki.sh: each stapled. */
static void
test_rig(void **state)
{
	struct tlsd_config c = { .npairs = 2 };
	struct tlsd *t;
	struct copts ec = { .status = 1, .sigalgs = "ECDSA+SHA256" };
	struct copts rsa = { .status = 1, .sigalgs = "RSA-PSS+SHA256" };
	struct report r;
	struct tlsd_info in;
	unsigned char *d;
	size_t l;
	char err[300];

	(void)state;
	c.pair[0].cert = rig("mx.chain.pem");
	c.pair[0].key = rig("mx.key");
	c.pair[0].ocsp = rig("mx.der");
	c.pair[1].cert = rig("mxr.chain.pem");
	c.pair[1].key = rig("mxr.key");
	c.pair[1].ocsp = rig("mxr.der");
	t = server(&c);
	assert_int_equal(session(t, &ec, &r, &in, err, sizeof(err)), 0);
	assert_int_equal(in.ocsp, TLS_OCSP_VFYNOTDONE);
	d = slurp(rig("mx.der"), &l);
	assert_int_equal(r.staple_len, (long)l);
	assert_memory_equal(r.staple, d, l);
	assert_int_equal(session(t, &rsa, &r, &in, err, sizeof(err)), 0);
	assert_int_equal(in.ocsp, TLS_OCSP_VFYNOTDONE);
	d = slurp(rig("mxr.der"), &l);
	assert_int_equal(r.staple_len, (long)l);
	assert_memory_equal(r.staple, d, l);
	rig_s_client(t);
	tlsd_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_pairs_by_sigalgs),
		cmocka_unit_test(test_tls12_and_text),
		cmocka_unit_test(test_pipes_and_client_cert),
		cmocka_unit_test(test_handshake_errors),
		cmocka_unit_test(test_plaintext_before_hello),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_read_timeout),
		cmocka_unit_test(test_ocsp),
		cmocka_unit_test(test_ocsp_without_issuer),
		cmocka_unit_test(test_sni),
	};
	const struct CMUnitTest rig_tests[] = {
		cmocka_unit_test(test_rig),
	};

	if (getenv("TLSD_RIG_DIR") != NULL)
		return cmocka_run_group_tests(rig_tests, setup, teardown);
	return cmocka_run_group_tests(tests, setup, teardown);
}
