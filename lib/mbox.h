/* mbox: stream an mbox archive message by message.
 *
 * Memory is bounded by the largest message, never by the archive.  The
 * "From " separator line is returned separately; in mboxrd every line of
 * the form ">*From " loses one '>', in mboxo only ">From " becomes "From "
 * (which is the ambiguity mboxo is known for).  CRLF and LF archives both
 * work; line endings inside messages are left as found.
 */
#ifndef MXKIT_MBOX_H
#define MXKIT_MBOX_H
#include <stddef.h>
#include <stdio.h>

enum mbox_variant { MBOX_RD, MBOX_O };

struct mbox;

struct mbox_msg {
	char *data;		/* the unquoted message, malloc'd, owned by caller;
				   data[len] is a NUL */
	size_t len;
	char *from_line;	/* the separator without its line ending, malloc'd */
	unsigned long index;	/* 1-based message number in the archive */
	unsigned long long offset;	/* byte offset of the separator */
};

/* fp is read sequentially and not closed by mbox_close.  max_msg caps one
 * message (0: no cap); a longer message is an error (EFBIG). */
struct mbox *mbox_open(FILE *fp, enum mbox_variant v, size_t max_msg);

/* 1: *out holds the next message; 0: end of archive; -1: error, errno set
 * (EBADMSG when the input does not start with a "From " line).  The empty
 * line before a separator (and at the end) is the writer's and is dropped.
 * After EFBIG (that message was over max_msg and is skipped; out->index and
 * out->offset say which it was) the next call goes on with the next message;
 * other errors stick. */
int mbox_next(struct mbox *mb, struct mbox_msg *out);
void mbox_msg_free(struct mbox_msg *m);
void mbox_close(struct mbox *mb);

/* Bytes consumed so far (for progress lines). */
unsigned long long mbox_tell(const struct mbox *mb);

/* Split an in-memory archive (used by the fuzzer and tests); calls fn for
 * each message (fn may be NULL; the message is freed after fn returns);
 * returns the number of messages or -1.  fn returns 0 to go on, > 0 to stop
 * (the count so far is returned), < 0 to fail (-1 is returned). */
long mbox_split_mem(const char *buf, size_t len, enum mbox_variant v,
    int (*fn)(const struct mbox_msg *, void *), void *arg);

/* Append one message to an mboxrd archive: from_line (no line ending; NULL
 * for "From MAILER-DAEMON <now>"), the message with every ">*From " line
 * given one more '>', a line ending if the message lacks a final one, and
 * the empty separator line.  A message whose first line ends in CRLF gets
 * CRLF in what is added.  0, or -1 with errno (EINVAL: from_line does not
 * start with "From " or holds a line break). */
int mbox_write(FILE *fp, const char *from_line, const char *msg, size_t len);

#endif
