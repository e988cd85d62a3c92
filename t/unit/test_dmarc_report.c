/* Unit tests for lib/dmarc_report: history, aggregate XML, failure
 * reports.  The verdicts are built by hand (dmarc_eval is tested in
 * test_dmarc). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmarc_report.h"

#define XSD	"t/data/dmarc/rua.xsd"
#define T0	1700000000	/* 2023-11-14 22:13:20 UTC */
#define DAY0	1699920000	/* its day */

struct fixture {
	char dir[64];
	char hist[128];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	strcpy(f->dir, "/tmp/mxkit-dmarc-report-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->hist, sizeof(f->hist), "%s/history", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static char *rua1[] = { "mailto:rua@example.com" };
static char *ruf1[] = { "mailto:ruf@example.com!10m" };

/* A DMARC failure at example.com, p=reject, from 192.0.2.1. */
static void
base_verdict(struct dmarc_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->status = DMARC_REJECT;
	v->result = "fail";
	v->status_text = "rejected";
	v->from_domain = "example.com";
	v->used_domain = "example.com";
	v->org_domain = "example.com";
	v->domain_policy = "reject";
	v->policy_tag = "p";
	v->disposition = "reject";
	v->adkim = 'r';
	v->aspf = 's';
	v->pct = 100;
	v->psd = 'u';
	v->record = "v=DMARC1; p=reject; sp=quarantine; "
	    "rua=mailto:rua@example.com; ruf=mailto:ruf@example.com!10m; fo=1";
	v->rua = rua1;
	v->nrua = 1;
	v->ruf = ruf1;
	v->nruf = 1;
	v->fo = "1";
	v->ar_header = "Authentication-Results: mx.example.net; "
	    "dkim=fail header.d=example.com header.s=sel; spf=fail "
	    "smtp.mailfrom=example.com; dmarc=fail policy.dmarc=reject "
	    "header.from=example.com";
}

static struct dmarc_dkim dk_fail = { "example.com", "sel", "fail" };
static struct dmarc_dkim dk_pass_other[] = {
	{ "other.example", "s1", "pass" },
	{ "example.com", "sel", "pass" },
};

static void
base_auth(struct dmarc_auth *a)
{
	memset(a, 0, sizeof(*a));
	a->have_spf = 1;
	a->spf = SPFR_FAIL;
	a->spf_domain = "example.com";
	a->spf_scope = SPF_SCOPE_MFROM;
	a->dkim = &dk_fail;
	a->ndkim = 1;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(fp);
	if (buf != NULL) {
		buf[n] = '\0';
		if (len != NULL)
			*len = (size_t)n;
	}
	return buf;
}

static size_t
count_str(const char *hay, const char *needle)
{
	size_t n = 0;
	const char *p = hay;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

static int
have_xmllint(void)
{
	return system("command -v xmllint >/dev/null 2>&1") == 0 &&
	    access(XSD, R_OK) == 0;
}

/* xmllint --schema on a file; 1 valid, 0 not, -1 cannot check. */
static int
validates(const char *path)
{
	char cmd[512];

	if (!have_xmllint())
		return -1;
	snprintf(cmd, sizeof(cmd), "xmllint --noout --schema %s '%s' "
	    ">/dev/null 2>&1", XSD, path);
	return system(cmd) == 0;
}

static void
assert_valid_xml(const char *path)
{
	int r = validates(path);

	if (r == -1) {
		print_message("xmllint or %s missing: schema check "
		    "skipped\n", XSD);
		return;
	}
	if (r == 0) {
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "xmllint --noout --schema %s '%s'",
		    XSD, path);
		(void)system(cmd);
		fail_msg("%s does not validate against %s", path, XSD);
	}
}

static void
test_history_line(void **state)
{
	struct fixture *f = *state;
	struct dmarc_verdict v;
	struct dmarc_auth a;
	const char *why;
	char *h;

	base_verdict(&v);
	base_auth(&a);
	assert_int_equal(dmarc_history_append(f->hist, &v, &a, "192.0.2.1",
	    T0, &why), 0);
	h = slurp(f->hist, NULL);
	assert_non_null(h);
	assert_int_equal(count_str(h, "\n"), 1);
	assert_int_equal(strncmp(h, "v=1\ttime=1700000000\tjob=", 24), 0);
	assert_non_null(strstr(h, "\tpdomain=example.com\tfrom=example.com\t"
	    "ip=192.0.2.1\tstatus=reject\tdmarc=fail\tdisposition=reject\t"
	    "policy_tag=p\tp=reject\tsp=quarantine\tnp=quarantine\tpct=100\t"
	    "adkim=r\taspf=s\tfo=1\tsampled_out=0\ttesting=0\tspf=fail\t"
	    "spf_domain=example.com\tspf_scope=mfrom\tspf_aligned=0\t"
	    "dkim=example.com/sel/fail/0\tdkim_aligned=0\t"
	    "dkim_aligned_domain=\trua=mailto:rua@example.com\n"));
	free(h);

	/* hostile values: no line, field or list injection */
	v.from_domain = "evil\tstatus=accept\nv=1\ttime=1";
	v.rua = (char *[]){ "mailto:a@b,mailto:c@d" };
	a.spf_domain = "x=y/z,w%";
	assert_int_equal(dmarc_history_append(f->hist, &v, &a, NULL, T0,
	    &why), 0);
	h = slurp(f->hist, NULL);
	assert_int_equal(count_str(h, "\n"), 2);
	assert_non_null(strstr(h, "\tfrom=evil%09status%3Daccept%0Av%3D1%09"
	    "time%3D1\tip=\t"));
	assert_non_null(strstr(h, "\tspf_domain=x%3Dy%2Fz%2Cw%25\t"));
	assert_non_null(strstr(h, "\trua=mailto:a@b%2Cmailto:c@d\n"));
	free(h);

	/* no record: no policy, and the caller had no SPF */
	base_verdict(&v);
	v.status = DMARC_NORECORD;
	v.used_domain = NULL;
	v.record = NULL;
	v.nrua = v.nruf = 0;
	v.domain_policy = v.policy_tag = v.disposition = "";
	assert_int_equal(dmarc_history_append(f->hist, &v, NULL, "::1", T0,
	    &why), 0);
	h = slurp(f->hist, NULL);
	assert_non_null(strstr(h, "\tpdomain=\tfrom=example.com\tip=::1\t"
	    "status=norecord\t"));
	assert_non_null(strstr(h, "\tp=\tsp=\tnp=\t"));
	assert_non_null(strstr(h, "\tspf=none\tspf_domain=\tspf_scope=mfrom"
	    "\tspf_aligned=0\tdkim=\t"));
	free(h);

	/* 32 signatures with 253-byte hostile names: the line stays within
	 * bounds and still parses */
	{
		static char name[254];
		struct dmarc_dkim many[40];
		size_t i;

		memset(name, '%', 253);
		for (i = 0; i < 40; i++)
			many[i] = (struct dmarc_dkim){ name, name, name };
		base_verdict(&v);
		base_auth(&a);
		a.dkim = many;
		a.ndkim = 40;
		unlink(f->hist);
		assert_int_equal(dmarc_history_append(f->hist, &v, &a,
		    "192.0.2.1", T0, &why), 0);
		h = slurp(f->hist, NULL);
		assert_true(strlen(h) <= DMARC_HISTORY_MAX_LINE);
		assert_non_null(strstr(h, "\trua=mailto:rua@example.com\n"));
		free(h);
		{
			struct dmarc_agg_opts o = { .org = "O",
			    .email = "r@receiver.example" };
			FILE *null = fopen("/dev/null", "w");

			assert_int_equal(dmarc_aggregate(f->hist, &o, null,
			    &why), 1);
			fclose(null);
		}
	}

	assert_int_equal(dmarc_history_append("/nonexistent/dir/h", &v, NULL,
	    NULL, T0, &why), -1);
	assert_non_null(why);
}

/* Writers in several processes at once: every line whole. */
static void
test_history_concurrent(void **state)
{
	struct fixture *f = *state;
	struct dmarc_verdict v;
	struct dmarc_auth a;
	const char *why;
	pid_t pid[4];
	char *h, *line, *save;
	int i, k, st;
	size_t lines = 0;

	base_verdict(&v);
	base_auth(&a);
	for (i = 0; i < 4; i++) {
		if ((pid[i] = fork()) == 0) {
			for (k = 0; k < 200; k++)
				if (dmarc_history_append(f->hist, &v, &a,
				    "192.0.2.77", T0 + k, &why) != 0)
					_exit(1);
			_exit(0);
		}
		assert_true(pid[i] > 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	h = slurp(f->hist, NULL);
	for (line = strtok_r(h, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		assert_int_equal(strncmp(line, "v=1\t", 4), 0);
		assert_non_null(strstr(line, "\trua=mailto:rua@example.com"));
		lines++;
	}
	assert_int_equal(lines, 800);
	free(h);
}

static void
append_n(const char *hist, const struct dmarc_verdict *v,
    const struct dmarc_auth *a, const char *ip, time_t when, int n)
{
	const char *why;

	while (n-- > 0)
		assert_int_equal(dmarc_history_append(hist, v, a, ip, when,
		    &why), 0);
}

static char *
aggregate_to_string(const char *hist, const struct dmarc_agg_opts *o,
    int *nreports)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	const char *why = NULL;

	assert_non_null(mem);
	*nreports = dmarc_aggregate(hist, o, mem, &why);
	if (*nreports < 0)
		fail_msg("dmarc_aggregate: %s", why);
	fclose(mem);
	return buf;
}

/* Round trip: history lines into one report per domain and day, rows
 * merged with their counts. */
static void
test_aggregate_merge(void **state)
{
	struct fixture *f = *state;
	struct dmarc_verdict v, v2;
	struct dmarc_auth a, a2;
	struct dmarc_agg_opts o = { .org = "Example Receiver",
	    .email = "dmarc-reports@receiver.example" };
	char *xml;
	int n;

	base_verdict(&v);
	base_auth(&a);
	append_n(f->hist, &v, &a, "192.0.2.1", T0, 3);
	append_n(f->hist, &v, &a, "192.0.2.1", T0 + 60, 2);	/* same row */
	append_n(f->hist, &v, &a, "192.0.2.2", T0, 1);	/* other IP */
	/* a pass through DKIM, two signatures */
	v2 = v;
	v2.status = DMARC_ACCEPT;
	v2.result = "pass";
	v2.disposition = "none";
	v2.dkim_aligned = 1;
	v2.dkim_aligned_domain = "example.com";
	a2 = a;
	a2.spf = SPFR_PASS;
	a2.spf_domain = "bounce.other.example";
	a2.dkim = dk_pass_other;
	a2.ndkim = 2;
	append_n(f->hist, &v2, &a2, "2001:db8::25", T0, 4);
	/* next day: its own report */
	append_n(f->hist, &v, &a, "192.0.2.1", T0 + 86400, 1);
	/* another policy domain, sampled out, testing */
	v2 = v;
	v2.from_domain = "sub.example.org";
	v2.used_domain = "example.org";
	v2.record = "v=DMARC1; p=quarantine; pct=50; rua=mailto:r@example.org";
	v2.policy_tag = "sp";
	v2.disposition = "none";
	v2.sampled_out = 1;
	v2.testing = 1;
	v2.pct = 50;
	v2.fo = "0";
	append_n(f->hist, &v2, NULL, "::ffff:198.51.100.9", T0, 2);
	/* without rua=: not reported */
	v2 = v;
	v2.used_domain = "norua.example";
	v2.nrua = 0;
	append_n(f->hist, &v2, &a, "192.0.2.1", T0, 5);
	/* without a record: not reported */
	v2.used_domain = NULL;
	append_n(f->hist, &v2, &a, "192.0.2.1", T0, 5);

	xml = aggregate_to_string(f->hist, &o, &n);
	assert_int_equal(n, 3);
	assert_int_equal(count_str(xml, "<?xml "), 3);
	/* example.com, day 0: three rows (3+2 merged, 1, 4) */
	assert_non_null(strstr(xml, "<report_id>receiver.example!example.com!"
	    "1699920000!1700006399</report_id>"));
	assert_non_null(strstr(xml, "<source_ip>192.0.2.1</source_ip>\n"
	    "      <count>5</count>"));
	assert_non_null(strstr(xml, "<source_ip>192.0.2.2</source_ip>\n"
	    "      <count>1</count>"));
	assert_non_null(strstr(xml, "<source_ip>2001:db8:0:0:0:0:0:25"
	    "</source_ip>\n      <count>4</count>"));
	assert_non_null(strstr(xml, "<begin>1699920000</begin>\n"
	    "      <end>1700006399</end>"));
	assert_non_null(strstr(xml, "<domain>example.com</domain>\n"
	    "    <adkim>r</adkim>\n    <aspf>s</aspf>\n    <p>reject</p>\n"
	    "    <sp>quarantine</sp>\n    <pct>100</pct>\n    <fo>1</fo>"));
	assert_non_null(strstr(xml, "<dkim>\n        <domain>other.example"
	    "</domain>\n        <selector>s1</selector>\n        <result>pass"
	    "</result>\n      </dkim>"));
	assert_non_null(strstr(xml, "<envelope_from>bounce.other.example"
	    "</envelope_from>"));
	/* day 1 */
	assert_non_null(strstr(xml, "!example.com!1700006400!1700092799<"));
	/* example.org: IPv4-mapped written as IPv4, reasons */
	assert_non_null(strstr(xml, "<source_ip>198.51.100.9</source_ip>\n"
	    "      <count>2</count>"));
	assert_non_null(strstr(xml, "<type>sampled_out</type>"));
	assert_non_null(strstr(xml, "<p>quarantine</p>\n    <sp>quarantine"
	    "</sp>\n    <pct>50</pct>\n    <fo>0</fo>"));
	assert_null(strstr(xml, "norua.example"));
	/* sorted by domain, then day */
	assert_true(strstr(xml, "!example.com!1699920000") <
	    strstr(xml, "!example.com!1700006400"));
	assert_true(strstr(xml, "!example.com!1700006400") <
	    strstr(xml, "!example.org!"));
	free(xml);

	/* a given period: only the lines inside it, one report per domain */
	o.begin = T0 - 10;
	o.end = T0 + 61;
	o.extra_contact = "https://receiver.example/dmarc";
	xml = aggregate_to_string(f->hist, &o, &n);
	assert_int_equal(n, 2);
	assert_non_null(strstr(xml, "<count>5</count>"));
	assert_null(strstr(xml, "!1700006400!"));
	assert_non_null(strstr(xml, "<extra_contact_info>https://receiver."
	    "example/dmarc</extra_contact_info>"));
	assert_non_null(strstr(xml, "<begin>1699999990</begin>"));
	free(xml);
}

/* Files named per RFC 7489 7.2.1.1 in outdir, each valid against the
 * RFC's schema, hostile values escaped. */
static void
test_aggregate_files_validate(void **state)
{
	struct fixture *f = *state;
	struct dmarc_verdict v;
	struct dmarc_auth a;
	struct dmarc_dkim dk[] = {
		{ "example.com", "", "pass" },
		{ "evil<script>&\"'.example", "s&<", "weird-result" },
		{ "bad\xff\xfe utf8", "\x01\x02", "temperror" },
	};
	struct dmarc_agg_opts o = { .org = "Org <&> \"quoted\"",
	    .email = "reports@receiver.example", .extra_contact = "a\x01b" };
	char outdir[128], path[400], *xml;
	const char *why;
	DIR *d;
	struct dirent *de;
	int n, files = 0;

	base_verdict(&v);
	base_auth(&a);
	a.dkim = dk;
	a.ndkim = 3;
	v.from_domain = "from<&>.example";
	a.spf_scope = SPF_SCOPE_HELO;
	a.spf_domain = "helo.example";
	append_n(f->hist, &v, &a, "192.0.2.1", T0, 2);
	base_auth(&a);
	a.have_spf = 0;
	append_n(f->hist, &v, &a, "2001:db8:1:2:3:4:5:6", T0, 1);
	append_n(f->hist, &v, &a, "not-an-ip", T0, 1);
	v.used_domain = "example.net";
	append_n(f->hist, &v, &a, NULL, T0, 1);

	snprintf(outdir, sizeof(outdir), "%s/out", f->dir);
	assert_int_equal(mkdir(outdir, 0700), 0);
	o.outdir = outdir;
	n = dmarc_aggregate(f->hist, &o, NULL, &why);
	if (n < 0)
		fail_msg("%s", why);
	assert_int_equal(n, 2);
	assert_non_null(d = opendir(outdir));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		files++;
		assert_true(
		    strcmp(de->d_name, "receiver.example!example.com!"
		    "1699920000!1700006399.xml") == 0 ||
		    strcmp(de->d_name, "receiver.example!example.net!"
		    "1699920000!1700006399.xml") == 0);
		snprintf(path, sizeof(path), "%s/%s", outdir, de->d_name);
		assert_valid_xml(path);
		xml = slurp(path, NULL);
		assert_null(strstr(xml, "<script>"));
		assert_null(strstr(xml, "\x01"));
		assert_null(strstr(xml, "\xff"));
		if (strstr(de->d_name, "example.com") != NULL) {
			assert_non_null(strstr(xml, "<org_name>Org &lt;&amp;"
			    "&gt; &quot;quoted&quot;</org_name>"));
			assert_non_null(strstr(xml, "<header_from>from&lt;"
			    "&amp;&gt;.example</header_from>"));
			assert_non_null(strstr(xml, "<domain>evil&lt;script"
			    "&gt;&amp;&quot;&apos;.example</domain>"));
			assert_non_null(strstr(xml, "<result>permerror"
			    "</result>"));	/* "weird-result" */
			assert_non_null(strstr(xml, "<scope>helo</scope>"));
			assert_non_null(strstr(xml, "<envelope_from>"
			    "</envelope_from>"));
			assert_non_null(strstr(xml, "2001:db8:1:2:3:4:5:6"));
			assert_non_null(strstr(xml, "<source_ip>0.0.0.0"));
		}
		free(xml);
	}
	closedir(d);
	assert_int_equal(files, 2);

	/* the stream form validates too (one report) */
	{
		FILE *fp;
		struct dmarc_agg_opts o1 = o;

		o1.outdir = NULL;
		o1.begin = T0 - 1;
		o1.end = T0 + 1;
		unlink(f->hist);
		base_verdict(&v);
		base_auth(&a);
		append_n(f->hist, &v, &a, "192.0.2.1", T0, 1);
		snprintf(path, sizeof(path), "%s/one.xml", f->dir);
		assert_non_null(fp = fopen(path, "w"));
		assert_int_equal(dmarc_aggregate(f->hist, &o1, fp, &why), 1);
		fclose(fp);
		assert_valid_xml(path);
	}
}

static void
test_aggregate_bad_input(void **state)
{
	struct fixture *f = *state;
	struct dmarc_agg_opts o = { .org = "Org",
	    .email = "reports@receiver.example" };
	const char *why;
	FILE *fp;
	static const struct {
		const char *line, *why;
	} bad[] = {
		{ "v=2\ttime=1\n", "version" },
		{ "time=1\tpdomain=x\n", "no v=1" },
		{ "v=1\tnoequals\n", "'='" },
		{ "v=1\ttime=abc\n", "bad time" },
		{ "v=1\tpct=101\n", "bad pct" },
		{ "v=1\tfrom=%zz\n", "escape" },
		{ "v=1\tfrom=%00\n", "escape" },
		{ "v=1\tfrom=%4\n", "escape" },
		{ "v=1\tadkim=x\n", "alignment" },
		{ "v=1\tdkim=a/b/c\n", "dkim item" },
		{ "v=1\tdkim=a/b/c/2\n", "dkim item" },
		{ "v=1\tpdomain=..%2F..%2Fetc\trua=x\n", "not a domain" },
		{ "v=1\tpdomain=a/b\n", "not a domain" },
	};
	size_t i;
	char expect[160];

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_non_null(fp = fopen(f->hist, "w"));
		fputs("# comment\n\nv=1\ttime=5\tpdomain=ok.example\n", fp);
		fputs(bad[i].line, fp);
		fclose(fp);
		why = NULL;
		assert_int_equal(dmarc_aggregate(f->hist, &o, stdout, &why),
		    -1);
		snprintf(expect, sizeof(expect), "%s:4: ", f->hist);
		if (strncmp(why, expect, strlen(expect)) != 0 ||
		    strstr(why, bad[i].why) == NULL)
			fail_msg("%s: %s", bad[i].line, why);
	}
	/* unknown keys are ignored; a line without rua= is no report */
	assert_non_null(fp = fopen(f->hist, "w"));
	fputs("v=1\ttime=5\tpdomain=ok.example\tfuture_key=whatever\n", fp);
	fclose(fp);
	assert_int_equal(dmarc_aggregate(f->hist, &o, stdout, &why), 0);
	/* a NUL byte, an over-long line */
	assert_non_null(fp = fopen(f->hist, "w"));
	fwrite("v=1\0x\n", 1, 6, fp);
	fclose(fp);
	assert_int_equal(dmarc_aggregate(f->hist, &o, stdout, &why), -1);
	assert_non_null(strstr(why, "NUL"));
	assert_non_null(fp = fopen(f->hist, "w"));
	fputs("v=1\tfrom=", fp);
	for (i = 0; i < 70000; i++)
		fputc('a', fp);
	fputc('\n', fp);
	fclose(fp);
	assert_int_equal(dmarc_aggregate(f->hist, &o, stdout, &why), -1);
	assert_non_null(strstr(why, "too long"));
	/* missing file, bad options */
	assert_int_equal(dmarc_aggregate("/nonexistent/h", &o, stdout, &why),
	    -1);
	assert_non_null(strstr(why, "/nonexistent/h: "));
	o.email = "no-domain";
	o.receiver = "bad/receiver";
	assert_int_equal(dmarc_aggregate(f->hist, &o, stdout, &why), -1);
	assert_non_null(strstr(why, "receiver"));
	o.receiver = "receiver.example";
	o.begin = 10;
	o.end = 5;
	assert_int_equal(dmarc_aggregate(f->hist, &o, stdout, &why), -1);
	assert_int_equal(dmarc_aggregate(f->hist, NULL, stdout, &why), -1);
}

static void
test_forensic_wanted(void **state)
{
	struct dmarc_verdict v;
	struct dmarc_auth a;
	struct dmarc_dkim pass = { "example.com", "s", "pass" };

	(void)state;
	base_verdict(&v);
	base_auth(&a);
	/* fo=0: only when neither aligned */
	v.fo = "0";
	assert_true(dmarc_forensic_wanted(&v, &a));
	v.dkim_aligned = 1;
	v.status = DMARC_ACCEPT;
	assert_false(dmarc_forensic_wanted(&v, &a));
	/* fo=1: when either did not align, even if DMARC passed */
	v.fo = "1";
	assert_true(dmarc_forensic_wanted(&v, &a));
	v.spf_aligned = 1;
	assert_false(dmarc_forensic_wanted(&v, &a));
	/* fo=d: a failed signature, aligned or not */
	v.fo = "d";
	assert_true(dmarc_forensic_wanted(&v, &a));
	a.dkim = &pass;
	assert_false(dmarc_forensic_wanted(&v, &a));
	assert_false(dmarc_forensic_wanted(&v, NULL));
	/* fo=s: SPF fail or permerror */
	v.fo = "s";
	assert_true(dmarc_forensic_wanted(&v, &a));
	a.spf = SPFR_SOFTFAIL;
	assert_false(dmarc_forensic_wanted(&v, &a));
	a.spf = SPFR_PERMERROR;
	assert_true(dmarc_forensic_wanted(&v, &a));
	a.have_spf = 0;
	assert_false(dmarc_forensic_wanted(&v, &a));
	/* lists */
	base_verdict(&v);
	base_auth(&a);
	v.spf_aligned = 1;
	v.status = DMARC_ACCEPT;
	v.fo = "0:s";
	assert_true(dmarc_forensic_wanted(&v, &a));	/* by s */
	v.fo = "0:d";
	assert_true(dmarc_forensic_wanted(&v, &a));	/* by d */
	a.dkim = &pass;
	assert_false(dmarc_forensic_wanted(&v, &a));
	v.fo = "0 : 1";
	assert_true(dmarc_forensic_wanted(&v, &a));	/* dkim unaligned */
	v.fo = "x:10:ds";	/* nothing valid */
	assert_false(dmarc_forensic_wanted(&v, &a));
	/* absent fo= is fo=0 */
	base_verdict(&v);
	v.fo = NULL;
	assert_true(dmarc_forensic_wanted(&v, &a));
	/* never without ruf=, never without a policy evaluation */
	v.nruf = 0;
	assert_false(dmarc_forensic_wanted(&v, &a));
	base_verdict(&v);
	v.status = DMARC_NORECORD;
	assert_false(dmarc_forensic_wanted(&v, &a));
	v.status = DMARC_TEMPERROR;
	assert_false(dmarc_forensic_wanted(&v, &a));
	v.status = DMARC_NOFROM;
	assert_false(dmarc_forensic_wanted(&v, &a));
	v.status = DMARC_OFF;
	assert_false(dmarc_forensic_wanted(&v, &a));
	v.status = DMARC_QUARANTINE;
	assert_true(dmarc_forensic_wanted(&v, &a));
	assert_false(dmarc_forensic_wanted(NULL, &a));
}

static void
free_list(char **l)
{
	size_t i;

	for (i = 0; l != NULL && l[i] != NULL; i++)
		free(l[i]);
	free(l);
}

static void
test_ruf_addresses(void **state)
{
	struct dmarc_verdict v;
	char *ruf[] = {
		"mailto:one@example.com!10m",
		" MAILTO:two@example.com ",
		"mailto:one@example.com",		/* duplicate */
		"https://example.com/report",		/* not mailto */
		"mailto:three%40x@example.net?subject=hi!5k",	/* %40: two @ */
		"mailto:four%2Bx@example.org!50",
		"mailto:five@example.org!",		/* no size: malformed */
		"mailto:six!7x@example.org",		/* '!' in the local part */
		"mailto:seven@example.org!10x",		/* not a size */
		"mailto:a@b.example,mailto:c@d.example!1g",
		"mailto:bad address@example.com",
		"mailto:x@example.com%0D%0ABcc:evil@example.org",
		"mailto:-oQ/tmp/x@example.com",	/* argument injection */
		"mailto:<x@example.com>",
		"mailto:",
		"mailto:@example.com",
		"mailto:x@",
		"mailto:x@bad_domain..example",
	};
	char **l;
	size_t i;

	(void)state;
	base_verdict(&v);
	v.ruf = ruf;
	v.nruf = sizeof(ruf) / sizeof(ruf[0]);
	l = dmarc_ruf_addresses(&v);
	assert_non_null(l);
	assert_string_equal(l[0], "one@example.com");
	assert_string_equal(l[1], "two@example.com");
	assert_string_equal(l[2], "four+x@example.org");
	assert_string_equal(l[3], "six!7x@example.org");
	assert_string_equal(l[4], "a@b.example");
	assert_string_equal(l[5], "c@d.example");
	assert_null(l[6]);
	free_list(l);

	v.nruf = 0;
	assert_null(dmarc_ruf_addresses(&v));
	v.ruf = (char *[]){ "https://x.example/" };
	v.nruf = 1;
	assert_null(dmarc_ruf_addresses(&v));
	assert_null(dmarc_ruf_addresses(NULL));

	/* at most 16 */
	{
		char *many[40], buf[40][40];

		for (i = 0; i < 40; i++) {
			snprintf(buf[i], sizeof(buf[i]),
			    "mailto:u%zu@example.com", i);
			many[i] = buf[i];
		}
		v.ruf = many;
		v.nruf = 40;
		l = dmarc_ruf_addresses(&v);
		for (i = 0; l[i] != NULL; i++)
			;
		assert_int_equal(i, 16);
		free_list(l);
	}
}

/* ---- the failure report, parsed back ---- */

struct part {
	const char *hdr, *body;
	size_t hlen, blen;
};

static const char *
field(const char *hdr, size_t hlen, const char *name, char *out,
    size_t size)
{
	size_t nl = strlen(name), i = 0, j, k;

	while (i < hlen) {
		if (strncasecmp(hdr + i, name, nl) == 0 && hdr[i + nl] == ':') {
			j = i + nl + 1;
			while (hdr[j] == ' ')
				j++;
			/* unfold */
			for (k = 0; j < hlen && k + 1 < size; j++) {
				if (hdr[j] == '\r' && hdr[j + 1] == '\n' &&
				    (hdr[j + 2] == ' ' || hdr[j + 2] == '\t')) {
					j++;	/* the WSP stays */
					continue;
				}
				if (hdr[j] == '\r')
					break;
				out[k++] = hdr[j] == '\t' ? ' ' : hdr[j];
			}
			out[k] = '\0';
			return out;
		}
		while (i < hlen && hdr[i] != '\n')
			i++;
		i++;
	}
	return NULL;
}

/* Split a MIME entity: header and body at the first empty line. */
static void
split_entity(const char *s, size_t n, struct part *p)
{
	const char *e = memmem(s, n, "\r\n\r\n", 4);

	assert_non_null(e);
	p->hdr = s;
	p->hlen = (size_t)(e - s) + 2;
	p->body = e + 4;
	p->blen = n - (size_t)(p->body - s);
}

/* The parts of a multipart body with this boundary. */
static size_t
split_parts(const char *body, size_t n, const char *boundary,
    struct part *parts, size_t max)
{
	char delim[128], close[128];
	const char *p, *next, *end;
	size_t np = 0;

	snprintf(delim, sizeof(delim), "\r\n--%s\r\n", boundary);
	snprintf(close, sizeof(close), "\r\n--%s--\r\n", boundary);
	end = memmem(body, n, close, strlen(close));
	assert_non_null(end);
	assert_ptr_equal(end + strlen(close), body + n);	/* last thing */
	p = memmem(body, n, delim, strlen(delim));
	assert_non_null(p);
	while (p != NULL && p < end && np < max) {
		p += strlen(delim);
		next = memmem(p, (size_t)(end - p), delim, strlen(delim));
		split_entity(p, (size_t)((next ? next : end) - p), &parts[np++]);
		p = next;
	}
	return np;
}

static void
check_wire_form(const char *r, size_t len)
{
	size_t i, line = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)r[i];

		if (c == 0 || c >= 0x80)
			fail_msg("8-bit or NUL byte at %zu", i);
		if (c == '\n' && (i == 0 || r[i - 1] != '\r'))
			fail_msg("bare LF at %zu", i);
		if (c == '\r' && (i + 1 >= len || r[i + 1] != '\n'))
			fail_msg("bare CR at %zu", i);
		if (c == '\n')
			line = 0;
		else if (c != '\r' && ++line > 998)
			fail_msg("line over 998 at %zu", i);
	}
	assert_true(len >= 2 && r[len - 2] == '\r' && r[len - 1] == '\n');
}

static const char message[] =
    "Return-Path: <bounce@example.com>\n"
    "Received: from mail.example.com (mail.example.com [192.0.2.1])\n"
    "\tby mx.example.net; Tue, 14 Nov 2023 22:13:20 +0000\n"
    "From: Someone <someone@example.com>\n"
    "To: user@example.net\n"
    "Subject: hello\n"
    "Message-ID: <1@example.com>\n"
    "\n"
    "Hello.\n"
    "--=_mxkit-dmarc-655369c0-0\n";	/* a would-be boundary */

static void
test_forensic_report(void **state)
{
	struct dmarc_verdict v;
	struct dmarc_auth a;
	struct part top, parts[4];
	char *r, val[2048], boundary[128], *b;
	const char *why;
	size_t len, n;

	(void)state;
	base_verdict(&v);
	base_auth(&a);
	r = dmarc_forensic_report(&v, &a, "192.0.2.1",
	    "dmarc-reports@receiver.example", message, sizeof(message) - 1,
	    T0, &len, &why);
	if (r == NULL)
		fail_msg("%s", why);
	check_wire_form(r, len);
	split_entity(r, len, &top);
	assert_string_equal(field(top.hdr, top.hlen, "From", val, sizeof(val)),
	    "dmarc-reports@receiver.example");
	assert_string_equal(field(top.hdr, top.hlen, "To", val, sizeof(val)),
	    "ruf@example.com");
	assert_string_equal(field(top.hdr, top.hlen, "Date", val, sizeof(val)),
	    "Tue, 14 Nov 2023 22:13:20 +0000");
	assert_non_null(field(top.hdr, top.hlen, "Subject", val, sizeof(val)));
	assert_non_null(strstr(val, "example.com"));
	assert_non_null(field(top.hdr, top.hlen, "Message-ID", val,
	    sizeof(val)));
	assert_true(val[0] == '<' && strstr(val, "@receiver.example>"));
	assert_string_equal(field(top.hdr, top.hlen, "MIME-Version", val,
	    sizeof(val)), "1.0");
	assert_non_null(field(top.hdr, top.hlen, "Content-Type", val,
	    sizeof(val)));
	assert_int_equal(strncmp(val, "multipart/report; "
	    "report-type=feedback-report;", 46), 0);
	assert_non_null(b = strstr(val, "boundary=\""));
	b += 10;
	snprintf(boundary, sizeof(boundary), "%.*s", (int)strcspn(b, "\""), b);
	assert_null(memmem(message, sizeof(message) - 1, boundary,
	    strlen(boundary)));

	n = split_parts(top.body - 2, top.blen + 2, boundary, parts, 4);
	assert_int_equal(n, 3);
	assert_non_null(field(parts[0].hdr, parts[0].hlen, "Content-Type", val,
	    sizeof(val)));
	assert_int_equal(strncmp(val, "text/plain", 10), 0);
	assert_non_null(memmem(parts[0].body, parts[0].blen, "192.0.2.1", 9));

	field(parts[1].hdr, parts[1].hlen, "Content-Type", val, sizeof(val));
	assert_string_equal(val, "message/feedback-report");
#define FB(name, want) do { \
	assert_non_null(field(parts[1].body, parts[1].blen, name, val, \
	    sizeof(val))); \
	assert_string_equal(val, want); \
} while (0)
	FB("Feedback-Type", "auth-failure");
	FB("Version", "1");
	FB("Auth-Failure", "dmarc");
	FB("Original-Mail-From", "<bounce@example.com>");
	FB("Arrival-Date", "Tue, 14 Nov 2023 22:13:20 +0000");
	FB("Source-IP", "192.0.2.1");
	FB("Reported-Domain", "example.com");
	FB("Authentication-Results", "mx.example.net; dkim=fail "
	    "header.d=example.com header.s=sel; spf=fail "
	    "smtp.mailfrom=example.com; dmarc=fail policy.dmarc=reject "
	    "header.from=example.com");
	FB("Identity-Alignment", "none");
	FB("Delivery-Result", "reject");
	FB("DKIM-Domain", "example.com");
	FB("DKIM-Selector", "sel");
	assert_non_null(field(parts[1].body, parts[1].blen, "User-Agent", val,
	    sizeof(val)));
	assert_int_equal(strncmp(val, "mxkit-dmarceval/", 16), 0);

	field(parts[2].hdr, parts[2].hlen, "Content-Type", val, sizeof(val));
	assert_string_equal(val, "message/rfc822");
	/* Python's email package reads the same structure, without
	 * defects (when Debian's python3 is there) */
	if (access("/usr/bin/python3", X_OK) == 0) {
		char path[] = "/tmp/mxkit-arf-XXXXXX", cmd[1024];
		int fd = mkstemp(path);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, r, len), (ssize_t)len);
		close(fd);
		snprintf(cmd, sizeof(cmd), "/usr/bin/python3 -c '"
		    "import email, email.policy, sys\n"
		    "m = email.message_from_binary_file(open(sys.argv[1], "
		    "\"rb\"), policy=email.policy.default)\n"
		    "p = list(m.iter_parts())\n"
		    "assert m.get_content_type() == \"multipart/report\"\n"
		    "assert m.get_param(\"report-type\") == "
		    "\"feedback-report\"\n"
		    "assert [x.get_content_type() for x in p] == "
		    "[\"text/plain\", \"message/feedback-report\", "
		    "\"message/rfc822\"]\n"
		    "assert not any(x.defects for x in m.walk())\n"
		    "assert p[2].get_content().get(\"Subject\") == \"hello\"\n"
		    "' %s", path);
		assert_int_equal(system(cmd), 0);
		unlink(path);
	}
	/* the message itself, with CRLF line ends */
	assert_non_null(memmem(parts[2].body, parts[2].blen,
	    "Subject: hello\r\n", 16));
	assert_non_null(memmem(parts[2].body, parts[2].blen, "\r\nHello.\r\n",
	    10));
	free(r);

	/* 8-bit message: its header alone, quoted-printable; alignment and
	 * delivery words follow the verdict */
	{
		static const char m8[] = "From: J\xc3\xb6rg <j@example.com>\r\n"
		    "Subject: =?utf-8?q?x?= caf\xc3\xa9 = trailing \r\n"
		    "\r\nBody \xff\xfe secret\r\n";

		v.dkim_aligned = 1;
		v.disposition = "quarantine";
		v.status = DMARC_QUARANTINE;
		r = dmarc_forensic_report(&v, &a, NULL, NULL, m8,
		    sizeof(m8) - 1, T0, &len, &why);
		assert_non_null(r);
		check_wire_form(r, len);
		split_entity(r, len, &top);
		field(top.hdr, top.hlen, "Content-Type", val, sizeof(val));
		b = strstr(val, "boundary=\"") + 10;
		snprintf(boundary, sizeof(boundary), "%.*s",
		    (int)strcspn(b, "\""), b);
		n = split_parts(top.body - 2, top.blen + 2, boundary, parts,
		    4);
		assert_int_equal(n, 3);
		FB("Identity-Alignment", "dkim");
		FB("Delivery-Result", "spam");
		assert_null(field(parts[1].body, parts[1].blen, "Source-IP",
		    val, sizeof(val)));
		assert_null(field(parts[1].body, parts[1].blen,
		    "Original-Mail-From", val, sizeof(val)));
		field(parts[2].hdr, parts[2].hlen, "Content-Type", val,
		    sizeof(val));
		assert_int_equal(strncmp(val, "text/rfc822-headers", 19), 0);
		field(parts[2].hdr, parts[2].hlen,
		    "Content-Transfer-Encoding", val, sizeof(val));
		assert_string_equal(val, "quoted-printable");
		assert_non_null(memmem(parts[2].body, parts[2].blen,
		    "J=C3=B6rg", 9));
		assert_non_null(memmem(parts[2].body, parts[2].blen,
		    "=3D trailing=20\r\n", 17));
		assert_null(memmem(parts[2].body, parts[2].blen, "secret", 6));
		field(top.hdr, top.hlen, "From", val, sizeof(val));
		assert_int_equal(strncmp(val, "postmaster@", 11), 0);
		free(r);
	}
#undef FB

	/* a big 7-bit message: header only, 7bit */
	{
		size_t big = 300 * 1024, i;
		char *m = malloc(big);

		memcpy(m, "Subject: big\n\n", 14);
		for (i = 14; i < big; i++)
			m[i] = i % 70 == 0 ? '\n' : 'x';
		r = dmarc_forensic_report(&v, &a, "192.0.2.1", "r@x.example",
		    m, big, T0, &len, &why);
		assert_non_null(r);
		check_wire_form(r, len);
		assert_true(len < 8192);
		assert_non_null(strstr(r, "Content-Type: text/rfc822-headers"
		    "\r\nContent-Disposition: inline\r\n"
		    "Content-Transfer-Encoding: 7bit\r\n\r\nSubject: big\r\n"));
		free(r);
		free(m);
	}

	/* hostile verdict values cannot inject fields */
	v.from_domain = "x.example\r\nBcc: evil@example.org";
	v.ar_header = "Authentication-Results: mx; dmarc=fail\r\nBcc: e@x";
	r = dmarc_forensic_report(&v, &a, "1.2.3.4\r\nX: y", "r@x.example",
	    message, sizeof(message) - 1, T0, &len, &why);
	assert_non_null(r);
	check_wire_form(r, len);
	assert_null(strstr(r, "\r\nBcc:"));
	assert_null(strstr(r, "\r\nX: y"));
	free(r);

	/* refused: no ruf mailto, a sender with a line break */
	base_verdict(&v);
	assert_null(dmarc_forensic_report(&v, &a, NULL, "a@b\r\nBcc: x",
	    message, sizeof(message) - 1, T0, &len, &why));
	assert_non_null(why);
	v.nruf = 0;
	assert_null(dmarc_forensic_report(&v, &a, NULL, "a@b.example",
	    message, sizeof(message) - 1, T0, &len, &why));
	assert_non_null(strstr(why, "ruf"));
	base_verdict(&v);
	r = dmarc_forensic_report(&v, NULL, NULL, "a@b.example", NULL, 0, T0,
	    &len, &why);
	assert_non_null(r);	/* an empty message still makes a report */
	check_wire_form(r, len);
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_history_line, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_history_concurrent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_aggregate_merge, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_aggregate_files_validate,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_aggregate_bad_input, setup,
		    teardown),
		cmocka_unit_test(test_forensic_wanted),
		cmocka_unit_test(test_ruf_addresses),
		cmocka_unit_test(test_forensic_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
