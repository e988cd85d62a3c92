/* diag: diagnostics and whole-file reads.  See diag.h. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "diag.h"

#define DIAG_LINE_MAX	2048

const char *diag_prog = "mxkit";
int diag_verbose;
int diag_syslog;

void
diag_init(const char *argv0)
{
	const char *slash;

	if (argv0 == NULL || *argv0 == '\0')
		return;
	slash = strrchr(argv0, '/');
	if (slash != NULL && slash[1] != '\0')
		diag_prog = slash + 1;
	else if (slash == NULL)
		diag_prog = argv0;
}

/* One line, written with one call so that threads do not interleave;
 * controls (a newline in a hostile domain name, say) become '?'. */
static void
diag_vline(const char *fmt, va_list ap)
{
	char line[DIAG_LINE_MAX];
	size_t n, i;
	int len;

	len = snprintf(line, sizeof(line), "%s: ", diag_prog);
	if (len < 0 || (size_t)len >= sizeof(line) - 1)
		len = 0;
	n = (size_t)len;
	if (vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap) < 0)
		line[n] = '\0';
	for (i = 0; line[i] != '\0'; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			line[i] = '?';
	if (diag_syslog) {
		syslog(LOG_ERR, "%s", line + n);
		return;
	}
	line[i++] = '\n';
	line[i] = '\0';
	fputs(line, stderr);
}

void
diag_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vline(fmt, ap);
	va_end(ap);
}

void
diag_info(const char *fmt, ...)
{
	va_list ap;

	if (!diag_verbose)
		return;
	va_start(ap, fmt);
	diag_vline(fmt, ap);
	va_end(ap);
}

void
diag_die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vline(fmt, ap);
	va_end(ap);
	exit(status);
}

int
slurp_fd_max(int fd, size_t max, char **buf, size_t *len)
{
	struct stat st;
	size_t cap = 64 * 1024, n = 0, want;
	ssize_t r;
	char *p, *q;

	/* A regular file's size is a good first guess; +1 for the NUL and
	 * to see EOF without growing. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uintmax_t)st.st_size < SIZE_MAX / 2)
		cap = (size_t)st.st_size + 2;
	if (max < SIZE_MAX - 2 && cap > max + 2)
		cap = max + 2;
	if ((p = malloc(cap)) == NULL)
		return -1;
	for (;;) {
		if (cap - n < 2) {
			if (cap > SIZE_MAX / 2) {
				free(p);
				errno = ENOMEM;
				return -1;
			}
			if ((q = realloc(p, cap * 2)) == NULL) {
				free(p);
				return -1;
			}
			p = q;
			cap *= 2;
		}
		/* One octet beyond max tells the caller "too big". */
		want = cap - n - 1;
		if (max < SIZE_MAX - 1 && want > max + 1 - n)
			want = max + 1 - n;
		r = read(fd, p + n, want);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			free(p);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max)
			break;
	}
	p[n] = '\0';
	*buf = p;
	*len = n;
	return 0;
}

int
slurp_fd(int fd, char **buf, size_t *len)
{
	return slurp_fd_max(fd, SIZE_MAX, buf, len);
}

int
slurp_path_max(const char *path, size_t max, char **buf, size_t *len)
{
	int fd, rc, saved;

	if (path == NULL || strcmp(path, "-") == 0)
		return slurp_fd_max(STDIN_FILENO, max, buf, len);
	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd == -1 && errno == EINTR);
	if (fd == -1)
		return -1;
	rc = slurp_fd_max(fd, max, buf, len);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int
slurp_path(const char *path, char **buf, size_t *len)
{
	return slurp_path_max(path, SIZE_MAX, buf, len);
}

char *
diag_where(const char *path, int line, const char *what)
{
	char *m;
	int n;

	if (line > 0)
		n = asprintf(&m, "%s:%d: %s", path, line, what);
	else
		n = asprintf(&m, "%s: %s", path, what);
	return n == -1 ? NULL : m;
}

int
write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t
pread_all(int fd, void *buf, size_t n, off_t off)
{
	ssize_t r;

	do
		r = pread(fd, buf, n, off);
	while (r == -1 && errno == EINTR);
	return r;
}

int
copy_range(int in, off_t off, off_t len, int out)
{
	static char buf[65536];
	off_t end = off + len;
	ssize_t r;
	int fast = 1;

	while (off < end) {
		if (fast) {
			r = copy_file_range(in, &off, out, NULL,
			    (size_t)(end - off), 0);
			if (r == -1 && (errno == EXDEV || errno == EINVAL ||
			    errno == ENOSYS || errno == EOPNOTSUPP ||
			    errno == EBADF)) {
				fast = 0;	/* not here: the slow way */
				continue;
			}
			if (r == -1 && errno == EINTR)
				continue;
			if (r == -1)
				return -1;
		} else {
			size_t want = end - off < (off_t)sizeof(buf) ?
			    (size_t)(end - off) : sizeof(buf);

			if ((r = pread_all(in, buf, want, off)) == -1)
				return -1;
			if (r > 0 && write_all(out, buf, (size_t)r) == -1)
				return -1;
			off += r;
		}
		if (r == 0) {
			errno = EIO;
			return -1;
		}
	}
	return 0;
}
