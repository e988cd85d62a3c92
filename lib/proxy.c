/* proxy: PROXY protocol v1/v2 parser, fd reader and encoder.  See
 * proxy.h; the specification is haproxy's doc/proxy-protocol.txt. */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "proxy.h"

const unsigned char proxy_v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static const char v1_sig[] = "PROXY ";
#define V1_MIN		15		/* "PROXY UNKNOWN\r\n" */
#define V2_MIN		PROXY_V2_HEAD
#define V2_INET		12		/* address block sizes */
#define V2_INET6	36
#define V2_UNIX		216
#define UNIX_PATH	108

/* ---- CRC32C ----
 * The checksum of the CRC32C TLV is CRC-32C (Castagnoli, RFC 3720 B.4:
 * reflected, polynomial 0x82F63B78), not the CRC-32 of zlib and OpenSSL's
 * neighbours; OpenSSL has none, and a table of 1 KB is all it takes. */
static const uint32_t crc32c_tab[256] = {
	0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4,
	0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
	0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
	0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
	0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b,
	0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
	0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54,
	0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
	0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
	0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
	0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5,
	0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
	0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45,
	0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
	0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
	0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
	0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48,
	0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
	0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687,
	0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
	0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
	0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
	0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8,
	0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
	0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096,
	0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
	0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
	0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
	0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9,
	0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
	0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36,
	0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
	0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
	0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
	0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043,
	0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
	0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3,
	0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
	0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
	0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
	0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652,
	0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
	0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d,
	0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
	0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
	0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
	0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2,
	0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
	0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530,
	0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
	0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
	0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
	0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f,
	0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
	0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90,
	0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
	0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
	0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
	0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321,
	0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
	0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81,
	0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
	0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
	0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

uint32_t
proxy_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	crc = ~crc;
	while (len-- > 0)
		crc = crc32c_tab[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- names ---- */

static const struct {
	uint8_t type;
	const char *name;
} tlv_names[] = {
	{ PROXY_TLV_ALPN, "alpn" },
	{ PROXY_TLV_AUTHORITY, "authority" },
	{ PROXY_TLV_CRC32C, "crc32c" },
	{ PROXY_TLV_NOOP, "noop" },
	{ PROXY_TLV_UNIQUE_ID, "unique_id" },
	{ PROXY_TLV_SSL, "ssl" },
	{ PROXY_TLV_SSL_VERSION, "ssl_version" },
	{ PROXY_TLV_SSL_CN, "ssl_cn" },
	{ PROXY_TLV_SSL_CIPHER, "ssl_cipher" },
	{ PROXY_TLV_SSL_SIG_ALG, "ssl_sig_alg" },
	{ PROXY_TLV_SSL_KEY_ALG, "ssl_key_alg" },
	{ PROXY_TLV_NETNS, "netns" },
};
#define NTLV_NAMES	(sizeof(tlv_names) / sizeof(tlv_names[0]))

const char *
proxy_tlv_name(unsigned type)
{
	size_t i;

	for (i = 0; i < NTLV_NAMES; i++)
		if (tlv_names[i].type == type)
			return tlv_names[i].name;
	return NULL;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
proxy_tlv_type(const char *name)
{
	size_t i;

	for (i = 0; i < NTLV_NAMES; i++)
		if (strcasecmp(tlv_names[i].name, name) == 0)
			return tlv_names[i].type;
	if (name[0] == '0' && (name[1] == 'x' || name[1] == 'X') &&
	    hexval(name[2]) >= 0 && hexval(name[3]) >= 0 && name[4] == '\0')
		return hexval(name[2]) << 4 | hexval(name[3]);
	return -1;
}

const char *
proxy_cmd_name(enum proxy_cmd c)
{
	return c == PROXY_CMD_LOCAL ? "LOCAL" : "PROXY";
}

const char *
proxy_fam_name(enum proxy_fam f)
{
	switch (f) {
	case PROXY_FAM_INET: return "INET";
	case PROXY_FAM_INET6: return "INET6";
	case PROXY_FAM_UNIX: return "UNIX";
	default: return "UNSPEC";
	}
}

const char *
proxy_proto_name(enum proxy_proto p)
{
	switch (p) {
	case PROXY_PROTO_STREAM: return "STREAM";
	case PROXY_PROTO_DGRAM: return "DGRAM";
	default: return "UNSPEC";
	}
}

/* ---- parsing ---- */

static void
hdr_reset(struct proxy_hdr *h)
{
	h->version = 0;
	h->command = PROXY_CMD_PROXY;
	h->family = PROXY_FAM_UNSPEC;
	h->transport = PROXY_PROTO_UNSPEC;
	h->src_addr[0] = h->dst_addr[0] = '\0';
	h->src_port = h->dst_port = 0;
	h->ntlv = 0;
	h->has_crc32c = h->has_ssl = 0;
	h->crc32c = 0;
	h->ssl_client = 0;
	h->ssl_verify = 0;
	h->need = 0;
	h->len = 0;
}

static ssize_t
fail(const char **why, const char *what)
{
	*why = what;
	return -1;
}

static ssize_t
more(struct proxy_hdr *h, size_t need)
{
	h->need = need > 0 ? need : 1;
	return 0;
}

/* A v1 port: decimal 0-65535 without leading zeros (haproxy writes them
 * so; "025" is not a port anyone sends). */
static int
v1_port(const char *s, size_t n, unsigned *port)
{
	unsigned v = 0;
	size_t i;

	if (n == 0 || n > 5 || (s[0] == '0' && n > 1))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = v;
	return 0;
}

/* A v1 address of family af -> canonical text in out. */
static int
v1_addr(int af, const char *s, size_t n, char *out)
{
	unsigned char a[16];
	char tmp[64];

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (inet_pton(af, tmp, a) != 1 ||
	    inet_ntop(af, a, out, PROXY_ADDR_MAX) == NULL)
		return -1;
	return 0;
}

/* The next space-separated field of line[*pos..end): exactly one space
 * before each field but the first, none at the end. */
static int
v1_field(const char *line, size_t end, size_t *pos, const char **f,
    size_t *n)
{
	size_t i = *pos;

	if (i >= end)
		return -1;
	*f = line + i;
	while (i < end && line[i] != ' ')
		i++;
	*n = (size_t)(line + i - *f);
	if (*n == 0)
		return -1;
	if (i < end) {
		i++;
		if (i == end)
			return -1;	/* a trailing space */
	}
	*pos = i;
	return 0;
}

/* "PROXY TCP4|TCP6 src dst sport dport" (without the CRLF), or
 * "PROXY UNKNOWN" followed by anything. */
static ssize_t
v1_line(const char *line, size_t n, struct proxy_hdr *h, const char **why)
{
	const char *f[5];
	size_t fl[5], pos = sizeof(v1_sig) - 1;
	int af, i;

	if (v1_field(line, n, &pos, &f[0], &fl[0]) == -1)
		return fail(why, "v1 protocol missing");
	if (fl[0] == 7 && memcmp(f[0], "UNKNOWN", 7) == 0) {
		/* The spec: the rest of the line is to be ignored. */
		h->family = PROXY_FAM_UNSPEC;
		h->transport = PROXY_PROTO_UNSPEC;
		return 0;
	}
	if (fl[0] == 4 && memcmp(f[0], "TCP4", 4) == 0) {
		h->family = PROXY_FAM_INET;
		af = AF_INET;
	} else if (fl[0] == 4 && memcmp(f[0], "TCP6", 4) == 0) {
		h->family = PROXY_FAM_INET6;
		af = AF_INET6;
	} else
		return fail(why, "v1 protocol not TCP4, TCP6 or UNKNOWN");
	h->transport = PROXY_PROTO_STREAM;
	for (i = 1; i < 5; i++)
		if (v1_field(line, n, &pos, &f[i], &fl[i]) == -1)
			return fail(why, "v1 line has too few fields");
	if (pos != n)
		return fail(why, "v1 line has too many fields");
	if (v1_addr(af, f[1], fl[1], h->src_addr) == -1)
		return fail(why, "v1 bad source address");
	if (v1_addr(af, f[2], fl[2], h->dst_addr) == -1)
		return fail(why, "v1 bad destination address");
	if (v1_port(f[3], fl[3], &h->src_port) == -1)
		return fail(why, "v1 bad source port");
	if (v1_port(f[4], fl[4], &h->dst_port) == -1)
		return fail(why, "v1 bad destination port");
	return 0;
}

static ssize_t
parse_v1(const unsigned char *b, size_t len, struct proxy_hdr *h,
    const char **why)
{
	size_t i, lim = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;

	for (i = 0; i < lim; i++) {
		if (b[i] == '\n')
			break;
		if (i < sizeof(v1_sig) - 1 && b[i] != (unsigned char)v1_sig[i])
			return fail(why, "not a PROXY header");
		if (b[i] == '\r') {
			if (i + 1 < len && b[i + 1] != '\n')
				return fail(why, "v1 line not ended by CRLF");
		} else if (b[i] < 0x20 || b[i] > 0x7e)
			return fail(why, "v1 line holds a control character");
	}
	if (i == lim) {
		if (len >= PROXY_V1_MAX)
			return fail(why, "v1 line too long");
		/* Nothing past the LF may be read: only what is sure to be
		 * before it, the minimum line, or the CR LF still due. */
		if (len < V1_MIN)
			return more(h, V1_MIN - len);
		return more(h, len > 0 && b[len - 1] == '\r' ? 1 : 2);
	}
	if (i == 0 || b[i - 1] != '\r')
		return fail(why, "v1 line not ended by CRLF");
	if (i + 1 < V1_MIN)
		return fail(why, "v1 line too short");
	h->version = 1;
	h->command = PROXY_CMD_PROXY;
	if (v1_line((const char *)b, i - 1, h, why) == -1)
		return -1;
	memcpy(h->raw, b, i + 1);
	h->len = i + 1;
	return (ssize_t)h->len;
}

static int
add_tlv(struct proxy_hdr *h, uint8_t type, uint8_t parent, size_t off,
    size_t len)
{
	struct proxy_tlv *t;

	if (h->ntlv == PROXY_MAX_TLVS)
		return -1;
	t = &h->tlv[h->ntlv++];
	t->type = type;
	t->parent = parent;
	t->off = (uint16_t)off;
	t->len = (uint16_t)len;
	return 0;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static ssize_t parse_tlvs(struct proxy_hdr *, size_t, size_t, uint8_t,
    const char **);

/* One top-level or SSL sub-TLV at h->raw[off..off+len). */
static ssize_t
check_tlv(struct proxy_hdr *h, uint8_t type, uint8_t parent, size_t off,
    size_t len, const char **why)
{
	const unsigned char *v = h->raw + off;

	if (parent != 0)
		return 0;
	switch (type) {
	case PROXY_TLV_CRC32C:
		if (len != 4)
			return fail(why, "v2 CRC32C TLV not 4 octets");
		if (h->has_crc32c)
			return fail(why, "v2 CRC32C TLV given twice");
		h->has_crc32c = 1;
		h->crc32c = be32(v);
		break;
	case PROXY_TLV_UNIQUE_ID:
		if (len > PROXY_UNIQUE_ID_MAX)
			return fail(why, "v2 UNIQUE_ID TLV longer than 128");
		break;
	case PROXY_TLV_SSL:
		if (len < 5)
			return fail(why, "v2 SSL TLV shorter than 5");
		if (h->has_ssl)
			return fail(why, "v2 SSL TLV given twice");
		h->has_ssl = 1;
		h->ssl_client = v[0];
		h->ssl_verify = be32(v + 1);
		return parse_tlvs(h, off + 5, off + len, PROXY_TLV_SSL, why);
	}
	return 0;
}

/* The TLVs filling h->raw[off..end) exactly. */
static ssize_t
parse_tlvs(struct proxy_hdr *h, size_t off, size_t end, uint8_t parent,
    const char **why)
{
	size_t tl;
	uint8_t type;

	while (off < end) {
		if (end - off < 3)
			return fail(why, parent ? "v2 SSL sub-TLV truncated" :
			    "v2 TLV truncated");
		type = h->raw[off];
		tl = (size_t)h->raw[off + 1] << 8 | h->raw[off + 2];
		off += 3;
		if (tl > end - off)
			return fail(why, parent ? "v2 SSL sub-TLV overruns "
			    "the SSL TLV" : "v2 TLV overruns the header");
		if (add_tlv(h, type, parent, off, tl) == -1)
			return fail(why, "v2 has more than 128 TLVs");
		if (check_tlv(h, type, parent, off, tl, why) == -1)
			return -1;
		off += tl;
	}
	return 0;
}

static void
unix_path(const unsigned char *p, char *out)
{
	size_t i = 0, o = 0;

	if (p[0] == '\0') {	/* Linux's abstract namespace */
		out[o++] = '@';
		i = 1;
	}
	for (; i < UNIX_PATH && p[i] != '\0'; i++)
		out[o++] = (char)p[i];
	out[o] = '\0';
}

static void
v2_addresses(struct proxy_hdr *h, const unsigned char *a)
{
	switch (h->family) {
	case PROXY_FAM_INET:
		inet_ntop(AF_INET, a, h->src_addr, PROXY_ADDR_MAX);
		inet_ntop(AF_INET, a + 4, h->dst_addr, PROXY_ADDR_MAX);
		h->src_port = (unsigned)a[8] << 8 | a[9];
		h->dst_port = (unsigned)a[10] << 8 | a[11];
		break;
	case PROXY_FAM_INET6:
		inet_ntop(AF_INET6, a, h->src_addr, PROXY_ADDR_MAX);
		inet_ntop(AF_INET6, a + 16, h->dst_addr, PROXY_ADDR_MAX);
		h->src_port = (unsigned)a[32] << 8 | a[33];
		h->dst_port = (unsigned)a[34] << 8 | a[35];
		break;
	case PROXY_FAM_UNIX:
		unix_path(a, h->src_addr);
		unix_path(a + UNIX_PATH, h->dst_addr);
		break;
	default:
		break;
	}
}

static size_t
v2_addr_len(enum proxy_fam f)
{
	switch (f) {
	case PROXY_FAM_INET: return V2_INET;
	case PROXY_FAM_INET6: return V2_INET6;
	case PROXY_FAM_UNIX: return V2_UNIX;
	default: return 0;
	}
}

/* The fixed part as far as it is there: signature, version, command,
 * family and transport.  0 or -1. */
static ssize_t
v2_fixed(const unsigned char *b, size_t len, struct proxy_hdr *h,
    const char **why)
{
	size_t n = len < sizeof(proxy_v2_sig) ? len : sizeof(proxy_v2_sig);

	if (memcmp(b, proxy_v2_sig, n) != 0)
		return fail(why, "bad v2 signature");
	if (len > 12) {
		if (b[12] >> 4 != 2)
			return fail(why, "bad v2 version");
		if ((b[12] & 0x0f) > PROXY_CMD_PROXY)
			return fail(why, "bad v2 command");
		h->command = (enum proxy_cmd)(b[12] & 0x0f);
	}
	if (len > 13) {
		/* The spec's seven combinations; others must be refused. */
		switch (b[13]) {
		case 0x00: case 0x11: case 0x12: case 0x21: case 0x22:
		case 0x31: case 0x32:
			break;
		default:
			return fail(why, "bad v2 address family or transport");
		}
		h->family = (enum proxy_fam)(b[13] >> 4);
		h->transport = (enum proxy_proto)(b[13] & 0x0f);
	}
	return 0;
}

static ssize_t
parse_v2(const unsigned char *b, size_t len, struct proxy_hdr *h,
    const char **why)
{
	size_t hl, total, alen;
	uint32_t crc;
	const struct proxy_tlv *t;

	if (v2_fixed(b, len, h, why) == -1)
		return -1;
	if (len < V2_MIN)
		return more(h, V2_MIN - len);
	hl = (size_t)b[14] << 8 | b[15];
	total = V2_MIN + hl;
	if (total > PROXY_V2_MAX)
		return fail(why, "v2 length exceeds 16368");
	if (len < total)
		return more(h, total - len);
	h->version = 2;
	memcpy(h->raw, b, total);
	h->len = total;
	alen = v2_addr_len(h->family);
	if (hl < alen) {
		/* LOCAL: the block is to be ignored, whatever it holds. */
		if (h->command == PROXY_CMD_LOCAL)
			return (ssize_t)total;
		return fail(why, "v2 length too short for the addresses");
	}
	if (h->command == PROXY_CMD_PROXY)
		v2_addresses(h, h->raw + V2_MIN);
	if (parse_tlvs(h, V2_MIN + alen, total, 0, why) == -1)
		return -1;
	if (h->has_crc32c) {
		t = proxy_tlv_find(h, PROXY_TLV_CRC32C);
		crc = proxy_crc32c(0, h->raw, t->off);
		crc = proxy_crc32c(crc, "\0\0\0\0", 4);
		crc = proxy_crc32c(crc, h->raw + t->off + 4,
		    total - t->off - 4);
		if (crc != h->crc32c)
			return fail(why, "bad CRC32C");
	}
	return (ssize_t)total;
}

ssize_t
proxy_parse(const void *buf, size_t len, struct proxy_hdr *h,
    const char **why)
{
	const unsigned char *b = buf;
	ssize_t r;

	hdr_reset(h);
	if (len == 0)
		return more(h, V1_MIN);
	if (b[0] == 'P')
		r = parse_v1(b, len, h, why);
	else if (b[0] == proxy_v2_sig[0])
		r = parse_v2(b, len, h, why);
	else
		r = fail(why, "not a PROXY header");
	if (r <= 0) {
		/* A half-parsed header must not look like a whole one. */
		h->version = 0;
		h->src_addr[0] = h->dst_addr[0] = '\0';
		h->src_port = h->dst_port = 0;
		h->ntlv = 0;
		h->has_crc32c = h->has_ssl = 0;
		h->len = 0;
	}
	return r;
}

const unsigned char *
proxy_tlv_value(const struct proxy_hdr *h, const struct proxy_tlv *t)
{
	return h->raw + t->off;
}

const struct proxy_tlv *
proxy_tlv_find(const struct proxy_hdr *h, unsigned type)
{
	unsigned parent = type >= PROXY_TLV_SSL_VERSION &&
	    type <= PROXY_TLV_SSL_KEY_ALG ? PROXY_TLV_SSL : 0;
	size_t i;

	for (i = 0; i < h->ntlv; i++)
		if (h->tlv[i].type == type && h->tlv[i].parent == parent)
			return &h->tlv[i];
	return NULL;
}

/* ---- reading from a descriptor ---- */

/* Wait until fd is readable: 1, 0 on timeout, -1 with errno. */
static int
wait_readable(int fd, long long deadline)
{
	struct pollfd p;
	long long left;
	int r;

	for (;;) {
		left = deadline < 0 ? -1 : deadline - clock_ms();
		if (deadline >= 0 && left < 0)
			left = 0;	/* one last look */
		p.fd = fd;
		p.events = POLLIN;
		p.revents = 0;
		r = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0 && left == 0)
			return 0;
		if (r == 0)
			continue;	/* the deadline decides */
		if (p.revents & POLLNVAL) {
			errno = EBADF;
			return -1;
		}
		return 1;
	}
}

enum proxy_read
proxy_read_fd(int fd, int timeout_ms, struct proxy_hdr *h, const char **why)
{
	unsigned char buf[PROXY_V2_MAX];
	long long deadline = timeout_ms < 0 ? -1 : clock_ms() + timeout_ms;
	enum proxy_read st;
	size_t n = 0, want;
	ssize_t r;
	int w;

	if (fd < 0) {	/* poll would ignore it and wait */
		hdr_reset(h);
		*why = "cannot wait for the PROXY header";
		errno = EBADF;
		return PROXY_READ_IO;
	}
	for (;;) {
		if ((r = proxy_parse(buf, n, h, why)) > 0)
			return PROXY_READ_OK;
		if (r < 0) {
			st = PROXY_READ_MALFORMED;
			break;
		}
		want = h->need;
		if (want > sizeof(buf) - n)
			want = sizeof(buf) - n;	/* parse bounds it; belt */
		if ((w = wait_readable(fd, deadline)) == 0) {
			*why = n == 0 ? "no PROXY header in time" :
			    "PROXY header incomplete in time";
			st = PROXY_READ_TIMEOUT;
			break;
		}
		if (w == -1) {
			*why = "cannot wait for the PROXY header";
			st = PROXY_READ_IO;
			break;
		}
		r = read(fd, buf + n, want);
		if (r == -1 && (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			continue;
		if (r == -1) {
			*why = "cannot read the PROXY header";
			st = PROXY_READ_IO;
			break;
		}
		if (r == 0) {
			*why = n == 0 ? "end of input before a PROXY header" :
			    "end of input inside the PROXY header";
			st = PROXY_READ_EOF;
			break;
		}
		n += (size_t)r;
	}
	w = errno;
	memcpy(h->raw, buf, n);
	h->len = n;
	errno = w;
	return st;
}

/* ---- encoding ---- */

static int
put_addr(enum proxy_fam f, const char *s, unsigned char *out,
    const char **why)
{
	size_t n;

	if (s == NULL)
		s = "";
	switch (f) {
	case PROXY_FAM_INET:
		if (inet_pton(AF_INET, s, out) != 1)
			return (int)fail(why, "not an IPv4 address");
		return 0;
	case PROXY_FAM_INET6:
		if (inet_pton(AF_INET6, s, out) != 1)
			return (int)fail(why, "not an IPv6 address");
		return 0;
	case PROXY_FAM_UNIX:
		memset(out, 0, UNIX_PATH);
		if (s[0] == '@') {
			if ((n = strlen(s + 1)) > UNIX_PATH - 1)
				return (int)fail(why, "unix name too long");
			memcpy(out + 1, s + 1, n);
		} else {
			if ((n = strlen(s)) > UNIX_PATH)
				return (int)fail(why, "unix path too long");
			memcpy(out, s, n);
		}
		return 0;
	default:
		return 0;
	}
}

ssize_t
proxy_encode_v1(const struct proxy_info *in, void *buf, size_t size,
    const char **why)
{
	unsigned char a[16], b[16];
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN], line[PROXY_V1_MAX + 1];
	int af, n;

	if (in->ntlv > 0 || in->crc32c)
		return fail(why, "v1 has no TLVs");
	if (in->command == PROXY_CMD_LOCAL || in->family == PROXY_FAM_UNSPEC)
		n = snprintf(line, sizeof(line), "PROXY UNKNOWN\r\n");
	else {
		if (in->family == PROXY_FAM_UNIX)
			return fail(why, "v1 has no unix addresses");
		if (in->transport == PROXY_PROTO_DGRAM)
			return fail(why, "v1 is TCP only");
		if (in->src_port > 65535 || in->dst_port > 65535)
			return fail(why, "port out of range");
		if (put_addr(in->family, in->src_addr, a, why) == -1 ||
		    put_addr(in->family, in->dst_addr, b, why) == -1)
			return -1;
		af = in->family == PROXY_FAM_INET ? AF_INET : AF_INET6;
		inet_ntop(af, a, sa, sizeof(sa));
		inet_ntop(af, b, da, sizeof(da));
		n = snprintf(line, sizeof(line), "PROXY %s %s %s %u %u\r\n",
		    af == AF_INET ? "TCP4" : "TCP6", sa, da, in->src_port,
		    in->dst_port);
	}
	if (n < 0 || (size_t)n > PROXY_V1_MAX)
		return fail(why, "v1 line too long");
	if ((size_t)n > size)
		return fail(why, "buffer too small");
	memcpy(buf, line, (size_t)n);
	return n;
}

static unsigned char *
put_tlv(unsigned char *p, unsigned type, const void *v, size_t len)
{
	*p++ = (unsigned char)type;
	*p++ = (unsigned char)(len >> 8);
	*p++ = (unsigned char)len;
	if (len > 0)
		memcpy(p, v, len);
	return p + len;
}

static void
put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* The address block of in at p (alen octets). */
static int
v2_put_addresses(const struct proxy_info *in, unsigned char *p,
    const char **why)
{
	size_t half;

	if (in->family == PROXY_FAM_INET || in->family == PROXY_FAM_INET6) {
		if (in->src_port > 65535 || in->dst_port > 65535)
			return (int)fail(why, "port out of range");
		half = in->family == PROXY_FAM_INET ? 4 : 16;
		if (put_addr(in->family, in->src_addr, p, why) == -1 ||
		    put_addr(in->family, in->dst_addr, p + half, why) == -1)
			return -1;
		put16(p + 2 * half, in->src_port);
		put16(p + 2 * half + 2, in->dst_port);
	} else if (in->family == PROXY_FAM_UNIX) {
		if (put_addr(in->family, in->src_addr, p, why) == -1 ||
		    put_addr(in->family, in->dst_addr, p + UNIX_PATH, why) == -1)
			return -1;
	}
	return 0;
}

ssize_t
proxy_encode_v2(const struct proxy_info *in, void *buf, size_t size,
    const char **why)
{
	unsigned char *out = buf, *p, *crcp = NULL;
	enum proxy_fam fam = in->family;
	enum proxy_proto proto = in->transport;
	size_t i, alen, total, addcrc = in->crc32c;

	if (in->command == PROXY_CMD_LOCAL)
		fam = PROXY_FAM_UNSPEC;
	if (fam > PROXY_FAM_UNIX || proto > PROXY_PROTO_DGRAM)
		return fail(why, "bad address family or transport");
	if (fam == PROXY_FAM_UNSPEC)
		proto = PROXY_PROTO_UNSPEC;
	else if (proto == PROXY_PROTO_UNSPEC)
		proto = PROXY_PROTO_STREAM;
	alen = v2_addr_len(fam);
	total = V2_MIN + alen;
	for (i = 0; i < in->ntlv; i++) {
		if (in->tlv[i].type == PROXY_TLV_CRC32C)
			addcrc = 0;
		total += 3 + (in->tlv[i].type == PROXY_TLV_CRC32C ? 4 :
		    in->tlv[i].len);
		if (total > PROXY_V2_MAX)
			return fail(why, "v2 header longer than 16384");
	}
	if (addcrc)
		total += 7;
	if (in->ntlv > PROXY_MAX_TLVS || total > PROXY_V2_MAX)
		return fail(why, "v2 header longer than 16384");
	if (total > size)
		return fail(why, "buffer too small");
	memset(out, 0, total);
	memcpy(out, proxy_v2_sig, sizeof(proxy_v2_sig));
	out[12] = (unsigned char)(0x20 | (in->command == PROXY_CMD_LOCAL ?
	    0 : 1));
	out[13] = (unsigned char)(fam << 4 | proto);
	put16(out + 14, (unsigned)(total - V2_MIN));
	if (fam != PROXY_FAM_UNSPEC &&
	    v2_put_addresses(in, out + V2_MIN, why) == -1)
		return -1;
	p = out + V2_MIN + alen;
	if (addcrc) {
		crcp = p + 3;
		p = put_tlv(p, PROXY_TLV_CRC32C, "\0\0\0\0", 4);
	}
	for (i = 0; i < in->ntlv; i++) {
		if (in->tlv[i].type == PROXY_TLV_CRC32C) {
			if (crcp == NULL)
				crcp = p + 3;
			p = put_tlv(p, PROXY_TLV_CRC32C, "\0\0\0\0", 4);
		} else
			p = put_tlv(p, in->tlv[i].type, in->tlv[i].value,
			    in->tlv[i].len);
	}
	/* A second CRC32C TLV in tlv[] stays zero: the parser refuses
	 * such a header anyway; the caller asked for it. */
	if (crcp != NULL)
		put32(crcp, proxy_crc32c(0, out, total));
	return (ssize_t)total;
}

ssize_t
proxy_ssl_value(unsigned client, uint32_t verify,
    const struct proxy_tlv_val *sub, size_t nsub, void *buf, size_t size)
{
	unsigned char *p = buf;
	size_t i, total = 5;

	for (i = 0; i < nsub; i++) {
		total += 3 + sub[i].len;
		if (total > PROXY_V2_MAX)
			return -1;
	}
	if (total > size)
		return -1;
	p[0] = (unsigned char)client;
	put32(p + 1, verify);
	p += 5;
	for (i = 0; i < nsub; i++)
		p = put_tlv(p, sub[i].type, sub[i].value, sub[i].len);
	return (ssize_t)total;
}

void
proxy_hdr_info(const struct proxy_hdr *h, struct proxy_info *in,
    struct proxy_tlv_val *tlv, size_t max)
{
	size_t i;

	memset(in, 0, sizeof(*in));
	in->command = h->command;
	in->family = h->family;
	in->transport = h->transport;
	in->src_addr = h->src_addr;
	in->dst_addr = h->dst_addr;
	in->src_port = h->src_port;
	in->dst_port = h->dst_port;
	in->tlv = tlv;
	for (i = 0; i < h->ntlv && in->ntlv < max; i++) {
		if (h->tlv[i].parent != 0)
			continue;
		tlv[in->ntlv].type = h->tlv[i].type;
		tlv[in->ntlv].value = h->raw + h->tlv[i].off;
		tlv[in->ntlv].len = h->tlv[i].len;
		in->ntlv++;
	}
}
