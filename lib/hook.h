/* hook: run the policy executables of smtpfront (and the pipe of pipe
 * delivery, and the event hook), and turn a hook's result into an SMTP
 * decision.
 *
 * hook_run() knows nothing of SMTP: it runs one program with execve and
 * reports how it ended and what it wrote on stdout.  hook_decide() reads
 * that result the way smtpfront's stage hooks are documented to work.
 *
 * HOW A HOOK IS RUN (hook_run)
 *   - The program is executed directly with execve(2), never through a
 *     shell and never found by a PATH search: its path must contain a '/'
 *     (an absolute path, or one relative to the current directory such as
 *     ./hooks/rcpt).  A name without a slash is an exec failure (EINVAL).
 *   - Environment: exactly the variables the caller put in envp, and
 *     nothing inherited from ours; when envp has no PATH, hook_run adds
 *     PATH=HOOK_PATH so that scripts find the usual tools.
 *   - stdin: a file the caller names (opened read-only, so the hook gets
 *     its own file offset), a descriptor the caller gives (its offset is
 *     shared with the caller), or /dev/null.
 *   - stdout: captured, up to out_max octets (HOOK_OUT_MAX by default);
 *     the rest is read and thrown away (so a flood never blocks the hook
 *     or us) and out_truncated is set.
 *   - stderr: passed through unchanged to the caller's stderr (smtpfront's
 *     log), or to err_fd; not prefixed, not captured.  With err_to_out
 *     it is the same pipe as stdout instead, so both are captured in one
 *     buffer in the order written (pipe delivery logs what its program
 *     said on either).
 *   - Working directory: the caller's, or cwd when set (a cwd that cannot
 *     be entered is an exec failure with chdir's errno).
 *   - The child starts a process group of its own, every descriptor but
 *     0, 1 and 2 is closed, every signal is back to its default action and
 *     none is blocked (a server may ignore SIGPIPE or block SIGTERM).
 *   - timeout_ms after the start the whole process group gets SIGTERM,
 *     and grace_ms later SIGKILL, so a shell's background children die
 *     too (unless they left the group with setsid or setpgid).  When the
 *     hook exits by itself, processes it left running in the background
 *     are not killed; their hold on stdout no longer delays us.
 *   - SIGCHLD: hook_run reaps its own child with waitpid on its pid.  It
 *     blocks SIGCHLD in the calling thread while it runs, and when SIGCHLD
 *     is ignored (SIG_IGN or SA_NOCLDWAIT, which make the kernel throw the
 *     status away) it sets the default action for the duration of the
 *     call and restores the caller's afterwards.  A caller's SIGCHLD
 *     handler in another thread must only reap pids it started (waitpid
 *     on -1 would steal the status: hook_run then reports HOOK_ERROR).
 *   - Interrupted system calls are restarted; a signal the caller handles
 *     does not end the wait early (the timeout bounds it).
 *
 * THE OUTPUT FORMAT OF A STAGE HOOK (hook_output_parse, hook_decide)
 *   The exit status is the decision:
 *     0  accept             the default reply of the stage (250 ...)
 *     1  reject             5xx
 *     2  defer              4xx
 *     3  discard            accept, then drop: allowed at MAIL (the whole
 *                           message), RCPT (that recipient), DATA and PRDR
 *                           (as Exim's discard verb); at the other stages
 *                           it is a hook error
 *     anything else, death by a signal, a timeout, or a program that
 *     cannot be executed: defer (never accept), logged as a hook error.
 *   stdout, read as lines ending in LF (a CR before the LF is removed; the
 *   last line need not end in LF), has two optional parts separated by
 *   the first empty line:
 *
 *     REPLY     everything before the first empty line.  When it is a
 *               well-formed SMTP reply whose class agrees with the exit
 *               status (2xx for accept and discard, 5xx for reject, 4xx
 *               for defer), it replaces the stage's default reply.
 *               Well-formed is: 1 to HOOK_REPLY_MAX_LINES lines, each
 *               CODE "-" TEXT (all lines but the last) or CODE [" " TEXT]
 *               (the last), with the same three-digit CODE (2-5, 0-5,
 *               0-9) on every line; TEXT may start with an enhanced status
 *               code X.Y.Z (RFC 3463) whose class digit is CODE's first;
 *               when the first line has one, every line may repeat it and
 *               none may carry a different one; a line holds printable
 *               ASCII, space and tab, at most HOOK_REPLY_MAX_LINE octets
 *               as it will be sent (with the first line's enhanced code,
 *               which every line of the reply gets).  Otherwise the part is ignored (the default reply is
 *               used, the decision stands) and the reason is logged.
 *     HEADERS   everything after the first empty line: header fields to
 *               add to the message (RFC 5322: NAME ":" VALUE, where NAME
 *               is 1 or more printable ASCII characters other than ':';
 *               a line that starts with a space or tab continues the
 *               field before it and must hold more than white space).
 *               At most HOOK_HDR_MAX_LINES lines, HOOK_HDR_MAX octets in
 *               all, HOOK_HDR_MAX_LINE octets a line; values are ASCII or
 *               UTF-8 (RFC 6532), no control characters but tab.  Empty
 *               lines at the very end are allowed.  Anything else makes
 *               the whole hook a hook error (defer), so that a broken
 *               script never has its headers silently dropped or cut.
 *   An output that starts with an empty line has headers and no reply.
 *   More output than hook_run keeps (HOOK_OUT_MAX octets) is a hook
 *   error as well, and so is a NUL anywhere in it.
 *   The reply and the headers are taken only from a hook that decided
 *   (exit 0 to 3); the headers are returned at every stage (the caller
 *   decides where they go: a RCPT hook's headers are added to the message
 *   as Exim's add_header does).
 *
 *   Examples:
 *     echo "550 5.7.1 no mail from $sender_address here"; exit 1
 *
 *     printf '550-5.7.1 rejected by policy\n550 5.7.1 see https://...\n'
 *     exit 1
 *
 *     echo; dmarceval -o ar <"$MESSAGE_FILE"; exit 0
 *                    (no reply, one Authentication-Results header)
 *
 * EVENTS (hook_event)
 *   The event hook runs with the caller's environment plus event_name and
 *   event_data (empty when the event has none), stdin /dev/null; its
 *   stdout is ignored.  Its exit status is returned: for tcp:connect and
 *   smtp:connect a non-zero status closes the connection (Exim's "do not
 *   connect" / "close connection"); for the others it is only logged.
 */
#ifndef MXKIT_HOOK_H
#define MXKIT_HOOK_H
#include <stddef.h>

#include "out.h"

#define HOOK_PATH	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define HOOK_OUT_MAX	65536	/* octets of stdout kept */
#define HOOK_GRACE_MS	1000	/* SIGTERM to SIGKILL */

#define HOOK_ENV_MAX_VARS	256
#define HOOK_ENV_MAX_NAME	64
#define HOOK_ENV_MAX_STRING	131072	/* "NAME=value" and its NUL (Linux's
					   MAX_ARG_STRLEN) */

#define HOOK_REPLY_MAX_LINES	16
#define HOOK_REPLY_MAX_LINE	510	/* RFC 5321 4.5.3.1.5, CRLF excluded */
#define HOOK_HDR_MAX_LINES	64
#define HOOK_HDR_MAX		16384
#define HOOK_HDR_MAX_LINE	998	/* RFC 5322 2.1.1, CRLF excluded */

/* An environment under construction: v is NULL-terminated "NAME=value"
 * strings, ready for execve.  Zero it (or hook_env_init) to start. */
struct hook_env {
	char	**v;
	size_t	  n;
	size_t	  cap;
};

void hook_env_init(struct hook_env *e);
/* Set name to a copy of value (replacing an earlier value).  name must be
 * [A-Za-z_][A-Za-z0-9_]*, at most HOOK_ENV_MAX_NAME octets; value may hold
 * any octet but NUL (newlines included).  0, or -1 with errno EINVAL (bad
 * name), E2BIG (too long, or too many variables) or ENOMEM. */
int hook_env_set(struct hook_env *e, const char *name, const char *value);
/* The same for value[0..len); a NUL inside it is EINVAL. */
int hook_env_setn(struct hook_env *e, const char *name, const char *value,
    size_t len);
int hook_env_set_num(struct hook_env *e, const char *name, long long value);
/* The value of name, or NULL. */
const char *hook_env_get(const struct hook_env *e, const char *name);
/* dst (initialized, usually empty) gets copies of all of src's variables.
 * 0 or -1 (ENOMEM). */
int hook_env_copy(struct hook_env *dst, const struct hook_env *src);
/* The NULL-terminated vector for hook_spec.envp (never NULL). */
char *const *hook_env_vec(struct hook_env *e);
void hook_env_free(struct hook_env *e);

struct hook_spec {
	const char	 *path;		/* must contain a '/' */
	char *const	 *argv;		/* NULL: { path, NULL } */
	char *const	 *envp;		/* NULL-terminated; NULL: empty */
	const char	 *in_path;	/* stdin: this file, read-only, or */
	int		  in_fd;	/* this descriptor; -1: /dev/null */
	int		  err_fd;	/* stderr; -1: ours (fd 2) */
	int		  err_to_out;	/* 1: stderr into the stdout capture
					   (err_fd unused) */
	const char	 *cwd;		/* NULL: ours */
	unsigned	  timeout_ms;	/* 0: none */
	unsigned	  grace_ms;	/* SIGTERM to SIGKILL; 0: SIGKILL */
	size_t		  out_max;	/* 0: HOOK_OUT_MAX */
};

/* Defaults: no stdin (/dev/null; fd 0 is the SMTP client in stdin mode,
 * so a zeroed spec would be wrong), our stderr, our directory, no
 * timeout, grace HOOK_GRACE_MS, HOOK_OUT_MAX. */
void hook_spec_init(struct hook_spec *s, const char *path);

enum hook_status {
	HOOK_EXITED,		/* code: the exit status 0..255 */
	HOOK_SIGNALED,		/* code: the signal that killed it */
	HOOK_TIMEDOUT,		/* killed after timeout_ms; code: the signal
				   or exit status it ended with */
	HOOK_EXECFAIL,		/* could not be executed; code: errno */
	HOOK_ERROR		/* our side failed (pipe, fork, wait); code:
				   errno */
};

struct hook_result {
	enum hook_status status;
	int		 code;
	unsigned long	 elapsed_ms;
	char		*out;		/* stdout, NUL-terminated; NULL only
					   when hook_run ran out of memory */
	size_t		 out_len;
	int		 out_truncated;	/* there was more than out_max */
};

/* Run s.  0 when the program ran (whatever its status) or could not be
 * executed; -1 with errno and status HOOK_ERROR when hook_run itself
 * failed.  r is filled in both cases; free it with hook_result_free. */
int hook_run(const struct hook_spec *s, struct hook_result *r);
void hook_result_free(struct hook_result *r);
/* "exit 2", "signal 9 (Killed)", "timed out after 5000 ms",
 * "cannot execute: No such file or directory", ... in buf. */
void hook_result_text(const struct hook_result *r, char *buf, size_t size);

/* The run of a hook_event: returns the exit status (0..255), or -1 when
 * the hook was killed, timed out, could not be executed or not run at
 * all.  base may be NULL; r, when not NULL, gets the result (the caller
 * frees it) for the log. */
int hook_event(const char *prog, const char *event_name,
    const char *event_data, const struct hook_env *base,
    unsigned timeout_ms, struct hook_result *r);

enum hook_stage {
	HOOK_STAGE_CONNECT,
	HOOK_STAGE_HELO,
	HOOK_STAGE_MAIL,
	HOOK_STAGE_RCPT,
	HOOK_STAGE_DATA,
	HOOK_STAGE_PRDR,
	HOOK_STAGE_QUIT
};
/* "connect", "helo", ... */
const char *hook_stage_name(enum hook_stage stage);

enum hook_verdict {
	HOOK_ACCEPT,
	HOOK_REJECT,
	HOOK_DEFER,
	HOOK_DISCARD
};
const char *hook_verdict_name(enum hook_verdict v);	/* "accept", ... */

/* What a hook's stdout says, syntax only (no exit status involved). */
struct hook_output {
	/* The reply override; code 0 when there is none (or it was
	 * ignored).  text holds the lines without the code, separator and
	 * enhanced code, joined with '\n' ("" for a bare code). */
	int		 code;
	char		 enhanced[12];	/* "5.7.1", or "" */
	char		*text;
	size_t		 nlines;
	const char	*reply_why;	/* why the REPLY part was ignored */
	/* The header fields, each line ending in LF (folding kept); NULL
	 * when there are none. */
	char		*headers;
	size_t		 headers_len;
	size_t		 nheaders;	/* fields, not lines */
	const char	*headers_why;	/* set: the HEADERS part is invalid */
};

/* Parse out[0..len) (any octets).  0, or -1 when out of memory; the
 * reasons are static strings.  Free o with hook_output_free. */
int hook_output_parse(const char *out, size_t len, struct hook_output *o);
void hook_output_free(struct hook_output *o);

struct hook_decision {
	enum hook_verdict verdict;
	int		  failed;	/* 1: the hook did not decide (error,
					   crash, timeout, bad output): the
					   verdict is HOOK_DEFER */
	struct hook_output out;		/* reply override and headers */
	char		  why[256];	/* "" or a reason for the log */
};

/* The decision for r at stage.  Always fills d (on out of memory: a
 * failed defer); 0, or -1 when out of memory.  Free with
 * hook_decision_free. */
int hook_decide(const struct hook_result *r, enum hook_stage stage,
    struct hook_decision *d);
void hook_decision_free(struct hook_decision *d);

/* The override as it goes on the wire: "550-5.7.1 a\r\n550 5.7.1 b\r\n"
 * (the enhanced code on every line when the hook gave one) appended to
 * b.  Nothing when o->code is 0.  0, or -1 once b is out of memory. */
int hook_reply_format(const struct hook_output *o, struct out_buf *b);

#endif
