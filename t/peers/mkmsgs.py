#!/usr/bin/python3
# mkmsgs.py OUTDIR: write the unsigned messages of the interop matrix
# (t/0400, t/0410), each in an LF and a CRLF version:
#   plain     a small ordinary message
#   folded    folded header fields (tabs, several lines), repeated fields
#             (Received x3, Comments x2), odd spacing around the colon
#   empty     an empty body (the header, the blank line, nothing after)
#   nofinal   a body whose last line has no line ending
#   8bit      raw UTF-8 and Latin-1 bytes in the body, UTF-8 in Subject
#   ws        trailing spaces and tabs, runs of spaces, trailing empty lines
#   big       ~120 KB: text plus a base64 attachment, long lines
# Every message has From, To, Subject, Date and Message-ID (opendkim-testmsg
# refuses a message without Date).  Names: lf-NAME.eml, crlf-NAME.eml.
import base64
import os
import random
import sys

HEAD = [
    b"From: Joe Sender <joe@peers.example>",
    b"To: Suzie Q <suzie@rcpt.example>",
    b"Subject: Interop test message",
    b"Date: Fri, 11 Jul 2003 21:00:37 -0700",
    b"Message-ID: <%s@peers.example>",
]


def head(name, extra_after=(), subject=None):
    h = [l.replace(b"%s", name.encode()) for l in HEAD]
    if subject is not None:
        h[2] = b"Subject: " + subject
    return h + list(extra_after)


def msgs():
    r = random.Random(8463)
    out = {}
    out["plain"] = (head("plain"), b"Hi.\n\nWe lost the game.  Are you hungry yet?\n\nJoe.\n")

    folded = [
        b"Received: from a.example (a.example [192.0.2.1])\n\tby b.example with ESMTP id 1;\n\tFri, 11 Jul 2003 21:01:00 -0700",
        b"Received: from c.example by a.example; Fri, 11 Jul 2003 21:00:50 -0700",
        b"Received: from d.example\n by c.example; Fri, 11 Jul 2003 21:00:40 -0700",
        b"From: Joe Sender\n\t<joe@peers.example>",
        b"To: Suzie Q <suzie@rcpt.example>,\n    Bob <bob@rcpt.example>,\n\tCarol <carol@rcpt.example>",
        b"Subject:   A   folded\n\t subject  line   \n  with spaces",
        b"Comments: first comment",
        b"Date: Fri, 11 Jul 2003 21:00:37 -0700",
        b"comments:second comment, name in lower case, no space after the colon",
        b"Message-ID: <folded@peers.example>",
        b"X-Long: " + b" ".join(b"word%03d" % i for i in range(40)),
    ]
    out["folded"] = (folded, b"Folded and repeated header fields.\n")

    out["empty"] = (head("empty"), b"")
    out["nofinal"] = (head("nofinal"), b"First line.\n\nLast line without a line end")
    out["8bit"] = (
        head("8bit", subject=b"caf\xc3\xa9 \xe2\x82\xac 8-bit",
             extra_after=[b"MIME-Version: 1.0",
                                  b"Content-Type: text/plain; charset=utf-8",
                                  b"Content-Transfer-Encoding: 8bit"]),
        "Grüße aus Köln – €100, naïve café, 日本語.\n".encode("utf-8") +
        b"Latin-1 bytes: \xe9\xe8\xfc\xff\n\n\xc3\xa9\xc3\xa9\n")
    out["ws"] = (head("ws"),
                 b"trailing spaces   \ntrailing tab\t\n\tleading tab\n"
                 b"inner    runs \t of  \t space\n \n\t\n"
                 b"line after whitespace-only lines\n\n\n\n")
    text = b"".join(b"Line %05d of the big message, with some filler text to make it longer.\n" % i
                    for i in range(800))
    att = base64.encodebytes(bytes(r.getrandbits(8) for _ in range(45000)))
    long_line = b"x" * 2000 + b"\n"
    out["big"] = (
        head("big", extra_after=[b"MIME-Version: 1.0",
                                 b'Content-Type: multipart/mixed; boundary="b1"']),
        b"--b1\nContent-Type: text/plain\n\n" + text + long_line +
        b"--b1\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n" +
        att + b"--b1--\n")
    return out


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    for name, (hdr, body) in msgs().items():
        lf = b"\n".join(hdr) + b"\n\n" + body
        with open(os.path.join(d, "lf-%s.eml" % name), "wb") as f:
            f.write(lf)
        with open(os.path.join(d, "crlf-%s.eml" % name), "wb") as f:
            f.write(lf.replace(b"\n", b"\r\n"))


if __name__ == "__main__":
    main()
