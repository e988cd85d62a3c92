/* Unit tests for lib/out (and lightly lib/diag). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "out.h"

static char tmpdir[] = "/tmp/mxkit-test-out.XXXXXX";

static void
check_quote(const char *in, size_t n, const char *want)
{
	char *q = out_shell_quote(in, n);

	assert_non_null(q);
	assert_string_equal(q, want);
	free(q);
}

static void
test_shell_quote(void **state)
{
	(void)state;
	check_quote("", 0, "''");
	check_quote("abc", 3, "'abc'");
	check_quote("it's", 4, "'it'\\''s'");
	check_quote("'", 1, "''\\'''");
	check_quote("a\nb", 3, "'a\nb'");
	check_quote("$(rm -rf /)`x`\\", 15, "'$(rm -rf /)`x`\\'");
	check_quote("a\0b", 3, "'ab'");		/* NUL dropped */
	check_quote("\xe9t\xc3\xa9", 4, "'\xe9t\xc3\xa9'");
}

/* Run the record through sh's eval and read $name back. */
static char *
eval_kv(const char *record, size_t len, const char *name, size_t *outlen)
{
	char path[sizeof(tmpdir) + 16], cmd[512], *buf = NULL;
	size_t cap = 0, n = 0, r;
	FILE *fp, *p;

	snprintf(path, sizeof(path), "%s/kv", tmpdir);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(record, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	snprintf(cmd, sizeof(cmd),
	    "/bin/sh -c 'eval \"$(cat %s)\"; printf %%s \"$%s\"'", path, name);
	assert_non_null(p = popen(cmd, "r"));
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			assert_non_null(buf = realloc(buf, cap));
		}
		if ((r = fread(buf + n, 1, cap - n - 1, p)) == 0)
			break;
		n += r;
	}
	assert_int_equal(pclose(p), 0);
	buf[n] = '\0';
	*outlen = n;
	return buf;
}

static void
roundtrip(const char *value, size_t n)
{
	struct out *o = out_new(OUT_KV);
	const char *rec;
	size_t len, got;
	char *back;

	assert_non_null(o);
	out_begin(o);
	out_str(o, "before", "x");
	out_strn(o, "v", value, n);
	out_str(o, "after", "y");
	assert_non_null(rec = out_record(o, &len));
	assert_int_equal(strlen(rec), len);	/* NUL-free */
	back = eval_kv(rec, len, "v", &got);
	assert_int_equal(got, n);
	assert_memory_equal(back, value, n);
	free(back);
	back = eval_kv(rec, len, "after", &got);
	assert_int_equal(got, 1);
	assert_memory_equal(back, "y", 1);
	free(back);
	out_free(o);
}

static void
test_kv_eval_roundtrip(void **state)
{
	char all[255];
	int i;

	(void)state;
#define RT(s) roundtrip(s, sizeof(s) - 1)
	RT("");
	RT("plain");
	RT("it's 'quoted' ''");
	RT("line1\nline2\n\n");
	RT("\n\nleading newlines");
	RT("\"double\" $HOME `id` $(id) \\ * ? [a] ~ ; & | < > #");
	RT("caf\xc3\xa9 \xff\xfe\x80\x81\x82 8-bit");
#undef RT
	for (i = 0; i < 255; i++)
		all[i] = (char)(i + 1);		/* every byte but NUL */
	roundtrip(all, sizeof(all));
}

static void
test_kv_record(void **state)
{
	struct out *o = out_new(OUT_KV);
	const char *rec, *list[] = { "a.example", "b'x", "" };
	size_t len;

	(void)state;
	out_begin(o);
	out_str(o, "dkim_verify_status", "pass");
	out_int(o, "dkim_key_length", 2048);
	out_int(o, "neg", -5);
	out_bool(o, "t", 1);
	out_bool(o, "f", 0);
	out_list(o, "dkim_signers", list, 3);
	out_str(o, "bad-name", "skipped");
	out_str(o, "9bad", "skipped");
	out_str(o, "", "skipped");
	out_str(o, "a;b", "skipped");
	out_str(o, "nul", NULL);
	out_array_begin(o, "signatures");
	out_object_begin(o);
	out_str(o, "inner", "ignored in kv");
	out_object_end(o);
	out_array_end(o);
	out_text(o, "ignored in kv %d\n", 1);
	out_str(o, "_last9", "z");
	rec = out_record(o, &len);
	assert_string_equal(rec,
	    "dkim_verify_status='pass'\n"
	    "dkim_key_length='2048'\n"
	    "neg='-5'\n"
	    "t='1'\n"
	    "f='0'\n"
	    "dkim_signers='a.example:b'\\''x:'\n"
	    "nul=''\n"
	    "_last9='z'\n");
	assert_int_equal(len, strlen(rec));
	out_free(o);
}

static void
check_json(const char *in, size_t n, const char *want)
{
	char *j = out_json_string(in, n);

	assert_non_null(j);
	assert_string_equal(j, want);
	free(j);
}

static void
test_json_string(void **state)
{
	(void)state;
	check_json("", 0, "\"\"");
	check_json("a\"b\\c/", 6, "\"a\\\"b\\\\c/\"");
	check_json("\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\"");
	check_json("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\"");
	check_json("a\0b", 3, "\"a\\u0000b\"");
	/* valid UTF-8 passes: 2, 3 and 4 bytes */
	check_json("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9,
	    "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
	/* invalid: lone continuation, bad lead, Latin-1 */
	check_json("\x80", 1, "\"\xef\xbf\xbd\"");
	check_json("\xff\xfe", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	check_json("caf\xe9!", 5, "\"caf\xef\xbf\xbd!\"");
	/* overlong, surrogate, beyond U+10FFFF */
	check_json("\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	check_json("\xe0\x80\xaf", 3,
	    "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	check_json("\xed\xa0\x80", 3,
	    "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	check_json("\xf4\x90\x80\x80", 4,
	    "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	/* truncated sequences: one U+FFFD for the maximal subpart */
	check_json("\xe2\x82", 2, "\"\xef\xbf\xbd\"");
	check_json("\xe2\x82x", 3, "\"\xef\xbf\xbdx\"");
	check_json("\xf0\x9f\x98", 3, "\"\xef\xbf\xbd\"");
	check_json("\xf0\x9f\x98\"", 4, "\"\xef\xbf\xbd\\\"\"");
}

static void
test_json_record(void **state)
{
	struct out *o = out_new(OUT_JSON);
	const char *rec, *list[] = { "a", "b\"" };
	size_t len;

	(void)state;
	out_begin(o);
	out_int(o, "message", 3);
	out_str(o, "status", "pass");
	out_int(o, "big", -9223372036854775807LL - 1);
	out_bool(o, "ok", 1);
	out_bool(o, "no", 0);
	out_list(o, "signers", list, 2);
	out_list(o, "empty", NULL, 0);
	out_array_begin(o, "signatures");
	out_object_begin(o);
	out_str(o, "d", "x\n");
	out_int(o, "n", 1);
	out_object_end(o);
	out_object_begin(o);
	out_array_begin(o, "nested");
	out_str(o, "ignored-name", "in array");
	out_int(o, NULL, 7);
	out_array_end(o);
	out_object_end(o);
	out_array_end(o);
	out_text(o, "ignored in json");
	out_str(o, "last", "\xff");
	rec = out_record(o, &len);
	assert_string_equal(rec,
	    "{\"message\":3,\"status\":\"pass\","
	    "\"big\":-9223372036854775808,\"ok\":true,\"no\":false,"
	    "\"signers\":[\"a\",\"b\\\"\"],\"empty\":[],"
	    "\"signatures\":[{\"d\":\"x\\n\",\"n\":1},"
	    "{\"nested\":[\"in array\",7]}],"
	    "\"last\":\"\xef\xbf\xbd\"}\n");
	assert_int_equal(len, strlen(rec));
	/* The next record starts afresh. */
	out_begin(o);
	out_str(o, "k", "v");
	assert_string_equal(out_record(o, NULL), "{\"k\":\"v\"}\n");
	/* Left open or mismatched: still balanced. */
	out_begin(o);
	out_array_begin(o, "a");
	out_object_end(o);
	out_object_begin(o);
	out_str(o, "k", "v");
	assert_string_equal(out_record(o, NULL), "{\"a\":[{\"k\":\"v\"}]}\n");
	out_begin(o);
	assert_string_equal(out_record(o, NULL), "{}\n");
	out_free(o);
}

/* Deep nesting beyond the limit is dropped, never unbalanced. */
static void
test_json_deep(void **state)
{
	struct out *o = out_new(OUT_JSON);
	const char *rec;
	int i, opens = 0, closes = 0;

	(void)state;
	out_begin(o);
	for (i = 0; i < 100; i++)
		out_array_begin(o, "a");
	out_int(o, "x", 1);
	for (i = 0; i < 100; i++)
		out_array_end(o);
	out_str(o, "after", "y");
	rec = out_record(o, NULL);
	for (i = 0; rec[i] != '\0'; i++) {
		opens += rec[i] == '[';
		closes += rec[i] == ']';
	}
	assert_int_equal(opens, closes);
	assert_non_null(strstr(rec, ",\"after\":\"y\"}\n"));
	out_free(o);
}

/* The system's JSON parser agrees, when there is one. */
static void
test_json_python(void **state)
{
	struct out *o;
	char path[sizeof(tmpdir) + 16], cmd[512], bytes[512];
	const char *rec;
	FILE *fp;
	size_t len;
	int i;

	(void)state;
	if (access("/usr/bin/python3", X_OK) != 0)
		skip();
	for (i = 0; i < (int)sizeof(bytes); i++)
		bytes[i] = (char)((i * 7919) ^ (i >> 3));
	o = out_new(OUT_JSON);
	out_begin(o);
	out_strn(o, "bytes", bytes, sizeof(bytes));
	out_str(o, "k\x01\xc3", "v");
	out_array_begin(o, "arr");
	out_object_begin(o);
	out_int(o, "n", -1);
	out_object_end(o);
	out_array_end(o);
	rec = out_record(o, &len);
	snprintf(path, sizeof(path), "%s/json", tmpdir);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(rec, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 -c 'import json,sys; "
	    "d=json.loads(open(sys.argv[1],\"rb\").read()); "
	    "assert len(d)==3 and d[\"arr\"][0][\"n\"]==-1' %s", path);
	assert_int_equal(system(cmd), 0);
	out_free(o);
}

static void
test_text_mode(void **state)
{
	struct out *o = out_new(OUT_TEXT);
	char path[sizeof(tmpdir) + 16], got[128];
	FILE *fp;
	size_t n;

	(void)state;
	assert_int_equal(out_get_mode(o), OUT_TEXT);
	out_begin(o);
	out_text(o, "pass d=%s", "example.com");
	out_str(o, "ignored", "x");
	out_int(o, "ignored", 1);
	out_array_begin(o, "a");
	out_array_end(o);
	out_text(o, " bits=%d\n", 2048);
	snprintf(path, sizeof(path), "%s/text", tmpdir);
	assert_non_null(fp = fopen(path, "w+"));
	assert_int_equal(out_end(o, fp), 0);
	rewind(fp);
	n = fread(got, 1, sizeof(got) - 1, fp);
	got[n] = '\0';
	fclose(fp);
	assert_string_equal(got, "pass d=example.com bits=2048\n");
	out_free(o);
}

static void
test_out_end_error(void **state)
{
	struct out *o = out_new(OUT_KV);
	FILE *fp;

	(void)state;
	/* A write error is reported, not swallowed: /dev/full. */
	if ((fp = fopen("/dev/full", "w")) == NULL)
		skip();
	setvbuf(fp, NULL, _IONBF, 0);
	out_begin(o);
	out_str(o, "k", "v");
	assert_int_equal(out_end(o, fp), -1);
	fclose(fp);
	out_free(o);
}

static void
test_mode_parse(void **state)
{
	(void)state;
	assert_int_equal(out_mode_parse("text"), OUT_TEXT);
	assert_int_equal(out_mode_parse("kv"), OUT_KV);
	assert_int_equal(out_mode_parse("json"), OUT_JSON);
	assert_int_equal(out_mode_parse("JSON"), -1);
	assert_int_equal(out_mode_parse(""), -1);
	assert_int_equal(out_mode_parse(NULL), -1);
}

static void
test_diag(void **state)
{
	char path[sizeof(tmpdir) + 16], *buf;
	size_t len, i;
	FILE *fp;

	(void)state;
	diag_init("/usr/local/bin/dkimverify");
	assert_string_equal(diag_prog, "dkimverify");
	diag_init("spfcheck");
	assert_string_equal(diag_prog, "spfcheck");

	/* slurp: several growth steps, 8-bit and NUL bytes, a final NUL */
	snprintf(path, sizeof(path), "%s/slurp", tmpdir);
	assert_non_null(fp = fopen(path, "w"));
	for (i = 0; i < 300000; i++)
		fputc((int)(i % 251), fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(slurp_path(path, &buf, &len), 0);
	assert_int_equal(len, 300000);
	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] != i % 251)
			fail_msg("byte %zu", i);
	assert_int_equal(buf[len], '\0');
	free(buf);

	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(slurp_path(path, &buf, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(buf[0], '\0');
	free(buf);

	errno = 0;
	assert_int_equal(slurp_path("/nonexistent/x", &buf, &len), -1);
	assert_int_equal(errno, ENOENT);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

/* The buffer other modules build text in, and the hex digits. */
static void
test_out_buf(void **state)
{
	struct out_buf b = { 0 };

	(void)state;
	assert_int_equal(out_buf_add(&b, "", 0), 0);
	assert_non_null(b.p);
	assert_string_equal(b.p, "");
	out_buf_str(&b, "a=");
	out_buf_printf(&b, "%d;%s", 42, "x");
	assert_int_equal(out_buf_add(&b, "yz", 1), 0);
	assert_string_equal(b.p, "a=42;xy");
	assert_int_equal(b.len, 7);
	for (int i = 0; i < 1000; i++)
		out_buf_str(&b, "0123456789");
	assert_int_equal(b.len, 10007);
	assert_int_equal(b.oom, 0);
	out_buf_free(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);

	assert_int_equal(out_hex_value('0'), 0);
	assert_int_equal(out_hex_value('9'), 9);
	assert_int_equal(out_hex_value('a'), 10);
	assert_int_equal(out_hex_value('F'), 15);
	assert_int_equal(out_hex_value('g'), -1);
	assert_int_equal(out_hex_value('\0'), -1);
	assert_int_equal(out_hex_value(0xC3), -1);
}

static int
teardown(void **state)
{
	char cmd[sizeof(tmpdir) + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shell_quote),
		cmocka_unit_test(test_kv_eval_roundtrip),
		cmocka_unit_test(test_kv_record),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_json_record),
		cmocka_unit_test(test_json_deep),
		cmocka_unit_test(test_json_python),
		cmocka_unit_test(test_text_mode),
		cmocka_unit_test(test_out_end_error),
		cmocka_unit_test(test_mode_parse),
		cmocka_unit_test(test_out_buf),
		cmocka_unit_test(test_diag),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
