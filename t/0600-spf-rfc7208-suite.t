#!/bin/sh
# The RFC 7208 conformance suite (t/data/spf/rfc7208-tests.yml, OpenSPF
# 2014.04) against a real DNS server on loopback (t/rig/spfdns.py, which
# drops queries for the suite's timeouts): spfcheck must score at least
# the bar.  pyspf's and libspf2's spfquery's scores on the same suite in the
# same run are printed beside it; pyspf must reach 202 (that proves the rig).
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/lib-spfsuite.sh"

spf_suite "RFC 7208" rfc7208-tests.yml 202 202
