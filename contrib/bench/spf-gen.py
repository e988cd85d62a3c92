#!/usr/bin/python3
# contrib/bench/spf-gen.py OUTDIR [-n QUERIES] [-d DOMAINS] [--seed S]
#
# The SPF benchmark's data, deterministic: two zone files for NSD and the
# query list.
#   OUTDIR/prov.example.zone   10 mail providers: include chains two or
#                              three deep (_spf -> _nbN -> _nbNa), ip4 and
#                              ip6 blocks, one with a and mx
#   OUTDIR/bench.example.zone  DOMAINS customer domains dNNN.bench.example
#                              of ten kinds: ip4/ip6 lists, a/mx, includes
#                              of providers and of other customers,
#                              redirect=, ptr-free macros (exists:%{i}...,
#                              exists:%{ir}...), non-SPF TXT beside the
#                              record, and some without SPF or broken
#                              (permerror)
#   OUTDIR/zones               "ORIGIN=FILE" lines
#   OUTDIR/queries.txt         QUERIES lines "IP SENDER HELO" (the format of
#                              spfcheck --batch and spfquery -file), ~70%
#                              from an authorized address, ~15% IPv6;
#                              domains drawn with a Zipf-like skew, as mail is
# Addresses are from the benchmarking and documentation ranges only
# (198.18.0.0/15, 203.0.113.0/24, 2001:db8::/32).
import argparse
import os
import random

PROVIDERS = 10


def q(s):
    """A TXT value as zone-file character-strings (255 bytes at most each)."""
    parts = [s[i:i + 250] for i in range(0, len(s), 250)] or [""]
    return " ".join('"%s"' % p.replace("\\", "\\\\").replace('"', '\\"')
                    for p in parts)


def head(origin):
    return ["$ORIGIN %s." % origin, "$TTL 3600",
            "@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300" % (origin, origin),
            "@ IN NS ns.%s." % origin, "ns IN A 127.0.0.1"]


def providers():
    """prov.example: zone lines and each provider's authorized addresses."""
    z = head("prov.example")
    good = {}
    for k in range(PROVIDERS):
        p = "p%d" % k
        ips = []
        nb = []
        for j in range(1, 3 + k % 2):           # two or three netblock records
            b4 = "198.18.%d.0/24" % (k * 16 + j)
            b4b = "198.18.%d.128/25" % (k * 16 + j + 4)
            b6 = "2001:db8:%x::/48" % (0xa000 + k * 16 + j)
            rec = "v=spf1 ip4:%s ip4:%s ip6:%s" % (b4, b4b, b6)
            if k % 3 == 0 and j == 2:           # a third level
                z.append("_nb%da.%s IN TXT %s" % (j, p, q(
                    "v=spf1 ip4:198.18.%d.0/24 ~all" % (k * 16 + 12))))
                rec += " include:_nb%da.%s.prov.example" % (j, p)
                ips.append("198.18.%d.%d" % (k * 16 + 12, 7))
            z.append("_nb%d.%s IN TXT %s" % (j, p, q(rec + " ~all")))
            nb.append("include:_nb%d.%s.prov.example" % (j, p))
            ips += ["198.18.%d.%d" % (k * 16 + j, h) for h in (1, 25, 200)]
            ips += ["198.18.%d.%d" % (k * 16 + j + 4, 130)]
            ips += ["2001:db8:%x::%x" % (0xa000 + k * 16 + j, h) for h in (1, 0x25)]
        extra = ""
        if k == 9:                              # a provider using a and mx
            extra = " a mx"
            z.append("%s IN A 198.18.%d.10" % (p, k * 16 + 15))
            z.append("%s IN MX 10 mx.%s" % (p, p))
            z.append("mx.%s IN A 198.18.%d.11" % (p, k * 16 + 15))
            ips += ["198.18.%d.10" % (k * 16 + 15), "198.18.%d.11" % (k * 16 + 15)]
        z.append("_spf.%s IN TXT %s" % (p, q("v=spf1 %s%s ~all" % (" ".join(nb), extra))))
        good[p] = ips
    return z, good


def customers(n, pgood, rnd):
    z = head("bench.example")
    good = {}
    kinds = {}
    for i in range(n):
        d = "d%03d" % i
        fq = d + ".bench.example"
        b4 = "198.19.%d" % (i % 256)
        b6 = "2001:db8:%x" % (0x1000 + i)
        own4 = ["%s.%d" % (b4, h) for h in (1, 2, 5, 9, 14)]
        own6 = ["%s::%x" % (b6, h) for h in (1, 2, 0x10)]
        pk = "p%d" % (i % PROVIDERS)
        pj = "p%d" % ((i * 7 + 3) % PROVIDERS)
        kind = i % 10
        if kind == 9:
            kind = (9, 10, 11)[(i // 10) % 3]   # none / permerror / ?all
        kinds[d] = kind
        ok = []
        rec = None
        # mail host and MX for everyone (a HELO name that resolves)
        z.append("mail.%s IN A %s.25" % (d, b4))
        z.append("mail.%s IN AAAA %s::25" % (d, b6))
        if kind == 0:
            rec = "v=spf1 ip4:%s.0/28 ip6:%s::/48 -all" % (b4, b6)
            ok = own4 + own6
        elif kind == 1:
            rec = "v=spf1 a mx -all"
            z.append("%s IN A %s.40" % (d, b4))
            z.append("%s IN AAAA %s::40" % (d, b6))
            for m, h in (("mx1", 41), ("mx2", 42)):
                z.append("%s IN MX %d %s.%s" % (d, h - 30, m, d))
                z.append("%s.%s IN A %s.%d" % (m, d, b4, h))
            ok = ["%s.%d" % (b4, h) for h in (40, 41, 42)] + ["%s::40" % b6]
        elif kind == 2:
            rec = "v=spf1 include:_spf.%s.prov.example -all" % pk
            ok = pgood[pk]
        elif kind == 3:
            rec = "v=spf1 mx include:_spf.%s.prov.example include:_spf.%s.prov.example ~all" % (pk, pj)
            z.append("%s IN MX 10 mail.%s" % (d, d))
            ok = pgood[pk] + pgood[pj] + ["%s.25" % b4, "%s::25" % b6]
        elif kind == 4:
            rec = "v=spf1 redirect=_spf.%s.prov.example" % pk
            ok = pgood[pk]
        elif kind == 5:
            rec = "v=spf1 ip4:%s.0/29 exists:%%{i}._ip.%%{d} -all" % b4
            for h in (17, 18, 19):
                z.append("%s.%d._ip.%s IN A 127.0.0.2" % (b4, h, d))
            ok = own4[:3] + ["%s.%d" % (b4, h) for h in (17, 18, 19)]
        elif kind == 6:
            rec = "v=spf1 exists:%%{ir}.%%{v}._spf.%%{d} ip6:%s::/64 -all" % b6
            for h in (33, 34):
                o = b4.split(".")
                z.append("%d.%s.%s.%s.in-addr._spf.%s IN A 127.0.0.2" % (h, o[2], o[1], o[0], d))
            ok = ["%s.%d" % (b4, h) for h in (33, 34)] + own6
        elif kind == 7:
            other = "d%03d" % ((i + 3) % n if (i + 3) % 10 in (0, 2) else (i // 10) * 10 % n)
            rec = "v=spf1 ip4:%s.0/28 include:%s.bench.example ?all" % (b4, other)
            ok = own4
        elif kind == 8:
            rec = "v=spf1 ip4:%s.0/28 ip4:%s.64/26 include:_spf.%s.prov.example -all" % (b4, b4, pk)
            z.append("%s IN TXT %s" % (d, q("google-site-verification=%032x" % rnd.getrandbits(128))))
            z.append("%s IN TXT %s" % (d, q("MS=ms%08d" % rnd.randrange(10 ** 8))))
            ok = own4 + ["%s.%d" % (b4, h) for h in (65, 100)] + pgood[pk][:4]
        elif kind == 9:                         # no SPF record
            z.append("%s IN TXT %s" % (d, q("some-verification=%08x" % rnd.getrandbits(32))))
        elif kind == 10:                        # broken: a permerror
            rec = "v=spf1 ip4:%s.0/33 include:nospf.bench.example -all" % b4
        elif kind == 11:
            rec = "v=spf1 a:mail.%s ip4:%s.0/28 ?all" % (fq, b4)
            ok = own4 + ["%s.25" % b4]
        if rec is not None:
            z.append("%s IN TXT %s" % (d, q(rec)))
        good[d] = ok
    return z, good, kinds


def main():
    ap = argparse.ArgumentParser(prog="spf-gen.py")
    ap.add_argument("outdir")
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("-d", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7208)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    os.makedirs(a.outdir, exist_ok=True)
    pz, pgood = providers()
    cz, good, kinds = customers(a.d, pgood, rnd)
    with open(os.path.join(a.outdir, "prov.example.zone"), "w") as f:
        f.write("\n".join(pz) + "\n")
    with open(os.path.join(a.outdir, "bench.example.zone"), "w") as f:
        f.write("\n".join(cz) + "\n")
    with open(os.path.join(a.outdir, "zones"), "w") as f:
        f.write("prov.example=prov.example.zone\nbench.example=bench.example.zone\n")
    names = sorted(good)
    weights = [1.0 / (r + 1) ** 0.8 for r in range(len(names))]
    order = names[:]
    rnd.shuffle(order)
    # domains without SPF or with a broken record get little mail
    order.sort(key=lambda d: kinds[d] in (9, 10))
    users = ["alice", "bob", "carol", "dave", "eve", "frank", "grace",
             "heidi", "ivan", "judy", "bounce-12345", "noreply", "info"]
    with open(os.path.join(a.outdir, "queries.txt"), "w") as f:
        for _ in range(a.n):
            d = rnd.choices(order, weights)[0]
            ok = good[d]
            if ok and rnd.random() < 0.7:
                ip = rnd.choice(ok)
            elif rnd.random() < 0.15:
                ip = "2001:db8:ffff::%x" % rnd.randrange(1, 65535)
            else:
                ip = "203.0.113.%d" % rnd.randrange(1, 255)
            f.write("%s %s@%s.bench.example mail.%s.bench.example\n"
                    % (ip, rnd.choice(users), d, d))


if __name__ == "__main__":
    main()
