/* out: the three output modes every program offers (DESIGN.md).
 *
 *   text  for people: the program prints what it likes with out_text();
 *         the variable calls are ignored
 *   kv    one  name='value'  line per variable, shell-quoted so that
 *         eval "$(prog -o kv ...)" is safe whatever the value holds
 *   json  one JSON object per record (a line), keys in call order;
 *         strings escaped per RFC 8259, invalid UTF-8 replaced by U+FFFD
 *
 * A record is out_begin() ... out_end(); nothing reaches the stream before
 * out_end(), so records from several threads never interleave.
 */
#ifndef MXKIT_OUT_H
#define MXKIT_OUT_H
#include <stdio.h>
#include <stddef.h>
#include <time.h>

enum out_mode { OUT_TEXT, OUT_KV, OUT_JSON };

/* "text", "kv", "json" -> mode; -1 when unknown. */
int out_mode_parse(const char *s);

struct out;
struct out *out_new(enum out_mode mode);
void out_free(struct out *o);
enum out_mode out_get_mode(const struct out *o);

void out_begin(struct out *o);
void out_str(struct out *o, const char *name, const char *value);
void out_strn(struct out *o, const char *name, const char *value, size_t n);
void out_int(struct out *o, const char *name, long long value);
void out_bool(struct out *o, const char *name, int value);	/* kv: 1/0 */
/* JSON arrays of strings (kv: joined with ':', as Exim's lists are). */
void out_list(struct out *o, const char *name, const char *const *v, size_t n);
/* JSON nesting: an array of objects (one per signature, say).  In kv and
 * text mode these calls are ignored and the variables inside them are not
 * printed: the caller prints kv lists itself (colon-separated, Exim style). */
void out_array_begin(struct out *o, const char *name);
void out_array_end(struct out *o);
void out_object_begin(struct out *o);
void out_object_end(struct out *o);
void out_text(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));	/* text mode only */
/* The finished record; NULL-terminated, owned by o until the next begin. */
const char *out_record(struct out *o, size_t *len);
/* Write the finished record to fp; 0, or -1 on a write error. */
int out_end(struct out *o, FILE *fp);

/* t as ISO 8601 UTC ("2026-12-03T00:29:17Z") in buf; "" for 0, the
 * value every program uses for "no such time". */
void out_iso8601(time_t t, char *buf, size_t size);

/* Escaping helpers, exposed for reuse and tests; malloc'd results. */
/* 1 when s[0..n) is well-formed UTF-8 (ASCII included), else 0. */
int out_utf8_valid(const char *s, size_t n);
char *out_shell_quote(const char *s, size_t n);
char *out_json_string(const char *s, size_t n);
/* The value of the hex digit c (either case), -1 for anything else: for
 * undoing %XX and =XX escapes. */
int out_hex_value(int c);

/* The growable string the writers build records in, for any module that
 * builds text: zero it to start; p stays NUL-terminated once anything was
 * added.  The first failed allocation sets oom and drops every later
 * addition, so a caller checks once at the end. */
struct out_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 oom;
};
/* Append s[0..n); 0, or -1 once oom is set. */
int out_buf_add(struct out_buf *b, const void *s, size_t n);
void out_buf_str(struct out_buf *b, const char *s);
void out_buf_printf(struct out_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Free p and zero b. */
void out_buf_free(struct out_buf *b);

#endif
