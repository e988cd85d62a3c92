#!/bin/sh
# The RFC 4408 conformance suite (t/data/spf/rfc4408-tests.yml, OpenSPF)
# against a real DNS server on loopback (t/rig/spfdns.py, which drops
# queries for the suite's timeouts): spfcheck must score at least the bar
# (what it reached when the suite was added; RFC 7208 is the standard,
# t/0600 the target).  pyspf's and libspf2's spfquery's scores on the same
# suite in the same run are printed beside it, reported only.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/lib-spfsuite.sh"

spf_suite "RFC 4408" rfc4408-tests.yml 191
