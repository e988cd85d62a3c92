#!/bin/sh
# t/rig/dns.sh itself: NSD serves the zones it is given, says why when it
# cannot, stops; the black hole swallows UDP and TCP queries.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/rig/dns.sh"

ask() {
	dig +short +norec +time=1 +tries=1 -p "$DNS_RIG_PORT" @127.0.0.1 "$@"
}

dns_zone_begin example.net one.zone
cat >>one.zone <<'ZONE'
www	IN A 192.0.2.7
txt	IN TXT "a" "b"
ZONE
dns_zone_begin other.test. two.zone
echo 'mx IN MX 10 mail.other.test.' >>two.zone

dns_rig_start example.net=one.zone other.test=two.zone 2>rig.err
rc=$?

test_expect_success 'dns_rig_start comes up and exports the port' '
	[ $rc = 0 ] &&
	[ -n "$DNS_RIG_PORT" ] &&
	[ "$MXKIT_RESOLVER" = "127.0.0.1:$DNS_RIG_PORT" ]
'

test_expect_success 'dns_zone_begin writes origin, TTL, SOA and NS' '
	head -n 4 one.zone >head &&
	grep -q "^\$ORIGIN example.net.\$" head &&
	grep -q "^\$TTL 300\$" head &&
	grep -q "IN SOA ns.example.net. hostmaster.example.net. 1 " head &&
	grep -q "IN NS ns.example.net.\$" head
'

test_expect_success 'both zones answer' '
	[ "$(ask www.example.net A)" = 192.0.2.7 ] &&
	[ "$(ask txt.example.net TXT)" = "\"a\" \"b\"" ] &&
	[ "$(ask mx.other.test MX)" = "10 mail.other.test." ] &&
	ask other.test SOA | grep -q "^ns.other.test. "
'

test_expect_success 'dns_rig_stop stops NSD' '
	port=$DNS_RIG_PORT &&
	pid=$(cat "$TEST_DIR/dns-rig/nsd.pid") &&
	dns_rig_stop &&
	! proc_alive "$pid" &&
	! dig +short +time=1 +tries=1 -p "$port" @127.0.0.1 example.net SOA |
	    grep -q "^ns\\."
'

dns_zone_begin broken.test bad.zone
echo 'x IN A 999.1.1.1' >>bad.zone
dns_rig_start broken.test=bad.zone 2>bad.err
badrc=$?

test_expect_success 'a zone NSD cannot read: return 1 and its log' '
	[ $badrc = 1 ] &&
	grep -q "nsd did not answer" bad.err &&
	grep -q "999.1.1.1" bad.err
'

test_expect_success 'a missing zone file: return 1' '
	! dns_rig_start nowhere.test=missing.zone 2>err &&
	grep -q "missing.zone" err
'

dns_rig_blackhole 2>bh.err
bhrc=$?

test_expect_success 'dns_rig_blackhole never answers, UDP or TCP' '
	[ $bhrc = 0 ] &&
	port=${DNS_BLACKHOLE#127.0.0.1:} &&
	[ -n "$port" ] && [ "$port" != "$DNS_BLACKHOLE" ] &&
	{ dig +time=1 +tries=1 -p "$port" @127.0.0.1 x.test TXT >udp.out ||
	    true; } &&
	grep -q "timed out" udp.out &&
	{ dig +tcp +time=1 +tries=1 -p "$port" @127.0.0.1 x.test TXT >tcp.out ||
	    true; } &&
	grep -q "timed out" tcp.out &&
	! grep -q "ANSWER SECTION" udp.out tcp.out
'

test_done
