/* Unit tests for lib/hook: real child processes (/bin/sh scripts written
 * to a temporary directory, and /usr/bin/env, /bin/ls, /bin/grep run
 * directly), then the parser and the decision on their output. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hook.h"

static char dir[] = "/tmp/mxkit-hook.XXXXXX";

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* dir/name, in a static buffer (one of a few, rotating). */
static const char *
tpath(const char *name)
{
	static char buf[4][256];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

static void
write_file(const char *path, const char *body, mode_t mode)
{
	FILE *f;

	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(body, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* A /bin/sh script dir/name with body; its path. */
static const char *
script(const char *name, const char *body)
{
	char text[8192];
	const char *p = tpath(name);

	snprintf(text, sizeof(text), "#!/bin/sh\n%s\n", body);
	write_file(p, text, 0755);
	return p;
}

/* Run the script body with timeout_ms; r filled. */
static void
run_sh(const char *body, unsigned timeout_ms, struct hook_result *r)
{
	struct hook_spec s;

	hook_spec_init(&s, script("h", body));
	s.timeout_ms = timeout_ms;
	assert_int_equal(hook_run(&s, r), 0);
}

/* Run body and decide at stage. */
static void
decide_sh(const char *body, enum hook_stage stage, struct hook_decision *d)
{
	struct hook_result r;

	run_sh(body, 10000, &r);
	assert_int_equal(hook_decide(&r, stage, d), 0);
	hook_result_free(&r);
}

static void
test_env(void **state)
{
	struct hook_env e, c;
	char big[HOOK_ENV_MAX_STRING];
	char name[16];
	int i;

	(void)state;
	hook_env_init(&e);
	assert_null(hook_env_vec(&e)[0]);
	assert_int_equal(hook_env_set(&e, "sender_address", "a@b"), 0);
	assert_int_equal(hook_env_set(&e, "_x9", "multi\nline"), 0);
	assert_int_equal(hook_env_set_num(&e, "message_size", 1234), 0);
	assert_string_equal(hook_env_get(&e, "sender_address"), "a@b");
	assert_string_equal(hook_env_get(&e, "_x9"), "multi\nline");
	assert_string_equal(hook_env_get(&e, "message_size"), "1234");
	assert_null(hook_env_get(&e, "sender"));
	assert_int_equal(hook_env_set(&e, "sender_address", ""), 0);
	assert_string_equal(hook_env_get(&e, "sender_address"), "");
	assert_int_equal(e.n, 3);
	assert_string_equal(hook_env_vec(&e)[0], "sender_address=");
	assert_null(hook_env_vec(&e)[3]);

	/* Names: [A-Za-z_][A-Za-z0-9_]*, bounded. */
	errno = 0;
	assert_int_equal(hook_env_set(&e, "9x", "v"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(hook_env_set(&e, "", "v"), -1);
	assert_int_equal(hook_env_set(&e, "a=b", "v"), -1);
	assert_int_equal(hook_env_set(&e, "a-b", "v"), -1);
	assert_int_equal(hook_env_set(&e, "a b", "v"), -1);
	memset(big, 'a', HOOK_ENV_MAX_NAME + 1);
	big[HOOK_ENV_MAX_NAME + 1] = '\0';
	assert_int_equal(hook_env_set(&e, big, "v"), -1);
	big[HOOK_ENV_MAX_NAME] = '\0';
	assert_int_equal(hook_env_set(&e, big, "v"), 0);
	/* A NUL cannot get in. */
	assert_int_equal(hook_env_setn(&e, "nul", "a\0b", 3), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(hook_env_setn(&e, "part", "abc", 2), 0);
	assert_string_equal(hook_env_get(&e, "part"), "ab");
	/* Size: "NAME=value" and NUL within HOOK_ENV_MAX_STRING. */
	memset(big, 'v', sizeof(big));
	assert_int_equal(hook_env_setn(&e, "v", big,
	    HOOK_ENV_MAX_STRING - 3), 0);
	assert_int_equal(hook_env_setn(&e, "v", big,
	    HOOK_ENV_MAX_STRING - 2), -1);
	assert_int_equal(errno, E2BIG);

	hook_env_init(&c);
	assert_int_equal(hook_env_copy(&c, &e), 0);
	assert_int_equal(c.n, e.n);
	assert_string_equal(hook_env_get(&c, "_x9"), "multi\nline");
	hook_env_free(&c);
	hook_env_free(&e);

	hook_env_init(&e);
	for (i = 0; i < HOOK_ENV_MAX_VARS; i++) {
		snprintf(name, sizeof(name), "v%d", i);
		assert_int_equal(hook_env_set(&e, name, "x"), 0);
	}
	assert_int_equal(hook_env_set(&e, "one_more", "x"), -1);
	assert_int_equal(errno, E2BIG);
	assert_int_equal(hook_env_set(&e, "v0", "replaced"), 0);
	hook_env_free(&e);
}

static void
test_exit_codes(void **state)
{
	static const struct {
		const char *body;
		enum hook_stage stage;
		enum hook_verdict v;
		int failed;
	} c[] = {
		{ "exit 0", HOOK_STAGE_RCPT, HOOK_ACCEPT, 0 },
		{ "exit 1", HOOK_STAGE_RCPT, HOOK_REJECT, 0 },
		{ "exit 2", HOOK_STAGE_RCPT, HOOK_DEFER, 0 },
		{ "exit 3", HOOK_STAGE_DATA, HOOK_DISCARD, 0 },
		{ "exit 3", HOOK_STAGE_PRDR, HOOK_DISCARD, 0 },
		{ "exit 3", HOOK_STAGE_RCPT, HOOK_DISCARD, 0 },
		{ "exit 3", HOOK_STAGE_MAIL, HOOK_DISCARD, 0 },
		{ "exit 3", HOOK_STAGE_HELO, HOOK_DEFER, 1 },
		{ "exit 3", HOOK_STAGE_CONNECT, HOOK_DEFER, 1 },
		{ "exit 3", HOOK_STAGE_QUIT, HOOK_DEFER, 1 },
		{ "exit 4", HOOK_STAGE_DATA, HOOK_DEFER, 1 },
		{ "exit 75", HOOK_STAGE_DATA, HOOK_DEFER, 1 },
		{ "exit 255", HOOK_STAGE_MAIL, HOOK_DEFER, 1 },
		{ "kill -9 $$", HOOK_STAGE_MAIL, HOOK_DEFER, 1 },
		{ "kill -SEGV $$", HOOK_STAGE_DATA, HOOK_DEFER, 1 },
	};
	struct hook_decision d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		decide_sh(c[i].body, c[i].stage, &d);
		if (d.verdict != c[i].v || d.failed != c[i].failed)
			fail_msg("%s at %s: %s failed=%d (%s)", c[i].body,
			    hook_stage_name(c[i].stage),
			    hook_verdict_name(d.verdict), d.failed, d.why);
		assert_int_equal(d.failed, d.why[0] != '\0');
		hook_decision_free(&d);
	}
}

static void
test_status(void **state)
{
	struct hook_result r;
	char text[128];

	(void)state;
	run_sh("exit 7", 0, &r);
	assert_int_equal(r.status, HOOK_EXITED);
	assert_int_equal(r.code, 7);
	hook_result_text(&r, text, sizeof(text));
	assert_string_equal(text, "exit 7");
	hook_result_free(&r);

	run_sh("kill -TERM $$", 0, &r);
	assert_int_equal(r.status, HOOK_SIGNALED);
	assert_int_equal(r.code, SIGTERM);
	hook_result_text(&r, text, sizeof(text));
	assert_non_null(strstr(text, "signal 15"));
	hook_result_free(&r);

	/* An exit 127 of the program itself is not an exec failure. */
	run_sh("exit 127", 0, &r);
	assert_int_equal(r.status, HOOK_EXITED);
	assert_int_equal(r.code, 127);
	hook_result_free(&r);

	run_sh("sleep 0.2", 0, &r);
	assert_int_equal(r.status, HOOK_EXITED);
	assert_true(r.elapsed_ms >= 200 && r.elapsed_ms < 5000);
	hook_result_free(&r);
}

static void
test_exec_failure(void **state)
{
	struct hook_spec s;
	struct hook_result r;
	struct hook_decision d;
	char text[128];

	(void)state;
	hook_spec_init(&s, tpath("does-not-exist"));
	assert_int_equal(hook_run(&s, &r), 0);
	assert_int_equal(r.status, HOOK_EXECFAIL);
	assert_int_equal(r.code, ENOENT);
	hook_result_text(&r, text, sizeof(text));
	assert_string_equal(text, "cannot execute: No such file or directory");
	assert_int_equal(hook_decide(&r, HOOK_STAGE_RCPT, &d), 0);
	assert_int_equal(d.verdict, HOOK_DEFER);
	assert_int_equal(d.failed, 1);
	assert_non_null(strstr(d.why, "No such file"));
	hook_decision_free(&d);
	hook_result_free(&r);

	write_file(tpath("noexec"), "#!/bin/sh\nexit 0\n", 0644);
	hook_spec_init(&s, tpath("noexec"));
	assert_int_equal(hook_run(&s, &r), 0);
	assert_int_equal(r.status, HOOK_EXECFAIL);
	assert_int_equal(r.code, EACCES);
	hook_result_free(&r);

	/* A bad interpreter is an exec failure too. */
	write_file(tpath("badinterp"), "#!/nonexistent/sh\nexit 0\n", 0755);
	hook_spec_init(&s, tpath("badinterp"));
	assert_int_equal(hook_run(&s, &r), 0);
	assert_int_equal(r.status, HOOK_EXECFAIL);
	assert_int_equal(r.code, ENOENT);
	hook_result_free(&r);

	/* No PATH search, ever: "sh" is not a path. */
	hook_spec_init(&s, "sh");
	assert_int_equal(hook_run(&s, &r), 0);
	assert_int_equal(r.status, HOOK_EXECFAIL);
	assert_int_equal(r.code, EINVAL);
	hook_result_free(&r);
}

static void
test_reply_override(void **state)
{
	struct hook_decision d;
	struct out_buf b;

	(void)state;
	decide_sh("echo '550 5.7.1 no mail from you'; exit 1",
	    HOOK_STAGE_MAIL, &d);
	assert_int_equal(d.verdict, HOOK_REJECT);
	assert_int_equal(d.failed, 0);
	assert_int_equal(d.out.code, 550);
	assert_string_equal(d.out.enhanced, "5.7.1");
	assert_string_equal(d.out.text, "no mail from you");
	assert_int_equal(d.out.nlines, 1);
	assert_string_equal(d.why, "");
	memset(&b, 0, sizeof(b));
	assert_int_equal(hook_reply_format(&d.out, &b), 0);
	assert_string_equal(b.p, "550 5.7.1 no mail from you\r\n");
	out_buf_free(&b);
	hook_decision_free(&d);

	/* Without an enhanced code; CRLF from the script. */
	decide_sh("printf '451 greylisted, try later\\r\\n'; exit 2",
	    HOOK_STAGE_RCPT, &d);
	assert_int_equal(d.verdict, HOOK_DEFER);
	assert_int_equal(d.out.code, 451);
	assert_string_equal(d.out.enhanced, "");
	assert_string_equal(d.out.text, "greylisted, try later");
	hook_decision_free(&d);

	/* Accept with a 250 text; a bare code. */
	decide_sh("echo '250 2.1.0 fine'", HOOK_STAGE_MAIL, &d);
	assert_int_equal(d.verdict, HOOK_ACCEPT);
	assert_int_equal(d.out.code, 250);
	hook_decision_free(&d);
	decide_sh("echo 554; exit 1", HOOK_STAGE_CONNECT, &d);
	assert_int_equal(d.out.code, 554);
	assert_string_equal(d.out.text, "");
	memset(&b, 0, sizeof(b));
	assert_int_equal(hook_reply_format(&d.out, &b), 0);
	assert_string_equal(b.p, "554\r\n");
	out_buf_free(&b);
	hook_decision_free(&d);

	/* Discard answers as an accept does. */
	decide_sh("echo '250 2.0.0 thanks'; exit 3", HOOK_STAGE_DATA, &d);
	assert_int_equal(d.verdict, HOOK_DISCARD);
	assert_int_equal(d.out.code, 250);
	hook_decision_free(&d);
}

static void
test_reply_refused(void **state)
{
	static const struct {
		const char *body;
		const char *why;
	} c[] = {
		{ "echo '250 ok'; exit 1", "does not agree" },
		{ "echo '550 no'; exit 0", "does not agree" },
		{ "echo '450 later'; exit 1", "does not agree" },
		{ "echo '550 no'; exit 2", "does not agree" },
		{ "echo '550 no'; exit 3", "does not agree" },
		{ "echo 'checking things'; exit 1", "not an SMTP reply" },
		{ "echo '5500 no'; exit 1", "not an SMTP reply" },
		{ "echo '550x no'; exit 1", "not an SMTP reply" },
		{ "echo '650 no'; exit 1", "not an SMTP reply" },
		{ "echo '560 no'; exit 1", "not an SMTP reply" },
		{ "echo '55'; exit 1", "not an SMTP reply" },
		{ "echo '550 4.7.1 no'; exit 1", "another class" },
		{ "printf '550 bad\\001char\\n'; exit 1", "control" },
		{ "printf '550 caf\\303\\251\\n'; exit 1", "8-bit" },
		{ "printf '550 a\\rb\\n'; exit 1", "control" },
		{ "printf '550 %0600d\\n' 0; exit 1", "too long" },
		{ "echo '550-first'; exit 1", "continuation" },
		{ "printf '550-a\\n551 b\\n'; exit 1", "different codes" },
		{ "printf '550-5.7.1 a\\n550 5.7.2 b\\n'; exit 1",
		    "different enhanced" },
		{ "printf '550 a\\n550 b\\n'; exit 1", "after the reply" },
		{ "printf '550 no\\nX-Forgot: blank line\\n'; exit 1",
		    "after the reply" },
		{ "i=0; while [ $i -lt 16 ]; do echo 550-x; i=$((i+1)); done;"
		    " echo 550 y; exit 1", "too many lines" },
	};
	struct hook_decision d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		decide_sh(c[i].body, HOOK_STAGE_RCPT, &d);
		if (d.failed || d.out.code != 0 || d.out.text != NULL ||
		    strstr(d.why, c[i].why) == NULL)
			fail_msg("%s: code %d failed %d why '%s'", c[i].body,
			    d.out.code, d.failed, d.why);
		/* The decision stands. */
		assert_int_equal(d.verdict, strstr(c[i].body, "exit 0") ?
		    HOOK_ACCEPT : strstr(c[i].body, "exit 2") ? HOOK_DEFER :
		    strstr(c[i].body, "exit 3") ? HOOK_DISCARD : HOOK_REJECT);
		hook_decision_free(&d);
	}
	/* The limit itself is fine: 510 octets. */
	decide_sh("printf '550 %0506d\\n' 0; exit 1", HOOK_STAGE_RCPT, &d);
	assert_int_equal(d.out.code, 550);
	assert_int_equal(strlen(d.out.text), 506);
	hook_decision_free(&d);
}

static void
test_reply_multiline(void **state)
{
	struct hook_decision d;
	struct out_buf b;

	(void)state;
	decide_sh("printf '550-5.7.1 rejected by policy\\n"
	    "550-5.7.1 \\n550 5.7.1 see https://example.org/why\\n'; exit 1",
	    HOOK_STAGE_RCPT, &d);
	assert_int_equal(d.verdict, HOOK_REJECT);
	assert_int_equal(d.out.code, 550);
	assert_int_equal(d.out.nlines, 3);
	assert_string_equal(d.out.enhanced, "5.7.1");
	assert_string_equal(d.out.text,
	    "rejected by policy\n\nsee https://example.org/why");
	memset(&b, 0, sizeof(b));
	assert_int_equal(hook_reply_format(&d.out, &b), 0);
	assert_string_equal(b.p, "550-5.7.1 rejected by policy\r\n"
	    "550-5.7.1\r\n550 5.7.1 see https://example.org/why\r\n");
	out_buf_free(&b);
	hook_decision_free(&d);

	/* The enhanced code on the first line only: put on every line. */
	decide_sh("printf '451-4.7.1 one\\n451 two\\n'; exit 2",
	    HOOK_STAGE_RCPT, &d);
	assert_int_equal(d.out.nlines, 2);
	memset(&b, 0, sizeof(b));
	assert_int_equal(hook_reply_format(&d.out, &b), 0);
	assert_string_equal(b.p, "451-4.7.1 one\r\n451 4.7.1 two\r\n");
	out_buf_free(&b);
	hook_decision_free(&d);

	/* 16 lines is the limit. */
	decide_sh("i=0; while [ $i -lt 15 ]; do echo 550-x; i=$((i+1)); done;"
	    " echo 550 y; exit 1", HOOK_STAGE_RCPT, &d);
	assert_int_equal(d.out.nlines, HOOK_REPLY_MAX_LINES);
	hook_decision_free(&d);
}

static void
test_headers(void **state)
{
	struct hook_decision d;

	(void)state;
	/* Headers only. */
	decide_sh("echo; echo 'Authentication-Results: mx.example.org;'; "
	    "printf '\\tdkim=pass header.d=example.org\\n'; "
	    "echo 'X-Policy: ok'", HOOK_STAGE_DATA, &d);
	assert_int_equal(d.verdict, HOOK_ACCEPT);
	assert_int_equal(d.failed, 0);
	assert_int_equal(d.out.code, 0);
	assert_null(d.out.reply_why);
	assert_int_equal(d.out.nheaders, 2);
	assert_string_equal(d.out.headers,
	    "Authentication-Results: mx.example.org;\n"
	    "\tdkim=pass header.d=example.org\n"
	    "X-Policy: ok\n");
	assert_int_equal(d.out.headers_len, strlen(d.out.headers));
	hook_decision_free(&d);

	/* A reply and headers; CRLF, no final newline, UTF-8, trailing
	 * empty lines, an empty value. */
	decide_sh("printf '250 2.0.0 ok\\r\\n\\r\\nX-A: caf\\303\\251\\r\\n"
	    "X-Empty:\\n  folded\\nX-Last: 1\\n\\n\\n'", HOOK_STAGE_DATA, &d);
	assert_int_equal(d.failed, 0);
	assert_int_equal(d.out.code, 250);
	assert_int_equal(d.out.nheaders, 3);
	assert_string_equal(d.out.headers,
	    "X-A: caf\xc3\xa9\nX-Empty:\n  folded\nX-Last: 1\n");
	hook_decision_free(&d);

	/* Headers at RCPT, returned too. */
	decide_sh("echo; echo 'X-Rcpt: seen'", HOOK_STAGE_RCPT, &d);
	assert_int_equal(d.out.nheaders, 1);
	hook_decision_free(&d);

	/* A refused reply does not lose the headers. */
	decide_sh("echo '550 no'; echo; echo 'X-A: 1'", HOOK_STAGE_DATA, &d);
	assert_int_equal(d.verdict, HOOK_ACCEPT);
	assert_int_equal(d.failed, 0);
	assert_int_equal(d.out.code, 0);
	assert_string_equal(d.out.headers, "X-A: 1\n");
	hook_decision_free(&d);

	/* Blank line only: nothing. */
	decide_sh("echo", HOOK_STAGE_DATA, &d);
	assert_int_equal(d.failed, 0);
	assert_null(d.out.headers);
	assert_null(d.out.reply_why);
	hook_decision_free(&d);
}

static void
test_headers_invalid(void **state)
{
	static const struct {
		const char *body;
		const char *why;
	} c[] = {
		{ "echo; echo 'no colon here'", "without a colon" },
		{ "echo; echo 'Bad Name: x'", "field name" },
		{ "echo; echo ': x'", "empty header field name" },
		{ "echo; printf 'X-\\303\\251: x\\n'", "field name" },
		{ "echo; echo ' X-Cont: first'", "continuation" },
		{ "echo; echo 'X-A: 1'; echo '   '", "white space only" },
		{ "echo; echo 'X-A: 1'; echo; echo 'X-B: 2'", "empty line" },
		{ "echo; printf 'X-A: a\\001b\\n'", "control" },
		{ "echo; printf 'X-A: a\\rb\\n'", "control" },
		{ "echo; printf 'X-A: \\377\\n'", "UTF-8" },
		{ "echo; printf 'X-A: \\303\\n'", "UTF-8" },
		{ "echo; printf 'X-A: a\\0b\\n'", "NUL" },
		{ "echo; printf 'X-A: %0995d\\n' 0", "too long" },
		{ "echo; i=0; while [ $i -lt 65 ]; do echo X-N: $i;"
		    " i=$((i+1)); done", "too many header lines" },
		{ "echo; i=0; while [ $i -lt 40 ]; do printf 'X-N: %0500d\\n'"
		    " 0; i=$((i+1)); done", "headers too long" },
	};
	struct hook_decision d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		decide_sh(c[i].body, HOOK_STAGE_DATA, &d);
		if (d.verdict != HOOK_DEFER || !d.failed ||
		    d.out.headers != NULL || strstr(d.why, c[i].why) == NULL)
			fail_msg("%s: %s failed %d why '%s'", c[i].body,
			    hook_verdict_name(d.verdict), d.failed, d.why);
		hook_decision_free(&d);
	}
	/* At the limits: 64 lines, 998 octets a line. */
	decide_sh("echo; printf 'X-A: %0993d\\n' 0; i=1; while [ $i -lt 64 ];"
	    " do echo X-N: $i; i=$((i+1)); done", HOOK_STAGE_DATA, &d);
	assert_int_equal(d.failed, 0);
	assert_int_equal(d.out.nheaders, 64);
	hook_decision_free(&d);
	/* A failed hook's output is not looked at. */
	decide_sh("echo '451 x'; echo; echo 'X-A: 1'; exit 9",
	    HOOK_STAGE_DATA, &d);
	assert_int_equal(d.failed, 1);
	assert_int_equal(d.out.code, 0);
	assert_null(d.out.headers);
	hook_decision_free(&d);
}

/* 1 while pid is a live process (a zombie counts as dead). */
static int
alive(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	int live = 1;

	if (kill(pid, 0) != 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL && p[1] == ' ' &&
	    (p[2] == 'Z' || p[2] == 'X'))
		live = 0;
	fclose(f);
	return live;
}

static pid_t
read_pid(const char *path)
{
	FILE *f;
	int pid = 0;

	assert_non_null(f = fopen(path, "r"));
	assert_int_equal(fscanf(f, "%d", &pid), 1);
	fclose(f);
	assert_true(pid > 1);
	return (pid_t)pid;
}

/* Wait up to 2 s for pid to die. */
static int
gone(pid_t pid)
{
	int i;

	for (i = 0; i < 200 && alive(pid); i++)
		usleep(10000);
	return !alive(pid);
}

static void
test_timeout_group(void **state)
{
	struct hook_result r;
	struct hook_decision d;
	char body[512];
	pid_t pid;

	(void)state;
	/* The shell waits for a background sleep: both must die. */
	snprintf(body, sizeof(body), "sleep 100 & echo $! >%s; "
	    "echo '250 too late'; wait", tpath("pid1"));
	run_sh(body, 300, &r);
	assert_int_equal(r.status, HOOK_TIMEDOUT);
	assert_true(r.elapsed_ms >= 300 && r.elapsed_ms < 3000);
	pid = read_pid(tpath("pid1"));
	assert_true(gone(pid));
	assert_int_equal(hook_decide(&r, HOOK_STAGE_RCPT, &d), 0);
	assert_int_equal(d.verdict, HOOK_DEFER);
	assert_int_equal(d.failed, 1);
	assert_non_null(strstr(d.why, "timed out"));
	assert_int_equal(d.out.code, 0);
	hook_decision_free(&d);
	hook_result_free(&r);

	/* SIGTERM ignored by the whole group: SIGKILL after the grace. */
	snprintf(body, sizeof(body), "trap '' TERM; sleep 100 & echo $! >%s; "
	    "wait; wait; wait", tpath("pid2"));
	run_sh(body, 200, &r);
	assert_int_equal(r.status, HOOK_TIMEDOUT);
	assert_int_equal(r.code, SIGKILL);
	assert_true(r.elapsed_ms >= 200 + HOOK_GRACE_MS - 50);
	assert_true(r.elapsed_ms < 200 + HOOK_GRACE_MS + 3000);
	pid = read_pid(tpath("pid2"));
	assert_true(gone(pid));
	hook_result_free(&r);

	/* Stdout closed early does not hide a hook that hangs. */
	run_sh("exec >&-; sleep 100", 200, &r);
	assert_int_equal(r.status, HOOK_TIMEDOUT);
	assert_int_equal(r.code, SIGTERM);
	assert_true(r.elapsed_ms < 3000);
	hook_result_free(&r);
}

static void
test_background_left(void **state)
{
	struct hook_result r;
	char body[512];
	pid_t pid;

	(void)state;
	/* A background child keeps stdout open after the hook exits: we do
	 * not wait for it, and do not kill it. */
	snprintf(body, sizeof(body), "sleep 30 & echo $! >%s; echo hi; "
	    "exit 0", tpath("pid3"));
	run_sh(body, 10000, &r);
	assert_int_equal(r.status, HOOK_EXITED);
	assert_int_equal(r.code, 0);
	assert_true(r.elapsed_ms < 2000);
	assert_string_equal(r.out, "hi\n");
	pid = read_pid(tpath("pid3"));
	assert_true(alive(pid));
	assert_int_equal(kill(pid, SIGKILL), 0);
	hook_result_free(&r);
}

static void
test_flood(void **state)
{
	struct hook_result r;
	struct hook_decision d;
	struct hook_spec s;

	(void)state;
	/* 10 MB on stdout: kept to the bound, read to the end. */
	run_sh("head -c 10000000 /dev/zero | tr '\\0' x; exit 0", 20000, &r);
	assert_int_equal(r.status, HOOK_EXITED);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.out_len, HOOK_OUT_MAX);
	assert_int_equal(r.out_truncated, 1);
	assert_int_equal(strlen(r.out), HOOK_OUT_MAX);
	assert_int_equal(hook_decide(&r, HOOK_STAGE_DATA, &d), 0);
	assert_int_equal(d.verdict, HOOK_DEFER);
	assert_int_equal(d.failed, 1);
	hook_decision_free(&d);
	hook_result_free(&r);

	/* A smaller bound. */
	hook_spec_init(&s, script("small", "echo 0123456789"));
	s.out_max = 4;
	assert_int_equal(hook_run(&s, &r), 0);
	assert_string_equal(r.out, "0123");
	assert_int_equal(r.out_truncated, 1);
	hook_result_free(&r);
}

static void
test_stdin(void **state)
{
	struct hook_spec s;
	struct hook_result r;
	int fd;

	(void)state;
	write_file(tpath("msg"), "Received: from x\nSubject: hi\n\nbody\n",
	    0644);
	/* By name: a fresh offset every time. */
	hook_spec_init(&s, script("cat", "exec cat"));
	s.in_path = tpath("msg");
	assert_int_equal(hook_run(&s, &r), 0);
	assert_string_equal(r.out, "Received: from x\nSubject: hi\n\nbody\n");
	hook_result_free(&r);
	assert_int_equal(hook_run(&s, &r), 0);
	assert_string_equal(r.out, "Received: from x\nSubject: hi\n\nbody\n");
	hook_result_free(&r);

	/* By descriptor: from its current offset. */
	assert_true((fd = open(tpath("msg"), O_RDONLY)) >= 0);
	assert_int_equal(lseek(fd, 17, SEEK_SET), 17);
	hook_spec_init(&s, tpath("cat"));
	s.in_fd = fd;
	assert_int_equal(hook_run(&s, &r), 0);
	assert_string_equal(r.out, "Subject: hi\n\nbody\n");
	hook_result_free(&r);
	close(fd);

	/* Default: /dev/null, never our stdin. */
	hook_spec_init(&s, tpath("cat"));
	assert_int_equal(hook_run(&s, &r), 0);
	assert_int_equal(r.status, HOOK_EXITED);
	assert_int_equal(r.out_len, 0);
	hook_result_free(&r);

	/* A stdin file that cannot be opened: our error. */
	hook_spec_init(&s, tpath("cat"));
	s.in_path = tpath("no-such-message");
	assert_int_equal(hook_run(&s, &r), -1);
	assert_int_equal(r.status, HOOK_ERROR);
	assert_int_equal(r.code, ENOENT);
	hook_result_free(&r);
}

static void
test_stderr(void **state)
{
	struct hook_spec s;
	struct hook_result r;
	char buf[64];
	ssize_t n;
	int fd;

	(void)state;
	assert_true((fd = open(tpath("err"), O_RDWR | O_CREAT | O_TRUNC,
	    0644)) >= 0);
	hook_spec_init(&s, script("err.sh", "echo out; echo oops >&2"));
	s.err_fd = fd;
	assert_int_equal(hook_run(&s, &r), 0);
	assert_string_equal(r.out, "out\n");
	hook_result_free(&r);
	assert_true((n = pread(fd, buf, sizeof(buf) - 1, 0)) >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, "oops\n");
	close(fd);
}

/* err_to_out: stderr into the one capture, in the order written, and
 * err_fd untouched; cwd: where it runs, and an exec failure when it
 * cannot be entered. */
static void
test_err_to_out_cwd(void **state)
{
	struct hook_spec s;
	struct hook_result r;
	char buf[8];
	int fd;

	(void)state;
	assert_true((fd = open(tpath("err2"), O_RDWR | O_CREAT | O_TRUNC,
	    0644)) >= 0);
	hook_spec_init(&s, script("both.sh",
	    "echo out; echo oops >&2; echo more; pwd >&2"));
	s.err_fd = fd;
	s.err_to_out = 1;
	s.cwd = "/";
	assert_int_equal(hook_run(&s, &r), 0);
	assert_int_equal(r.status, HOOK_EXITED);
	assert_string_equal(r.out, "out\noops\nmore\n/\n");
	hook_result_free(&r);
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), 0);
	close(fd);

	/* Bounded like stdout alone. */
	s.out_max = 6;
	assert_int_equal(hook_run(&s, &r), 0);
	assert_string_equal(r.out, "out\noo");
	assert_int_equal(r.out_truncated, 1);
	hook_result_free(&r);

	s.out_max = 0;
	s.cwd = tpath("no-such-dir");
	assert_int_equal(hook_run(&s, &r), 0);
	assert_int_equal(r.status, HOOK_EXECFAIL);
	assert_int_equal(r.code, ENOENT);
	assert_int_equal(r.out_len, 0);
	hook_result_free(&r);
}

static void
test_env_exact(void **state)
{
	char *const argv[] = { "env", NULL };
	struct hook_env e;
	struct hook_spec s;
	struct hook_result r;

	(void)state;
	setenv("MXKIT_HOOK_SECRET", "must not leak", 1);
	hook_env_init(&e);
	hook_env_set(&e, "sender_address", "a@example.org");
	hook_env_set(&e, "recipients", "x@example.org,\ny@example.org");
	hook_spec_init(&s, "/usr/bin/env");
	s.argv = argv;
	s.envp = hook_env_vec(&e);
	assert_int_equal(hook_run(&s, &r), 0);
	assert_int_equal(r.status, HOOK_EXITED);
	assert_string_equal(r.out, "sender_address=a@example.org\n"
	    "recipients=x@example.org,\ny@example.org\n"
	    "PATH=" HOOK_PATH "\n");
	hook_result_free(&r);

	/* The caller's PATH wins; an empty environment gets PATH only. */
	hook_env_set(&e, "PATH", "/opt/mxkit/bin:/bin");
	s.envp = hook_env_vec(&e);
	assert_int_equal(hook_run(&s, &r), 0);
	assert_string_equal(r.out, "sender_address=a@example.org\n"
	    "recipients=x@example.org,\ny@example.org\n"
	    "PATH=/opt/mxkit/bin:/bin\n");
	hook_result_free(&r);
	s.envp = NULL;
	assert_int_equal(hook_run(&s, &r), 0);
	assert_string_equal(r.out, "PATH=" HOOK_PATH "\n");
	hook_result_free(&r);
	hook_env_free(&e);
	unsetenv("MXKIT_HOOK_SECRET");
}

static void
test_fds(void **state)
{
	char *const argv[] = { "ls", "/proc/self/fd", NULL };
	struct hook_spec s;
	struct hook_result r;
	int a, b;

	(void)state;
	/* Descriptors without FD_CLOEXEC, low and high. */
	assert_true((a = open("/dev/null", O_RDONLY)) >= 0);
	assert_true((b = dup2(a, 200)) == 200);
	hook_spec_init(&s, "/bin/ls");
	s.argv = argv;
	assert_int_equal(hook_run(&s, &r), 0);
	assert_int_equal(r.status, HOOK_EXITED);
	/* 0, 1, 2 and ls's own directory descriptor. */
	assert_string_equal(r.out, "0\n1\n2\n3\n");
	hook_result_free(&r);
	close(a);
	close(b);
}

static void
test_signals_reset(void **state)
{
	char *const argv[] = { "grep", "-E", "^Sig(Blk|Ign)",
	    "/proc/self/status", NULL };
	struct hook_spec s;
	struct hook_result r;
	struct sigaction ign, old_pipe, old_int;
	sigset_t block, old;

	(void)state;
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, &old_pipe);
	sigaction(SIGINT, &ign, &old_int);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	hook_spec_init(&s, "/bin/grep");
	s.argv = argv;
	assert_int_equal(hook_run(&s, &r), 0);
	/* Signals 32 and 33 are glibc's own (SIGCANCEL, SIGSETXID): its
	 * sigaction refuses them, so an ignore inherited from whoever
	 * started the tests cannot be undone, and the child's glibc
	 * installs its own handlers anyway. */
	unsigned long long blk, ignored;
	assert_int_equal(sscanf(r.out, "SigBlk:\t%llx\nSigIgn:\t%llx", &blk,
	    &ignored), 2);
	assert_true(blk == 0);
	assert_true((ignored & ~0x180000000ULL) == 0);
	hook_result_free(&r);
	sigprocmask(SIG_SETMASK, &old, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	sigaction(SIGINT, &old_int, NULL);
}

static volatile sig_atomic_t chld_seen, chld_reaped, alarms;

static void
on_chld(int sig)
{
	int e = errno;

	(void)sig;
	chld_seen++;
	/* A careless handler: reaps anything. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		chld_reaped++;
	errno = e;
}

static void
on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void
test_sigchld(void **state)
{
	struct sigaction sa, old;
	struct hook_result r;

	(void)state;
	/* SIGCHLD ignored by the caller: we still get the status, and the
	 * caller's setting is back afterwards. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGCHLD, &sa, &old);
	run_sh("exit 2", 0, &r);
	assert_int_equal(r.status, HOOK_EXITED);
	assert_int_equal(r.code, 2);
	hook_result_free(&r);
	sigaction(SIGCHLD, NULL, &sa);
	assert_true(sa.sa_handler == SIG_IGN);

	/* A handler that reaps with waitpid(-1): blocked while we run. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_chld;
	sigaction(SIGCHLD, &sa, NULL);
	chld_seen = chld_reaped = 0;
	run_sh("sleep 0.1; exit 1", 0, &r);
	assert_int_equal(r.status, HOOK_EXITED);
	assert_int_equal(r.code, 1);
	hook_result_free(&r);
	assert_int_equal(chld_reaped, 0);
	sigaction(SIGCHLD, &old, NULL);
}

static void
test_eintr(void **state)
{
	struct sigaction sa, old;
	struct itimerval it, off;
	struct hook_result r;

	(void)state;
	/* A handled signal every 5 ms, without SA_RESTART. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, &old);
	memset(&it, 0, sizeof(it));
	memset(&off, 0, sizeof(off));
	it.it_interval.tv_usec = 5000;
	it.it_value.tv_usec = 5000;
	alarms = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	run_sh("sleep 0.3; echo done; exit 2", 5000, &r);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	assert_true(alarms > 5);
	assert_int_equal(r.status, HOOK_EXITED);
	assert_int_equal(r.code, 2);
	assert_string_equal(r.out, "done\n");
	hook_result_free(&r);
}

static void
test_event(void **state)
{
	struct hook_env base;
	struct hook_result r;
	const char *p;

	(void)state;
	hook_env_init(&base);
	hook_env_set(&base, "sender_host_address", "192.0.2.1");
	p = script("ev", "[ \"$sender_host_address\" = 192.0.2.1 ] || exit 9;"
	    " [ \"${event_data-unset}\" = \"\" ] || exit 8;"
	    " case $event_name in tcp:connect) exit 4;; msg:complete) exit 0;;"
	    " esac; exit 7");
	assert_int_equal(hook_event(p, "msg:complete", NULL, &base, 5000,
	    NULL), 0);
	assert_int_equal(hook_event(p, "tcp:connect", "", &base, 5000, &r),
	    4);
	assert_int_equal(r.status, HOOK_EXITED);
	hook_result_free(&r);
	/* The caller's env is not changed. */
	assert_null(hook_env_get(&base, "event_name"));

	/* event_data reaches the hook, multi-line too. */
	p = script("ev2", "[ \"$event_name\" = smtp:connect ] && "
	    "[ \"$event_data\" = \"$(printf '220-a\\n220 b')\" ]");
	assert_int_equal(hook_event(p, "smtp:connect", "220-a\n220 b", NULL,
	    5000, NULL), 0);
	assert_int_equal(hook_event(p, "smtp:connect", "220 c", NULL, 5000,
	    NULL), 1);

	/* Not run, killed, timed out: -1. */
	assert_int_equal(hook_event(tpath("nope"), "tcp:close", "", NULL,
	    5000, NULL), -1);
	p = script("ev3", "sleep 10");
	assert_int_equal(hook_event(p, "tcp:connect", "", NULL, 100, &r),
	    -1);
	assert_int_equal(r.status, HOOK_TIMEDOUT);
	hook_result_free(&r);
	hook_env_free(&base);
}

static void
test_parse(void **state)
{
	struct hook_output o;

	(void)state;
	assert_int_equal(hook_output_parse("", 0, &o), 0);
	assert_int_equal(o.code, 0);
	assert_null(o.reply_why);
	assert_null(o.headers);
	hook_output_free(&o);

	assert_int_equal(hook_output_parse("\r\n\r\n", 4, &o), 0);
	assert_null(o.reply_why);
	assert_null(o.headers_why);
	assert_null(o.headers);
	hook_output_free(&o);

	assert_int_equal(hook_output_parse("550 5.1.1", 9, &o), 0);
	assert_int_equal(o.code, 550);
	assert_string_equal(o.enhanced, "5.1.1");
	assert_string_equal(o.text, "");
	hook_output_free(&o);

	/* Not an enhanced code: kept as text. */
	assert_int_equal(hook_output_parse("550 5.1.1000 x\n", 15, &o), 0);
	assert_string_equal(o.enhanced, "");
	assert_string_equal(o.text, "5.1.1000 x");
	hook_output_free(&o);
	assert_int_equal(hook_output_parse("550 5.1.1x\n", 11, &o), 0);
	assert_string_equal(o.enhanced, "");
	hook_output_free(&o);
	assert_int_equal(hook_output_parse("550 5.999.999 x\n", 16, &o), 0);
	assert_string_equal(o.enhanced, "5.999.999");
	hook_output_free(&o);

	assert_int_equal(hook_output_parse("550 a\0b\n", 8, &o), 0);
	assert_int_equal(o.code, 0);
	assert_non_null(o.reply_why);
	assert_non_null(o.headers_why);
	hook_output_free(&o);

	assert_string_equal(hook_stage_name(HOOK_STAGE_PRDR), "prdr");
	assert_string_equal(hook_verdict_name(HOOK_DISCARD), "discard");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_exec_failure),
		cmocka_unit_test(test_reply_override),
		cmocka_unit_test(test_reply_refused),
		cmocka_unit_test(test_reply_multiline),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_headers_invalid),
		cmocka_unit_test(test_timeout_group),
		cmocka_unit_test(test_background_left),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_stdin),
		cmocka_unit_test(test_stderr),
		cmocka_unit_test(test_err_to_out_cwd),
		cmocka_unit_test(test_env_exact),
		cmocka_unit_test(test_fds),
		cmocka_unit_test(test_signals_reset),
		cmocka_unit_test(test_sigchld),
		cmocka_unit_test(test_eintr),
		cmocka_unit_test(test_event),
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
