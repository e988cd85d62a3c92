/* filter: the message in, the message out with our header fields on top.
 *
 * The rule every filter follows (DESIGN.md, "Filter safety"): the message
 * is never lost or cut.  Either the whole input goes out (with the fields
 * prepended, or unchanged when something went wrong inside), or nothing
 * goes out and the program exits EX_TEMPFAIL (75) so that the delivery
 * agent keeps the original and retries.  Output is written with writev on
 * a descriptor, every write checked, partial writes resumed.
 */
#ifndef MXKIT_FILTER_H
#define MXKIT_FILTER_H
#include <stddef.h>
#include "msg.h"

/* Read the whole input: path, or standard input for NULL or "-".
 * buf is malloc'd with a NUL after the data.  0; or, with errno kept,
 * EX_NOINPUT when path cannot be opened, EX_IOERR when reading failed
 * (ENOMEM included).  A filter turns either into EX_TEMPFAIL. */
int filter_read(const char *path, char **buf, size_t *len);

/* filter_read, and when it fails the diagnostic "NAME: why" printed here
 * (NAME "stdin" for standard input).  Same return. */
int filter_load(const char *path, char **buf, size_t *len);

#define FILTER_FROM_LINE_MAX 1000	/* with its line ending */

/* Length of the mbox "From " line (From_ line) that buf starts with,
 * including its LF or CRLF; 0 when buf does not start with one.  procmail
 * and maildrop hand a filter the message with it.  It is not part of the
 * message (msg_parse refuses it): a filter parses buf + that length and
 * writes the line back first, its own fields just under it (filter_emit,
 * filter_emit_msg).  Not a From_ line: "From" WSP* ":" (the From field
 * with obsolete space before its colon), and a line with no ending within
 * FILTER_FROM_LINE_MAX bytes. */
size_t filter_from_line(const char *buf, size_t len);

/* "\r\n" when the first line of buf ends CRLF, else "\n" (also when there
 * is no line ending at all). */
const char *filter_eol(const char *buf, size_t len);

struct filter_piece {
	const char *p;
	size_t n;
};

/* Write every piece, in order, to fd.  0 when all went out; otherwise the
 * exit status to use after the diagnostic printed here: EX_TEMPFAIL when
 * nothing reached fd, EX_IOERR when the output was cut. */
int filter_writev(int fd, const struct filter_piece *pc, size_t n);

/* fields[0..nfields) (NUL-terminated, each with its line endings), then
 * msg; when msg starts with a From_ line (filter_from_line), the fields go
 * just under it.  Same return as filter_writev. */
int filter_emit(int fd, char *const *fields, size_t nfields,
    const char *msg, size_t len);

/* The From_ line, fields[0..nfields) (as for filter_emit), then the
 * message m; with strip_id not NULL, without the Authentication-Results
 * fields that claim strip_id (RFC 8601 section 5: results in our name that
 * came with the message are forged).  from_len is the length of the From_
 * line just before m->buf, 0 when none: m was parsed from buf + from_len,
 * from_len = filter_from_line(buf, len).  *nstripped (may be NULL) gets how
 * many were left out.  Same return as filter_writev; short of memory, the
 * input goes out unchanged without the fields (filter_pass_through). */
int filter_emit_msg(int fd, char *const *fields, size_t nfields,
    const struct msg *m, size_t from_len, const char *strip_id,
    size_t *nstripped);

/* The rule for an internal failure: warn "why", write msg unchanged.
 * Same return as filter_writev. */
int filter_pass_through(int fd, const char *msg, size_t len,
    const char *why);

/* Split m's bytes into pieces that leave out the fields drop[0..ndrop)
 * (pointers into m->fields) with their line endings; everything else is
 * kept byte for byte.  pc must have room for ndrop + 1 pieces; returns
 * the number used. */
size_t filter_pieces_without(const struct msg *m,
    const struct msg_field *const *drop, size_t ndrop,
    struct filter_piece *pc);

#endif
