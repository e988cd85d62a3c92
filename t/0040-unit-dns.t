#!/bin/sh
# test_dns against NSD serving t/data/dns/mxkit.test.zone, a server that
# never answers and a port nobody listens on.  Not exec'd: the servers are
# stopped by lib.sh's exit trap once test_dns is done.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/rig/dns.sh"

if ! dns_rig_start mxkit.test="$TEST_SRC/data/dns/mxkit.test.zone"; then
	echo "Bail out! t/rig/dns.sh: NSD did not start"
	exit 1
fi
if ! dns_rig_blackhole; then
	echo "Bail out! t/rig/dns.sh: the black hole did not start"
	exit 1
fi
DNS_TEST_SERVER=$MXKIT_RESOLVER
DNS_DEAD=127.0.0.1:$(free_port)
DNS_TEST_DATA=$TEST_SRC/data/dns
export DNS_TEST_SERVER DNS_DEAD DNS_TEST_DATA

CMOCKA_MESSAGE_OUTPUT=TAP "$MXKIT_BIN/unit/test_dns"
