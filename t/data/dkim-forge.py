#!/usr/bin/python3
"""dkim-forge.py: make DKIM signatures and key records the way a test wants
them, including the ones a well-behaved signer refuses to make (i= outside
d=, l= beyond the body, rsa-sha1, 512-bit keys, odd tags).

Canonicalization comes from dkimpy (python3-dkim), the crypto from the
openssl command, so every PEM form (PKCS#1, PKCS#8, Ed25519) works.

  dkim-forge.py sign -k KEY -d DOMAIN -s SEL [-a rsa-sha256|rsa-sha1|ed25519-sha256]
        [--sign-as ALGO] [-c HEADER/BODY] [-H from:to:subject] [-i IDENTITY]
        [-l auto|N] [-t EPOCH] [-x EPOCH] [--tag NAME=VALUE]... [FILE] > signed
      (--tag replaces a tag computed here, bh= included, or adds one)
      prints the message with one DKIM-Signature field prepended; line endings
      follow the input.  -a is what a= says; --sign-as is the crypto actually
      used (default: -a), so a= can lie.
  dkim-forge.py record -k KEY [--extra 'h=sha1; s=foo'] [--ktype T] [--revoked]
      prints the key record value "v=DKIM1; k=rsa; p=..."
  dkim-forge.py verify (--resolver HOST:PORT | --zone FILE...) [--minkey N] [FILE]
      dkimpy's verdict on every DKIM-Signature of the message, one line each
      ("1 pass d=... s=..." or "1 fail ..."); exit 0 when all of them pass
  dkim-forge.py tag NAME [-n INDEX] [FILE]
      the value of tag NAME in the INDEX-th (1-based) DKIM-Signature field,
      unfolded, whitespace removed; exit 1 when there is no such tag
  dkim-forge.py strip [--top N] [--name FIELD] [FILE]
      the message without its first N header fields and/or without every
      field called FIELD (folds included); everything else byte for byte
  dkim-forge.py zone -k KEY -s SEL [--extra ...] [--ktype T] [--revoked] [--raw VALUE]
      prints a zone-file line "SEL._domainkey IN TXT ( "..." ... )",
      strings split at 255 bytes
"""
import argparse
import base64
import hashlib
import os
import subprocess
import sys
import tempfile

OPENSSL = "openssl"


def run_openssl(args, data=None):
    p = subprocess.run([OPENSSL] + args, input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=False)
    if p.returncode != 0:
        sys.stderr.write("dkim-forge: openssl %s: %s\n" %
                         (" ".join(args), p.stderr.decode(errors="replace")))
        sys.exit(70)
    return p.stdout


def public_der(keyfile):
    return run_openssl(["pkey", "-in", keyfile, "-pubout", "-outform", "DER"])


def is_ed25519(der):
    return b"\x06\x03\x2b\x65\x70" in der[:16]


def key_record(keyfile, extra="", ktype=None, revoked=False):
    der = public_der(keyfile)
    if is_ed25519(der):
        kt, p = "ed25519", base64.b64encode(der[-32:]).decode()
    else:
        kt, p = "rsa", base64.b64encode(der).decode()
    if ktype:
        kt = ktype
    if revoked:
        p = ""
    rec = "v=DKIM1; k=%s; " % kt
    if extra:
        rec += extra.strip().rstrip(";") + "; "
    return rec + "p=" + p


def zone_line(name, value):
    chunks = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
    quoted = " ".join('"%s"' % c.replace("\\", "\\\\").replace('"', '\\"')
                      for c in chunks)
    return "%s IN TXT ( %s )" % (name, quoted)


def crypto_sign(keyfile, algo, digest):
    if algo == "ed25519-sha256":
        with tempfile.NamedTemporaryFile(delete=False) as f:
            f.write(digest)
            path = f.name
        try:
            return run_openssl(["pkeyutl", "-sign", "-rawin", "-inkey",
                                keyfile, "-in", path])
        finally:
            os.unlink(path)
    md = "sha1" if algo == "rsa-sha1" else "sha256"
    return run_openssl(["pkeyutl", "-sign", "-inkey", keyfile,
                        "-pkeyopt", "digest:" + md], digest)


def sign(a):
    import dkim
    from dkim.canonicalization import CanonicalizationPolicy
    msg = open(a.file, "rb").read() if a.file != "-" else sys.stdin.buffer.read()
    first = msg.split(b"\n", 1)[0]
    eol = b"\r\n" if first.endswith(b"\r") else b"\n"
    headers, body = dkim.rfc822_parse(msg)
    algo = a.algo
    sign_as = a.sign_as or algo
    hcanon, _, bcanon = a.canon.partition("/")
    bcanon = bcanon or "simple"
    policy = CanonicalizationPolicy.from_c_value(
        ("%s/%s" % (hcanon, bcanon)).encode())
    hashfn = hashlib.sha1 if sign_as == "rsa-sha1" else hashlib.sha256

    cbody = policy.canonicalize_body(body)
    tags = [("v", "1"), ("a", algo), ("c", "%s/%s" % (hcanon, bcanon)),
            ("d", a.domain), ("s", a.selector)]
    if a.identity is not None:
        tags.append(("i", a.identity))
    if a.length is not None:
        n = len(cbody) if a.length == "auto" else int(a.length)
        tags.append(("l", str(n)))
        cbody = cbody[:n]
    if a.t is not None:
        tags.append(("t", str(a.t)))
    if a.x is not None:
        tags.append(("x", str(a.x)))
    hnames = [h for h in a.headers.split(":") if h]
    tags.append(("h", ":".join(hnames)))
    tags.append(("bh", base64.b64encode(hashfn(cbody).digest()).decode()))
    for t in a.tag:		# replace a tag in place, or add it
        name, _, value = t.partition("=")
        names = [n for n, _ in tags]
        if name in names:
            tags[names.index(name)] = (name, value)
        else:
            tags.append((name, value))

    def value(b64, sep):
        return " " + (";" + sep).join("%s=%s" % kv for kv in tags + [("b", b64)])

    unsigned = value("", "\r\n\t").encode()
    h = hashfn()
    dkim.hash_headers(h, policy, policy.canonicalize_headers(headers), [x.lower().encode() for x in hnames],
                      (b"DKIM-Signature", unsigned), {})
    sig = crypto_sign(a.key, sign_as, h.digest())
    field = b"DKIM-Signature:" + value(
        base64.b64encode(sig).decode(), eol.decode() + "\t").encode() + eol
    sys.stdout.buffer.write(field + msg)


def txt_lookup(a):
    if a.resolver:
        import dns.resolver
        host, _, port = a.resolver.rpartition(":")
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = [host]
        r.port = int(port)
        r.lifetime = 5

        def lookup(name, timeout=5):
            try:
                ans = r.resolve(name.decode().rstrip("."), "TXT")
            except Exception:
                return None
            return b"".join(ans[0].strings)
        return lookup
    import dns.zone
    import dns.rdatatype
    recs = {}
    for path in a.zone:
        z = dns.zone.from_file(path, relativize=False)
        for name, node in z.nodes.items():
            rds = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.TXT)
            if rds:
                recs[name.to_text().rstrip(".").lower()] = b"".join(
                    list(rds)[0].strings)

    def zlookup(name, timeout=5):
        return recs.get(name.decode().rstrip(".").lower())
    return zlookup


def verify(a):
    import dkim
    msg = open(a.file, "rb").read() if a.file != "-" else sys.stdin.buffer.read()
    lookup = txt_lookup(a)
    d = dkim.DKIM(msg, minkey=a.minkey)
    n = sum(1 for h in d.headers if h[0].lower() == b"dkim-signature")
    ok = n > 0
    for i in range(n):
        try:
            good = d.verify(idx=i, dnsfunc=lookup)
        except Exception as e:
            good = False
        ok = ok and good
        print("%d %s d=%s s=%s" % (i + 1, "pass" if good else "fail",
              (d.domain or b"").decode(), (d.selector or b"").decode()))
    sys.exit(0 if ok else 1)


def header_fields(msg):
    """[(name, bytes of the whole field with its line ending)], rest."""
    lines = msg.splitlines(keepends=True)
    fields, i = [], 0
    while i < len(lines):
        ln = lines[i]
        if ln in (b"\n", b"\r\n"):
            break
        if ln[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += ln
        elif b":" in ln:
            fields.append([ln.split(b":", 1)[0].strip().lower(), ln])
        else:
            break
        i += 1
    return fields, b"".join(lines[i:])


def tag(a):
    import re
    msg = open(a.file, "rb").read() if a.file != "-" else sys.stdin.buffer.read()
    fields, _ = header_fields(msg)
    sigs = [f[1] for f in fields if f[0] == b"dkim-signature"]
    if a.index > len(sigs):
        sys.exit(1)
    value = sigs[a.index - 1].split(b":", 1)[1]
    for part in value.split(b";"):
        name, eq, val = part.partition(b"=")
        if eq and name.strip().decode() == a.name:
            sys.stdout.write(re.sub(rb"\s+", b"", val).decode() + "\n")
            return
    sys.exit(1)


def strip(a):
    msg = open(a.file, "rb").read() if a.file != "-" else sys.stdin.buffer.read()
    fields, rest = header_fields(msg)
    keep = fields[a.top:]
    if a.name:
        keep = [f for f in keep if f[0] != a.name.lower().encode()]
    sys.stdout.buffer.write(b"".join(f[1] for f in keep) + rest)


def main():
    ap = argparse.ArgumentParser(prog="dkim-forge.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sign")
    s.add_argument("-k", "--key", required=True)
    s.add_argument("-d", "--domain", required=True)
    s.add_argument("-s", "--selector", required=True)
    s.add_argument("-a", "--algo", default="rsa-sha256")
    s.add_argument("--sign-as")
    s.add_argument("-c", "--canon", default="relaxed/relaxed")
    s.add_argument("-H", "--headers", default="from:to:subject:date:message-id")
    s.add_argument("-i", "--identity")
    s.add_argument("-l", "--length")
    s.add_argument("-t", type=int)
    s.add_argument("-x", type=int)
    s.add_argument("--tag", action="append", default=[])
    s.add_argument("file", nargs="?", default="-")
    v = sub.add_parser("verify")
    v.add_argument("--resolver")
    v.add_argument("--zone", action="append", default=[])
    v.add_argument("--minkey", type=int, default=1024)
    v.add_argument("file", nargs="?", default="-")
    t = sub.add_parser("tag")
    t.add_argument("name")
    t.add_argument("-n", "--index", type=int, default=1)
    t.add_argument("file", nargs="?", default="-")
    st = sub.add_parser("strip")
    st.add_argument("--top", type=int, default=0)
    st.add_argument("--name")
    st.add_argument("file", nargs="?", default="-")
    for name in ("record", "zone"):
        r = sub.add_parser(name)
        r.add_argument("-k", "--key")
        r.add_argument("-s", "--selector")
        r.add_argument("--extra", default="")
        r.add_argument("--ktype")
        r.add_argument("--revoked", action="store_true")
        r.add_argument("--raw", help="the record value as given")
    a = ap.parse_args()
    if a.cmd == "sign":
        sign(a)
        return
    if a.cmd == "verify":
        verify(a)
    if a.cmd == "tag":
        tag(a)
        return
    if a.cmd == "strip":
        strip(a)
        return
    value = a.raw if a.raw is not None else key_record(
        a.key, a.extra, a.ktype, a.revoked)
    if a.cmd == "record":
        print(value)
    else:
        print(zone_line(a.selector + "._domainkey", value))


if __name__ == "__main__":
    main()
