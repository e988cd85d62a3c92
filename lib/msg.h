/* msg: an RFC 5322 message split into header fields and body, without copying.
 *
 * The message bytes stay where the caller put them; fields and body point into
 * them.  Both CRLF and bare-LF line endings are accepted (procmail hands us LF);
 * canonical consumers treat a bare LF as CRLF.  A message with no blank line is
 * all header; a message that starts with a blank line has no fields and is all
 * body.  Any other header line that is neither "name WSP* : value" nor a
 * continuation (SP/HTAB) of the field above is malformed: that includes an
 * mbox "From " line, which callers strip first, and a continuation on the
 * first line.
 */
#ifndef MXKIT_MSG_H
#define MXKIT_MSG_H
#include <stddef.h>

#define MSG_MAX_FIELDS 4096	/* more than this is malformed input */

struct msg_field {
	const char *raw;	/* the whole field: name, colon, value, folds */
	size_t raw_len;		/* excluding the final line ending */
	size_t name_len;	/* name is raw[0 .. name_len), no trailing WSP */
	const char *value;	/* just after the colon, still folded */
	size_t value_len;
};

struct msg {
	const char *buf;
	size_t len;
	struct msg_field *fields;
	size_t nfields;
	size_t cap;
	const char *body;	/* after the empty line, or buf + len if none */
	size_t body_len;
	int has_body;		/* an empty line separated header and body */
};

/* 0 on success, -1 with errno (ENOMEM) or a malformed header (EBADMSG,
 * *why set to a static string; why may be NULL).  Zero the struct msg before
 * its first use; reusing it reuses its field array. */
int msg_parse(struct msg *m, const char *buf, size_t len, const char **why);
void msg_free(struct msg *m);

/* Case-insensitive name match. */
int msg_field_is(const struct msg_field *f, const char *name);

/* Index of the nth (0-based) field called name counting from the top, or -1. */
long msg_find(const struct msg *m, const char *name, size_t nth);

/* Number of fields called name. */
size_t msg_count(const struct msg *m, const char *name);

/* Unfold a value: drop CR and LF of folds, keep the WSP.  Returns a malloc'd,
 * NUL-terminated string (NULL on ENOMEM); *len_out gets its length if non-NULL. */
char *msg_unfold(const char *value, size_t len, size_t *len_out);

/* 1 when c is RFC 5322 atext (3.2.3). */
int msg_is_atext(unsigned char c);
/* 1 when s[0..n) is an RFC 5322 dot-atom (3.2.3: runs of atext joined by
 * single dots), which a structured field may carry without quotes. */
int msg_is_dot_atom(const char *s, size_t n);

#endif
