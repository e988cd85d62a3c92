#!/usr/bin/python3
# contrib/bench/spf-peer-pyspf.py PORT QUERIES: pyspf (Debian's python3-spf)
# over the benchmark's query list ("IP SENDER HELO" lines), in one process,
# its DNS (dnspython's default resolver) pointed at 127.0.0.1:PORT.  One
# result per line on stdout, in order; a last line "queries=N" and the
# count of each result on stderr.
import collections
import sys
import warnings

warnings.simplefilter("ignore", DeprecationWarning)
import dns.resolver  # noqa: E402
import spf  # noqa: E402

r = dns.resolver.Resolver(configure=False)
r.nameservers = ["127.0.0.1"]
r.port = int(sys.argv[1])
r.timeout = 2.0
r.lifetime = 5.0
dns.resolver.default_resolver = r

n = 0
seen = collections.Counter()
out = sys.stdout
with open(sys.argv[2]) as f:
    for line in f:
        w = line.split()
        if len(w) < 2 or w[0].startswith("#"):
            continue
        sender = "" if w[1] == "<>" else w[1]
        helo = w[2] if len(w) > 2 else ""
        try:
            res = spf.query(i=w[0], s=sender, h=helo, timeout=5).check()[0]
        except Exception as e:      # count it, keep going
            res = "exception:" + type(e).__name__
        n += 1
        seen[res] += 1
        out.write("%s %s %s %s\n" % (res, w[0], w[1], helo or "-"))
out.write("queries=%d\n" % n)
sys.stderr.write(" ".join("%s=%d" % kv for kv in sorted(seen.items())) + "\n")
