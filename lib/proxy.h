/* proxy: the PROXY protocol (haproxy's proxy-protocol.txt, versions 1 and
 * 2) by which a load balancer tells the server behind it who the client
 * really is.  Parse a header from bytes or from a file descriptor (never
 * reading a byte past it: what follows belongs to the application, SMTP
 * say), and encode one.  Used by proxyhdr and by smtpfront.
 *
 * Bounds: a v1 line is at most 107 octets with its CRLF (the spec's);
 * a v2 header at most PROXY_V2_MAX octets in all, 16 of them the fixed
 * part (the spec allows 16 + 65535; haproxy reads the header into one
 * buffer of tune.bufsize, 16384 by default, so it neither sends nor
 * accepts more), and at most PROXY_MAX_TLVS TLVs, SSL sub-TLVs included.
 * Every error is a static string (why).
 */
#ifndef MXKIT_PROXY_H
#define MXKIT_PROXY_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROXY_V1_MAX	107		/* "PROXY ...\r\n" */
#define PROXY_V2_HEAD	16		/* signature, ver/cmd, fam, len */
#define PROXY_V2_MAX	16384		/* the whole v2 header */
#define PROXY_MAX_TLVS	128
#define PROXY_UNIQUE_ID_MAX 128		/* the spec's limit */
#define PROXY_ADDR_MAX	112		/* text: inet_ntop, or a unix path */

/* The 12 octets a v2 header starts with. */
extern const unsigned char proxy_v2_sig[12];

enum proxy_cmd { PROXY_CMD_LOCAL = 0, PROXY_CMD_PROXY = 1 };
/* v2's address families; v1's TCP4, TCP6 and UNKNOWN are INET, INET6
 * and UNSPEC. */
enum proxy_fam {
	PROXY_FAM_UNSPEC = 0, PROXY_FAM_INET = 1, PROXY_FAM_INET6 = 2,
	PROXY_FAM_UNIX = 3
};
enum proxy_proto {
	PROXY_PROTO_UNSPEC = 0, PROXY_PROTO_STREAM = 1, PROXY_PROTO_DGRAM = 2
};

/* TLV types (proxy-protocol.txt 2.2). */
enum {
	PROXY_TLV_ALPN = 0x01,
	PROXY_TLV_AUTHORITY = 0x02,
	PROXY_TLV_CRC32C = 0x03,
	PROXY_TLV_NOOP = 0x04,
	PROXY_TLV_UNIQUE_ID = 0x05,
	PROXY_TLV_SSL = 0x20,
	PROXY_TLV_SSL_VERSION = 0x21,	/* the SSL TLV's sub-TLVs */
	PROXY_TLV_SSL_CN = 0x22,
	PROXY_TLV_SSL_CIPHER = 0x23,
	PROXY_TLV_SSL_SIG_ALG = 0x24,
	PROXY_TLV_SSL_KEY_ALG = 0x25,
	PROXY_TLV_NETNS = 0x30
};
/* The SSL TLV's client bits. */
#define PROXY_CLIENT_SSL	0x01
#define PROXY_CLIENT_CERT_CONN	0x02
#define PROXY_CLIENT_CERT_SESS	0x04

/* One TLV of a parsed header.  The value is hdr->raw + off (an offset,
 * so that a struct proxy_hdr can be copied by assignment). */
struct proxy_tlv {
	uint8_t	 type;
	uint8_t	 parent;	/* 0, or PROXY_TLV_SSL for its sub-TLVs */
	uint16_t len;
	uint16_t off;
};

/* A parsed header.  For LOCAL (v2), and for UNSPEC (v1 UNKNOWN, or v2
 * PROXY with family UNSPEC), the addresses are empty and the ports 0: the
 * connection's own endpoints are the real ones.  A UNIX address is the
 * socket's path ("@name" for an abstract one) and has no port. */
struct proxy_hdr {
	int	 version;		/* 1 or 2 */
	enum proxy_cmd command;		/* v1: always PROXY */
	enum proxy_fam family;
	enum proxy_proto transport;	/* v1: STREAM, or UNSPEC (UNKNOWN) */
	char	 src_addr[PROXY_ADDR_MAX];	/* the client */
	char	 dst_addr[PROXY_ADDR_MAX];	/* the address it connected to */
	unsigned src_port, dst_port;
	struct proxy_tlv tlv[PROXY_MAX_TLVS];	/* in header order, each SSL
						   TLV followed by its subs */
	size_t	 ntlv;
	int	 has_crc32c;		/* a CRC32C TLV was there (and matched) */
	uint32_t crc32c;
	int	 has_ssl;		/* an SSL TLV was there: */
	unsigned ssl_client;		/* its client bits */
	uint32_t ssl_verify;		/* 0: a client certificate verified */
	size_t	 need;			/* see proxy_parse */
	size_t	 len;			/* octets in raw */
	unsigned char raw[PROXY_V2_MAX];	/* the header as received */
};

/* Parse the header at the start of buf[0..len).  The number of octets it
 * takes (> 0); 0 when buf is a valid beginning of a header but too short,
 * with h->need set to how many more octets can certainly be read without
 * reading past the header (at least 1); -1 with a static why when it is
 * not a valid header (or not the start of one: the first octets already
 * decide).  A CRC32C TLV is verified; a mismatch is an error. */
ssize_t proxy_parse(const void *buf, size_t len, struct proxy_hdr *h,
    const char **why);

/* The value of t (h->raw + t->off). */
const unsigned char *proxy_tlv_value(const struct proxy_hdr *h,
    const struct proxy_tlv *t);
/* The first top-level TLV of type (parent 0), or for a sub-TLV type
 * (PROXY_TLV_SSL_*) the first inside an SSL TLV; NULL when none. */
const struct proxy_tlv *proxy_tlv_find(const struct proxy_hdr *h,
    unsigned type);

/* What proxy_read_fd ended with. */
enum proxy_read {
	PROXY_READ_OK = 0,
	PROXY_READ_MALFORMED,	/* not a valid header */
	PROXY_READ_EOF,		/* end of input before a whole header */
	PROXY_READ_TIMEOUT,	/* no whole header within the time */
	PROXY_READ_IO		/* a read or poll error: errno says */
};

/* Read one header from fd, never past its end, whatever the fd (socket,
 * pipe, file; blocking or not): only as many octets as proxy_parse says
 * can be read.  timeout_ms bounds the whole header (< 0: no bound).  On
 * failure why is static and h->raw[0..h->len) holds what was read (those
 * octets are gone from fd). */
enum proxy_read proxy_read_fd(int fd, int timeout_ms, struct proxy_hdr *h,
    const char **why);

/* ---- encoding ---- */

/* A TLV to encode: type and len octets of value. */
struct proxy_tlv_val {
	uint8_t	 type;
	const void *value;
	size_t	 len;
};

/* A header to encode.  Addresses are text: IPv4 or IPv6 (inet_pton) for
 * INET and INET6, a path for UNIX ("@name": abstract).  family UNSPEC or
 * command LOCAL carry no addresses. */
struct proxy_info {
	enum proxy_cmd command;
	enum proxy_fam family;
	enum proxy_proto transport;	/* UNSPEC: STREAM for INET/INET6/UNIX */
	const char *src_addr, *dst_addr;
	unsigned src_port, dst_port;
	const struct proxy_tlv_val *tlv;	/* v2 only */
	size_t	 ntlv;
	/* v2: a CRC32C TLV computed over the final header: the value of a
	 * CRC32C TLV in tlv[] is always computed (its given value ignored);
	 * crc32c set adds one before the others when tlv[] has none. */
	int	 crc32c;
};

/* The header for in, written to buf[0..size): its length, or -1 with a
 * static why (an address that does not parse, v1 with TLVs or UNIX, a
 * header larger than size or than PROXY_V2_MAX).  v1: "PROXY TCP4 ...",
 * "PROXY TCP6 ...", or "PROXY UNKNOWN" for LOCAL and UNSPEC. */
ssize_t proxy_encode_v1(const struct proxy_info *in, void *buf, size_t size,
    const char **why);
ssize_t proxy_encode_v2(const struct proxy_info *in, void *buf, size_t size,
    const char **why);

/* The value of an SSL TLV (client bits, verify, then the sub-TLVs) in
 * buf[0..size): its length, or -1 when it does not fit. */
ssize_t proxy_ssl_value(unsigned client, uint32_t verify,
    const struct proxy_tlv_val *sub, size_t nsub, void *buf, size_t size);

/* h as encoder input (its top-level TLVs, CRC32C included, in order, in
 * tlv[0..max)), for re-encoding a received header: in points into h. */
void proxy_hdr_info(const struct proxy_hdr *h, struct proxy_info *in,
    struct proxy_tlv_val *tlv, size_t max);

/* ---- names and helpers ---- */

/* "LOCAL"/"PROXY"; "UNSPEC"/"INET"/"INET6"/"UNIX"; "UNSPEC"/"STREAM"/
 * "DGRAM".  v1 keywords are proxy_v1_proto's: "TCP4"/"TCP6"/"UNKNOWN". */
const char *proxy_cmd_name(enum proxy_cmd c);
const char *proxy_fam_name(enum proxy_fam f);
const char *proxy_proto_name(enum proxy_proto p);
/* "alpn", "authority", "crc32c", "noop", "unique_id", "ssl",
 * "ssl_version", "ssl_cn", "ssl_cipher", "ssl_sig_alg", "ssl_key_alg",
 * "netns"; NULL for any other type. */
const char *proxy_tlv_name(unsigned type);
/* The reverse (any case); -1 when unknown. */
int proxy_tlv_type(const char *name);

/* CRC32C (Castagnoli) of buf, continuing from crc (0 to start). */
uint32_t proxy_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
