#!/bin/sh
# dmarceval against a real DNS server (nsd on loopback, the zone "test."
# of t/lib-dmarc.sh): every status (accept none reject quarantine norecord
# nofrom temperror) with its exit status, and a scenario for each tag: p,
# sp, np, pct (seeded), adkim/aspf strict and relaxed, psd, t, a _dmarc
# CNAME; then the places where RFC 7489 (PSL) and RFC 9989 (tree walk)
# give different answers.  SPF and DKIM are given with --spf and --dkim
# here; t/0701 computes them.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/lib-dmarc.sh"

dmarc_rig

for d in reject quar none norec garbage sp sub.sp ghost.sp pct0 pct50 pct100 \
    strict relaxed testing alias shop.registry x.corp.example; do
	mkfrom "$d.eml" "Alice <alice@$d.test>"
done
SPFOK="--spf pass --spf-domain"
SPFBAD="--spf fail --spf-domain"
NODKIM="--dkim nobody.invalid=none"

# ---- every status --------------------------------------------------------------

test_expect_success 'accept: aligned SPF pass, exit 0' '
	evx a.kv 0 "$SPFOK reject.test $NODKIM reject.eml" \
	    dmarc_status=accept dmarc_domain_policy=reject dmarc_used_domain=reject.test \
	    dmarc_from_domain=reject.test dmarc_spf_aligned=1 dmarc_dkim_aligned=0 \
	    dmarc_record="v=DMARC1; p=reject" dmarc_result=pass
'

test_expect_success 'reject: p=reject, nothing aligned, exit 1' '
	evx r.kv 1 "$SPFBAD reject.test $NODKIM reject.eml" \
	    dmarc_status=reject dmarc_domain_policy=reject dmarc_disposition=reject \
	    dmarc_policy_tag=p dmarc_used_domain=reject.test dmarc_result=fail
'

test_expect_success 'quarantine: p=quarantine, exit 2' '
	evx q.kv 2 "$SPFBAD quar.test $NODKIM quar.eml" \
	    dmarc_status=quarantine dmarc_domain_policy=quarantine dmarc_disposition=quarantine
'

test_expect_success 'none: p=none and a failure is status none, exit 0' '
	evx n.kv 0 "$SPFBAD none.test $NODKIM none.eml" \
	    dmarc_status=none dmarc_domain_policy=none dmarc_result=fail
'

test_expect_success 'norecord: no _dmarc record, exit 3, empty policy' '
	evx nr.kv 3 "$SPFOK norec.test $NODKIM norec.eml" \
	    dmarc_status=norecord dmarc_domain_policy= dmarc_record= dmarc_result=none
'

test_expect_success 'norecord: a TXT record that is not DMARC, exit 3' '
	evx ng.kv 3 "$SPFOK garbage.test $NODKIM garbage.eml" \
	    dmarc_status=norecord dmarc_domain_policy=
'

test_expect_success 'nofrom: no From field, exit 3' '
	mkfrom nofrom.eml - &&
	evx nf.kv 3 "$SPFOK reject.test $NODKIM nofrom.eml" \
	    dmarc_status=nofrom dmarc_from_domain= dmarc_domain_policy=
'

test_expect_success 'nofrom: two From fields, exit 3' '
	mkfrom twofrom.eml "alice@reject.test" "From: mallory@other.test" &&
	evx nf2.kv 3 "$SPFOK reject.test $NODKIM twofrom.eml" dmarc_status=nofrom
'

test_expect_success 'nofrom: one From field with two addresses of two domains, exit 3' '
	mkfrom twoaddr.eml "alice@reject.test, mallory@other.test" &&
	evx nf3.kv 3 "$SPFOK reject.test $NODKIM twoaddr.eml" dmarc_status=nofrom
'

test_expect_success 'nofrom: an empty From field, exit 3' '
	mkfrom emptyfrom.eml "" &&
	evx nf4.kv 3 "$SPFOK reject.test $NODKIM emptyfrom.eml" dmarc_status=nofrom
'

dns_rig_blackhole || { echo "Bail out! cannot start the blackhole DNS server"; exit 1; }

test_expect_success 'temperror: the DNS server never answers, exit 75' '
	evx te.kv 75 "--resolver $DNS_BLACKHOLE --dns-timeout 200 $SPFBAD reject.test $NODKIM reject.eml" \
	    dmarc_status=temperror dmarc_domain_policy= dmarc_result=temperror
'

test_expect_success 'temperror: -f --tempfail writes nothing and exits 75' '
	expect_status 75 dmarceval -f --tempfail --authserv-id $ID --resolver "$DNS_BLACKHOLE" \
	    --dns-timeout 200 $SPFBAD reject.test $NODKIM reject.eml >tf.out &&
	[ ! -s tf.out ]
'

test_expect_success 'temperror: -f without --tempfail passes the message with dmarc=temperror' '
	dmarceval -f --authserv-id $ID --resolver "$DNS_BLACKHOLE" --dns-timeout 200 \
	    $SPFBAD reject.test $NODKIM reject.eml >tf2.out &&
	ar_parse tf2.out >tf2.ar && grep -q "^dmarc=temperror" tf2.ar
'

dns_rig_blackhole_stop

# ---- the tags ----------------------------------------------------------------------

test_expect_success 'p= applies to the domain itself (sp.test: p=none)' '
	evx p.kv 0 "$SPFBAD sp.test $NODKIM sp.eml" \
	    dmarc_status=none dmarc_policy_tag=p dmarc_used_domain=sp.test
'

test_expect_success 'sp= applies to an existing subdomain (sub.sp.test: sp=reject)' '
	evx sp.kv 1 "$SPFBAD sub.sp.test $NODKIM sub.sp.eml" \
	    dmarc_status=reject dmarc_policy_tag=sp dmarc_used_domain=sp.test \
	    dmarc_from_domain=sub.sp.test dmarc_domain_policy=reject
'

test_expect_success 'np= applies to a non-existent subdomain (RFC 9989: quarantine)' '
	evx np.kv 2 "$SPFBAD ghost.sp.test $NODKIM ghost.sp.eml" \
	    dmarc_status=quarantine dmarc_policy_tag=np dmarc_used_domain=sp.test
'

test_expect_success 'np= is unknown to RFC 7489: sp= applies (reject)' '
	evx np7.kv 1 "--mode rfc7489 --psl $PSL $SPFBAD ghost.sp.test $NODKIM ghost.sp.eml" \
	    dmarc_status=reject dmarc_policy_tag=sp
'

test_expect_success 'pct=0 (RFC 7489): sampled out, reject lowered to quarantine' '
	evx pct0.kv 2 "--mode rfc7489 --psl $PSL --random-seed 1 $SPFBAD pct0.test $NODKIM pct0.eml" \
	    dmarc_status=quarantine dmarc_sampled_out=1 dmarc_disposition=quarantine \
	    dmarc_domain_policy=reject
'

test_expect_success 'pct=100 (RFC 7489): never sampled out' '
	evx pct100.kv 1 "--mode rfc7489 --psl $PSL --random-seed 1 $SPFBAD pct100.test $NODKIM pct100.eml" \
	    dmarc_status=reject dmarc_sampled_out=0
'

test_expect_success 'pct=50 (RFC 7489): a seed gives the same answer every time, seeds differ' '
	: >seen &&
	for s in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		ev p50a.kv --mode rfc7489 --psl $PSL --random-seed $s $SPFBAD pct50.test $NODKIM pct50.eml
		a=$?
		ev p50b.kv --mode rfc7489 --psl $PSL --random-seed $s $SPFBAD pct50.test $NODKIM pct50.eml
		b=$?
		[ $a = $b ] && cmp -s p50a.kv p50b.kv || { echo "seed $s: $a vs $b"; exit 1; }
		echo "$a $(kvget dmarc_sampled_out p50a.kv)" >>seen
	done &&
	grep -qx "1 0" seen && grep -qx "2 1" seen && ! grep -v -x -e "1 0" -e "2 1" seen
'

test_expect_success 'pct sampling never touches a message that passes' '
	evx pctok.kv 0 "--mode rfc7489 --psl $PSL --random-seed 3 $SPFOK pct50.test $NODKIM pct50.eml" \
	    dmarc_status=accept dmarc_sampled_out=0
'

test_expect_success 'adkim=s: a DKIM pass of a subdomain does not align' '
	evx ks.kv 1 "--dkim mail.strict.test=pass strict.eml" dmarc_status=reject dmarc_dkim_aligned=0
'

test_expect_success 'adkim=s: a DKIM pass of the domain itself aligns' '
	evx ks2.kv 0 "--dkim strict.test=pass strict.eml" dmarc_status=accept dmarc_dkim_aligned=1
'

test_expect_success 'aspf=s: SPF pass of a subdomain does not align' '
	evx ss.kv 1 "$SPFOK mail.strict.test $NODKIM strict.eml" dmarc_status=reject dmarc_spf_aligned=0
'

test_expect_success 'adkim=r: a DKIM pass of a subdomain aligns' '
	evx kr.kv 0 "--dkim mail.relaxed.test=pass relaxed.eml" dmarc_status=accept dmarc_dkim_aligned=1
'

test_expect_success 'aspf=r: SPF pass of a subdomain aligns' '
	evx sr.kv 0 "$SPFOK mail.relaxed.test $NODKIM relaxed.eml" dmarc_status=accept dmarc_spf_aligned=1
'

test_expect_success 'relaxed alignment stops at the organizational domain' '
	evx kx.kv 1 "--dkim relaxed.other.test=pass $SPFOK other.test relaxed.eml" \
	    dmarc_status=reject dmarc_dkim_aligned=0 dmarc_spf_aligned=0
'

test_expect_success 'only a DKIM pass aligns: fail, policy, neutral, temperror do not' '
	for r in fail policy neutral temperror permerror none; do
		evx kw-$r.kv 1 "--dkim reject.test=$r reject.eml" dmarc_dkim_aligned=0 || exit 1
	done
'

test_expect_success 'only an SPF pass aligns' '
	for r in fail softfail neutral none permerror temperror; do
		ev sw-$r.kv --spf $r --spf-domain reject.test $NODKIM reject.eml
		kv_expect sw-$r.kv dmarc_spf_aligned 0 || exit 1
	done
'

test_expect_success 't=y (RFC 9989): testing, reject applied as quarantine' '
	evx t.kv 2 "$SPFBAD testing.test $NODKIM testing.eml" \
	    dmarc_testing=1 dmarc_domain_policy=reject dmarc_disposition=quarantine \
	    dmarc_status=quarantine
'

test_expect_success 't=y is not in RFC 7489: reject stands' '
	evx t7.kv 1 "--mode rfc7489 --psl $PSL $SPFBAD testing.test $NODKIM testing.eml" \
	    dmarc_testing=0 dmarc_status=reject
'

test_expect_success 'rua= and ruf= are kept as published (dmarc_record)' '
	mkfrom fo1.eml alice@fo1.test &&
	evx rua.kv 0 "$SPFBAD fo1.test $NODKIM fo1.eml" dmarc_status=none \
	    dmarc_record="v=DMARC1; p=none; rua=mailto:agg@fo1.test; ruf=mailto:ruf@fo1.test,mailto:ruf2@fo1.test; fo=1"
'

test_expect_success 'a _dmarc CNAME is followed once' '
	evx cn.kv 1 "$SPFBAD alias.test $NODKIM alias.eml" \
	    dmarc_status=reject dmarc_domain_policy=reject
'

# ---- RFC 7489 (PSL) and RFC 9989 (tree walk) where they differ ----------------

test_expect_success 'psd=y (RFC 9989): the registry policy covers shop.registry.test' '
	evx psd9.kv 1 "$SPFBAD shop.registry.test $NODKIM shop.registry.eml" \
	    dmarc_status=reject dmarc_used_domain=registry.test dmarc_domain_policy=reject
'

test_expect_success 'psd=y, RFC 7489 with registry.test in the PSL: norecord' '
	evx psd7.kv 3 "--mode rfc7489 --psl $PSL $SPFBAD shop.registry.test $NODKIM shop.registry.eml" \
	    dmarc_status=norecord dmarc_org_domain=shop.registry.test
'

test_expect_success 'a policy below the org domain: the tree walk finds it (quarantine)' '
	evx walk9.kv 2 "$SPFBAD x.corp.example.test $NODKIM x.corp.example.eml" \
	    dmarc_status=quarantine dmarc_used_domain=corp.example.test
'

test_expect_success 'the same, RFC 7489: the PSL org domain example.test decides (reject)' '
	evx walk7.kv 1 "--mode rfc7489 --psl $PSL $SPFBAD x.corp.example.test $NODKIM x.corp.example.eml" \
	    dmarc_status=reject dmarc_used_domain=example.test dmarc_org_domain=example.test
'

test_expect_success 'psd=n makes corp.example.test an org domain: mail.example.test does not align (RFC 9989)' '
	evx al9.kv 2 "$SPFOK mail.example.test $NODKIM x.corp.example.eml" \
	    dmarc_spf_aligned=0 dmarc_org_domain=corp.example.test
'

test_expect_success 'the same, RFC 7489: both under example.test, SPF aligns' '
	evx al7.kv 0 "--mode rfc7489 --psl $PSL $SPFOK mail.example.test $NODKIM x.corp.example.eml" \
	    dmarc_status=accept dmarc_spf_aligned=1
'

test_expect_success 'RFC 7489 with Debian'"'"'s list (the default --psl) finds the record' '
	[ -r /usr/share/publicsuffix/public_suffix_list.dat ] || exit 0
	evx deb.kv 1 "--mode rfc7489 $SPFBAD sub.sp.test $NODKIM sub.sp.eml" dmarc_status=reject
'

test_expect_success 'RFC 7489: a PSL that cannot be read is an error (66), not a silent skip' '
	expect_status 66 dmarceval --mode rfc7489 --psl /nonexistent/psl.dat $SPFOK reject.test reject.eml
'

# ---- bad records and hostile messages ----------------------------------------------

for d in two junk badp chain binary long; do
	mkfrom "$d.eml" "alice@$d.test"
done

test_expect_success 'two DMARC records: norecord (RFC 7489 6.6.3)' '
	evx two.kv 3 "$SPFBAD two.test $NODKIM two.eml" dmarc_status=norecord
'

test_expect_success 'a record with a bad p= and no rua=: norecord' '
	evx badp.kv 3 "$SPFBAD badp.test $NODKIM badp.eml" dmarc_status=norecord
'

test_expect_success 'a _dmarc CNAME to a CNAME is not followed: norecord' '
	evx chain.kv 3 "$SPFBAD chain.test $NODKIM chain.eml" dmarc_status=norecord
'

# What these give is lib/dmarc'"'"'s choice; dmarceval must answer with a
# status and its exit status, and kv output that eval takes.
for d in junk binary long; do
	test_expect_success "a record with garbage ($d): a verdict, no crash" "
		ev $d.kv $SPFBAD $d.test $NODKIM $d.eml; st=\$?
		case \$st in 0|1|2|3) ;; *) echo \"exit \$st\"; exit 1 ;; esac
		s=\$(kvget dmarc_status $d.kv) &&
		case \$s:\$st in accept:0|none:0|reject:1|quarantine:2|norecord:3) ;;
		*) echo \"\$s with exit \$st\"; exit 1 ;; esac
	"
done

test_expect_success 'hostile messages: 65 or a verdict, never a crash' '
	printf "From: a@reject.test\nX: \000\001\377\n\nbody\000\n" >h1.eml &&
	{ i=0; while [ $i -lt 5000 ]; do echo "X-$i: y"; i=$((i + 1)); done; echo; } >h2.eml &&
	{ printf "From: "; head -c 100000 /dev/zero | tr "\0" a; printf "@reject.test\n\nb\n"; } >h3.eml &&
	printf "From: =?utf-8?b?w6k=?= <\"a\\\"b\"@[192.0.2.1]>\n\nb\n" >h4.eml &&
	printf "From: a@b@c..reject.test\nFrom\n\n" >h5.eml &&
	printf "\n\n\n" >h6.eml && : >h7.eml &&
	for f in h1 h2 h3 h4 h5 h6 h7; do
		dmarceval $SPFBAD reject.test $NODKIM $f.eml >$f.out 2>$f.err; st=$?
		case $st in 0|1|2|3|65) ;; *) echo "$f: exit $st"; cat $f.err; exit 1 ;; esac
	done
'

test_done
