#!/usr/bin/python3
# peer-dkimpy.py PORT MBOX: verify every message of an mboxrd archive with
# dkimpy in one process (mailbox module; mboxrd ">From " unquoted), keys from
# the DNS server on 127.0.0.1:PORT through dnspython, cached in-process as
# dkimverify caches its own lookups.  Verifies every DKIM-Signature of each
# message.  Prints "messages=N pass=P fail=F bytes=B".
import mailbox
import re
import sys

import dkim
import dns.rdatatype
import dns.resolver

UNQUOTE = re.compile(rb"(?m)^>(>*From )")


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = ["127.0.0.1"]
    res.port = port
    cache = {}

    def dnsfunc(name, timeout=5):
        if name in cache:
            return cache[name]
        txt = None
        try:
            ans = res.resolve(name.decode("ascii"), dns.rdatatype.TXT,
                              raise_on_no_answer=False, lifetime=timeout)
            for rrset in ans.response.answer:
                if rrset.rdtype == dns.rdatatype.TXT:
                    txt = b"".join(list(rrset.items)[0].strings)
                    break
        except dns.resolver.NXDOMAIN:
            pass
        cache[name] = txt
        return txt

    n = ok = bad = nbytes = 0
    mb = mailbox.mbox(path, create=False)
    for key in mb.iterkeys():
        msg = UNQUOTE.sub(rb"\1", mb.get_bytes(key))
        n += 1
        nbytes += len(msg)
        d = dkim.DKIM(msg)
        nsig = sum(1 for k, _ in d.headers if k.lower() == b"dkim-signature")
        good = nsig > 0
        for i in range(nsig):
            try:
                good = d.verify(idx=i, dnsfunc=dnsfunc) and good
            except dkim.DKIMException:
                good = False
        ok += good
        bad += not good
    print("messages=%d pass=%d fail=%d bytes=%d" % (n, ok, bad, nbytes))


if __name__ == "__main__":
    main()
