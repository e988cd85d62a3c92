/* libFuzzer target: proxy_parse on arbitrary octets, and the invariants
 * of what it accepts: the length taken is within the input and is the
 * header's, TLV values lie inside it, every shorter prefix asks for more
 * without asking past the end (what keeps proxy_read_fd from eating the
 * application's bytes), and encoding what was parsed (proxy_hdr_info,
 * proxy_encode_v1/v2) gives a header that parses back to the same
 * fields and TLVs. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

static struct proxy_hdr h, back, pre;
static unsigned char enc[PROXY_V2_MAX];

static void
check_prefix(const uint8_t *data, size_t k, size_t total)
{
	const char *why = NULL;

	if (proxy_parse(data, k, &pre, &why) != 0 || pre.need == 0 ||
	    k + pre.need > total)
		abort();
}

static void
check_tlvs(const struct proxy_hdr *x)
{
	size_t i;

	for (i = 0; i < x->ntlv; i++) {
		if ((size_t)x->tlv[i].off + x->tlv[i].len > x->len ||
		    x->tlv[i].off < PROXY_V2_HEAD)
			abort();
		if (x->tlv[i].parent != 0 && x->tlv[i].parent != PROXY_TLV_SSL)
			abort();
	}
	if (x->version == 1 && x->ntlv != 0)
		abort();
}

static void
round_trip(void)
{
	struct proxy_tlv_val tl[PROXY_MAX_TLVS];
	struct proxy_info in;
	const char *why = NULL;
	ssize_t n;
	size_t i, a, b;

	proxy_hdr_info(&h, &in, tl, PROXY_MAX_TLVS);
	n = h.version == 1 ? proxy_encode_v1(&in, enc, sizeof(enc), &why) :
	    proxy_encode_v2(&in, enc, sizeof(enc), &why);
	if (n <= 0 || (h.version == 2 && (size_t)n > h.len))
		abort();
	if (proxy_parse(enc, (size_t)n, &back, &why) != n)
		abort();
	if (back.version != h.version || back.command != h.command ||
	    back.has_ssl != h.has_ssl || back.has_crc32c != h.has_crc32c ||
	    back.ssl_client != h.ssl_client || back.ssl_verify != h.ssl_verify)
		abort();
	if (h.command == PROXY_CMD_PROXY &&
	    (back.family != h.family || back.transport != h.transport ||
	    strcmp(back.src_addr, h.src_addr) != 0 ||
	    strcmp(back.dst_addr, h.dst_addr) != 0 ||
	    back.src_port != h.src_port || back.dst_port != h.dst_port))
		abort();
	if (back.ntlv != h.ntlv)
		abort();
	for (a = b = i = 0; i < h.ntlv; i++) {
		const struct proxy_tlv *x = &h.tlv[i], *y = &back.tlv[i];

		if (x->type != y->type || x->parent != y->parent ||
		    x->len != y->len)
			abort();
		if (x->type == PROXY_TLV_CRC32C && x->parent == 0)
			continue;	/* over a header that may differ */
		if (memcmp(proxy_tlv_value(&h, x), proxy_tlv_value(&back, y),
		    x->len) != 0)
			abort();
		a++;
		b++;
	}
	(void)a;
	(void)b;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	uint8_t *copy;
	ssize_t r;

	/* An exact-size copy so that any read past size is caught. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	r = proxy_parse(copy, size, &h, &why);
	if (r < 0) {
		if (why == NULL || h.version != 0 || h.ntlv != 0)
			abort();
	} else if (r == 0) {
		if (h.need == 0 || size >= PROXY_V2_MAX)
			abort();
	} else {
		if ((size_t)r > size || h.len != (size_t)r ||
		    memcmp(h.raw, copy, h.len) != 0 ||
		    (h.version != 1 && h.version != 2) ||
		    (h.version == 1 && r > PROXY_V1_MAX))
			abort();
		check_tlvs(&h);
		(void)proxy_tlv_find(&h, PROXY_TLV_SSL_CN);
		(void)proxy_cmd_name(h.command);
		(void)proxy_fam_name(h.family);
		(void)proxy_proto_name(h.transport);
		check_prefix(copy, 0, (size_t)r);
		check_prefix(copy, (size_t)r / 2, (size_t)r);
		check_prefix(copy, (size_t)r - 1, (size_t)r);
		round_trip();
	}
	free(copy);
	return 0;
}
