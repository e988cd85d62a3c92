/* libFuzzer target: mutf7_decode on arbitrary bytes, checked against the
 * encoder both ways.  The first byte picks the options (plain or Exim
 * mode, the separator, the specials, MUTF7_ENCODE_DOTS); the rest is the
 * input.  Invariants:
 *   - whatever the decoder accepts, the encoder writes back byte for byte
 *     (the decoder is strict: only the encoder's own output passes),
 *     except where Exim mode reshapes separators: a leading or trailing
 *     "." or a "..";
 *   - valid UTF-8 the encoder accepts decodes back to itself when it has
 *     no leading, trailing or doubled separator; plain mode refuses
 *     valid UTF-8 only for a NUL. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mutf7.h"
#include "out.h"

static const char seps[] = "/.x& ";
static const char *const specials[] = { NULL, "/", ".", "./", "&-~", "ab" };

static int
reshaped(const char *s, size_t n, char c)
{
	size_t i;

	if (n > 0 && (s[0] == c || s[n - 1] == c))
		return 1;
	for (i = 0; i + 1 < n; i++)
		if (s[i] == c && s[i + 1] == c)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mutf7_opts o = { 0, NULL, 0 };
	struct out_buf d = { 0 }, e = { 0 }, r = { 0 };
	struct mutf7_err err;
	const char *in;
	size_t n;
	int exim;

	if (size < 1)
		return 0;
	o.flags = data[0] & 1 ? MUTF7_PLAIN : 0;
	exim = !(data[0] & 1);
	if (exim) {
		o.sep = seps[(data[0] >> 1 & 7) % 5];
		o.specials = specials[(data[0] >> 4 & 7) % 6];
		if (data[0] & 0x80)
			o.flags |= MUTF7_ENCODE_DOTS;
	}
	in = (const char *)data + 1;
	n = size - 1;

	if (mutf7_decode(in, n, &o, &d, &err) == 0 &&
	    !(exim && reshaped(in, n, '.'))) {
		if (mutf7_encode(d.p, d.len, &o, &e, &err) != 0)
			abort();
		if (e.len != n || memcmp(e.p, in, n) != 0)
			abort();
	}
	out_buf_free(&d);
	out_buf_free(&e);

	if (out_utf8_valid(in, n) && n <= MUTF7_MAX_NAME) {
		if (mutf7_encode(in, n, &o, &e, &err) == 0) {
			if (mutf7_decode(e.p, e.len, &o, &r, &err) != 0)
				abort();
			if (!(exim && reshaped(in, n, o.sep)) &&
			    (r.len != n || memcmp(r.p, in, n) != 0))
				abort();
		} else if (!exim && memchr(in, '\0', n) == NULL)
			abort();
	}
	out_buf_free(&e);
	out_buf_free(&r);
	return 0;
}
