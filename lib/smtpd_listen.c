/* smtpd_listen: the accept loop, one child per connection. */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "maillog.h"
#include "smtpd_listen.h"
#include "tlsd.h"

static volatile sig_atomic_t got_term;

static void
on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static void
on_child_term(int sig)
{
	(void)sig;
	smtpd_request_stop();
}

static void
on_chld(int sig)
{
	(void)sig;	/* only to interrupt poll */
}

static int
parse_spec(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(spec, ':'), *port = colon ? colon + 1 :
	    spec;
	size_t hl = colon ? (size_t)(colon - spec) : 0;
	char *end;
	unsigned long p = strtoul(port, &end, 10);

	if (*port == '\0' || *end != '\0' || p == 0 || p > 65535 ||
	    hl >= sizeof(host))
		return -1;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in = (void *)ss;
	struct sockaddr_in6 *in6 = (void *)ss;
	if (host[0] == '\0' || strcmp(host, "*") == 0) {
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_any;
		in6->sin6_port = htons((unsigned short)p);
		*len = sizeof(*in6);
	} else if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((unsigned short)p);
		*len = sizeof(*in);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((unsigned short)p);
		*len = sizeof(*in6);
	} else
		return -1;
	return 0;
}

int
smtpd_listen_add(struct smtpd_listen *l, const char *spec, const char **why)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, on = 1, off = 0;

	if (l->n == LISTEN_MAX) {
		*why = "too many --listen addresses";
		return -1;
	}
	if (parse_spec(spec, &ss, &len) < 0) {
		*why = "not ADDR:PORT, [IPv6]:PORT or PORT";
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*why = strerror(errno);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)&ss;
		/* "*:25" is both families; "[::]:25" only IPv6. */
		int any = memcmp(&in6->sin6_addr, &in6addr_any, 16) == 0 &&
		    spec[0] != '[';
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, any ? &off : &on,
		    sizeof(on));
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0) {
		*why = strerror(errno);
		close(fd);
		return -1;
	}
	l->fd[l->n] = fd;
	snprintf(l->name[l->n], sizeof(l->name[0]), "%s", spec);
	l->n++;
	return 0;
}

int
smtpd_drop_privileges(const char *user, const char **why)
{
	struct passwd *pw = getpwnam(user);

	if (!pw) {
		*why = "no such user";
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 ||
	    setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		*why = strerror(errno);
		return -1;
	}
	/* A setuid that could be undone is no drop at all. */
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		*why = "privileges could be regained";
		return -1;
	}
	return 0;
}

struct child {
	pid_t	pid;
	char	ip[128];
};

struct children {
	struct child *v;
	size_t	n, cap;
};

static void
reap(struct children *ch)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		for (size_t i = 0; i < ch->n; i++)
			if (ch->v[i].pid == pid) {
				ch->v[i] = ch->v[--ch->n];
				break;
			}
}

static unsigned
count_ip(const struct children *ch, const char *ip)
{
	unsigned n = 0;

	for (size_t i = 0; i < ch->n; i++)
		n += strcmp(ch->v[i].ip, ip) == 0;
	return n;
}

/* The parent answers an over-limit client itself, without waiting. */
static void
refuse(int fd, const struct smtpd_config *c, const char *ip, int per_ip)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "421 4.7.0 %s Too many concurrent "
	    "SMTP connections%s; please try again later\r\n", c->hostname,
	    per_ip ? " from this IP address" : "");

	if (n > 0)
		(void)!send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
	maillog("Connection from [%s] refused: too many connections%s", ip,
	    per_ip ? " from that IP address" : "");
}

static void
child_main(struct smtpd_listen *l, const struct smtpd_config *c, int fd)
{
	struct sigaction sa;
	struct smtpd_peer peer;

	for (size_t i = 0; i < l->n; i++)
		close(l->fd[i]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_child_term;	/* no SA_RESTART: wake the read */
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	smtpd_peer_of(fd, &peer);
	_exit(smtpd_session(c, fd, fd, &peer));
}

static void
accept_one(struct smtpd_listen *l, const struct smtpd_config *c, int lfd,
    struct children *ch)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char ip[128];
	int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	unsigned port;

	smtpd_addr_text(&ss, ip, sizeof(ip), &port);
	if (l->max_conn && ch->n >= l->max_conn) {
		refuse(fd, c, ip, 0);
		return;
	}
	if (l->max_conn_per_ip && count_ip(ch, ip) >= l->max_conn_per_ip) {
		refuse(fd, c, ip, 1);
		return;
	}
	if (ch->n == ch->cap) {
		size_t cap = ch->cap ? ch->cap * 2 : 64;
		struct child *v = realloc(ch->v, cap * sizeof(*v));

		if (!v) {
			close(fd);
			return;
		}
		ch->v = v;
		ch->cap = cap;
	}
	/* Reload changed certificates here once, not in every child. */
	if (c->tls) {
		char err[256];

		if (tlsd_refresh(c->tls, err, sizeof(err)) < 0)
			maillog("TLS: %s (the old certificates stay)", err);
	}
	pid_t pid = fork();
	if (pid == 0) {
		/* The session's descriptors must survive its hooks' exec
		 * only as 0-2 (lib/hook closes the rest anyway). */
		fcntl(fd, F_SETFD, 0);
		child_main(l, c, fd);
	}
	close(fd);
	if (pid < 0) {
		maillog("fork failed: %s", strerror(errno));
		return;
	}
	ch->v[ch->n].pid = pid;
	snprintf(ch->v[ch->n].ip, sizeof(ch->v[0].ip), "%s", ip);
	ch->n++;
}

static void
stop_children(struct smtpd_listen *l, struct children *ch)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	unsigned waited = 0;

	for (size_t i = 0; i < ch->n; i++)
		kill(ch->v[i].pid, SIGTERM);
	while (ch->n > 0 && waited < l->stop_wait_ms) {
		nanosleep(&tick, NULL);
		waited += 50;
		reap(ch);
	}
	for (size_t i = 0; i < ch->n; i++)
		kill(ch->v[i].pid, SIGKILL);
	while (ch->n > 0 && waitpid(-1, NULL, 0) > 0)
		reap(ch);
}

/* A session killed in the middle of a message leaves its spool file:
 * one older than any session can live is nobody's. */
static void
sweep_spool(const struct smtpd_config *c)
{
	time_t life = c->session_timeout_ms ?
	    (time_t)(c->session_timeout_ms / 1000) : 86400;
	time_t limit = time(NULL) - life - 3600;
	DIR *d = opendir(c->spool_dir);
	struct dirent *e;
	struct stat st;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "smtpfront.", 10) != 0 ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
		    st.st_mtime > limit)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			maillog("removed %s/%s, left by a session that was "
			    "killed", c->spool_dir, e->d_name);
	}
	closedir(d);
}

int
smtpd_listen_run(struct smtpd_listen *l, const struct smtpd_config *c)
{
	struct pollfd pfd[LISTEN_MAX];
	struct children ch = { 0 };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_chld;
	sigaction(SIGCHLD, &sa, NULL);
	/* A listener's children must not take a peer from our environment. */
	unsetenv("TCPREMOTEIP");
	unsetenv("TCPREMOTEPORT");
	unsetenv("TCPLOCALIP");
	unsetenv("TCPLOCALPORT");
	for (size_t i = 0; i < l->n; i++) {
		pfd[i].fd = l->fd[i];
		pfd[i].events = POLLIN;
		maillog("smtpfront listening on %s", l->name[i]);
	}
	time_t swept = 0;
	while (!got_term) {
		reap(&ch);
		if (time(NULL) - swept >= 600) {
			sweep_spool(c);
			swept = time(NULL);
		}
		int r = poll(pfd, l->n, 1000);
		if (r < 0 && errno != EINTR) {
			maillog("poll: %s", strerror(errno));
			break;
		}
		for (size_t i = 0; r > 0 && i < l->n; i++)
			if (pfd[i].revents & POLLIN)
				accept_one(l, c, l->fd[i], &ch);
	}
	for (size_t i = 0; i < l->n; i++)
		close(l->fd[i]);
	maillog("smtpfront stopping: %zu session%s to finish", ch.n,
	    ch.n == 1 ? "" : "s");
	stop_children(l, &ch);
	free(ch.v);
	return got_term ? 0 : 1;
}
