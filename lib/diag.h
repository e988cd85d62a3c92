/* diag: one-line diagnostics "prog: what: why" and the exit statuses every
 * program shares (sysexits.h for errors, 0-9 for verdicts). */
#ifndef MXKIT_DIAG_H
#define MXKIT_DIAG_H
#include <sys/types.h>
#include <sysexits.h>

extern const char *diag_prog;
extern int diag_verbose;
/* Non-zero: diagnostics go to syslog(3) (opened by the caller) instead of
 * stderr: for a server whose stderr is the client (inetd). */
extern int diag_syslog;

void diag_init(const char *argv0);
/* prog: fmt\n on stderr. */
void diag_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with -v. */
void diag_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* prog: fmt\n, then exit(status). */
void diag_die(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* "path:line: what" (line > 0) or "path: what", malloc'd; NULL when out
 * of memory.  For the parsers of files that say where they stopped. */
char *diag_where(const char *path, int line, const char *what);

/* Read a whole file (or stdin for "-") into a malloc'd buffer with a NUL
 * after the data.  0, or -1 with errno. */
int slurp_fd(int fd, char **buf, size_t *len);
int slurp_path(const char *path, char **buf, size_t *len);
/* The same, reading at most max + 1 octets: *len > max means the input
 * is larger than max (and was not read to its end). */
int slurp_fd_max(int fd, size_t max, char **buf, size_t *len);
int slurp_path_max(const char *path, size_t max, char **buf, size_t *len);

/* Write all of buf[0..n) to fd, again after EINTR and short writes.  0, or
 * -1 with errno (ENOSPC when a write took nothing). */
int write_all(int fd, const void *buf, size_t n);

/* pread(2), again after EINTR: the count (0 at the end), or -1 with errno. */
ssize_t pread_all(int fd, void *buf, size_t n, off_t off);

/* Copy in[off .. off + len) to out at its offset, with copy_file_range(2)
 * where the kernel can, else pread and write.  in's offset is left alone.
 * 0, or -1 with errno (EIO when in ends early). */
int copy_range(int in, off_t off, off_t len, int out);

#endif
