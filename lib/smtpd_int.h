/* smtpd_int: what the two halves of the session core share: smtpd.c (the
 * connection and the commands) and smtpd_msg.c (the message: DATA, BDAT,
 * the spool file, PRDR, the data hook, delivery).  Not an API. */
#ifndef MXKIT_SMTPD_INT_H
#define MXKIT_SMTPD_INT_H
#include <stdint.h>

#include "hook.h"
#include "out.h"
#include "proxy.h"
#include "smtpd.h"
#include "smtpd_cmd.h"
#include "smtpd_io.h"

struct tlsd_conn;
struct tlsd_info;
struct spool;

struct rcpt {
	struct smtpd_path path;
	int	discard;	/* the RCPT hook said discard */
};

struct session {
	const struct smtpd_config *c;
	struct smtpd_io io;
	struct smtpd_peer peer;		/* the client (after PROXY) */
	struct smtpd_peer tcp;		/* the TCP peer: the proxy, if any */
	int	proxied;		/* a PROXY header was expected */
	int	proxy_failed;		/* ... and did not come: 503 to all */
	int	proxy_local_cmd;	/* it was LOCAL/UNKNOWN: real peer kept */
	char	helo[256];		/* "" before HELO/EHLO */
	int	esmtp;			/* EHLO, not HELO */
	unsigned ext;			/* SMTPD_X_* offered at EHLO */
	struct tlsd_conn *tls;
	const struct tlsd_info *tlsinfo;
	struct hook_env env;		/* the session's variables */
	unsigned errors;
	long long started_ms;
	char	sid[16];		/* for log lines before a message id */
	unsigned nmsg;			/* messages in this session */
	int	closing;		/* drop the connection after this reply */
	int	quit;			/* the session ended with QUIT */

	/* The transaction. */
	int	in_mail;
	struct smtpd_mail mail;
	int	mail_discard;		/* the MAIL hook said discard */
	struct rcpt *rcpt;
	size_t	nrcpt, rcpt_cap;
	unsigned rcpt_refused;		/* RCPTs refused (for the log) */
	struct out_buf added;		/* header fields from hooks */
	char	id[24];			/* message id, set at DATA/BDAT */
	/* BDAT in progress: the spool is open across commands. */
	int	bdat;
	int	bdat_failed;		/* a chunk failed: refuse until LAST */
	struct spool *spool;
};

/* Reply helpers (smtpd.c). */
void sess_reply(struct session *s, int code, const char *enh,
    const char *text);
void sess_replyf(struct session *s, int code, const char *enh,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A hook's decision as the reply, or the default for its verdict. */
void sess_reply_decision(struct session *s, const struct hook_decision *d,
    int ok_code, const char *ok_enh, const char *ok_text);
/* "H=helo [ip]:port" (and "PRX=[proxy]") for log lines. */
const char *sess_host(const struct session *s);
/* Run the stage's hook (accept when none) with the session's variables
 * plus extra (may be NULL) and stdin from in_path (NULL: /dev/null). */
void sess_run_hook(struct session *s, enum hook_stage stage,
    const struct hook_env *extra, const char *in_path,
    struct hook_decision *d);
void sess_event(struct session *s, const char *name, const char *data);
/* The transaction's variables (sender_address, ...) into e, initialized
 * here; and a recipient's (local_part, domain, ...) added to e. */
void sess_env_sender(const struct session *s, struct hook_env *e);
void sess_env_rcpt(struct hook_env *e, const struct smtpd_path *p);
/* v as n base-62 digits (most significant first) and a NUL: the ids. */
void sess_base62(char *out, unsigned long long v, int n);
/* Forget the transaction (RSET, after a message, EHLO, STARTTLS). */
void sess_reset(struct session *s);

/* Exim's protocol word (P=): "esmtps", "utf8esmtp", ... */
const char *sess_proto(const struct session *s);

/* The message half (smtpd_msg.c). */
/* DATA: 354, the text, the verdict. */
void msg_data(struct session *s);
/* BDAT size [LAST]. */
void msg_bdat(struct session *s, uint64_t size, int last);
void msg_abort(struct session *s);	/* a BDAT transaction ends unused */

#endif
