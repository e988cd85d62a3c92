/* deliver: maildir, mbox and pipe delivery.  See deliver.h.
 *
 * Every step that can fail is checked and undone: a maildir delivery
 * that fails leaves nothing in tmp/ or new/, an mbox delivery that fails
 * truncates the file back to the size it had under the lock.  A step
 * that cannot be undone (the tmp name left after the message reached
 * new/) is reported in the log and does not change the result.
 */
#include <sys/types.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "clock.h"
#include "deliver.h"
#include "hook.h"
#include "out.h"

#define IOBUF		65536	/* one read of the spool */
#define PIPE_CAPTURE	512	/* octets of a pipe's output kept for the log */
#define NAME_TRIES	8	/* maildir names tried before giving up */

enum kind { D_MAILDIR, D_MBOX, D_PIPE };

struct dest {
	enum kind	 kind;
	char		*path;		/* DIR or FILE, maybe with %{..} */
	int		 templ;		/* path holds %{..} */
	char		*argbuf;	/* pipe: the split arguments */
	char		*argv[DELIVER_MAX_ARGS + 1];
};

struct deliver {
	struct dest	 dest[DELIVER_MAX_DEST];
	size_t		 n;
	unsigned	 pipe_timeout, lock_timeout, lock_stale;
	char		*host;		/* made safe for maildir names */
	char		*path;
};

/* Process-wide: every maildir name this process makes differs in Q. */
static unsigned long maildir_seq;

/* ---- results ---- */

/* Control characters (and, for reply text, anything not ASCII) become
 * '?': the reply goes to the client, the log line to a log. */
static void
vsetf(char *dst, size_t size, int ascii, const char *fmt, va_list ap)
{
	unsigned char *p;

	vsnprintf(dst, size, fmt, ap);
	for (p = (unsigned char *)dst; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f || (ascii && *p >= 0x80))
			*p = '?';
}

static void __attribute__((format(printf, 5, 6)))
res_set(struct deliver_result *r, enum deliver_status st, int code,
    const char *esc, const char *textfmt, ...)
{
	va_list ap;

	r->status = st;
	r->code = code;
	snprintf(r->esc, sizeof(r->esc), "%s", esc);
	va_start(ap, textfmt);
	vsetf(r->text, sizeof(r->text), 1, textfmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 3)))
res_log(struct deliver_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsetf(r->log, sizeof(r->log), 0, fmt, ap);
	va_end(ap);
}

static void
res_ok(struct deliver_result *r)
{
	res_set(r, DELIVER_OK, 250, "2.0.0", "OK");
	r->log[0] = '\0';
}

/* A temporary failure from errno: what the client may know of it. */
static void
res_errno(struct deliver_result *r, int err)
{
	switch (err) {
	case ENOSPC:
		res_set(r, DELIVER_TEMP, 451, "4.3.1",
		    "Insufficient system storage, try again later");
		break;
	case EDQUOT:
		res_set(r, DELIVER_TEMP, 451, "4.2.2",
		    "Mailbox full, try again later");
		break;
	default:
		res_set(r, DELIVER_TEMP, 451, "4.3.0",
		    "Local delivery failed (%s), try again later",
		    strerror(err));
		break;
	}
}

/* ---- the spec ---- */

static int
is_var(const char *p, const char **name, size_t *len)
{
	static const char *const vars[] = { "local_part", "domain", "rcpt" };
	size_t i, n;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		n = strlen(vars[i]);
		if (strncmp(p + 2, vars[i], n) == 0 && p[2 + n] == '}') {
			*name = vars[i];
			*len = n + 3;
			return 1;
		}
	}
	return 0;
}

/* 1 when path holds %{..}, 0 when not, -1 for an unknown or unclosed
 * one (a '%' not followed by '{' is literal). */
static int
check_template(const char *path)
{
	const char *p, *name;
	size_t len;
	int n = 0;

	for (p = path; (p = strstr(p, "%{")) != NULL; p += len) {
		if (!is_var(p, &name, &len))
			return -1;
		n = 1;
	}
	return n;
}

static char *
errf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = NULL;
	va_end(ap);
	return s;
}

static int
parse_pipe(struct dest *t, const char *cmd, char **err)
{
	char *p;
	size_t n = 0;

	if (strstr(cmd, "%{") != NULL) {
		*err = errf("pipe: %%{..} is not substituted in commands; "
		    "the program gets LOCAL_PART, DOMAIN, RECIPIENT in its "
		    "environment");
		return -1;
	}
	if ((t->argbuf = strdup(cmd)) == NULL) {
		*err = errf("out of memory");
		return -1;
	}
	for (p = strtok(t->argbuf, " \t"); p != NULL; p = strtok(NULL, " \t")) {
		if (n == DELIVER_MAX_ARGS) {
			*err = errf("pipe: more than %d words", DELIVER_MAX_ARGS);
			return -1;
		}
		t->argv[n++] = p;
	}
	t->argv[n] = NULL;
	if (n == 0 || t->argv[0][0] != '/') {
		*err = errf("pipe: PROG must be an absolute path");
		return -1;
	}
	if (access(t->argv[0], X_OK) == -1) {
		*err = errf("pipe: %s: %s", t->argv[0], strerror(errno));
		return -1;
	}
	return 0;
}

static void
dest_clear(struct dest *t)
{
	free(t->path);
	free(t->argbuf);
	memset(t, 0, sizeof(*t));
}

int
deliver_add(struct deliver *d, const char *spec, char **err)
{
	struct dest *t;
	const char *arg;
	int tp;

	*err = NULL;
	if (d->n == DELIVER_MAX_DEST) {
		*err = errf("more than %d destinations", DELIVER_MAX_DEST);
		return -1;
	}
	if (strlen(spec) > DELIVER_MAX_SPEC || strpbrk(spec, "\r\n")) {
		*err = errf("destination too long or holds a line break");
		return -1;
	}
	t = &d->dest[d->n];
	memset(t, 0, sizeof(*t));
	if (strncmp(spec, "maildir:", 8) == 0) {
		t->kind = D_MAILDIR;
		arg = spec + 8;
	} else if (strncmp(spec, "mbox:", 5) == 0) {
		t->kind = D_MBOX;
		arg = spec + 5;
	} else if (strncmp(spec, "pipe:", 5) == 0) {
		t->kind = D_PIPE;
		if (parse_pipe(t, spec + 5, err) == -1)
			goto fail;
		d->n++;
		return 0;
	} else {
		*err = errf("%s: not maildir:DIR, mbox:FILE or pipe:PROG ARGS",
		    spec);
		return -1;
	}
	if (arg[0] != '/') {
		*err = errf("%s: the path must be absolute", spec);
		return -1;
	}
	if ((tp = check_template(arg)) == -1) {
		*err = errf("%s: unknown %%{..}: only %%{local_part}, "
		    "%%{domain}, %%{rcpt}", spec);
		return -1;
	}
	t->templ = tp;
	if ((t->path = strdup(arg)) == NULL) {
		*err = errf("out of memory");
		goto fail;
	}
	d->n++;
	return 0;
fail:
	if (*err == NULL)
		*err = errf("out of memory");
	dest_clear(t);
	return -1;
}

/* The maildir spec: '/' and ':' in the host name become \057 and \072;
 * ',' too (\054), since ",S=" follows it. */
static char *
safe_host(const char *h)
{
	struct out_buf b = { 0 };

	if (h == NULL || *h == '\0')
		h = "localhost";
	for (; *h != '\0'; h++) {
		if (*h == '/' || *h == ':' || *h == ',' ||
		    (unsigned char)*h < 0x21 || *h == 0x7f)
			out_buf_printf(&b, "\\%03o", (unsigned char)*h);
		else
			out_buf_add(&b, h, 1);
	}
	if (b.oom) {
		out_buf_free(&b);
		return NULL;
	}
	return b.p;
}

struct deliver *
deliver_new(const struct deliver_conf *conf)
{
	static const struct deliver_conf zero;
	struct deliver *d;
	char host[256];

	if (conf == NULL)
		conf = &zero;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->pipe_timeout = conf->pipe_timeout ? conf->pipe_timeout :
	    DELIVER_PIPE_TIMEOUT;
	d->lock_timeout = conf->lock_timeout ? conf->lock_timeout :
	    DELIVER_LOCK_TIMEOUT;
	d->lock_stale = conf->lock_stale ? conf->lock_stale :
	    DELIVER_LOCK_STALE;
	if (conf->hostname == NULL) {
		if (gethostname(host, sizeof(host)) == -1)
			host[0] = '\0';
		host[sizeof(host) - 1] = '\0';
	}
	d->host = safe_host(conf->hostname ? conf->hostname : host);
	d->path = strdup(conf->path ? conf->path : DELIVER_PATH);
	if (d->host == NULL || d->path == NULL) {
		deliver_free(d);
		return NULL;
	}
	return d;
}

struct deliver *
deliver_parse(const char *spec, char **err)
{
	struct deliver *d;

	if ((d = deliver_new(NULL)) == NULL) {
		*err = errf("out of memory");
		return NULL;
	}
	if (deliver_add(d, spec, err) == -1) {
		deliver_free(d);
		return NULL;
	}
	return d;
}

void
deliver_free(struct deliver *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		dest_clear(&d->dest[i]);
	free(d->host);
	free(d->path);
	free(d);
}

size_t
deliver_count(const struct deliver *d)
{
	return d->n;
}

/* ---- %{..} ---- */

static int
value_ok(const char *v, size_t n)
{
	size_t i;

	if (n == 0 || n > DELIVER_MAX_VALUE || v[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (v[i] == '/' || (unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return 0;
	return 1;
}

/* templ with r's values, in out[size].  0; -1 when a value is unsafe
 * (*bad names it); -2 when the result is too long. */
static int
expand(const char *templ, const struct deliver_rcpt *r, char *out,
    size_t size, const char **bad)
{
	const char *p = templ, *q, *name, *v, *at;
	size_t len, vn, o = 0, i, lc;

	while (*p != '\0') {
		if ((q = strstr(p, "%{")) == NULL)
			q = p + strlen(p);
		if ((size_t)(q - p) >= size - o)
			return -2;
		memcpy(out + o, p, (size_t)(q - p));
		o += (size_t)(q - p);
		if (*q == '\0')
			break;
		if (!is_var(q, &name, &len))
			return -2;	/* checked at parse time */
		if (strcmp(name, "local_part") == 0) {
			v = r->local_part;
			lc = (size_t)-1;
		} else if (strcmp(name, "domain") == 0) {
			v = r->domain;
			lc = 0;
		} else {
			v = r->address;
			at = v ? strrchr(v, '@') : NULL;
			lc = at ? (size_t)(at - v) : (size_t)-1;
		}
		vn = v ? strlen(v) : 0;
		if (!value_ok(v, vn)) {
			*bad = name;
			return -1;
		}
		if (vn >= size - o)
			return -2;
		for (i = 0; i < vn; i++)
			out[o + i] = i >= lc && v[i] >= 'A' && v[i] <= 'Z' ?
			    (char)(v[i] - 'A' + 'a') : v[i];
		o += vn;
		p = q + len;
	}
	out[o] = '\0';
	return 0;
}

static int
dest_path(const struct dest *t, const struct deliver_rcpt *r, char *out,
    size_t size, struct deliver_result *res)
{
	const char *bad = "";

	switch (expand(t->path, r, out, size, &bad)) {
	case 0:
		return 0;
	case -1:
		res_set(res, DELIVER_PERM, 550, "5.1.1",
		    "Mailbox name not allowed here");
		res_log(res, "%s: %%{%s} of <%s> is empty, too long, holds "
		    "'/' or a control character or starts with '.'",
		    t->path, bad, r->address ? r->address : "");
		return -1;
	default:
		res_set(res, DELIVER_PERM, 550, "5.1.1",
		    "Mailbox name too long");
		res_log(res, "%s: path for <%s> too long", t->path,
		    r->address ? r->address : "");
		return -1;
	}
}

int
deliver_check_rcpt(const struct deliver *d, const struct deliver_rcpt *r,
    struct deliver_result *res)
{
	char path[PATH_MAX];
	size_t i;

	res_ok(res);
	for (i = 0; i < d->n; i++)
		if (d->dest[i].templ &&
		    dest_path(&d->dest[i], r, path, sizeof(path), res) == -1)
			return -1;
	return 0;
}

/* ---- writing ---- */

static int
fsync_dir(const char *path)
{
	int fd, rc, e;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* The directory part of path ("/" for "/x"), in out[size]. */
static void
parent_of(const char *path, char *out, size_t size)
{
	const char *s = strrchr(path, '/');
	size_t n = s == NULL ? 0 : (size_t)(s - path);

	if (n == 0)
		snprintf(out, size, "/");
	else
		snprintf(out, size, "%.*s", (int)n, path);
}

/* "Return-Path: <sender>\n" in buf when asked for; its length.  A
 * control character in the sender (the session should have refused it)
 * becomes '_' rather than a header line of its own; a sender too long
 * for buf (SMTP's limit is 256) gets no Return-Path. */
static size_t
return_path(const struct deliver_msg *m, char *buf, size_t size)
{
	size_t i;
	int n;

	if (!(m->flags & DELIVER_RETURN_PATH))
		return 0;
	n = snprintf(buf, size, "Return-Path: <%s>\n", m->sender);
	if (n < 0 || (size_t)n >= size)
		return 0;
	for (i = 14; i < (size_t)n - 1; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '_';
	return (size_t)n;
}

/* ---- maildir ---- */

static void
maildir_name(const struct deliver *d, off_t size, char *out, size_t n)
{
	struct timeval tv;
	unsigned int rnd;

	gettimeofday(&tv, NULL);
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (unsigned int)tv.tv_usec ^ (unsigned int)getpid();
	snprintf(out, n, "%lld.M%06ldP%ldQ%luR%08x.%s,S=%lld",
	    (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(),
	    ++maildir_seq, rnd, d->host, (long long)size);
}

/* DIR, DIR/tmp, DIR/new, DIR/cur: created 0700 where missing, and the
 * directories holding new entries fsync'd so the entries last. */
static int
maildir_prepare(const char *dir, int *dfd, const char **what)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	char parent[PATH_MAX];
	size_t i;
	int made = 0;

	*what = "mkdir";
	if (mkdir(dir, 0700) == 0) {
		parent_of(dir, parent, sizeof(parent));
		if (fsync_dir(parent) == -1)
			return -1;
	} else if (errno != EEXIST)
		return -1;
	*what = "open";
	if ((*dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	*what = "mkdir";
	for (i = 0; i < 3; i++) {
		if (mkdirat(*dfd, sub[i], 0700) == 0)
			made = 1;
		else if (errno != EEXIST)
			return -1;
	}
	*what = "fsync";
	if (made && fsync(*dfd) == -1)
		return -1;
	return 0;
}

/* new/NAME from tmp/NAME: link, which never replaces anything; where the
 * file system has no links, renameat2 without replacing.  0, or -1 with
 * errno; *moved is 1 when tmp/NAME is gone already. */
static int
maildir_move(int dfd, const char *tmp, const char *new, int *moved)
{
	*moved = 0;
	if (linkat(dfd, tmp, dfd, new, 0) == 0)
		return 0;
	if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS &&
	    errno != EMLINK)
		return -1;
	if (renameat2(dfd, tmp, dfd, new, RENAME_NOREPLACE) == -1)
		return -1;
	*moved = 1;
	return 0;
}

static void
maildir_deliver(const struct deliver *d, const char *dir,
    const struct deliver_msg *m, struct deliver_result *r)
{
	char name[512], tmp[600], new[600], rp[600];
	struct stat st;
	const char *what = "fstat";
	size_t rplen;
	off_t size;
	int dfd = -1, fd = -1, nfd = -1, i, moved = 0, linked = 0, e;

	rplen = return_path(m, rp, sizeof(rp));
	if (fstat(m->fd, &st) == -1)
		goto fail;
	size = st.st_size + (off_t)rplen;
	if (maildir_prepare(dir, &dfd, &what) == -1)
		goto fail;
	what = "create tmp file";
	for (i = 0; i < NAME_TRIES && fd == -1; i++) {
		maildir_name(d, size, name, sizeof(name));
		snprintf(tmp, sizeof(tmp), "tmp/%s", name);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, 0600);
		if (fd == -1 && errno != EEXIST)
			goto fail;
	}
	if (fd == -1)
		goto fail;
	what = "write";
	if (rplen > 0 && write_all(fd, rp, rplen) == -1)
		goto undo;
	if (copy_range(m->fd, 0, st.st_size, fd) == -1)
		goto undo;
	what = "fsync";
	if (fsync(fd) == -1)
		goto undo;
	what = "close";
	e = close(fd);
	fd = -1;
	if (e == -1)
		goto undo;
	what = "link into new";
	snprintf(new, sizeof(new), "new/%s", name);
	for (i = 0; i < NAME_TRIES; i++) {
		if (maildir_move(dfd, tmp, new, &moved) == 0)
			break;
		if (errno != EEXIST)
			goto undo;
		maildir_name(d, size, name, sizeof(name));
		snprintf(new, sizeof(new), "new/%s", name);
	}
	if (i == NAME_TRIES)
		goto undo;
	linked = 1;
	what = "fsync new";
	if ((nfd = openat(dfd, "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || fsync(nfd) == -1)
		goto undo;
	close(nfd);
	res_ok(r);
	res_log(r, "maildir %s/%s", dir, new);
	if (!moved && unlinkat(dfd, tmp, 0) == -1)
		res_log(r, "maildir %s/%s (unlink %s: %s)", dir, new, tmp,
		    strerror(errno));
	close(dfd);
	return;
undo:
	/* Nothing stays behind: the client keeps the message. */
	e = errno;
	if (fd != -1)
		close(fd);
	if (nfd != -1)
		close(nfd);
	if (linked)
		unlinkat(dfd, new, 0);
	if (!moved)
		unlinkat(dfd, tmp, 0);
	errno = e;
fail:
	e = errno;
	if (dfd != -1)
		close(dfd);
	res_errno(r, e);
	res_log(r, "maildir %s: %s: %s", dir, what, strerror(e));
}

/* ---- mbox ---- */

/* Sleep a growing step (10 ms .. 500 ms), never past deadline; 0 when
 * the deadline has passed. */
static int
lock_wait(long long deadline, long *step)
{
	struct timespec ts;
	long long left = deadline - clock_ms();

	if (left <= 0)
		return 0;
	if (*step > left)
		*step = (long)left;
	ts.tv_sec = *step / 1000;
	ts.tv_nsec = (*step % 1000) * 1000000L;
	nanosleep(&ts, NULL);
	*step = *step * 2 > 500 ? 500 : *step * 2;
	return 1;
}

/* FILE.lock with O_EXCL.  One older than lock_stale is a dead holder's
 * and is removed (if it is still the same file: two breakers must not
 * remove each other's fresh lock, although a small window remains, as
 * in procmail).  0; -1 with errno, ETIMEDOUT when the lock stayed. */
static int
dotlock(const struct deliver *d, const char *lock, long long deadline)
{
	struct stat st, st2;
	long step = 10;
	int fd;

	for (;;) {
		fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd != -1) {
			close(fd);
			return 0;
		}
		if (errno != EEXIST)
			return -1;
		if (lstat(lock, &st) == 0 &&
		    time(NULL) - st.st_mtime > (time_t)d->lock_stale &&
		    lstat(lock, &st2) == 0 && st2.st_ino == st.st_ino &&
		    st2.st_dev == st.st_dev) {
			if (unlink(lock) == -1 && errno != ENOENT)
				return -1;
			continue;
		}
		if (!lock_wait(deadline, &step)) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
}

static int
fcntl_lock(int fd, long long deadline)
{
	struct flock fl;
	long step = 10;

	for (;;) {
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(fd, F_SETLK, &fl) == 0)
			return 0;
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			return -1;
		if (!lock_wait(deadline, &step)) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
}

/* The mbox itself: not a symlink, a regular file with one link (Exim
 * refuses the others too: they are how a mailbox gets redirected). */
static int
mbox_open(const char *file, int *created)
{
	struct stat st;
	int fd, i;

	*created = 0;
	for (i = 0; i < 2; i++) {
		fd = open(file, O_RDWR | O_APPEND | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
		if (fd != -1 || errno != ENOENT)
			break;
		fd = open(file, O_RDWR | O_APPEND | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd != -1) {
			*created = 1;
			break;
		}
		if (errno != EEXIST)
			return -1;
	}
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

static const char *
from_date(char *buf, size_t size)
{
	static const char *const day[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = time(NULL);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	/* asctime's layout, in English whatever the locale. */
	snprintf(buf, size, "%s %s %2d %02d:%02d:%02d %d",
	    day[tm.tm_wday % 7], mon[tm.tm_mon % 12], tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
	return buf;
}

size_t
deliver_mbox_quote(struct deliver_quote *st, const char *in, size_t n,
    char *out)
{
	const char *end = in + n, *nl;
	char *o = out;
	char c;

	while (in < end) {
		if (st->mid) {
			nl = memchr(in, '\n', (size_t)(end - in));
			nl = nl ? nl + 1 : end;
			memcpy(o, in, (size_t)(nl - in));
			o += nl - in;
			in = nl;
			if (nl[-1] == '\n')
				st->mid = 0;
			continue;
		}
		c = *in++;
		if (st->k == 0 && c == '>') {
			*o++ = c;
			continue;
		}
		if (c == "From "[st->k]) {
			if (++st->k == 5) {
				memcpy(o, ">From ", 6);
				o += 6;
				st->k = 0;
				st->mid = 1;
			}
			continue;
		}
		memcpy(o, "From ", (size_t)st->k);
		o += st->k;
		st->k = 0;
		*o++ = c;
		st->mid = c != '\n';
	}
	return (size_t)(o - out);
}

size_t
deliver_mbox_quote_end(struct deliver_quote *st, char *out)
{
	size_t n = (size_t)st->k;

	memcpy(out, "From ", n);
	st->k = 0;
	st->mid = 0;
	return n;
}

/* What goes into the mbox after its old end: a separator if the last
 * message lacks its empty line, the From_ line, the quoted message, a
 * line end and the empty line. */
static int
mbox_append(int fd, off_t old, const struct deliver_msg *m, off_t size,
    const char **what)
{
	static char in[IOBUF], out[2 * IOBUF + 8];
	struct deliver_quote q = { 0, 0 };
	char tail[2], date[64], sender[300], head[1024];
	size_t rplen, i, n;
	off_t off = 0;
	ssize_t r;
	char last = '\n';

	*what = "read";
	n = 0;
	if (old > 0 && (r = pread_all(fd, tail, old >= 2 ? 2 : 1,
	    old >= 2 ? old - 2 : 0)) > 0)
		n = (size_t)r;
	head[0] = '\0';
	if (n > 0 && tail[n - 1] != '\n')
		strcat(head, "\n\n");
	else if (n == 2 && tail[0] != '\n')
		strcat(head, "\n");
	/* The sender is one word on the From_ line. */
	snprintf(sender, sizeof(sender), "%s",
	    m->sender[0] ? m->sender : "MAILER-DAEMON");
	for (i = 0; sender[i] != '\0'; i++)
		if ((unsigned char)sender[i] <= 0x20 || sender[i] == 0x7f)
			sender[i] = '_';
	n = strlen(head);
	snprintf(head + n, sizeof(head) - n, "From %s %s\n", sender,
	    from_date(date, sizeof(date)));
	n = strlen(head);
	rplen = return_path(m, head + n, sizeof(head) - n);
	*what = "write";
	if (write_all(fd, head, n + rplen) == -1)
		return -1;
	while (off < size) {
		*what = "read spool";
		if ((r = pread_all(m->fd, in, sizeof(in), off)) == -1)
			return -1;
		if (r == 0) {
			errno = EIO;	/* the spool shrank */
			return -1;
		}
		if (r > size - off)
			r = size - off;
		off += r;
		last = in[r - 1];
		n = deliver_mbox_quote(&q, in, (size_t)r, out);
		*what = "write";
		if (write_all(fd, out, n) == -1)
			return -1;
	}
	n = deliver_mbox_quote_end(&q, out);
	if (last != '\n')
		out[n++] = '\n';
	out[n++] = '\n';
	*what = "write";
	return write_all(fd, out, n);
}

static void
mbox_deliver(const struct deliver *d, const char *file,
    const struct deliver_msg *m, struct deliver_result *r)
{
	char lock[PATH_MAX], parent[PATH_MAX];
	const char *what = "fstat spool";
	long long deadline = clock_ms() + (long long)d->lock_timeout * 1000;
	struct stat st;
	int fd = -1, created = 0, locked = 0, e;
	off_t old = 0;

	if (fstat(m->fd, &st) == -1)
		goto fail;
	what = "dotlock";
	if ((size_t)snprintf(lock, sizeof(lock), "%s.lock", file) >=
	    sizeof(lock)) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	if (dotlock(d, lock, deadline) == -1)
		goto fail;
	locked = 1;
	what = "open";
	if ((fd = mbox_open(file, &created)) == -1)
		goto fail;
	what = "fcntl lock";
	if (fcntl_lock(fd, deadline) == -1)
		goto fail;
	/* The size under the lock is the one to come back to. */
	what = "fstat";
	{
		struct stat ms;

		if (fstat(fd, &ms) == -1)
			goto fail;
		old = ms.st_size;
	}
	if (mbox_append(fd, old, m, st.st_size, &what) == -1)
		goto undo;
	what = "fsync";
	if (fsync(fd) == -1)
		goto undo;
	parent_of(file, parent, sizeof(parent));
	what = "fsync directory";
	if (created && fsync_dir(parent) == -1)
		goto undo;
	/* After fsync close has nothing left to report (NFS flushes at
	 * fsync too); closing drops the fcntl lock, then the dotlock goes. */
	close(fd);
	unlink(lock);
	res_ok(r);
	res_log(r, "mbox %s", file);
	return;
undo:
	e = errno;
	/* No half message: back to the old end, made durable too. */
	if (ftruncate(fd, old) == -1 || fsync(fd) == -1) {
		res_errno(r, e);
		res_log(r, "mbox %s: %s: %s; truncating back to %lld: %s",
		    file, what, strerror(e), (long long)old, strerror(errno));
		close(fd);
		unlink(lock);
		return;
	}
	errno = e;
fail:
	e = errno;
	if (fd != -1)
		close(fd);
	if (locked)
		unlink(lock);
	if (e == ETIMEDOUT) {
		res_set(r, DELIVER_TEMP, 451, "4.2.0",
		    "Mailbox busy, try again later");
		res_log(r, "mbox %s: %s: timed out after %us", file, what,
		    d->lock_timeout);
		return;
	}
	res_errno(r, e);
	if (e == EPERM && strcmp(what, "open") == 0)
		res_log(r, "mbox %s: not a regular file with one link", file);
	else if (e == ELOOP && strcmp(what, "open") == 0)
		res_log(r, "mbox %s: is a symbolic link", file);
	else
		res_log(r, "mbox %s: %s: %s", file, what, strerror(e));
}

/* ---- pipe ---- */

/* The first line of the program's output, for the log. */
static const char *
first_line(struct hook_result *hr)
{
	char *nl;

	if (hr->out == NULL)		/* hook_run out of memory */
		return "";
	if ((nl = strchr(hr->out, '\n')) != NULL)
		*nl = '\0';
	return hr->out;
}

static void
pipe_result(const struct dest *t, struct hook_result *hr,
    struct deliver_result *r)
{
	const char *prog = t->argv[0], *said = first_line(hr);
	const char *sep = *said ? ": " : "";
	char what[128];
	int code = hr->code;

	switch (hr->status) {
	case HOOK_ERROR:
		hook_result_text(hr, what, sizeof(what));
		res_errno(r, code);
		res_log(r, "pipe %s: %s", prog, what);
		break;
	case HOOK_EXECFAIL:
		res_set(r, DELIVER_TEMP, 451, "4.3.0",
		    "Local delivery program unavailable, try again later");
		res_log(r, "pipe %s: execve: %s", prog, strerror(code));
		break;
	case HOOK_TIMEDOUT:
		res_set(r, DELIVER_TEMP, 451, "4.3.0",
		    "Local delivery timed out, try again later");
		res_log(r, "pipe %s: timed out, process group killed%s%s",
		    prog, sep, said);
		break;
	case HOOK_SIGNALED:
		res_set(r, DELIVER_TEMP, 451, "4.3.0",
		    "Local delivery program failed, try again later");
		res_log(r, "pipe %s: killed by signal %d%s%s", prog, code,
		    sep, said);
		break;
	default:
		if (code == 0) {
			res_ok(r);
			res_log(r, "pipe %s", prog);
		} else if (code == 73 || code == 75) {
			res_set(r, DELIVER_TEMP, 451, "4.3.0", "Local delivery "
			    "deferred (exit %d), try again later", code);
			res_log(r, "pipe %s: exit %d (temporary)%s%s", prog,
			    code, sep, said);
		} else {
			res_set(r, DELIVER_PERM, 550, "5.3.0",
			    "Local delivery refused (exit %d)", code);
			res_log(r, "pipe %s: exit %d%s%s", prog, code, sep,
			    said);
		}
		break;
	}
}

/* The environment of deliver.h for the recipients idx[0..n); one: the
 * run is that recipient's.  0, or -1 with errno (ENOMEM, E2BIG). */
static int
pipe_env(const struct deliver *d, const struct deliver_msg *m,
    const size_t *idx, size_t n, const struct deliver_rcpt *one,
    struct hook_env *e)
{
	struct out_buf all = { 0 };
	size_t i;
	int fail, err;

	for (i = 0; i < n; i++) {
		if (i > 0)
			out_buf_add(&all, " ", 1);
		out_buf_str(&all, m->rcpt[idx[i]].address);
	}
	fail = all.oom;
	fail |= hook_env_set(e, "PATH", d->path) == -1;
	fail |= hook_env_set(e, "SENDER", m->sender ? m->sender : "") == -1;
	fail |= hook_env_set(e, "RECIPIENTS", all.p ? all.p : "") == -1;
	fail |= hook_env_set(e, "MESSAGE_ID",
	    m->message_id ? m->message_id : "") == -1;
	if (one != NULL) {
		fail |= hook_env_set(e, "RECIPIENT", one->address) == -1;
		fail |= hook_env_set(e, "LOCAL_PART", one->local_part) == -1;
		fail |= hook_env_set(e, "DOMAIN", one->domain) == -1;
	}
	err = all.oom ? ENOMEM : errno;
	out_buf_free(&all);
	errno = err;
	return fail ? -1 : 0;
}

/* One run of the program for the recipients idx[0..n); single: they are
 * one recipient's run (RECIPIENT, LOCAL_PART, DOMAIN set). */
static void
pipe_deliver(const struct deliver *d, const struct dest *t,
    const struct deliver_msg *m, const size_t *idx, size_t n,
    struct deliver_result *r)
{
	const struct deliver_rcpt *one = n == 1 ? &m->rcpt[idx[0]] : NULL;
	struct hook_env env;
	struct hook_spec s;
	struct hook_result hr;
	char fdpath[64];
	int in, e;

	hook_env_init(&env);
	if (pipe_env(d, m, idx, n, one, &env) != 0) {
		e = errno;
		res_errno(r, e);
		res_log(r, "pipe %s: environment: %s", t->argv[0],
		    strerror(e));
		goto out;
	}
	/* A descriptor of its own at offset 0: a fresh open of the spool
	 * (Linux's /proc), else a dup rewound here (we only pread). */
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", m->fd);
	if ((in = open(fdpath, O_RDONLY | O_CLOEXEC)) == -1 &&
	    ((in = fcntl(m->fd, F_DUPFD_CLOEXEC, 3)) == -1 ||
	    lseek(in, 0, SEEK_SET) == -1)) {
		e = errno;
		res_errno(r, e);
		res_log(r, "pipe %s: dup: %s", t->argv[0], strerror(e));
		if (in != -1)
			close(in);
		goto out;
	}
	hook_spec_init(&s, t->argv[0]);
	s.argv = t->argv;
	s.envp = hook_env_vec(&env);
	s.in_fd = in;
	s.err_to_out = 1;
	s.cwd = "/";	/* not the daemon's directory (Exim: "/") */
	s.timeout_ms = d->pipe_timeout > UINT_MAX / 1000 ? UINT_MAX :
	    d->pipe_timeout * 1000;
	s.out_max = PIPE_CAPTURE - 1;
	(void)hook_run(&s, &hr);
	close(in);
	pipe_result(t, &hr, r);
	hook_result_free(&hr);
out:
	hook_env_free(&env);
}

/* ---- the list ---- */

/* r's outcome at one destination folded into res: a later destination's
 * log adds to the earlier ones' ("; "), a failure replaces the status; a
 * permanent one after an earlier store turns temporary (deliver.h). */
static void
fold(struct deliver_result *res, const struct deliver_result *r,
    int stored)
{
	char log[2 * DELIVER_LOG_MAX + 2];
	size_t n;

	n = (size_t)snprintf(log, sizeof(log), "%s%s%s", res->log,
	    res->log[0] && r->log[0] ? "; " : "", r->log);
	if (n >= sizeof(res->log))
		n = sizeof(res->log) - 1;
	if (r->status != DELIVER_OK) {
		*res = *r;
		if (r->status == DELIVER_PERM && stored)
			res_set(res, DELIVER_TEMP, 451, "4.3.0",
			    "Local delivery incomplete, try again later");
	}
	memcpy(res->log, log, n);
	res->log[n] = '\0';
}

static void
file_dest(const struct deliver *d, const struct dest *t,
    const struct deliver_msg *m, const size_t *idx, size_t n,
    struct deliver_result *out)
{
	char path[PATH_MAX], other[PATH_MAX];
	struct deliver_result dummy;
	size_t i, j;
	char *done;

	if (!t->templ) {
		if (t->kind == D_MAILDIR)
			maildir_deliver(d, t->path, m, &out[0]);
		else
			mbox_deliver(d, t->path, m, &out[0]);
		for (i = 1; i < n; i++)
			out[i] = out[0];
		return;
	}
	if ((done = calloc(n, 1)) == NULL) {
		for (i = 0; i < n; i++) {
			res_errno(&out[i], ENOMEM);
			res_log(&out[i], "%s: out of memory", t->path);
		}
		return;
	}
	for (i = 0; i < n; i++) {
		if (done[i])
			continue;
		done[i] = 1;
		if (dest_path(t, &m->rcpt[idx[i]], path, sizeof(path),
		    &out[i]) == -1)
			continue;
		if (t->kind == D_MAILDIR)
			maildir_deliver(d, path, m, &out[i]);
		else
			mbox_deliver(d, path, m, &out[i]);
		/* Recipients with the same mailbox share this copy. */
		for (j = i + 1; j < n; j++)
			if (!done[j] && dest_path(t, &m->rcpt[idx[j]], other,
			    sizeof(other), &dummy) == 0 &&
			    strcmp(path, other) == 0) {
				done[j] = 1;
				out[j] = out[i];
			}
	}
	free(done);
}

enum deliver_status
deliver_run(const struct deliver *d, const struct deliver_msg *msg,
    struct deliver_result *res)
{
	struct deliver_result sum, *tmp = NULL;
	struct deliver_msg mm = *msg, *m = &mm;
	size_t *idx = NULL, i, k, n;
	char *stored = NULL;

	if (mm.sender == NULL)
		mm.sender = "";
	if (mm.message_id == NULL)
		mm.message_id = "";
	for (i = 0; i < m->nrcpt; i++)
		res_ok(&res[i]);
	if (m->nrcpt == 0)
		return DELIVER_OK;
	idx = calloc(m->nrcpt, sizeof(*idx));
	tmp = calloc(m->nrcpt, sizeof(*tmp));
	stored = calloc(m->nrcpt, 1);
	if (idx == NULL || tmp == NULL || stored == NULL) {
		for (i = 0; i < m->nrcpt; i++) {
			res_errno(&res[i], ENOMEM);
			res_log(&res[i], "out of memory");
		}
		goto out;
	}
	for (k = 0; k < d->n; k++) {
		const struct dest *t = &d->dest[k];

		/* Only those every earlier destination took. */
		for (n = 0, i = 0; i < m->nrcpt; i++)
			if (res[i].status == DELIVER_OK)
				idx[n++] = i;
		if (n == 0)
			break;
		if (t->kind != D_PIPE)
			file_dest(d, t, m, idx, n, tmp);
		else if (m->flags & DELIVER_PER_RCPT)
			for (i = 0; i < n; i++)
				pipe_deliver(d, t, m, &idx[i], 1, &tmp[i]);
		else {
			pipe_deliver(d, t, m, idx, n, &tmp[0]);
			for (i = 1; i < n; i++)
				tmp[i] = tmp[0];
		}
		for (i = 0; i < n; i++) {
			fold(&res[idx[i]], &tmp[i], stored[idx[i]]);
			if (tmp[i].status == DELIVER_OK)
				stored[idx[i]] = 1;
		}
	}
out:
	free(idx);
	free(tmp);
	free(stored);
	return deliver_summary(res, m->nrcpt, &sum);
}

enum deliver_status
deliver_summary(const struct deliver_result *res, size_t n,
    struct deliver_result *out)
{
	const struct deliver_result *perm = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		if (res[i].status == DELIVER_TEMP) {
			*out = res[i];
			return out->status;
		}
		if (res[i].status == DELIVER_PERM && perm == NULL)
			perm = &res[i];
	}
	if (perm != NULL)
		*out = *perm;
	else if (n > 0)
		*out = res[0];
	else
		res_ok(out);
	return out->status;
}
