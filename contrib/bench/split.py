#!/usr/bin/python3
# split.py MBOX OUTDIR N: write the first N messages of an mboxrd archive as
# OUTDIR/NNNN.eml (">From " unquoted, LF) and OUTDIR/NNNN.crlf (CRLF, for
# opendkim-testmsg, which wants wire format).
import mailbox
import os
import re
import sys

UNQUOTE = re.compile(rb"(?m)^>(>*From )")
path, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(out, exist_ok=True)
mb = mailbox.mbox(path, create=False)
for i, key in enumerate(mb.iterkeys()):
    if i >= n:
        break
    msg = UNQUOTE.sub(rb"\1", mb.get_bytes(key))
    with open(os.path.join(out, "%04d.eml" % i), "wb") as f:
        f.write(msg)
    with open(os.path.join(out, "%04d.crlf" % i), "wb") as f:
        f.write(re.sub(rb"\r?\n", b"\r\n", msg))
