/* libFuzzer target: hook_output_parse on arbitrary hook stdout, and the
 * invariants of what it accepts: a reply override has a valid code, 1 to
 * HOOK_REPLY_MAX_LINES lines that hook_reply_format writes as RFC 5321
 * reply lines of at most 512 octets; a header block holds only complete,
 * bounded RFC 5322 field lines in LF form.  hook_decide then gets the
 * same output under every exit status and stage, and never accepts what
 * it should defer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hook.h"

static void
check_reply(const struct hook_output *o)
{
	struct out_buf b;
	const char *p, *crlf;
	size_t lines = 0, nl = 0, i;

	if (o->code == 0) {
		if (o->text != NULL || o->nlines != 0 || o->enhanced[0])
			abort();
		return;
	}
	if (o->reply_why != NULL || o->text == NULL || o->code < 200 ||
	    o->code > 559 || o->code % 100 > 59 || o->nlines < 1 ||
	    o->nlines > HOOK_REPLY_MAX_LINES)
		abort();
	for (i = 0; o->text[i] != '\0'; i++)
		if (o->text[i] == '\n')
			nl++;
		else if ((unsigned char)o->text[i] < 0x20 &&
		    o->text[i] != '\t')
			abort();
	if (nl + 1 != o->nlines)
		abort();
	if (o->enhanced[0] != '\0' && o->enhanced[0] != '0' + o->code / 100)
		abort();
	memset(&b, 0, sizeof(b));
	if (hook_reply_format(o, &b) != 0)
		return;
	for (p = b.p; *p != '\0'; p = crlf + 2) {
		if ((crlf = strstr(p, "\r\n")) == NULL ||
		    (size_t)(crlf - p) > HOOK_REPLY_MAX_LINE ||
		    atoi(p) != o->code)
			abort();
		lines++;
		if (p[3] != (lines < o->nlines ? '-' : crlf - p == 3 ? '\r' :
		    ' '))
			abort();
	}
	if (lines != o->nlines)
		abort();
	out_buf_free(&b);
}

static void
check_headers(const struct hook_output *o)
{
	const char *p, *end, *lf;
	size_t lines = 0, fields = 0;

	if (o->headers == NULL) {
		if (o->headers_len != 0 || o->nheaders != 0)
			abort();
		return;
	}
	if (o->headers_why != NULL || o->headers_len == 0 ||
	    o->headers_len > HOOK_HDR_MAX ||
	    strlen(o->headers) != o->headers_len ||
	    o->headers[o->headers_len - 1] != '\n' ||
	    memchr(o->headers, '\r', o->headers_len) != NULL)
		abort();
	end = o->headers + o->headers_len;
	for (p = o->headers; p < end; p = lf + 1) {
		lf = memchr(p, '\n', (size_t)(end - p));
		if (lf == p || (size_t)(lf - p) > HOOK_HDR_MAX_LINE)
			abort();
		if (*p == ' ' || *p == '\t') {
			if (lines == 0)
				abort();
		} else {
			if (memchr(p, ':', (size_t)(lf - p)) == NULL ||
			    *p == ':')
				abort();
			fields++;
		}
		lines++;
	}
	if (lines > HOOK_HDR_MAX_LINES || fields != o->nheaders)
		abort();
}

static void
check_decide(const char *out, size_t len, unsigned sel)
{
	struct hook_result r;
	struct hook_decision d;
	enum hook_stage st = (enum hook_stage)(sel % 7);
	int code;

	for (code = 0; code <= 4; code++) {
		memset(&r, 0, sizeof(r));
		r.status = HOOK_EXITED;
		r.code = code;
		r.out = (char *)out;
		r.out_len = len;
		if (hook_decide(&r, st, &d) != 0) {
			hook_decision_free(&d);
			continue;
		}
		if (d.failed && (d.verdict != HOOK_DEFER || d.why[0] == '\0' ||
		    d.out.code != 0 || d.out.headers != NULL))
			abort();
		if (code == 4 && !d.failed)
			abort();
		if (!d.failed && (int)d.verdict != code)
			abort();
		if (d.out.code != 0 && d.out.code / 100 !=
		    (d.verdict == HOOK_REJECT ? 5 : d.verdict == HOOK_DEFER ?
		    4 : 2))
			abort();
		hook_decision_free(&d);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hook_output o;
	char *copy;

	/* NUL-terminated as hook_run leaves it, exact size otherwise. */
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	if (hook_output_parse(copy, size, &o) == 0) {
		check_reply(&o);
		check_headers(&o);
		hook_output_free(&o);
	}
	check_decide(copy, size, size ? data[0] : 0);
	free(copy);
	return 0;
}
