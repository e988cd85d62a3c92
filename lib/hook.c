/* hook: run a policy executable, decide from its result.  See hook.h.
 *
 * The parent learns of the child's end from a pidfd when the kernel has
 * them (poll wakes at once), and otherwise by checking waitid(WNOWAIT)
 * every HOOK_POLL_MS.  It checks without reaping so that, on a timeout,
 * the SIGKILL to the group goes out while the leader is still a zombie:
 * its pid, and so the group id, cannot have been reused yet.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "hook.h"

#define HOOK_POLL_MS	20	/* without pidfd: how often to look */
#define ERRFD		3	/* the exec-status pipe, in the child */

/* ---- the environment ---- */

void
hook_env_init(struct hook_env *e)
{
	memset(e, 0, sizeof(*e));
}

static int
env_name_ok(const char *name)
{
	size_t i;

	if (!((name[0] >= 'A' && name[0] <= 'Z') ||
	    (name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
		return 0;
	for (i = 1; name[i] != '\0'; i++) {
		if (i >= HOOK_ENV_MAX_NAME)
			return 0;
		if (!((name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return 0;
	}
	return 1;
}

/* The index of name's entry, or e->n. */
static size_t
env_find(const struct hook_env *e, const char *name)
{
	size_t i, nl = strlen(name);

	for (i = 0; i < e->n; i++)
		if (strncmp(e->v[i], name, nl) == 0 && e->v[i][nl] == '=')
			return i;
	return e->n;
}

/* Room for one more entry and the NULL after it. */
static int
env_grow(struct hook_env *e)
{
	char **v;
	size_t cap;

	if (e->n + 2 <= e->cap)
		return 0;
	cap = e->cap ? e->cap * 2 : 16;
	if ((v = realloc(e->v, cap * sizeof(*v))) == NULL)
		return -1;
	e->v = v;
	e->cap = cap;
	return 0;
}

int
hook_env_setn(struct hook_env *e, const char *name, const char *value,
    size_t len)
{
	size_t nl, i;
	char *s;

	if (!env_name_ok(name) || memchr(value, '\0', len) != NULL) {
		errno = EINVAL;
		return -1;
	}
	nl = strlen(name);
	if (len >= HOOK_ENV_MAX_STRING - nl - 1) {
		errno = E2BIG;
		return -1;
	}
	i = env_find(e, name);
	if (i == e->n && e->n >= HOOK_ENV_MAX_VARS) {
		errno = E2BIG;
		return -1;
	}
	if ((s = malloc(nl + 1 + len + 1)) == NULL ||
	    (i == e->n && env_grow(e) != 0)) {
		free(s);
		errno = ENOMEM;
		return -1;
	}
	memcpy(s, name, nl);
	s[nl] = '=';
	memcpy(s + nl + 1, value, len);
	s[nl + 1 + len] = '\0';
	if (i == e->n) {
		e->v[e->n++] = s;
		e->v[e->n] = NULL;
	} else {
		free(e->v[i]);
		e->v[i] = s;
	}
	return 0;
}

int
hook_env_set(struct hook_env *e, const char *name, const char *value)
{
	return hook_env_setn(e, name, value, strlen(value));
}

int
hook_env_set_num(struct hook_env *e, const char *name, long long value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", value);
	return hook_env_set(e, name, buf);
}

const char *
hook_env_get(const struct hook_env *e, const char *name)
{
	size_t i = env_find(e, name);

	return i < e->n ? e->v[i] + strlen(name) + 1 : NULL;
}

int
hook_env_copy(struct hook_env *dst, const struct hook_env *src)
{
	size_t i, nl;
	const char *eq;
	char name[HOOK_ENV_MAX_NAME + 1];

	for (i = 0; i < src->n; i++) {
		eq = strchr(src->v[i], '=');
		nl = (size_t)(eq - src->v[i]);
		memcpy(name, src->v[i], nl);
		name[nl] = '\0';
		if (hook_env_set(dst, name, eq + 1) != 0)
			return -1;
	}
	return 0;
}

char *const *
hook_env_vec(struct hook_env *e)
{
	static char *empty[1];

	return e->n ? e->v : empty;
}

void
hook_env_free(struct hook_env *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

/* ---- running ---- */

void
hook_spec_init(struct hook_spec *s, const char *path)
{
	memset(s, 0, sizeof(*s));
	s->path = path;
	s->in_fd = -1;
	s->err_fd = -1;
	s->grace_ms = HOOK_GRACE_MS;
	s->out_max = HOOK_OUT_MAX;
}

static int
xclose(int fd)
{
	/* Linux closes the descriptor even when close reports EINTR. */
	return fd >= 0 ? close(fd) : 0;
}

/* Tell the parent why the child could not exec (through fd) and die. */
static void __attribute__((noreturn))
child_fail(int fd, int err)
{
	ssize_t w;

	do
		w = write(fd, &err, sizeof(err));
	while (w < 0 && errno == EINTR);
	_exit(127);
}

static void
close_from(int lowfd)
{
#if defined(SYS_close_range) && !defined(HOOK_NO_CLOSE_RANGE)
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0) == 0)
		return;
#endif
	long max = sysconf(_SC_OPEN_MAX);
	int fd;

	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = lowfd; fd < max; fd++)
		(void)close(fd);
}

/* In the child, after fork: only async-signal-safe calls.  in, out, err
 * and errw are the parent's descriptors for our 0, 1, 2 and ERRFD. */
static void __attribute__((noreturn))
child(const struct hook_spec *s, char *const *argv, char *const *envp,
    int in, int out, int err, int errw)
{
	struct sigaction sa;
	sigset_t none;
	int a, b, c, d, sig;

	(void)setpgid(0, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);

	/* Everything above 2 first, so no target overwrites a source. */
	if ((d = fcntl(errw, F_DUPFD_CLOEXEC, ERRFD + 1)) < 0)
		child_fail(errw, errno);
	if ((a = fcntl(in, F_DUPFD_CLOEXEC, ERRFD + 1)) < 0 ||
	    (b = fcntl(out, F_DUPFD_CLOEXEC, ERRFD + 1)) < 0 ||
	    (c = fcntl(err, F_DUPFD_CLOEXEC, ERRFD + 1)) < 0 ||
	    dup3(d, ERRFD, O_CLOEXEC) < 0)
		child_fail(d, errno);
	if (dup2(a, 0) < 0 || dup2(b, 1) < 0 ||
	    dup2(s->err_to_out ? b : c, 2) < 0)
		child_fail(ERRFD, errno);
	if (s->cwd != NULL && chdir(s->cwd) < 0)
		child_fail(ERRFD, errno);
	close_from(ERRFD + 1);
	execve(s->path, argv, envp);
	child_fail(ERRFD, errno);
}

/* envp with PATH=HOOK_PATH added when it has none: malloc'd vector
 * (the strings are not copied). */
static char **
with_path(char *const *envp)
{
	static char path[] = "PATH=" HOOK_PATH;
	size_t n;
	char **v;
	int has = 0;

	for (n = 0; envp[n] != NULL; n++)
		if (strncmp(envp[n], "PATH=", 5) == 0)
			has = 1;
	if ((v = calloc(n + 2, sizeof(*v))) == NULL)
		return NULL;
	memcpy(v, envp, n * sizeof(*v));
	if (!has)
		v[n] = path;
	return v;
}

/* The caller's SIGCHLD state, changed for the duration of a run. */
struct sigsave {
	sigset_t	 mask;
	struct sigaction act;
	int		 restore_act;
};

static void
sig_enter(struct sigsave *sv)
{
	sigset_t chld;
	struct sigaction dfl;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, &sv->mask);
	sv->restore_act = 0;
	if (sigaction(SIGCHLD, NULL, &sv->act) == 0 &&
	    (sv->act.sa_handler == SIG_IGN ||
	    (sv->act.sa_flags & SA_NOCLDWAIT))) {
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		if (sigaction(SIGCHLD, &dfl, NULL) == 0)
			sv->restore_act = 1;
	}
}

static void
sig_leave(struct sigsave *sv)
{
	if (sv->restore_act)
		(void)sigaction(SIGCHLD, &sv->act, NULL);
	pthread_sigmask(SIG_SETMASK, &sv->mask, NULL);
}

/* The captured stdout. */
struct capture {
	char	*p;
	size_t	 len, max;
	int	 truncated;
};

/* Read what fd has now.  1 at EOF (or a read error), else 0. */
static int
drain(int fd, struct capture *c)
{
	char junk[16384];
	ssize_t n;
	size_t room;

	for (;;) {
		room = c->max - c->len;
		if (room > 0)
			n = read(fd, c->p + c->len, room);
		else
			n = read(fd, junk, sizeof(junk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return 1;
		if (room > 0)
			c->len += (size_t)n;
		else
			c->truncated = 1;
	}
}

static int
pidfd_for(pid_t pid)
{
#if defined(SYS_pidfd_open) && !defined(HOOK_NO_PIDFD)
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd >= 0)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
#else
	(void)pid;
	return -1;
#endif
}

/* 1 when pid has ended (not reaped), 0 while it runs, -1 on error. */
static int
ended(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) <
	    0)
		if (errno != EINTR)
			return -1;
	return si.si_pid == pid;
}

/* The state of one run while the parent watches it. */
struct watch {
	pid_t		 pid;
	int		 outr;		/* stdout, -1 once at EOF */
	int		 pidfd;		/* -1 without pidfd support */
	int		 phase;		/* 0 running, 1 SIGTERM sent, 2 SIGKILL */
	long long	 deadline;	/* of the phase, -1: none */
};

/* Send the phase's signal to the whole group when its deadline passed. */
static void
enforce(struct watch *w, const struct hook_spec *s, long long t)
{
	if (w->deadline < 0 || t < w->deadline)
		return;
	if (w->phase == 0 && s->grace_ms > 0) {
		(void)kill(-w->pid, SIGTERM);
		w->phase = 1;
		w->deadline = t + s->grace_ms;
	} else {
		(void)kill(-w->pid, SIGKILL);
		w->phase = 2;
		w->deadline = -1;
	}
}

/* Sleep in poll until stdout has data, the child ends, or the deadline
 * (HOOK_POLL_MS at most without a pidfd).  0, or -1 with errno. */
static int
await(struct watch *w, struct capture *c, long long t)
{
	struct pollfd pf[2];
	nfds_t nf = 0;
	int wait;

	memset(pf, 0, sizeof(pf));
	if (w->outr >= 0) {
		pf[nf].fd = w->outr;
		pf[nf++].events = POLLIN;
	}
	if (w->pidfd >= 0) {
		pf[nf].fd = w->pidfd;
		pf[nf++].events = POLLIN;
	}
	wait = w->deadline < 0 ? -1 : w->deadline - t > INT_MAX ? INT_MAX :
	    (int)(w->deadline - t);
	if (w->pidfd < 0 && (wait < 0 || wait > HOOK_POLL_MS))
		wait = HOOK_POLL_MS;
	if (poll(pf, nf, wait) < 0)
		return errno == EINTR ? 0 : -1;
	if (w->outr >= 0 && pf[0].revents != 0 && drain(w->outr, c)) {
		xclose(w->outr);
		w->outr = -1;
	}
	return 0;
}

/* Watch w->pid until it ends, reading its stdout and enforcing the
 * timeout; it is left unreaped.  0, or -1 with errno. */
static int
watch(struct watch *w, const struct hook_spec *s, struct capture *c)
{
	int e;

	while ((e = ended(w->pid)) == 0) {
		enforce(w, s, clock_ms());
		if ((e = ended(w->pid)) != 0)
			break;
		if (await(w, c, clock_ms()) != 0) {
			/* Cannot watch: stop it rather than wait blind. */
			e = errno;
			(void)kill(-w->pid, SIGKILL);
			errno = e;
			return -1;
		}
	}
	if (e < 0)
		return -1;
	if (w->outr >= 0)
		(void)drain(w->outr, c);
	/* A timed-out hook's group dies whole, while the leader is still a
	 * zombie and its pid cannot name another group. */
	if (w->phase)
		(void)kill(-w->pid, SIGKILL);
	return 0;
}

/* Wait for pid, reading its stdout from outr (closed here), enforcing
 * the timeout.  Fills r's status; 0, or -1 with errno (status lost). */
static int
supervise(const struct hook_spec *s, pid_t pid, int outr,
    struct capture *c, struct hook_result *r, long long start)
{
	struct watch w;
	int st, rc, e;
	pid_t got;

	w.pid = pid;
	w.outr = outr;
	w.pidfd = pidfd_for(pid);
	w.phase = 0;
	w.deadline = s->timeout_ms ? start + s->timeout_ms : -1;
	rc = watch(&w, s, c);
	e = errno;
	xclose(w.outr);
	xclose(w.pidfd);
	while ((got = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (rc != 0 || got != pid) {
		errno = rc != 0 ? e : errno;
		return -1;
	}
	if (WIFEXITED(st)) {
		r->status = HOOK_EXITED;
		r->code = WEXITSTATUS(st);
	} else {
		r->status = HOOK_SIGNALED;
		r->code = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	}
	if (w.phase)
		r->status = HOOK_TIMEDOUT;
	return 0;
}

/* The exec status from the child: 0 (it ran) or its errno. */
static int
exec_status(int errr)
{
	ssize_t n;
	int err = 0;

	do
		n = read(errr, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(err) ? err : 0;
}

static int
open_null(int flags)
{
	return open("/dev/null", flags | O_CLOEXEC | O_NOCTTY);
}

/* Descriptors for the child's 0 and 2: *in and *err, opened here when
 * *opened_* says so.  0, or -1 with errno. */
static int
child_fds(const struct hook_spec *s, int *in, int *err, int *own_in,
    int *own_err)
{
	*own_in = *own_err = 0;
	if (s->in_path != NULL) {
		*in = open(s->in_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		*own_in = 1;
	} else if (s->in_fd >= 0) {
		*in = s->in_fd;
	} else {
		*in = open_null(O_RDONLY);
		*own_in = 1;
	}
	if (*in < 0)
		return -1;
	*err = s->err_fd >= 0 ? s->err_fd : 2;
	if (fcntl(*err, F_GETFD) < 0) {
		/* Our stderr is closed: the hook's goes nowhere. */
		*err = open_null(O_WRONLY);
		*own_err = 1;
		if (*err < 0)
			return -1;
	}
	return 0;
}

static int
run_error(struct hook_result *r, int err, long long start)
{
	r->status = HOOK_ERROR;
	r->code = err;
	r->elapsed_ms = (unsigned long)(clock_ms() - start);
	errno = err;
	return -1;
}

int
hook_run(const struct hook_spec *s, struct hook_result *r)
{
	static char *const noenv[1];
	char *args[2] = { NULL, NULL };
	char *const *argv;
	char **envp = NULL;
	struct capture c;
	struct sigsave sv;
	long long start = clock_ms();
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int in = -1, err = -1, own_in = 0, own_err = 0, ee, e;
	pid_t pid;

	memset(r, 0, sizeof(r[0]));
	memset(&c, 0, sizeof(c));
	c.max = s->out_max ? s->out_max : HOOK_OUT_MAX;
	if ((c.p = r->out = malloc(c.max + 1)) == NULL)
		return run_error(r, ENOMEM, start);
	r->out[0] = '\0';
	if (s->path == NULL || strchr(s->path, '/') == NULL) {
		r->status = HOOK_EXECFAIL;
		r->code = EINVAL;
		return 0;
	}
	args[0] = (char *)s->path;
	argv = s->argv ? s->argv : args;
	if ((envp = with_path(s->envp ? s->envp : noenv)) == NULL)
		return run_error(r, ENOMEM, start);
	if (child_fds(s, &in, &err, &own_in, &own_err) != 0 ||
	    pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0)
		goto fail;
	sig_enter(&sv);
	if ((pid = fork()) < 0) {
		e = errno;
		sig_leave(&sv);
		errno = e;
		goto fail;
	}
	if (pid == 0)
		child(s, argv, envp, in, outp[1], err, errp[1]);
	(void)setpgid(pid, pid);	/* as the child does: no race */
	xclose(outp[1]);
	xclose(errp[1]);
	outp[1] = errp[1] = -1;
	(void)fcntl(outp[0], F_SETFL, O_NONBLOCK);
	ee = exec_status(errp[0]);
	e = 0;
	if (supervise(s, pid, outp[0], &c, r, start) != 0)
		e = errno;
	outp[0] = -1;		/* closed by supervise */
	sig_leave(&sv);
	xclose(errp[0]);
	if (own_in)
		xclose(in);
	if (own_err)
		xclose(err);
	free(envp);
	r->out[c.len] = '\0';
	r->out_len = c.len;
	r->out_truncated = c.truncated;
	r->elapsed_ms = (unsigned long)(clock_ms() - start);
	if (e != 0)
		return run_error(r, e, start);
	if (ee != 0) {
		r->status = HOOK_EXECFAIL;
		r->code = ee;
	}
	return 0;

fail:
	e = errno;
	xclose(outp[0]);
	xclose(outp[1]);
	xclose(errp[0]);
	xclose(errp[1]);
	if (own_in)
		xclose(in);
	if (own_err)
		xclose(err);
	free(envp);
	return run_error(r, e, start);
}

void
hook_result_free(struct hook_result *r)
{
	free(r->out);
	memset(r, 0, sizeof(*r));
}

void
hook_result_text(const struct hook_result *r, char *buf, size_t size)
{
	switch (r->status) {
	case HOOK_EXITED:
		snprintf(buf, size, "exit %d", r->code);
		break;
	case HOOK_SIGNALED:
		snprintf(buf, size, "signal %d (%s)", r->code,
		    strsignal(r->code));
		break;
	case HOOK_TIMEDOUT:
		snprintf(buf, size, "timed out after %lu ms", r->elapsed_ms);
		break;
	case HOOK_EXECFAIL:
		snprintf(buf, size, "cannot execute: %s",
		    r->code == EINVAL ? "not a path (no '/')" :
		    strerror(r->code));
		break;
	default:
		snprintf(buf, size, "cannot run: %s", strerror(r->code));
		break;
	}
}

int
hook_event(const char *prog, const char *event_name,
    const char *event_data, const struct hook_env *base,
    unsigned timeout_ms, struct hook_result *r)
{
	struct hook_env env;
	struct hook_spec s;
	struct hook_result mine;
	int rc = -1;

	if (r == NULL)
		r = &mine;
	memset(r, 0, sizeof(*r));
	hook_env_init(&env);
	if ((base != NULL && hook_env_copy(&env, base) != 0) ||
	    hook_env_set(&env, "event_name", event_name) != 0 ||
	    hook_env_set(&env, "event_data",
	    event_data ? event_data : "") != 0) {
		r->status = HOOK_ERROR;
		r->code = errno;
		goto out;
	}
	hook_spec_init(&s, prog);
	s.envp = hook_env_vec(&env);
	s.timeout_ms = timeout_ms;
	s.out_max = 1024;	/* read and ignored */
	if (hook_run(&s, r) == 0 && r->status == HOOK_EXITED)
		rc = r->code;
out:
	hook_env_free(&env);
	if (r == &mine)
		hook_result_free(&mine);
	return rc;
}

/* ---- the output of a stage hook ---- */

/* A line of a hook's output, without its LF and the CR before it. */
struct line {
	const char	*s;
	size_t		 n;
};

/* The line at *p into l, moving *p past its LF.  0 at the end. */
static int
next_line(const char **p, const char *end, struct line *l)
{
	const char *lf;

	if (*p >= end)
		return 0;
	l->s = *p;
	if ((lf = memchr(*p, '\n', (size_t)(end - *p))) == NULL) {
		l->n = (size_t)(end - *p);
		*p = end;
	} else {
		l->n = (size_t)(lf - *p);
		*p = lf + 1;
	}
	if (l->n > 0 && l->s[l->n - 1] == '\r')
		l->n--;
	return 1;
}

/* RFC 5321 Reply-code: %x32-35 %x30-35 %x30-39. */
static int
reply_code(const char *s, size_t n)
{
	if (n < 3 || s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '5' ||
	    s[2] < '0' || s[2] > '9')
		return 0;
	return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

/* An RFC 3463 status code at s[0..n) of class cls ('2', '4', '5'),
 * followed by a space or the end: its length, or 0. */
static size_t
enhanced_code(const char *s, size_t n, char cls)
{
	size_t i = 0, part, digits;

	if (n < 5 || s[0] != cls || s[1] != '.')
		return 0;
	for (i = 2, part = 0; part < 2; part++) {
		for (digits = 0; i < n && s[i] >= '0' && s[i] <= '9';
		    digits++)
			i++;
		if (digits == 0 || digits > 3)
			return 0;
		if (part == 0) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
	}
	return i == n || s[i] == ' ' ? i : 0;
}

static int
text_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= 0x20 && s[i] < 0x7f) || s[i] == '\t'))
			return 0;
	return 1;
}

/* Parse one reply line l into (code, last, enhanced, text).  A reason
 * string, or NULL. */
static const char *
reply_line(const struct line *l, int *code, int *last, const char **text,
    size_t *tlen, char *enh, size_t enhsize)
{
	size_t k;

	if (l->n > HOOK_REPLY_MAX_LINE)
		return "reply line too long";
	if (!text_ok(l->s, l->n))
		return "reply holds a control or 8-bit character";
	if ((*code = reply_code(l->s, l->n)) == 0)
		return "not an SMTP reply";
	if (l->n == 3) {
		*last = 1;
		*text = l->s + 3;
		*tlen = 0;
	} else if (l->s[3] == ' ' || l->s[3] == '-') {
		*last = l->s[3] == ' ';
		*text = l->s + 4;
		*tlen = l->n - 4;
	} else
		return "not an SMTP reply";
	enh[0] = '\0';
	if (l->s[0] != '2' && enhanced_code(*text, *tlen, '2') > 0)
		return "enhanced code of another class";
	if (l->s[0] != '4' && enhanced_code(*text, *tlen, '4') > 0)
		return "enhanced code of another class";
	if (l->s[0] != '5' && enhanced_code(*text, *tlen, '5') > 0)
		return "enhanced code of another class";
	if ((k = enhanced_code(*text, *tlen, l->s[0])) > 0 && k < enhsize) {
		memcpy(enh, *text, k);
		enh[k] = '\0';
		*text += k;
		*tlen -= k;
		if (*tlen > 0) {
			(*text)++;
			(*tlen)--;
		}
	}
	return NULL;
}

/* The REPLY part, lines [p, end). */
static int
parse_reply(const char *p, const char *end, struct hook_output *o)
{
	struct out_buf b;
	struct line l;
	const char *text, *why = NULL;
	char enh[sizeof(o->enhanced)];
	size_t tlen, n = 0;
	int code, first = 0, last = 0;

	memset(&b, 0, sizeof(b));
	while (why == NULL && next_line(&p, end, &l)) {
		if (last)
			why = "text after the reply's last line (headers "
			    "need an empty line before them)";
		else if (++n > HOOK_REPLY_MAX_LINES)
			why = "reply has too many lines";
		else if ((why = reply_line(&l, &code, &last, &text, &tlen,
		    enh, sizeof(enh))) != NULL)
			;
		else if (n == 1) {
			first = code;
			memcpy(o->enhanced, enh, sizeof(enh));
		} else if (code != first)
			why = "reply lines with different codes";
		else if (enh[0] != '\0' && strcmp(enh, o->enhanced) != 0)
			why = "reply lines with different enhanced codes";
		/* As hook_reply_format writes it: the first line's
		 * enhanced code on every line. */
		if (why == NULL && o->enhanced[0] != '\0' &&
		    4 + strlen(o->enhanced) + 1 + tlen > HOOK_REPLY_MAX_LINE)
			why = "reply line too long";
		if (why == NULL) {
			if (n > 1)
				out_buf_add(&b, "\n", 1);
			out_buf_add(&b, text, tlen);
			out_buf_add(&b, "", 0);
		}
	}
	if (why == NULL && !last)
		why = "reply ends with a continuation line";
	if (why == NULL && b.oom)
		return -1;
	if (why != NULL) {
		out_buf_free(&b);
		o->enhanced[0] = '\0';
		o->reply_why = why;
		return 0;
	}
	o->code = first;
	o->nlines = n;
	if ((o->text = b.p) == NULL && (o->text = strdup("")) == NULL)
		return -1;
	return 0;
}

/* A field's value (or continuation): ASCII or UTF-8, no control
 * characters but tab. */
static int
value_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    s[i] == 0x7f)
			return 0;
	return out_utf8_valid(s, n);
}

static const char *
header_line(const struct line *l, int first)
{
	size_t i;

	if (l->n > HOOK_HDR_MAX_LINE)
		return "header line too long";
	if (l->s[0] == ' ' || l->s[0] == '\t') {
		if (first)
			return "headers start with a continuation line";
		for (i = 0; i < l->n; i++)
			if (l->s[i] != ' ' && l->s[i] != '\t')
				break;
		if (i == l->n)
			return "header line of white space only";
		return value_ok(l->s, l->n) ? NULL :
		    "control character or bad UTF-8 in a header";
	}
	if (memchr(l->s, ':', l->n) == NULL)
		return "header line without a colon";
	for (i = 0; l->s[i] != ':'; i++)
		if (l->s[i] < 33 || l->s[i] > 126)
			return "bad header field name";
	if (i == 0)
		return "empty header field name";
	return value_ok(l->s + i + 1, l->n - i - 1) ? NULL :
	    "control character or bad UTF-8 in a header";
}

/* The HEADERS part, lines [p, end). */
static int
parse_headers(const char *p, const char *end, struct hook_output *o)
{
	struct out_buf b;
	struct line l;
	const char *why = NULL;
	size_t lines = 0, fields = 0, blank = 0;

	memset(&b, 0, sizeof(b));
	while (why == NULL && next_line(&p, end, &l)) {
		if (l.n == 0) {
			blank++;
			continue;
		}
		if (blank)
			why = "empty line inside the headers";
		else if (++lines > HOOK_HDR_MAX_LINES)
			why = "too many header lines";
		else if (b.len + l.n + 1 > HOOK_HDR_MAX)
			why = "headers too long";
		else if ((why = header_line(&l, lines == 1)) == NULL) {
			if (l.s[0] != ' ' && l.s[0] != '\t')
				fields++;
			out_buf_add(&b, l.s, l.n);
			out_buf_add(&b, "\n", 1);
		}
	}
	if (why != NULL) {
		out_buf_free(&b);
		o->headers_why = why;
		return 0;
	}
	if (b.oom) {
		out_buf_free(&b);
		return -1;
	}
	o->headers = b.p;
	o->headers_len = b.len;
	o->nheaders = fields;
	return 0;
}

int
hook_output_parse(const char *out, size_t len, struct hook_output *o)
{
	const char *end = out + len, *p = out, *sep = NULL;
	struct line l;

	memset(o, 0, sizeof(*o));
	if (memchr(out, '\0', len) != NULL) {
		o->reply_why = o->headers_why = "NUL in the output";
		return 0;
	}
	/* The first empty line (a CR alone counts as empty). */
	while (next_line(&p, end, &l))
		if (l.n == 0) {
			sep = l.s;
			break;
		}
	if (sep == NULL)
		sep = end;
	if (sep > out && parse_reply(out, sep, o) != 0)
		goto oom;
	if (p > sep && p < end && parse_headers(p, end, o) != 0)
		goto oom;
	return 0;
oom:
	hook_output_free(o);
	return -1;
}

void
hook_output_free(struct hook_output *o)
{
	free(o->text);
	free(o->headers);
	memset(o, 0, sizeof(*o));
}

/* ---- the decision ---- */

const char *
hook_stage_name(enum hook_stage stage)
{
	static const char *const names[] = {
		"connect", "helo", "mail", "rcpt", "data", "prdr", "quit"
	};

	return (unsigned)stage < sizeof(names) / sizeof(names[0]) ?
	    names[stage] : "unknown";
}

const char *
hook_verdict_name(enum hook_verdict v)
{
	static const char *const names[] = {
		"accept", "reject", "defer", "discard"
	};

	return (unsigned)v < sizeof(names) / sizeof(names[0]) ?
	    names[v] : "unknown";
}

/* Exim's discard verb: MAIL drops the message, RCPT the recipient. */
static int
discard_ok(enum hook_stage stage)
{
	return stage == HOOK_STAGE_MAIL || stage == HOOK_STAGE_RCPT ||
	    stage == HOOK_STAGE_DATA || stage == HOOK_STAGE_PRDR;
}

static void __attribute__((format(printf, 2, 3)))
failed(struct hook_decision *d, const char *fmt, ...)
{
	va_list ap;

	d->verdict = HOOK_DEFER;
	d->failed = 1;
	va_start(ap, fmt);
	vsnprintf(d->why, sizeof(d->why), fmt, ap);
	va_end(ap);
}

static int
reply_class(enum hook_verdict v)
{
	return v == HOOK_REJECT ? 5 : v == HOOK_DEFER ? 4 : 2;
}

int
hook_decide(const struct hook_result *r, enum hook_stage stage,
    struct hook_decision *d)
{
	char what[128];

	memset(d, 0, sizeof(*d));
	hook_result_text(r, what, sizeof(what));
	if (r->status != HOOK_EXITED || r->code > 3) {
		failed(d, "hook failed: %s", what);
		return 0;
	}
	if (r->code == 3 && !discard_ok(stage)) {
		failed(d, "hook failed: exit 3 (discard) is not allowed at "
		    "%s", hook_stage_name(stage));
		return 0;
	}
	d->verdict = (enum hook_verdict)r->code;
	if (r->out_truncated) {
		failed(d, "hook failed: more output than the %zu octets kept",
		    r->out_len);
		return 0;
	}
	if (hook_output_parse(r->out, r->out_len, &d->out) != 0) {
		failed(d, "hook failed: %s", "out of memory");
		return -1;
	}
	if (d->out.headers_why != NULL) {
		failed(d, "hook failed: %s", d->out.headers_why);
		hook_output_free(&d->out);
		return 0;
	}
	if (d->out.reply_why != NULL)
		snprintf(d->why, sizeof(d->why), "reply ignored: %s",
		    d->out.reply_why);
	else if (d->out.code != 0 &&
	    d->out.code / 100 != reply_class(d->verdict)) {
		snprintf(d->why, sizeof(d->why),
		    "reply ignored: %d does not agree with exit %d (%s)",
		    d->out.code, r->code, hook_verdict_name(d->verdict));
		free(d->out.text);
		d->out.text = NULL;
		d->out.code = 0;
		d->out.nlines = 0;
		d->out.enhanced[0] = '\0';
	}
	return 0;
}

void
hook_decision_free(struct hook_decision *d)
{
	hook_output_free(&d->out);
	memset(d, 0, sizeof(*d));
}

int
hook_reply_format(const struct hook_output *o, struct out_buf *b)
{
	const char *p, *nl;
	size_t i, n;

	if (o->code == 0)
		return b->oom ? -1 : 0;
	p = o->text;
	for (i = 0; i < o->nlines; i++) {
		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		out_buf_printf(b, "%d%s", o->code, i + 1 < o->nlines ? "-" :
		    n > 0 || o->enhanced[0] != '\0' ? " " : "");
		if (o->enhanced[0] != '\0')
			out_buf_str(b, o->enhanced);
		if (o->enhanced[0] != '\0' && n > 0)
			out_buf_add(b, " ", 1);
		out_buf_add(b, p, n);
		out_buf_add(b, "\r\n", 2);
		p = nl ? nl + 1 : p + strlen(p);
	}
	return b->oom ? -1 : 0;
}
