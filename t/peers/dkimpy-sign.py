#!/usr/bin/python3
# dkimpy-sign.py: sign messages with dkimpy (python3-dkim), for interop tests.
#
#   dkimpy-sign.py -a rsa-sha256|ed25519-sha256 -c HEADER/BODY -d DOMAIN
#                  -s SELECTOR -k KEY.pem [-L] [-H h1:h2] -o OUTDIR FILE...
#
# Each FILE is signed and written, signature prepended, to OUTDIR/basename.
# -L adds l= (dkimpy can only sign the whole body's length).  With -H the
# list is used as given: dkimpy's own refusal of fields it deems "SHOULD NOT
# be signed" (Received, Comments, ...) is switched off.  The key is a
# PEM file: RSA (PKCS#1 or PKCS#8) or Ed25519 (PKCS#8); dkimpy wants an
# Ed25519 key as the base64 of its 32-byte seed, taken from the DER here.
# The signature's line endings follow the message (CRLF when its first line
# ends with CRLF).  Exit 0, or 1 when a message could not be signed.
import argparse
import base64
import os
import sys

import dkim


def ed25519_seed_b64(pem):
    body = b"".join(l for l in pem.splitlines() if l and not l.startswith(b"-----"))
    der = base64.b64decode(body)
    # PKCS#8 Ed25519: ... OCTET STRING { OCTET STRING (32) seed }
    return base64.b64encode(der[-32:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-a", default="rsa-sha256")
    ap.add_argument("-c", default="relaxed/relaxed")
    ap.add_argument("-d", required=True)
    ap.add_argument("-s", required=True)
    ap.add_argument("-k", required=True)
    ap.add_argument("-L", action="store_true")
    ap.add_argument("-H")
    ap.add_argument("-o", required=True)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()

    pem = open(a.k, "rb").read()
    key = ed25519_seed_b64(pem) if a.a.startswith("ed25519") else pem
    hc, _, bc = a.c.partition("/")
    canon = (hc.encode(), (bc or hc).encode())
    include = [h.encode() for h in a.H.split(":")] if a.H else None
    rc = 0
    for f in a.files:
        msg = open(f, "rb").read()
        eol = b"\r\n" if msg.split(b"\n", 1)[0].endswith(b"\r") else b"\n"
        try:
            d = dkim.DKIM(msg, signature_algorithm=a.a.encode(), linesep=eol)
            if include:
                d.should_not_sign = set()
            sig = d.sign(a.s.encode(), a.d.encode(), key, canonicalize=canon,
                         include_headers=include, length=a.L)
        except Exception as e:  # report and go on with the others
            print("dkimpy-sign: %s: %s" % (f, e), file=sys.stderr)
            rc = 1
            continue
        # dkimpy ends the field with CRLF whatever linesep says
        if eol == b"\n":
            sig = sig.replace(b"\r\n", b"\n")
        with open(os.path.join(a.o, os.path.basename(f)), "wb") as out:
            out.write(sig + msg)
    return rc


if __name__ == "__main__":
    sys.exit(main())
