/* mutf7: IMAP folder names in modified UTF-7 (RFC 3501 5.1.3), the way
 * Exim's ${imapfolder{name}{sep}{specials}} writes them (and Courier
 * stores Maildir++ folders), or plain as doveadm mailbox mutf7 does.
 *
 * Exim's rules, as Exim 4.96 really behaves (its documentation's prose
 * says otherwise, its examples agree):
 *   - one leading SEP is dropped; a run of SEPs becomes one "."; SEPs at
 *     the end are dropped ("/Foo//Bar/" -> "Foo.Bar", "//Foo" -> ".Foo");
 *   - an ASCII character in SPECIALS is base64-encoded, even a printable
 *     one ("Foo/Bar" with SEP "." and SPECIALS "/" -> "Foo&AC8-Bar");
 *   - a "." or "/" that is neither SEP nor in SPECIALS is an error
 *     (MUTF7_ENCODE_DOTS encodes it instead: the prose's reading);
 *   - "&" is "&-", other printable ASCII is itself, the rest (controls,
 *     non-ASCII) is encoded, non-BMP characters as surrogate pairs.
 * No Unicode normalization is done: NFC and NFD names stay different.
 *
 * Input is UTF-8 (mutf7_from_charset converts other charsets with
 * iconv first).  Errors carry the byte offset in the input.
 */
#ifndef MXKIT_MUTF7_H
#define MXKIT_MUTF7_H
#include <stddef.h>
#include "out.h"

#define MUTF7_MAX_NAME	4096	/* input bytes per name */

/* flags */
#define MUTF7_PLAIN		0x1	/* no separator handling, no specials */
#define MUTF7_ENCODE_DOTS	0x2	/* encode a stray "." or "/" */

struct mutf7_opts {
	char	 sep;		/* Exim's <sep>, printable ASCII; else "/" */
	const char *specials;	/* ASCII characters to encode; NULL: none */
	unsigned flags;
};

struct mutf7_err {
	size_t	 offset;	/* byte offset in the input */
	char	 why[96];	/* one line, no newline */
};

/* Encode name[0..len) (UTF-8) to out (appended, NUL-terminated).  0, or
 * -1 with *e set (out's contents are then unspecified); -1 with why "out
 * of memory" when out->oom. */
int mutf7_encode(const char *name, size_t len, const struct mutf7_opts *o,
    struct out_buf *out, struct mutf7_err *e);

/* Decode modified UTF-7 in[0..len) to UTF-8 on out, strictly: malformed
 * or non-zero padding base64, a shift not ended by "-", an empty shift
 * other than "&-", a shift right after another one (non-minimal), an
 * encoded printable ASCII character (unless it is in SPECIALS, or a "."
 * or "/" under MUTF7_ENCODE_DOTS), unpaired surrogates, U+0000, and bytes
 * other than printable ASCII are errors.  Unless MUTF7_PLAIN, a "." is
 * decoded as SEP, and a literal SEP (other than "."), "/" or SPECIALS
 * character is an error: the encoder never writes one.  So is input of
 * more than 8 * MUTF7_MAX_NAME bytes or a result of more than
 * MUTF7_MAX_NAME.  0 or -1 with *e. */
int mutf7_decode(const char *in, size_t len, const struct mutf7_opts *o,
    struct out_buf *out, struct mutf7_err *e);

/* in[0..len) in charset cs converted to charset to (either may be
 * "UTF-8") with iconv, appended to out.  0, or -1 with *e: an unknown
 * charset (offset 0), or the offset of the first byte that does not
 * convert. */
int mutf7_iconv(const char *from, const char *to, const char *in,
    size_t len, struct out_buf *out, struct mutf7_err *e);

#endif
