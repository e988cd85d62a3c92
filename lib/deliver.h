/* deliver: durable local delivery of an accepted message, for smtpfront.
 *
 * The rule it serves: 250 only once the message is durable; any failure
 * is a 4xx (or a 5xx the destination asked for); a message is either
 * stored whole or not at all.  Where the choice is between a duplicate
 * and a loss, this module picks the duplicate.
 *
 * Destinations (one --deliver each; a list is allowed and every entry
 * must take the message):
 *
 *   maildir:DIR   DIR/tmp/NAME is written, fsync'd and closed, linked
 *                 (or, where links are refused, renamed without
 *                 overwriting) to DIR/new/NAME, DIR/new is fsync'd, the
 *                 tmp name removed.  NAME is the maildir spec's
 *                 SECS.MusecPpidQnRrand.HOST,S=SIZE.  DIR/{tmp,new,cur}
 *                 are created (mode 0700) when missing, DIR itself too
 *                 when its parent exists; a missing parent is a
 *                 temporary failure.
 *   mbox:FILE     FILE.lock (O_EXCL dotlock; one older than the stale
 *                 time is broken) and then an fcntl write lock, both
 *                 within the lock timeout; FILE (created 0600 when
 *                 missing; not a symlink, not a hard-linked file) gets
 *                 "From SENDER DATE", the message with mboxrd quoting
 *                 (every ^>*From line one more '>'), a line end if the
 *                 last line lacks one and the empty separator line;
 *                 fsync.  On any failure the file is truncated back to
 *                 its old size (and fsync'd).
 *   pipe:PROG ARG...
 *                 PROG (absolute, executable at start-up) is run by
 *                 hook_run (lib/hook) with execve, no shell: ARGS are
 *                 split on spaces and tabs, literally (no quoting, no
 *                 substitution; %{ is refused so nobody expects it).
 *                 stdin is a fresh descriptor of the spool file at
 *                 offset 0 (no pipe, so a program that does not read it
 *                 costs nothing); stdout and stderr go to one pipe that
 *                 is drained, its first line (bounded) kept for the log.
 *                 The child runs in "/", in its own process group, with
 *                 default signal handlers, an empty signal mask and only
 *                 fds 0-2; environment: SENDER, RECIPIENTS (space
 *                 separated), MESSAGE_ID, PATH (fixed), and RECIPIENT,
 *                 LOCAL_PART, DOMAIN when the run is for one recipient
 *                 (DELIVER_PER_RCPT, or a message with one recipient);
 *                 nothing else.  Exit 0: delivered; 73 or 75: temporary;
 *                 other codes: permanent (Exim's pipe transport with
 *                 temp_errors = 73:75); killed by a signal, timed out
 *                 (the process group gets SIGTERM, and SIGKILL
 *                 HOOK_GRACE_MS later, so the program may clean up) or
 *                 not executable any more: temporary.  One run for the
 *                 whole message, or one per recipient with
 *                 DELIVER_PER_RCPT.
 *
 * %{local_part}, %{domain} and %{rcpt} in DIR and FILE give each
 * recipient its own copy (recipients whose paths come out the same share
 * one).  The domain is lowercased (ASCII); pass the form the paths should
 * use (the A-label, say).  A value that is empty, longer than 255
 * octets, holds '/' or a control character or starts with '.' refuses
 * that recipient permanently (550 5.1.1): call deliver_check_rcpt at RCPT
 * time so it never gets as far as DATA.  Without %{..} one copy serves
 * all recipients.
 *
 * Replies never show server paths: each result has a reply text for the
 * client and a longer reason for the log.
 *
 * What it cannot help: a crash or SIGKILL of this process in the middle
 * of an mbox append leaves the partial message (nobody is left to
 * truncate; the client, which got no 250, sends it again).  maildir has
 * no such window: a crash leaves at most a file in tmp/, which maildir
 * readers clean up.
 *
 * SIGCHLD as hook_run (hook.h) handles it: the caller may ignore it,
 * but a handler that reaps children it did not start (waitpid(-1))
 * steals the exit status, a temporary failure.  Nothing here writes to
 * a pipe, so no SIGPIPE comes from it.  Not thread-safe (static buffers,
 * a process-wide maildir sequence number).
 */
#ifndef MXKIT_DELIVER_H
#define MXKIT_DELIVER_H
#include <stddef.h>

#define DELIVER_MAX_DEST	16	/* --deliver options */
#define DELIVER_MAX_SPEC	4096	/* octets of one spec */
#define DELIVER_MAX_ARGS	64	/* pipe: PROG and its arguments */
#define DELIVER_MAX_VALUE	255	/* a substituted value */
#define DELIVER_TEXT_MAX	160	/* a reply text, NUL included */
#define DELIVER_LOG_MAX		512	/* a log reason, NUL included */

/* Defaults of struct deliver_conf, in seconds. */
#define DELIVER_PIPE_TIMEOUT	300	/* under RFC 5321's 10 min for DATA */
#define DELIVER_LOCK_TIMEOUT	30	/* Exim: lock_retries 10 x 3 s */
#define DELIVER_LOCK_STALE	1800	/* Exim's lockfile_timeout */
#define DELIVER_PATH		"/usr/local/bin:/usr/bin:/bin"

/* Settings for every destination of a list; zero fields take the
 * defaults above (hostname: gethostname()).  Strings are copied. */
struct deliver_conf {
	unsigned	 pipe_timeout;
	unsigned	 lock_timeout;
	unsigned	 lock_stale;
	const char	*hostname;	/* for maildir names */
	const char	*path;		/* PATH for pipes */
};

struct deliver;		/* a list of destinations */

/* A new empty list (conf NULL: all defaults), or NULL when out of
 * memory. */
struct deliver *deliver_new(const struct deliver_conf *conf);
/* Parse one spec and append it.  0, or -1 with *err a malloc'd one-line
 * message ("pipe: PROG must be an absolute path") for a start-up error. */
int deliver_add(struct deliver *d, const char *spec, char **err);
/* deliver_new(NULL) + deliver_add: a one-destination list, or NULL with
 * *err set. */
struct deliver *deliver_parse(const char *spec, char **err);
void deliver_free(struct deliver *d);
/* The number of destinations in d. */
size_t deliver_count(const struct deliver *d);

struct deliver_rcpt {
	const char	*address;	/* local_part@domain, no <> */
	const char	*local_part;
	const char	*domain;
};

#define DELIVER_PER_RCPT	0x01	/* pipe: one run per recipient */
#define DELIVER_RETURN_PATH	0x02	/* maildir, mbox: prepend
					   "Return-Path: <sender>" (RFC 5321
					   4.4: final delivery adds it) */

struct deliver_msg {
	int			 fd;	/* the spool file; read with pread
					   only (a pipe program gets a fresh
					   open of it via /proc, or without
					   /proc a dup rewound to 0) */
	const char		*sender;	/* "" (or NULL) for <> */
	const struct deliver_rcpt *rcpt;
	size_t			 nrcpt;
	const char		*message_id;
	unsigned		 flags;
};

enum deliver_status {
	DELIVER_OK = 0,
	DELIVER_TEMP,		/* 4xx: the client keeps it and retries */
	DELIVER_PERM		/* 5xx */
};

/* The codes:
 *   250 2.0.0  delivered
 *   451 4.3.1  no space left (ENOSPC)
 *   451 4.2.2  over quota (EDQUOT)
 *   451 4.2.0  mbox locks not had within the lock timeout
 *   451 4.3.0  any other temporary failure (errno text in the reply, no
 *              paths), a pipe's 73/75, signal, timeout, failed execve
 *   550 5.1.1  a %{..} value refused (deliver_check_rcpt)
 *   550 5.3.0  a pipe's other non-zero exit
 * 451 for every temporary one: the "any failure after DATA is
 * 451".  A session without PRDR may prefer 554 for a permanent whole-
 * message answer; code is a suggestion, esc and text fit both. */
struct deliver_result {
	enum deliver_status status;
	int	code;			/* 250, 451 or 550 */
	char	esc[8];			/* RFC 3463 code: "4.3.1" */
	char	text[DELIVER_TEXT_MAX];	/* after code and esc; printable
					   ASCII, no paths */
	char	log[DELIVER_LOG_MAX];	/* paths, errno text, what a pipe
					   said; no control characters */
};

/* Deliver m to every destination of d; res[i] (nrcpt entries) says what
 * happened to m->rcpt[i].  A recipient counts as delivered only when
 * every destination took it; once one refuses it the later ones are not
 * tried for it.  A recipient that an earlier destination stored and a
 * later one refused permanently gets a temporary result: the retry may
 * store a duplicate, a bounce would say "not delivered" of a message
 * that was.  Returns the summary of deliver_summary. */
enum deliver_status deliver_run(const struct deliver *d,
    const struct deliver_msg *m, struct deliver_result *res);

/* The whole-message answer for a session without PRDR: all delivered is
 * 250; any temporary result makes it that temporary result (the client
 * retries: duplicates for the delivered ones, no loss); otherwise (some
 * permanent, no temporary) the first permanent one, so the sender hears
 * of the refusal rather than nothing.  n == 0 gives 250. */
enum deliver_status deliver_summary(const struct deliver_result *res,
    size_t n, struct deliver_result *out);

/* At RCPT time: 0 when every destination of d can take r, or -1 with
 * *res filled in (550 5.1.1 for a value %{..} refuses). */
int deliver_check_rcpt(const struct deliver *d, const struct deliver_rcpt *r,
    struct deliver_result *res);

/* The mboxrd quoting, exposed for tests: quote in[0..n), a piece of a
 * message, with the state *st (zeroed before the first piece: the start
 * of a line).  The extra '>' goes after the line's '>' run rather than
 * before it, which is the same text and needs no look-behind: at most
 * the 4 octets of a partial "From" are held in *st between pieces.  out
 * must hold 2 * n + 8 octets; returns the octets written.  _end writes
 * what is still held (out: 8 octets). */
struct deliver_quote {
	int	mid;		/* 0 at the start of a line, in its '>' run */
	int	k;		/* octets of "From " matched and held */
};
size_t deliver_mbox_quote(struct deliver_quote *st, const char *in,
    size_t n, char *out);
size_t deliver_mbox_quote_end(struct deliver_quote *st, char *out);

#endif
