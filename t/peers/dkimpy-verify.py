#!/usr/bin/python3
# dkimpy-verify.py: verify messages with dkimpy (python3-dkim), keys from
# the test's DNS server through dnspython.
#
#   dkimpy-verify.py -p PORT [-S SERVER] FILE...
#
# Prints one line per FILE: "FILE v1 v2 ..." with one verdict per
# DKIM-Signature in header order: pass, fail, or "error:<why>".  "none"
# when the message has no signature.  Exit 0 (verdicts are in the output).
import argparse
import logging
import sys

import dkim
import dns.resolver
import dns.rdatatype


def make_dnsfunc(server, port, timeout):
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = [server]
    res.port = port
    res.timeout = timeout
    res.lifetime = timeout

    def dnsfunc(name, timeout=5):
        try:
            ans = res.resolve(name.decode("ascii"), dns.rdatatype.TXT,
                              raise_on_no_answer=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoNameservers):
            return None
        for rrset in ans.response.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                return b"".join(list(rrset.items)[0].strings)
        return None
    return dnsfunc


class Capture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.last = ""

    def emit(self, rec):
        self.last = rec.getMessage().splitlines()[0][:120]


def verdicts(msg, dnsfunc, log, cap):
    d = dkim.DKIM(msg, logger=log, minkey=1024)
    n = sum(1 for k, _ in d.headers if k.lower() == b"dkim-signature")
    if n == 0:
        return ["none"]
    out = []
    for i in range(n):
        cap.last = ""
        try:
            ok = d.verify(idx=i, dnsfunc=dnsfunc)
            out.append("pass" if ok else "fail" + (":" + cap.last.replace(" ", "_") if cap.last else ""))
        except dkim.DKIMException as e:
            out.append("error:" + str(e).splitlines()[0][:80].replace(" ", "_"))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-p", type=int, required=True)
    ap.add_argument("-S", default="127.0.0.1")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    dnsfunc = make_dnsfunc(a.S, a.p, 5.0)
    log = logging.getLogger("dkimpy-verify")
    log.propagate = False
    cap = Capture()
    log.addHandler(cap)
    log.setLevel(logging.INFO)
    for f in a.files:
        msg = open(f, "rb").read()
        print(f, " ".join(verdicts(msg, dnsfunc, log, cap)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
