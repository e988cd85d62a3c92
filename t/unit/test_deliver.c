/* Unit tests for lib/deliver: real directories, files, locks held by
 * other processes and real programs run by the pipe destination.
 *
 * With DELIVER_DISK_DIR set (t/0870-deliver-durability.t: a 256 KiB
 * tmpfs in a private mount namespace) the full-disk group runs instead:
 * a message bigger than the free space must leave nothing behind. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deliver.h"
#include "diag.h"
#include "mbox.h"

static char base[512];	/* this test's scratch directory */

static const char MSG[] =
    "Received: from x by y; Thu, 1 Jan 2026 00:00:00 +0000\n"
    "From: a@example.org\n"
    "Subject: test\n"
    "\n"
    "From the start\n"
    ">From quoted once\n"
    ">>From twice\n"
    "From\n"
    "Fro\n"
    " From not at the start\n"
    ">>>>>Fromage\n"
    "last line\n";

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_DP)
		return rmdir(p);
	return unlink(p);
}

static void
rm_rf(const char *p)
{
	(void)nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "%s/deliver-test.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(base) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rm_rf(base);
	return 0;
}

static const char *
P(const char *fmt, ...)
{
	static char buf[4][PATH_MAX];
	static int k;
	char tail[PATH_MAX - 600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tail, sizeof(tail), fmt, ap);
	va_end(ap);
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", base, tail);
	return buf[k];
}

/* A spool file holding s[0..n), open read-only, its offset moved away
 * from 0 on purpose (deliver must not depend on it). */
static int
spool_at(const char *path, const char *s, size_t n)
{
	int fd;

	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
	assert_int_equal(write(fd, s, n), (ssize_t)n);
	close(fd);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	lseek(fd, n > 7 ? 7 : 0, SEEK_SET);
	return fd;
}

static int
spool(const char *s, size_t n)
{
	return spool_at(P("spool"), s, n);
}

static char *
slurp(const char *path, size_t *len)
{
	char *b = NULL;

	if (slurp_path(path, &b, len) != 0)
		fail_msg("%s: %s", path, strerror(errno));
	return b;
}

/* Entries of dir (no . and ..); the last one's name in name. */
static int
count_dir(const char *dir, char *name, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (name)
			snprintf(name, size, "%s", e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static const char *
script(const char *name, const char *body)
{
	const char *path = P("%s", name);
	FILE *fp;

	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "#!/bin/sh\n%s\n", body);
	fclose(fp);
	chmod(path, 0755);
	return path;
}

static struct deliver *
mk(const struct deliver_conf *conf, const char *spec1, const char *spec2)
{
	struct deliver *d;
	char *err = NULL;

	assert_non_null(d = deliver_new(conf));
	if (deliver_add(d, spec1, &err) == -1)
		fail_msg("%s: %s", spec1, err);
	if (spec2 && deliver_add(d, spec2, &err) == -1)
		fail_msg("%s: %s", spec2, err);
	return d;
}

static const struct deliver_rcpt R1[] = {
	{ "bob@Example.COM", "bob", "Example.COM" },
	{ "alice@example.com", "alice", "example.com" },
	{ "bob@example.com", "bob", "example.com" },
};

static enum deliver_status
run(struct deliver *d, int fd, const struct deliver_rcpt *r, size_t n,
    unsigned flags, struct deliver_result *res)
{
	struct deliver_msg m = { fd, "sender@example.org", r, n, "id-1",
	    flags };

	return deliver_run(d, &m, res);
}

static void
expect(const struct deliver_result *r, enum deliver_status st, int code,
    const char *esc)
{
	if (r->status != st || r->code != code || strcmp(r->esc, esc) != 0)
		fail_msg("got %d %d %s %s [%s], want %d %d %s", r->status,
		    r->code, r->esc, r->text, r->log, st, code, esc);
	/* Reply texts never show where things are on the server. */
	assert_null(strstr(r->text, base));
	assert_null(strchr(r->text, '/'));
}

/* ---- parsing ---- */

static void
test_parse(void **state)
{
	static const char *const bad[] = {
		"maildir:relative/dir", "mbox:", "smtp:host",
		"maildir:/x/%{user}", "maildir:/x/%{domain", "pipe:bin/cat",
		"pipe:", "pipe:/nonexistent/prog", "pipe:/bin/cat %{rcpt}",
		"maildir:/x\n",
	};
	struct deliver *d;
	char *err = NULL, spec[DELIVER_MAX_SPEC + 16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(d = deliver_parse(bad[i], &err));
		assert_non_null(err);
		free(err);
		err = NULL;
	}
	assert_non_null(d = deliver_parse("maildir:/srv/%{domain}/%{local_part}"
	    "/Maildir", &err));
	deliver_free(d);
	assert_non_null(d = deliver_parse("mbox:/var/mail/%{rcpt}%x", &err));
	deliver_free(d);
	assert_non_null(d = deliver_parse("pipe:/bin/cat  -u\t-", &err));
	deliver_free(d);
	/* Too many words, too long, too many destinations. */
	snprintf(spec, sizeof(spec), "pipe:/bin/cat");
	for (i = 0; i < DELIVER_MAX_ARGS; i++)
		strcat(spec, " x");
	assert_null(deliver_parse(spec, &err));
	free(err);
	memset(spec, 'a', sizeof(spec) - 1);
	memcpy(spec, "mbox:/", 6);
	spec[sizeof(spec) - 1] = '\0';
	assert_null(deliver_parse(spec, &err));
	free(err);
	assert_non_null(d = deliver_new(NULL));
	for (i = 0; i < DELIVER_MAX_DEST; i++)
		assert_int_equal(deliver_add(d, "mbox:/x", &err), 0);
	assert_int_equal(deliver_add(d, "mbox:/x", &err), -1);
	free(err);
	assert_int_equal(deliver_count(d), DELIVER_MAX_DEST);
	deliver_free(d);
}

/* ---- maildir ---- */

static void
check_maildir_file(const char *dir, const char *want, size_t wlen)
{
	char name[512], re[512];
	const char *path;
	struct stat st;
	regex_t rx;
	size_t len;
	char *got;

	assert_int_equal(count_dir(P("%s/new", dir), name, sizeof(name)), 1);
	assert_int_equal(count_dir(P("%s/tmp", dir), NULL, 0), 0);
	assert_int_equal(count_dir(P("%s/cur", dir), NULL, 0), 0);
	snprintf(re, sizeof(re), "^[0-9]+\\.M[0-9]{6}P%ldQ[0-9]+R[0-9a-f]{8}"
	    "\\.mx\\\\057\\\\072\\\\054x\\.test,S=%zu$", (long)getpid(), wlen);
	assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
	if (regexec(&rx, name, 0, NULL, 0) != 0)
		fail_msg("maildir name %s !~ %s", name, re);
	regfree(&rx);
	path = P("%s/new/%s", dir, name);
	got = slurp(path, &len);
	assert_int_equal(len, wlen);
	assert_memory_equal(got, want, wlen);
	free(got);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(P("%s/new", dir), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
}

static const struct deliver_conf HOSTCONF = { .hostname = "mx/:,x.test" };

static void
test_maildir(void **state)
{
	struct deliver_result res[3];
	struct deliver *d;
	char spec[PATH_MAX + 16], *rp;
	int fd = spool(MSG, sizeof(MSG) - 1);
	off_t at = lseek(fd, 0, SEEK_CUR);

	(void)state;
	/* DIR is created: its parent exists. */
	snprintf(spec, sizeof(spec), "maildir:%s/Maildir", base);
	d = mk(&HOSTCONF, spec, NULL);
	assert_int_equal(run(d, fd, R1, 3, 0, res), DELIVER_OK);
	expect(&res[0], DELIVER_OK, 250, "2.0.0");
	expect(&res[2], DELIVER_OK, 250, "2.0.0");
	assert_non_null(strstr(res[0].log, "/Maildir/new/"));
	/* One copy for all three. */
	check_maildir_file("Maildir", MSG, sizeof(MSG) - 1);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), at);
	rm_rf(P("Maildir"));

	/* With Return-Path. */
	assert_int_equal(run(d, fd, R1, 1, DELIVER_RETURN_PATH, res),
	    DELIVER_OK);
	assert_true(asprintf(&rp, "Return-Path: <sender@example.org>\n%s",
	    MSG) > 0);
	check_maildir_file("Maildir", rp, strlen(rp));
	free(rp);
	deliver_free(d);

	/* A missing parent is temporary; the path is in the log only. */
	snprintf(spec, sizeof(spec), "maildir:%s/no/such/Maildir", base);
	d = mk(NULL, spec, NULL);
	assert_int_equal(run(d, fd, R1, 1, 0, res), DELIVER_TEMP);
	expect(&res[0], DELIVER_TEMP, 451, "4.3.0");
	assert_non_null(strstr(res[0].log, "/no/such/Maildir"));
	assert_non_null(strstr(res[0].log, "No such file"));
	deliver_free(d);
	close(fd);
}

/* Many deliveries in one second get different names. */
static void
test_maildir_names(void **state)
{
	struct deliver_result res[1];
	struct deliver *d;
	char spec[PATH_MAX + 16];
	int fd = spool(MSG, sizeof(MSG) - 1), i;

	(void)state;
	snprintf(spec, sizeof(spec), "maildir:%s/M", base);
	d = mk(NULL, spec, NULL);
	for (i = 0; i < 200; i++)
		assert_int_equal(run(d, fd, R1, 1, 0, res), DELIVER_OK);
	assert_int_equal(count_dir(P("M/new"), NULL, 0), 200);
	assert_int_equal(count_dir(P("M/tmp"), NULL, 0), 0);
	deliver_free(d);
	close(fd);
}

static void
test_maildir_subst(void **state)
{
	static const struct deliver_rcpt r[] = {
		{ "bob@Example.COM", "bob", "Example.COM" },
		{ "alice@example.com", "alice", "example.com" },
		{ "bob@example.com", "bob", "example.com" },
		{ "../x@example.com", "../x", "example.com" },
		{ "Carol@EXAMPLE.com", "Carol", "EXAMPLE.com" },
	};
	struct deliver_result res[5];
	struct deliver *d;
	char spec[PATH_MAX + 64];
	int fd = spool(MSG, sizeof(MSG) - 1);

	(void)state;
	assert_int_equal(mkdir(P("example.com"), 0755), 0);
	snprintf(spec, sizeof(spec), "maildir:%s/%%{domain}/%%{local_part}",
	    base);
	d = mk(&HOSTCONF, spec, NULL);
	/* Some refused for good, none temporarily: permanent. */
	assert_int_equal(run(d, fd, r, 5, 0, res), DELIVER_PERM);
	expect(&res[0], DELIVER_OK, 250, "2.0.0");
	expect(&res[1], DELIVER_OK, 250, "2.0.0");
	expect(&res[2], DELIVER_OK, 250, "2.0.0");
	expect(&res[3], DELIVER_PERM, 550, "5.1.1");
	expect(&res[4], DELIVER_OK, 250, "2.0.0");
	/* bob twice (case of the domain aside): one copy. */
	check_maildir_file("example.com/bob", MSG, sizeof(MSG) - 1);
	check_maildir_file("example.com/alice", MSG, sizeof(MSG) - 1);
	check_maildir_file("example.com/Carol", MSG, sizeof(MSG) - 1);
	assert_int_equal(count_dir(P("example.com"), NULL, 0), 3);
	assert_int_equal(count_dir(base, NULL, 0), 2);	/* spool, example.com */
	deliver_free(d);

	/* %{rcpt}: the domain part lowercased. */
	snprintf(spec, sizeof(spec), "maildir:%s/%%{rcpt}", base);
	d = mk(&HOSTCONF, spec, NULL);
	assert_int_equal(run(d, fd, r + 4, 1, 0, res), DELIVER_OK);
	check_maildir_file("Carol@example.com", MSG, sizeof(MSG) - 1);
	deliver_free(d);
	close(fd);
}

static void
test_unsafe(void **state)
{
	static const char *const badv[] = { "", ".", "..", ".hidden", "a/b",
	    "/", "a\nb", "a\tb", "x\x7f", "\x01" };
	static const char *const goodv[] = { "a", "a.b", "a..", "J\xc3\xb6rg",
	    "a b", "a\\b", "a\"b", "-x" };
	struct deliver_rcpt r;
	struct deliver_result res;
	struct deliver *d;
	char *err = NULL, longv[300];
	size_t i;

	(void)state;
	assert_non_null(d = deliver_parse("mbox:/var/mail/%{local_part}",
	    &err));
	for (i = 0; i < sizeof(badv) / sizeof(badv[0]); i++) {
		r.address = "x@y";
		r.local_part = badv[i];
		r.domain = "y";
		assert_int_equal(deliver_check_rcpt(d, &r, &res), -1);
		expect(&res, DELIVER_PERM, 550, "5.1.1");
	}
	r.local_part = NULL;
	assert_int_equal(deliver_check_rcpt(d, &r, &res), -1);
	memset(longv, 'a', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	r.local_part = longv;
	assert_int_equal(deliver_check_rcpt(d, &r, &res), -1);
	longv[DELIVER_MAX_VALUE] = '\0';
	assert_int_equal(deliver_check_rcpt(d, &r, &res), 0);
	for (i = 0; i < sizeof(goodv) / sizeof(goodv[0]); i++) {
		r.local_part = goodv[i];
		assert_int_equal(deliver_check_rcpt(d, &r, &res), 0);
		expect(&res, DELIVER_OK, 250, "2.0.0");
	}
	deliver_free(d);
	/* Without %{..} anything goes. */
	assert_non_null(d = deliver_parse("mbox:/var/mail/all", &err));
	r.local_part = "../../etc";
	assert_int_equal(deliver_check_rcpt(d, &r, &res), 0);
	deliver_free(d);
}

/* fn(arg) in a child process (other limits, another user). */
static void
in_child(void (*fn)(void *), void *arg)
{
	int st;
	pid_t pid;

	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A delivery in a child; its result comes back through a file. */
struct job {
	struct deliver	*d;
	int		 fd;
	const char	*out;		/* where the child writes res */
	rlim_t		 fsize;		/* RLIMIT_FSIZE, 0: none */
	int		 setuid;
};

static void
job_run(void *p)
{
	struct job *j = p;
	struct deliver_result res;
	struct rlimit rl;
	int fd;

	fd = open(j->out, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	if (j->fsize) {
		signal(SIGXFSZ, SIG_IGN);
		rl.rlim_cur = rl.rlim_max = j->fsize;
		if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
			_exit(2);
	}
	if (j->setuid && (setgid(65534) == -1 || setuid(65534) == -1))
		_exit(3);
	run(j->d, j->fd, R1, 1, 0, &res);
	if (write(fd, &res, sizeof(res)) != (ssize_t)sizeof(res))
		_exit(4);
	close(fd);
}

static void
child_job(struct job *j, struct deliver_result *res)
{
	int fd;

	j->out = P("job.res");
	in_child(job_run, j);
	assert_true((fd = open(j->out, O_RDONLY)) >= 0);
	assert_int_equal(read(fd, res, sizeof(*res)), (ssize_t)sizeof(*res));
	close(fd);
	unlink(j->out);
}

/* Permission denied: a user who may not write the maildir. */
static void
test_eacces(void **state)
{
	struct deliver_result res;
	struct job j = { 0 };
	char spec[PATH_MAX + 16];

	(void)state;
	if (geteuid() != 0)
		skip();
	chmod(base, 0755);
	j.fd = spool(MSG, sizeof(MSG) - 1);
	assert_int_equal(mkdir(P("M"), 0755), 0);
	assert_int_equal(mkdir(P("M/tmp"), 0755), 0);
	assert_int_equal(mkdir(P("M/new"), 0755), 0);
	assert_int_equal(mkdir(P("M/cur"), 0755), 0);
	snprintf(spec, sizeof(spec), "maildir:%s/M", base);
	j.d = mk(NULL, spec, NULL);
	j.setuid = 1;
	child_job(&j, &res);
	expect(&res, DELIVER_TEMP, 451, "4.3.0");
	assert_non_null(strstr(res.log, "create tmp file: Permission denied"));
	deliver_free(j.d);
	/* And the mbox: its dotlock cannot be made. */
	snprintf(spec, sizeof(spec), "mbox:%s/M/mbox", base);
	j.d = mk(NULL, spec, NULL);
	child_job(&j, &res);
	expect(&res, DELIVER_TEMP, 451, "4.3.0");
	assert_non_null(strstr(res.log, "dotlock: Permission denied"));
	deliver_free(j.d);
	assert_int_equal(count_dir(P("M"), NULL, 0), 3);	/* tmp new cur */
	close(j.fd);
}

/* A write that fails half way (RLIMIT_FSIZE: EFBIG) leaves nothing:
 * no file in maildir, the mbox at its old size and content. */
static void
test_write_fails(void **state)
{
	struct deliver_result res;
	struct job j = { 0 };
	char spec[PATH_MAX + 16], *big, *before, *after;
	size_t n = 200000, blen, alen;
	int fd;

	(void)state;
	assert_non_null(big = malloc(n));
	memset(big, 'x', n);
	memcpy(big, MSG, sizeof(MSG) - 1);
	big[n - 1] = '\n';
	j.fd = spool(big, n);
	j.fsize = 100000;
	snprintf(spec, sizeof(spec), "maildir:%s/M", base);
	j.d = mk(NULL, spec, NULL);
	child_job(&j, &res);
	expect(&res, DELIVER_TEMP, 451, "4.3.0");
	assert_non_null(strstr(res.log, "too large"));
	assert_int_equal(count_dir(P("M/new"), NULL, 0), 0);
	assert_int_equal(count_dir(P("M/tmp"), NULL, 0), 0);
	deliver_free(j.d);

	fd = open(P("mbox"), O_WRONLY | O_CREAT, 0600);
	assert_int_equal(write(fd, "From x Thu Jan  1 00:00:00 2026\nold\n\n",
	    37), 37);
	close(fd);
	before = slurp(P("mbox"), &blen);
	snprintf(spec, sizeof(spec), "mbox:%s/mbox", base);
	j.d = mk(NULL, spec, NULL);
	child_job(&j, &res);
	expect(&res, DELIVER_TEMP, 451, "4.3.0");
	after = slurp(P("mbox"), &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	assert_int_equal(access(P("mbox.lock"), F_OK), -1);
	free(after);
	free(before);
	deliver_free(j.d);
	close(j.fd);
	free(big);
}

/* ---- mbox ---- */

static void
check_from_line(const char *line, const char *sender)
{
	char re[256];
	regex_t rx;

	snprintf(re, sizeof(re), "^From %s (Mon|Tue|Wed|Thu|Fri|Sat|Sun) "
	    "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123][0-9] "
	    "[0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}$", sender);
	assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
	if (regexec(&rx, line, 0, NULL, 0) != 0)
		fail_msg("From_ line '%s' !~ %s", line, re);
	regfree(&rx);
}

struct seen {
	const char	*want[4];
	size_t		 wlen[4];
	const char	*sender[4];
	int		 n;
};

static int
seen_one(const struct mbox_msg *m, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < 4);
	check_from_line(m->from_line, s->sender[s->n]);
	assert_int_equal(m->len, s->wlen[s->n]);
	assert_memory_equal(m->data, s->want[s->n], m->len);
	s->n++;
	return 0;
}

static void
test_mbox(void **state)
{
	static const char nolf[] = "Subject: x\n\nno final line end";
	struct deliver_result res[3];
	struct deliver_msg m;
	struct deliver *d;
	struct seen s = { 0 };
	char spec[PATH_MAX + 16], *got, *ref;
	struct stat st;
	size_t len, rlen;
	FILE *fp;
	int fd = spool(MSG, sizeof(MSG) - 1), fd2;

	(void)state;
	snprintf(spec, sizeof(spec), "mbox:%s/mbox", base);
	d = mk(NULL, spec, NULL);
	assert_int_equal(run(d, fd, R1, 2, 0, res), DELIVER_OK);
	expect(&res[1], DELIVER_OK, 250, "2.0.0");
	assert_int_equal(stat(P("mbox"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(access(P("mbox.lock"), F_OK), -1);

	/* The same bytes as lib/mbox's writer, given the same From_ line. */
	got = slurp(P("mbox"), &len);
	assert_non_null(strchr(got, '\n'));
	*strchr(got, '\n') = '\0';
	check_from_line(got, "sender@example\\.org");
	assert_non_null(fp = open_memstream(&ref, &rlen));
	assert_int_equal(mbox_write(fp, got, MSG, sizeof(MSG) - 1), 0);
	fclose(fp);
	got[strlen(got)] = '\n';
	assert_int_equal(len, rlen);
	assert_memory_equal(got, ref, len);
	assert_non_null(strstr(got, "\n>From the start\n>>From quoted once\n"
	    ">>>From twice\nFrom\nFro\n From not at the start\n>>>>>Fromage\n"
	    "last line\n\n"));
	free(ref);
	free(got);

	/* The null sender, a message without a final line end. */
	fd2 = spool_at(P("spool2"), nolf, sizeof(nolf) - 1);
	m = (struct deliver_msg){ fd2, "", R1, 1, "id-2", 0 };
	assert_int_equal(deliver_run(d, &m, res), DELIVER_OK);
	/* An mbox whose last message lacks its empty line. */
	fd = open(P("mbox"), O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "From x Thu Jan  1 00:00:00 2026\nabc", 35),
	    35);
	close(fd);
	fd = spool(MSG, sizeof(MSG) - 1);
	assert_int_equal(run(d, fd, R1, 1, DELIVER_RETURN_PATH, res),
	    DELIVER_OK);

	got = slurp(P("mbox"), &len);
	s.want[0] = MSG;
	s.wlen[0] = sizeof(MSG) - 1;
	s.sender[0] = "sender@example\\.org";
	s.want[1] = "Subject: x\n\nno final line end\n";
	s.wlen[1] = sizeof(nolf);
	s.sender[1] = "MAILER-DAEMON";
	s.want[2] = "abc\n";
	s.wlen[2] = 4;
	s.sender[2] = "x";
	assert_int_equal(asprintf((char **)&s.want[3],
	    "Return-Path: <sender@example.org>\n%s", MSG) > 0, 1);
	s.wlen[3] = strlen(s.want[3]);
	s.sender[3] = "sender@example\\.org";
	assert_int_equal(mbox_split_mem(got, len, MBOX_RD, seen_one, &s), 4);
	assert_non_null(strstr(got, "\nabc\n\nFrom sender"));
	free((char *)s.want[3]);
	free(got);
	deliver_free(d);
	close(fd);
	close(fd2);
}

/* The quoting state machine against lib/mbox's writer, on random text
 * cut into random pieces. */
static void
test_quote_random(void **state)
{
	static const char alpha[] = ">>>From \n\nxFr";
	char in[600], *out, *ref, *p;
	struct deliver_quote q;
	size_t n, off, k, got, rlen, i;
	unsigned seed = 12345;
	FILE *fp;
	int round;

	(void)state;
	assert_non_null(out = malloc(2 * sizeof(in) + 16));
	for (round = 0; round < 20000; round++) {
		n = (size_t)rand_r(&seed) % sizeof(in);
		for (i = 0; i < n; i++)
			in[i] = alpha[rand_r(&seed) % (sizeof(alpha) - 1)];
		if (n > 0)
			in[n - 1] = '\n';
		memset(&q, 0, sizeof(q));
		for (off = 0, got = 0; off < n; off += k) {
			k = 1 + (size_t)rand_r(&seed) % 9;
			if (k > n - off)
				k = n - off;
			got += deliver_mbox_quote(&q, in + off, k, out + got);
			assert_true(got <= 2 * (off + k) + 8);
		}
		got += deliver_mbox_quote_end(&q, out + got);
		assert_non_null(fp = open_memstream(&ref, &rlen));
		assert_int_equal(mbox_write(fp, "From x", in, n), 0);
		fclose(fp);
		/* ref: "From x\n", the quoted text, "\n". */
		p = ref + 7;
		assert_int_equal(got, rlen - 8);
		assert_memory_equal(out, p, got);
		free(ref);
	}
	free(out);
}

/* A lock held by another process: we wait, then give up (temporary);
 * nothing is written. */
static void
test_mbox_locks(void **state)
{
	const struct deliver_conf conf = { .lock_timeout = 1 };
	struct deliver_result res[1];
	struct timespec t0, t1;
	struct timeval old[2] = { { 0, 0 }, { 0, 0 } };
	struct deliver *d;
	struct flock fl;
	char spec[PATH_MAX + 16], c;
	struct stat st;
	int fd = spool(MSG, sizeof(MSG) - 1), mfd, p[2], q[2], status;
	double took;
	pid_t pid;

	(void)state;
	snprintf(spec, sizeof(spec), "mbox:%s/mbox", base);
	d = mk(&conf, spec, NULL);
	assert_true((mfd = open(P("mbox"), O_RDWR | O_CREAT, 0600)) >= 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(mfd, F_SETLK, &fl) == -1)
			_exit(1);
		(void)!write(p[1], "l", 1);
		(void)!read(q[0], &c, 1);	/* until told */
		_exit(0);
	}
	close(p[1]);
	close(q[0]);
	assert_int_equal(read(p[0], &c, 1), 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(run(d, fd, R1, 1, 0, res), DELIVER_TEMP);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	expect(&res[0], DELIVER_TEMP, 451, "4.2.0");
	assert_non_null(strstr(res[0].log, "fcntl lock: timed out"));
	took = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(took >= 0.9 && took < 3);
	assert_int_equal(fstat(mfd, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(access(P("mbox.lock"), F_OK), -1);
	/* Released: it goes in. */
	(void)!write(q[1], "g", 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(run(d, fd, R1, 1, 0, res), DELIVER_OK);
	close(p[0]);
	close(q[1]);
	close(mfd);

	/* A fresh dotlock is someone's: wait, give up, leave it alone. */
	assert_true((mfd = open(P("mbox.lock"), O_WRONLY | O_CREAT, 0600)) >=
	    0);
	close(mfd);
	assert_int_equal(run(d, fd, R1, 1, 0, res), DELIVER_TEMP);
	expect(&res[0], DELIVER_TEMP, 451, "4.2.0");
	assert_non_null(strstr(res[0].log, "dotlock: timed out"));
	assert_int_equal(access(P("mbox.lock"), F_OK), 0);
	/* A stale one (older than lock_stale) is broken. */
	old[0].tv_sec = old[1].tv_sec = time(NULL) - DELIVER_LOCK_STALE - 10;
	assert_int_equal(utimes(P("mbox.lock"), old), 0);
	assert_int_equal(run(d, fd, R1, 1, 0, res), DELIVER_OK);
	assert_int_equal(access(P("mbox.lock"), F_OK), -1);
	assert_int_equal(stat(P("mbox"), &st), 0);
	assert_true(st.st_size > 2 * (off_t)sizeof(MSG));
	deliver_free(d);
	close(fd);
}

/* Symlinks, hard links and non-files are refused, not followed. */
static void
test_mbox_refuse(void **state)
{
	struct deliver_result res[1];
	struct deliver *d;
	char spec[PATH_MAX + 16];
	int fd = spool(MSG, sizeof(MSG) - 1), t;

	(void)state;
	t = open(P("target"), O_WRONLY | O_CREAT, 0600);
	close(t);
	assert_int_equal(symlink(P("target"), P("sym")), 0);
	assert_int_equal(link(P("target"), P("hard")), 0);
	assert_int_equal(mkfifo(P("fifo"), 0600), 0);
	snprintf(spec, sizeof(spec), "mbox:%s/sym", base);
	d = mk(NULL, spec, NULL);
	assert_int_equal(run(d, fd, R1, 1, 0, res), DELIVER_TEMP);
	assert_non_null(strstr(res[0].log, "symbolic link"));
	deliver_free(d);
	snprintf(spec, sizeof(spec), "mbox:%s/hard", base);
	d = mk(NULL, spec, NULL);
	assert_int_equal(run(d, fd, R1, 1, 0, res), DELIVER_TEMP);
	assert_non_null(strstr(res[0].log, "one link"));
	deliver_free(d);
	snprintf(spec, sizeof(spec), "mbox:%s/fifo", base);
	d = mk(NULL, spec, NULL);
	assert_int_equal(run(d, fd, R1, 1, 0, res), DELIVER_TEMP);
	assert_non_null(strstr(res[0].log, "regular file"));
	deliver_free(d);
	assert_int_equal(access(P("sym.lock"), F_OK), -1);
	close(fd);
}

/* ---- pipe ---- */

static void
pipe_case(const char *body, unsigned timeout, enum deliver_status st,
    int code, const char *esc, const char *logpart)
{
	const struct deliver_conf conf = { .pipe_timeout = timeout };
	struct deliver_result res[2];
	struct deliver *d;
	char spec[PATH_MAX + 16];
	int fd = spool(MSG, sizeof(MSG) - 1);

	snprintf(spec, sizeof(spec), "pipe:%s", script("prog", body));
	d = mk(&conf, spec, NULL);
	assert_int_equal(run(d, fd, R1, 2, 0, res), st);
	expect(&res[0], st, code, esc);
	expect(&res[1], st, code, esc);
	if (strstr(res[0].log, logpart) == NULL)
		fail_msg("log '%s' lacks '%s'", res[0].log, logpart);
	deliver_free(d);
	close(fd);
}

static void
test_pipe_status(void **state)
{
	struct timespec t0, t1;

	(void)state;
	pipe_case("cat >/dev/null; exit 0", 5, DELIVER_OK, 250, "2.0.0",
	    "prog");
	pipe_case("echo 'mailbox locked' >&2; exit 75", 5, DELIVER_TEMP, 451,
	    "4.3.0", "exit 75 (temporary): mailbox locked");
	pipe_case("exit 73", 5, DELIVER_TEMP, 451, "4.3.0", "exit 73");
	pipe_case("echo 'no such user'; exit 1", 5, DELIVER_PERM, 550,
	    "5.3.0", "exit 1: no such user");
	pipe_case("exit 67", 5, DELIVER_PERM, 550, "5.3.0", "exit 67");
	pipe_case("kill -SEGV $$", 5, DELIVER_TEMP, 451, "4.3.0",
	    "killed by signal 11");
	/* Does not read its stdin: no pipe, no EPIPE, delivered. */
	pipe_case("exit 0", 5, DELIVER_OK, 250, "2.0.0", "prog");
	/* Chatty: the output is drained, only its start kept. */
	pipe_case("head -c 3000000 /dev/zero | tr '\\0' x; exit 0", 5,
	    DELIVER_OK, 250, "2.0.0", "prog");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pipe_case("echo started >&2; sleep 30", 1, DELIVER_TEMP, 451,
	    "4.3.0", "timed out, process group killed: started");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 5);
}

/* On a timeout the whole process group goes, grandchildren too. */
static void
test_pipe_timeout_group(void **state)
{
	char buf[64], stat_path[64], *s;
	size_t len;
	long pid;
	FILE *fp;
	int i, gone = 0;

	(void)state;
	pipe_case("sleep 30 & echo $! > \"$0.bgpid\"; wait", 1, DELIVER_TEMP, 451,
	    "4.3.0", "process group killed");
	s = slurp(P("prog.bgpid"), &len);
	pid = strtol(s, NULL, 10);
	free(s);
	assert_true(pid > 1);
	snprintf(stat_path, sizeof(stat_path), "/proc/%ld/stat", pid);
	/* Dead: gone, or a zombie waiting for a reaper. */
	for (i = 0; i < 100 && !gone; i++) {
		if ((fp = fopen(stat_path, "r")) == NULL) {
			gone = 1;
			break;
		}
		if (fgets(buf, sizeof(buf), fp) && (s = strrchr(buf, ')')) &&
		    (s[2] == 'Z' || s[2] == 'X'))
			gone = 1;
		fclose(fp);
		if (!gone)
			usleep(20000);
	}
	assert_true(gone);
}

static char *
envfile(const char *name, const char *key)
{
	char *s, *p, *e, *v;
	size_t len, n = strlen(key);

	s = slurp(P("%s", name), &len);
	for (p = s; p && *p; p = e ? e + 1 : NULL) {
		e = strchr(p, '\n');
		if (strncmp(p, key, n) == 0 && p[n] == '=') {
			v = strndup(p + n + 1, e ? (size_t)(e - p - n - 1) :
			    strlen(p + n + 1));
			free(s);
			return v;
		}
	}
	free(s);
	return NULL;
}

static void
env_is(const char *file, const char *key, const char *want)
{
	char *v = envfile(file, key);

	if (want == NULL) {
		if (v != NULL)
			fail_msg("%s: %s=%s, want it unset", file, key, v);
		return;
	}
	if (v == NULL || strcmp(v, want) != 0)
		fail_msg("%s: %s=%s, want %s", file, key, v ? v : "(unset)",
		    want);
	free(v);
}

static void
test_pipe_env(void **state)
{
	const char *prog;
	struct deliver_result res[3];
	struct deliver *d;
	struct sigaction sa;
	sigset_t set, oset;
	char spec[PATH_MAX + 16], *s, *names, *line;
	size_t len;
	int fd = spool(MSG, sizeof(MSG) - 1), extra, n;
	off_t at = lseek(fd, 0, SEEK_CUR);

	(void)state;
	/* A caller that ignores SIGPIPE, blocks SIGUSR1 and has an fd
	 * open without close-on-exec: none of it reaches the program. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &oset);
	assert_true((extra = open("/dev/null", O_RDONLY)) >= 3);
	prog = script("prog",
	    "n=$(cat /proc/$$/stat | cut -d' ' -f5)\n"
	    "[ \"$n\" = $$ ] && echo PGRP=own >> \"$OUT.env\"\n"
	    "grep -E '^Sig(Blk|Ign)' /proc/$$/status | tr -d ':\\t' | "
	    "sed 's/^\\(Sig...\\)/\\1=/' >> \"$OUT.env\"\n"
	    "[ -e /proc/$$/fd/$EXTRA ] && echo EXTRAFD=open >> \"$OUT.env\"\n"
	    "for f in 0 1 2 3 4 5 6 7 8 9; do [ -e /proc/$$/fd/$f ] && "
	    "printf '%s ' $f; done >> \"$OUT.fds\"\n"
	    "cat > \"$OUT.$RUN\"\n"
	    "env > \"$OUT.$RUN.env\"\n"
	    "pwd > \"$OUT.pwd\"\n");
	(void)prog;
	/* The program learns where to write from a wrapper: its
	 * environment is ours to fix, so OUT comes in argv. */
	s = NULL;
	assert_true(asprintf(&s, "OUT=%s/out RUN=${RECIPIENT:-all} EXTRA=%d "
	    "exec %s/prog", base, extra, base) > 0);
	script("wrap", s);
	free(s);
	snprintf(spec, sizeof(spec), "pipe:/bin/sh %s/wrap", base);
	d = mk(NULL, spec, NULL);
	assert_int_equal(run(d, fd, R1, 2, 0, res), DELIVER_OK);
	s = slurp(P("out.all"), &len);
	assert_int_equal(len, sizeof(MSG) - 1);
	assert_memory_equal(s, MSG, len);
	free(s);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), at);
	env_is("out.all.env", "SENDER", "sender@example.org");
	env_is("out.all.env", "RECIPIENTS",
	    "bob@Example.COM alice@example.com");
	env_is("out.all.env", "MESSAGE_ID", "id-1");
	env_is("out.all.env", "PATH", DELIVER_PATH);
	env_is("out.all.env", "RECIPIENT", NULL);
	env_is("out.all.env", "LOCAL_PART", NULL);
	env_is("out.all.env", "HOME", NULL);
	env_is("out.env", "PGRP", "own");
	env_is("out.env", "SigBlk", "0000000000000000");
	/* But glibc's own 32 and 33, which its sigaction cannot reset. */
	s = envfile("out.env", "SigIgn");
	assert_non_null(s);
	assert_true((strtoull(s, NULL, 16) & ~0x180000000ULL) == 0);
	free(s);
	env_is("out.env", "EXTRAFD", NULL);
	s = slurp(P("out.fds"), &len);
	assert_string_equal(s, "0 1 2 ");
	free(s);
	s = slurp(P("out.pwd"), &len);
	assert_string_equal(s, "/\n");
	free(s);
	/* Exactly these variables (sh adds PWD, and OUT RUN EXTRA). */
	names = slurp(P("out.all.env"), &len);
	for (n = 0, line = strtok(names, "\n"); line;
	    line = strtok(NULL, "\n"))
		if (strncmp(line, "PWD=", 4) && strncmp(line, "OUT=", 4) &&
		    strncmp(line, "RUN=", 4) && strncmp(line, "EXTRA=", 6) &&
		    strncmp(line, "SHLVL=", 6) && strncmp(line, "_=", 2))
			n++;
	assert_int_equal(n, 4);
	free(names);

	/* Per recipient: one run each, with RECIPIENT, LOCAL_PART,
	 * DOMAIN. */
	assert_int_equal(run(d, fd, R1, 2, DELIVER_PER_RCPT, res), DELIVER_OK);
	env_is("out.bob@Example.COM.env", "RECIPIENT", "bob@Example.COM");
	env_is("out.bob@Example.COM.env", "LOCAL_PART", "bob");
	env_is("out.bob@Example.COM.env", "DOMAIN", "Example.COM");
	env_is("out.bob@Example.COM.env", "RECIPIENTS", "bob@Example.COM");
	env_is("out.alice@example.com.env", "LOCAL_PART", "alice");
	s = slurp(P("out.alice@example.com"), &len);
	assert_int_equal(len, sizeof(MSG) - 1);
	free(s);
	/* The null sender is an empty SENDER. */
	{
		struct deliver_msg m = { fd, "", R1 + 1, 1, "id-3", 0 };

		assert_int_equal(deliver_run(d, &m, res), DELIVER_OK);
		env_is("out.alice@example.com.env", "SENDER", "");
	}
	deliver_free(d);
	close(extra);
	close(fd);
	sigprocmask(SIG_SETMASK, &oset, NULL);
}

/* Per recipient, each run decides for its own recipient. */
static void
test_pipe_per_rcpt(void **state)
{
	struct deliver_result res[3];
	struct deliver *d;
	char spec[PATH_MAX + 16];
	int fd = spool(MSG, sizeof(MSG) - 1);

	(void)state;
	snprintf(spec, sizeof(spec), "pipe:%s", script("prog",
	    "case $LOCAL_PART in alice) exit 75;; bob) exit 0;; esac; exit 1"));
	d = mk(NULL, spec, NULL);
	assert_int_equal(run(d, fd, R1, 3, DELIVER_PER_RCPT, res),
	    DELIVER_TEMP);
	expect(&res[0], DELIVER_OK, 250, "2.0.0");
	expect(&res[1], DELIVER_TEMP, 451, "4.3.0");
	expect(&res[2], DELIVER_OK, 250, "2.0.0");
	deliver_free(d);
	close(fd);
}

/* Killed from outside while it reads the message: temporary. */
static void
test_pipe_killed(void **state)
{
	struct deliver_result res[1];
	struct deliver *d;
	char spec[PATH_MAX + 16], *s;
	size_t len;
	int fd = spool(MSG, sizeof(MSG) - 1), i, st;
	pid_t killer, victim = 0;

	(void)state;
	snprintf(spec, sizeof(spec), "pipe:%s", script("prog",
	    "cd \"${0%/*}\"; head -c 20 > part; echo $$ > pid.tmp; "
	    "mv pid.tmp pid; sleep 30; cat >> part"));
	d = mk(NULL, spec, NULL);
	assert_true((killer = fork()) >= 0);
	if (killer == 0) {
		for (i = 0; i < 500; i++) {
			if (access(P("pid"), F_OK) == 0) {
				s = slurp(P("pid"), &len);
				victim = (pid_t)strtol(s, NULL, 10);
				kill(victim, SIGKILL);
				_exit(0);
			}
			usleep(10000);
		}
		_exit(1);
	}
	assert_int_equal(run(d, fd, R1, 1, 0, res), DELIVER_TEMP);
	assert_int_equal(waitpid(killer, &st, 0), killer);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* Its sleep may have outlived it (unless the kill came before
	 * the fork): the group is the program's own. */
	s = slurp(P("pid"), &len);
	victim = (pid_t)strtol(s, NULL, 10);
	free(s);
	assert_true(victim > 1);
	assert_true(kill(-victim, SIGKILL) == 0 || errno == ESRCH);
	expect(&res[0], DELIVER_TEMP, 451, "4.3.0");
	assert_non_null(strstr(res[0].log, "killed by signal 9"));
	deliver_free(d);
	close(fd);
}

/* Gone between start-up and delivery: temporary, never a bounce. */
static void
test_pipe_exec_fails(void **state)
{
	struct deliver_result res[1];
	struct deliver *d;
	char spec[PATH_MAX + 16];
	int fd = spool(MSG, sizeof(MSG) - 1);

	(void)state;
	snprintf(spec, sizeof(spec), "pipe:%s", script("prog", "exit 0"));
	d = mk(NULL, spec, NULL);
	unlink(P("prog"));
	assert_int_equal(run(d, fd, R1, 1, 0, res), DELIVER_TEMP);
	expect(&res[0], DELIVER_TEMP, 451, "4.3.0");
	assert_non_null(strstr(res[0].log, "execve: No such file"));
	deliver_free(d);
	close(fd);
}

/* ---- lists ---- */

static void
test_list(void **state)
{
	struct deliver_result res[2], sum;
	struct deliver *d;
	char md[PATH_MAX + 16], mb[PATH_MAX + 16], pp[PATH_MAX + 16];
	int fd = spool(MSG, sizeof(MSG) - 1);

	(void)state;
	snprintf(md, sizeof(md), "maildir:%s/M", base);
	snprintf(mb, sizeof(mb), "mbox:%s/mbox", base);
	/* Both take it. */
	d = mk(NULL, md, mb);
	assert_int_equal(run(d, fd, R1, 2, 0, res), DELIVER_OK);
	assert_non_null(strstr(res[0].log, "maildir "));
	assert_non_null(strstr(res[0].log, "; mbox "));
	assert_int_equal(count_dir(P("M/new"), NULL, 0), 1);
	deliver_free(d);
	/* Stored, then refused for good: temporary (a retry may make a
	 * duplicate, a bounce would be a lie). */
	snprintf(pp, sizeof(pp), "pipe:%s", script("prog", "exit 1"));
	d = mk(NULL, md, pp);
	assert_int_equal(run(d, fd, R1, 2, 0, res), DELIVER_TEMP);
	expect(&res[0], DELIVER_TEMP, 451, "4.3.0");
	assert_non_null(strstr(res[0].log, "exit 1"));
	assert_int_equal(count_dir(P("M/new"), NULL, 0), 2);
	deliver_free(d);
	/* Refused first: permanent, and the maildir is not tried. */
	d = mk(NULL, pp, md);
	assert_int_equal(run(d, fd, R1, 2, 0, res), DELIVER_PERM);
	expect(&res[1], DELIVER_PERM, 550, "5.3.0");
	assert_int_equal(count_dir(P("M/new"), NULL, 0), 2);
	deliver_free(d);

	/* The whole-message answer. */
	res[0].status = DELIVER_OK;
	res[1].status = DELIVER_OK;
	assert_int_equal(deliver_summary(res, 2, &sum), DELIVER_OK);
	res[1].status = DELIVER_PERM;
	res[1].code = 550;
	assert_int_equal(deliver_summary(res, 2, &sum), DELIVER_PERM);
	assert_int_equal(sum.code, 550);
	res[0].status = DELIVER_TEMP;
	res[0].code = 451;
	assert_int_equal(deliver_summary(res, 2, &sum), DELIVER_TEMP);
	assert_int_equal(sum.code, 451);
	assert_int_equal(deliver_summary(res, 0, &sum), DELIVER_OK);
	assert_int_equal(sum.code, 250);
	close(fd);
}

/* ---- a full disk (DELIVER_DISK_DIR, a small tmpfs) ---- */

static char disk[PATH_MAX];

static int
disk_setup(void **state)
{
	(void)state;
	if (setup(state) == -1)
		return -1;
	snprintf(disk, sizeof(disk), "%s/d.XXXXXX", getenv("DELIVER_DISK_DIR"));
	return mkdtemp(disk) ? 0 : -1;
}

static int
disk_teardown(void **state)
{
	rm_rf(disk);
	return teardown(state);
}

static char *
big_message(size_t n)
{
	char *b = malloc(n);
	size_t i;

	assert_non_null(b);
	for (i = 0; i < n; i++)
		b[i] = i % 72 == 71 ? '\n' : "From xyz"[i % 8];
	memcpy(b, MSG, sizeof(MSG) - 1);
	b[n - 1] = '\n';
	return b;
}

static void
test_disk_maildir(void **state)
{
	struct deliver_result res[1];
	struct deliver *d;
	char spec[PATH_MAX + 16], *big = big_message(400000);
	int fd = spool(big, 400000), small;

	(void)state;
	snprintf(spec, sizeof(spec), "maildir:%s/M", disk);
	d = mk(NULL, spec, NULL);
	assert_int_equal(run(d, fd, R1, 1, 0, res), DELIVER_TEMP);
	expect(&res[0], DELIVER_TEMP, 451, "4.3.1");
	assert_non_null(strstr(res[0].log, "No space left on device"));
	{
		char p1[PATH_MAX + 8];

		snprintf(p1, sizeof(p1), "%s/M/tmp", disk);
		assert_int_equal(count_dir(p1, NULL, 0), 0);
		snprintf(p1, sizeof(p1), "%s/M/new", disk);
		assert_int_equal(count_dir(p1, NULL, 0), 0);
	}
	/* The space is back: a small one goes in. */
	small = spool_at(P("small"), MSG, sizeof(MSG) - 1);
	assert_int_equal(run(d, small, R1, 1, 0, res), DELIVER_OK);
	deliver_free(d);
	close(fd);
	close(small);
	free(big);
}

static void
test_disk_mbox(void **state)
{
	struct deliver_result res[1];
	struct deliver *d;
	char spec[PATH_MAX + 16], path[PATH_MAX + 8], cmd[3 * PATH_MAX];
	char *big = big_message(400000);
	int fd = spool(big, 400000), small, m, i;

	(void)state;
	snprintf(path, sizeof(path), "%s/mbox", disk);
	snprintf(spec, sizeof(spec), "mbox:%s", path);
	d = mk(NULL, spec, NULL);
	small = spool_at(P("small"), MSG, sizeof(MSG) - 1);
	for (i = 0; i < 3; i++)
		assert_int_equal(run(d, small, R1, 1, 0, res), DELIVER_OK);
	/* A copy outside the tmpfs to compare with. */
	snprintf(cmd, sizeof(cmd), "cp %s %s/mbox.before", path, base);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(run(d, fd, R1, 1, 0, res), DELIVER_TEMP);
	expect(&res[0], DELIVER_TEMP, 451, "4.3.1");
	assert_non_null(strstr(res[0].log, "No space left on device"));
	snprintf(cmd, sizeof(cmd), "cmp %s %s/mbox.before", path, base);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s.lock", path);
	assert_int_equal(access(cmd, F_OK), -1);
	/* And it still takes a small one after. */
	assert_int_equal(run(d, small, R1, 1, 0, res), DELIVER_OK);
	assert_true((m = open(path, O_RDONLY)) >= 0);
	assert_true(lseek(m, 0, SEEK_END) > 4 * (off_t)sizeof(MSG));
	close(m);
	deliver_free(d);
	close(fd);
	close(small);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(test_maildir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_maildir_names, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_maildir_subst, setup,
		    teardown),
		cmocka_unit_test(test_unsafe),
		cmocka_unit_test_setup_teardown(test_eacces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_fails, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mbox, setup, teardown),
		cmocka_unit_test(test_quote_random),
		cmocka_unit_test_setup_teardown(test_mbox_locks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mbox_refuse, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pipe_status, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pipe_timeout_group, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pipe_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipe_per_rcpt, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pipe_killed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pipe_exec_fails, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	};
	const struct CMUnitTest disk_tests[] = {
		cmocka_unit_test_setup_teardown(test_disk_maildir, disk_setup,
		    disk_teardown),
		cmocka_unit_test_setup_teardown(test_disk_mbox, disk_setup,
		    disk_teardown),
	};

	if (getenv("DELIVER_DISK_DIR") != NULL)
		return cmocka_run_group_tests_name("deliver full disk",
		    disk_tests, NULL, NULL);
	return cmocka_run_group_tests_name("deliver", tests, NULL, NULL);
}
