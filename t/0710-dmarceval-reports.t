#!/bin/sh
# dmarceval's reports against a real DNS server: RFC 6591 failure reports
# (--forensic FILE or -, --sendmail CMD with the ruf= addresses, fo=0, 1,
# d and s, --forensic-sender), their MIME structure checked with Python's
# email package; --history then --aggregate, the XML validated against
# RFC 7489 appendix C's schema with xmllint and the merged rows counted.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/lib-dmarc.sh"

command -v xmllint >/dev/null 2>&1 || skip_all "xmllint (libxml2-utils) missing"
dmarc_rig
XSD=$TEST_SRC/data/dmarc/rua.xsd
NOW=1704110400		# 2024-01-01 12:00:00 UTC

for d in fo0 fo1 fod fos foext reject quar; do
	mkfrom "$d.eml" "Alice <alice@$d.test>"
done

# A sendmail stand-in: its arguments and standard input into FILE.args and
# FILE.in, some chatter on its standard output, exit status $2.
cat >fakesendmail <<'SH'
#!/bin/sh
out=$1 rc=$2
shift 2
printf '%s\n' "$@" >"$out.args"
cat >"$out.in"
echo "fakesendmail: chatter on stdout"
exit "$rc"
SH
chmod 755 fakesendmail

# check_report FILE DOMAIN RCPT: the structure RFC 6591 and RFC 7489 7.3 ask for
check_report() {
	/usr/bin/python3 - "$@" <<'PY'
import email, email.policy, sys
path, domain, rcpt = sys.argv[1:4]
raw = open(path, "rb").read()
assert b"\r\n" in raw, "no CRLF line ends"
m = email.message_from_bytes(raw, policy=email.policy.default)
for h in ("From", "To", "Subject", "Date", "Message-ID"):
    assert m[h], "no %s field" % h
assert rcpt in m["To"], m["To"]
assert m.get_content_type() == "multipart/report", m.get_content_type()
assert m.get_param("report-type") == "feedback-report", m.get_param("report-type")
parts = list(m.iter_parts())
types = [p.get_content_type() for p in parts]
assert types[0] == "text/plain", types
assert types[1] == "message/feedback-report", types
assert types[2] in ("message/rfc822", "text/rfc822-headers"), types
fb = parts[1]
body = fb.get_payload()
text = body[0].as_string() if isinstance(body, list) else str(body)
fields = {}
for line in text.replace("\r\n", "\n").split("\n"):
    if ":" in line and not line.startswith((" ", "\t")):
        k, v = line.split(":", 1)
        fields.setdefault(k.strip().lower(), v.strip())
assert fields.get("feedback-type", "").lower() == "auth-failure", fields
assert fields.get("auth-failure", "").lower() == "dmarc", fields
assert fields.get("reported-domain", "").lower() == domain, fields
assert "version" in fields, fields
orig = parts[2].get_payload()
otext = orig[0].as_string() if isinstance(orig, list) else str(orig)
assert "dmarc-test@mx.test" in otext, "original message-id missing"
print("ok", m["From"])
PY
}

# ---- failure reports ----------------------------------------------------------------

test_expect_success 'fo=0, SPF and DKIM both fail: report written to --forensic FILE' '
	evx f0.kv 1 "--spf fail --spf-domain fo0.test --dkim fo0.test=fail --forensic r0.eml --now $NOW fo0.eml" \
	    dmarc_status=reject &&
	check_report r0.eml fo0.test ruf@fo0.test
'

test_expect_success '--forensic-sender is the From of the report' '
	ev f0s.kv --spf fail --spf-domain fo0.test --dkim fo0.test=fail \
	    --forensic r0s.eml --forensic-sender dmarc-reports@mx.test fo0.eml
	check_report r0s.eml fo0.test ruf@fo0.test | grep -q "dmarc-reports@mx.test"
'

test_expect_success 'fo=0, DMARC passes through SPF: no report' '
	evx f0p.kv 0 "--spf pass --spf-domain fo0.test --dkim fo0.test=fail --forensic r0p.eml fo0.eml" &&
	[ ! -e r0p.eml ]
'

test_expect_success 'no ruf= in the record: no report' '
	evx fnr.kv 1 "--spf fail --spf-domain reject.test --dkim reject.test=fail --forensic rnr.eml reject.eml" &&
	[ ! -e rnr.eml ]
'

test_expect_success 'fo=1 (p=none): report for a failure, to every ruf= address by --sendmail' '
	ev f1.kv --spf fail --spf-domain fo1.test --dkim fo1.test=fail \
	    --sendmail "$TEST_DIR/fakesendmail $TEST_DIR/sm1 0" fo1.eml 2>f1.err &&
	kv_expect f1.kv dmarc_status none &&
	grep -qx "ruf@fo1.test" sm1.args && grep -qx "ruf2@fo1.test" sm1.args &&
	check_report sm1.in fo1.test ruf@fo1.test &&
	! grep -q chatter f1.kv
'

test_expect_success 'ruf= outside the policy domain: only destinations that agreed (RFC 7489 7.1)' '
	ev fx.kv --spf fail --spf-domain foext.test --dkim foext.test=fail \
	    --sendmail "$TEST_DIR/fakesendmail $TEST_DIR/smx 0" foext.eml 2>fx.err &&
	grep -qx "r@foext.test" smx.args && grep -qx "x@ok.test" smx.args &&
	! grep -q "y@no.test" smx.args && ! grep -qi "^To:.*y@no.test" smx.in
'

test_expect_success 'fo=s: SPF failed (DKIM passed unaligned): report' '
	evx fs.kv 1 "--spf fail --spf-domain fos.test --dkim other.test=pass --forensic rs.eml fos.eml" &&
	check_report rs.eml fos.test ruf@fos.test
'

test_expect_success 'fo=d: DKIM passed (unaligned), SPF failed: no report' '
	evx fd1.kv 1 "--spf fail --spf-domain fod.test --dkim other.test=pass --forensic rd1.eml fod.eml" &&
	[ ! -e rd1.eml ]
'

test_expect_success 'fo=d: a DKIM signature failed: report' '
	evx fd2.kv 1 "--spf fail --spf-domain fod.test --dkim fod.test=fail --forensic rd2.eml fod.eml" &&
	check_report rd2.eml fod.test ruf@fod.test
'

test_expect_success '--forensic -: the report after the output on stdout' '
	ev fstd.kv --spf fail --spf-domain fo0.test --dkim fo0.test=fail --forensic - fo0.eml
	head -n 1 fstd.kv | grep -q "^dmarc_status=.reject.$" &&
	grep -q "^Feedback-Type: auth-failure" fstd.kv
'

test_expect_success '-f --sendmail: stdout is the message alone, the report went out' '
	dmarceval -f --authserv-id $ID --spf fail --spf-domain fo0.test --dkim fo0.test=fail \
	    --sendmail "$TEST_DIR/fakesendmail $TEST_DIR/sm2 0" fo0.eml >f2.out 2>f2.err &&
	! grep -q chatter f2.out && grep -q chatter f2.err &&
	tail -n +2 f2.out | sed "/^[ \t]/d" | cmp - fo0.eml &&
	check_report sm2.in fo0.test ruf@fo0.test
'

test_expect_success '--sendmail failing (exit 1) is a warning: the verdict and message stand' '
	ev f3.kv --spf fail --spf-domain fo0.test --dkim fo0.test=fail \
	    --sendmail "$TEST_DIR/fakesendmail $TEST_DIR/sm3 1" fo0.eml 2>f3.err; [ $? = 1 ] &&
	grep -q "^dmarceval: .*sendmail" f3.err &&
	dmarceval -f --authserv-id $ID --spf fail --spf-domain fo0.test --dkim fo0.test=fail \
	    --sendmail "$TEST_DIR/fakesendmail $TEST_DIR/sm4 1" fo0.eml >f4.out 2>/dev/null &&
	tail -n +2 f4.out | sed "/^[ \t]/d" | cmp - fo0.eml
'

test_expect_success '--sendmail that does not exist is a warning: the verdict stands' '
	ev f5.kv --spf fail --spf-domain fo0.test --dkim fo0.test=fail \
	    --sendmail /nonexistent/sendmail fo0.eml 2>f5.err; [ $? = 1 ] &&
	grep -q "^dmarceval: " f5.err
'

test_expect_success '--sendmail words are not a shell command' '
	ev f6.kv --spf fail --spf-domain fo0.test --dkim fo0.test=fail \
	    --sendmail "$TEST_DIR/fakesendmail $TEST_DIR/sm6 0 ;touch pwned;" fo0.eml 2>/dev/null
	[ ! -e pwned ] && grep -qx ";touch" sm6.args && grep -qx "ruf@fo0.test" sm6.args
'

# ---- history and aggregate reports ------------------------------------------------

# Reports go to the domains whose record asks for them (rua=): fo0.test and
# fo1.test; reject.test has no rua= and gets none.
test_expect_success '--history: one line per evaluated message' '
	h() { ev h.kv --history hist.log --now $1 -i $2 -s alice@$3.test -e relay.test ${4:-} $3.eml; }
	h $NOW 192.0.2.99 fo0; h $((NOW + 60)) 192.0.2.99 fo0; h $((NOW + 120)) 192.0.2.1 fo0
	h $((NOW + 180)) 192.0.2.99 fo1 "--dkim fo1.test=fail --dkim other.test=pass"
	h $((NOW + 240)) 192.0.2.99 reject
	[ "$(wc -l <hist.log)" = 5 ]
'

test_expect_success '--history: an unwritable history is a warning, the verdict stands' '
	ev hw.kv --history /nonexistent/dir/hist.log --spf fail --spf-domain reject.test reject.eml 2>hw.err
	[ $? = 1 ] && grep -q "^dmarceval: /nonexistent/dir/hist.log" hw.err
'

test_expect_success '--aggregate --outdir: one report per rua= domain, valid against the schema' '
	mkdir agg &&
	dmarceval --aggregate hist.log --org "mxkit test" --email dmarc@mx.test --outdir agg &&
	ls agg >agg.list && [ "$(wc -l <agg.list)" = 2 ] &&
	grep -q "!fo0.test!1704067200!1704153599.xml$" agg.list && grep -q "!fo1.test!" agg.list &&
	for f in agg/*; do xmllint --noout --schema "$XSD" "$f" || exit 1; done
'

test_expect_success '--aggregate: rows with the same facts merged, counts right' '
	f=$(ls agg/*!fo0.test!*) &&
	/usr/bin/python3 - "$f" <<-PY
	import sys, xml.etree.ElementTree as ET
	t = ET.parse(sys.argv[1]).getroot()
	assert t.findtext("report_metadata/org_name") == "mxkit test"
	assert t.findtext("report_metadata/email") == "dmarc@mx.test"
	assert t.findtext("report_metadata/date_range/begin") == "1704067200"
	assert t.findtext("policy_published/domain") == "fo0.test"
	assert t.findtext("policy_published/p") == "reject"
	rows = {}
	for r in t.findall("record"):
	    ip = r.findtext("row/source_ip")
	    rows[ip] = rows.get(ip, 0) + int(r.findtext("row/count"))
	assert rows == {"192.0.2.99": 2, "192.0.2.1": 1}, rows
	assert len(t.findall("record")) == 2, "rows not merged"
	for r in t.findall("record"):
	    if r.findtext("row/source_ip") == "192.0.2.1":
	        assert r.findtext("row/policy_evaluated/spf") == "pass"
	        assert r.findtext("row/policy_evaluated/disposition") == "none"
	    else:
	        assert r.findtext("row/policy_evaluated/disposition") == "reject"
	PY
'

test_expect_success '--aggregate to stdout without --outdir; --begin/--end select the period' '
	dmarceval --aggregate hist.log --org "mxkit test" --email dmarc@mx.test \
	    --begin $NOW --end $((NOW + 100)) >period.xml &&
	[ "$(grep -c "<\([a-z]*:\)\{0,1\}feedback[ >]" period.xml)" = 1 ] &&
	xmllint --noout --schema "$XSD" period.xml &&
	grep -q "<domain>fo0.test</domain>" period.xml &&
	! grep -q "<domain>fo1.test</domain>" period.xml
'

test_expect_success '--aggregate --outdir into a directory that does not exist: 73' '
	expect_status 73 dmarceval --aggregate hist.log --org o --email e@mx.test --outdir nodir 2>/dev/null
'

test_expect_success '--aggregate: a malformed history line is 65, a missing history 66' '
	cp hist.log badhist.log && echo "garbage line" >>badhist.log &&
	expect_status 65 dmarceval --aggregate badhist.log --org o --email e@mx.test >/dev/null 2>bad.err &&
	grep -q "badhist.log" bad.err &&
	expect_status 66 dmarceval --aggregate /nonexistent/hist --org o --email e@mx.test 2>/dev/null
'

test_done
