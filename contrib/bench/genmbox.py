#!/usr/bin/python3
# genmbox.py: a deterministic mbox (mboxrd) of realistic messages for
# `make bench`.
#
#   genmbox.py [-n COUNT] [-s SEED] [--min BYTES] [--max BYTES] > corpus.mbox
#
# Sizes are log-uniform between --min and --max (default 2 KB .. 200 KB), so
# most messages are small and a few are large, as in a real mailbox.  Kinds:
# plain text, multipart/alternative (text + HTML), and multipart/mixed with
# base64 attachments (every message above ~40 KB carries one).  Headers look
# like delivered mail: a Received chain with folded lines, Return-Path,
# list headers on some, quoted-printable UTF-8 on some.  The same arguments
# give the same bytes on every run (random.Random(seed), no clock, no
# environment).  LF line endings; lines ">*From " in bodies are quoted.
import argparse
import base64
import math
import random
import sys
import time

WORDS = (
    "the of and to in is that for it as was with be by on not he this are or "
    "his from at which but have an they you were her she there been one all "
    "we their has would when if so no will can more about up out them some "
    "could what into only other time new said its also two any like these "
    "then over first may after where most through should our well before "
    "must between years under many such being both those while three same "
    "during without again against never each people report meeting budget "
    "server release schedule invoice contract update project network mail "
    "delivery queue signature domain selector customer support ticket patch "
    "review deadline quarter forecast agenda minutes draft attachment backup "
    "migration outage incident capacity latency throughput archive retention"
).split()

TLDS = ["example.com", "example.org", "example.net", "mail.example.com",
        "lists.example.org", "corp.example.net"]
NAMES = ["Alice Martin", "Bob Chen", "Carol Diaz", "Dmitri Ivanov",
         "Eve Okafor", "Frank Müller", "Grace Hopper", "Heidi Larsen",
         "Ivan Petrov", "Judy Nakamura", "Mallory Smith", "Oscar Rossi"]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def words(self, n):
        r = self.r
        return " ".join(r.choice(WORDS) for _ in range(n))

    def sentence(self):
        s = self.words(self.r.randint(5, 18))
        return s[0].upper() + s[1:] + self.r.choice([".", ".", ".", "?", "!"])

    def paragraph(self, width=72):
        text = " ".join(self.sentence() for _ in range(self.r.randint(2, 7)))
        lines, cur = [], ""
        for w in text.split(" "):
            if cur and len(cur) + 1 + len(w) > width:
                lines.append(cur)
                cur = w
            else:
                cur = cur + " " + w if cur else w
        if cur:
            lines.append(cur)
        return "\n".join(lines)

    def text_body(self, size):
        out, n = [], 0
        while n < size:
            p = self.paragraph()
            out.append(p)
            n += len(p) + 2
        return "\n\n".join(out) + "\n"

    def html_body(self, size):
        out = ["<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\">",
               "<style>body{font-family:sans-serif} p{margin:0 0 1em}</style>",
               "</head><body>"]
        n = sum(len(x) for x in out)
        while n < size:
            p = "<p>" + self.paragraph(200).replace("\n", " ") + "</p>"
            if self.r.random() < 0.2:
                p = "<div class=\"q\"><blockquote>" + p + "</blockquote></div>"
            out.append(p)
            n += len(p) + 1
        out.append("</body></html>")
        return "\n".join(out) + "\n"

    def addr(self):
        name = self.r.choice(NAMES)
        local = name.split()[0].lower()
        return name, "%s@%s" % (local, self.r.choice(TLDS))

    def date(self, i):
        # deterministic, increasing: 2024-01-01 plus i * ~7 minutes
        t = 1704067200 + i * 421 + self.r.randint(0, 400)
        days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                  "Sep", "Oct", "Nov", "Dec"]
        tm = time.gmtime(t)
        return "%s, %d %s %d %02d:%02d:%02d +0000" % (
            days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon - 1], tm.tm_year,
            tm.tm_hour, tm.tm_min, tm.tm_sec), t

    def headers(self, i, ctype):
        r = self.r
        fname, faddr = self.addr()
        tname, taddr = self.addr()
        date, t = self.date(i)
        h = []
        h.append("Return-Path: <%s>" % faddr)
        for hop in range(r.randint(2, 4)):
            h.append("Received: from mx%d.%s (mx%d.%s [192.0.2.%d])\n"
                     "\tby mail.example.net (Postfix) with ESMTPS id %08X\n"
                     "\tfor <%s>; %s" % (hop, r.choice(TLDS), hop,
                                         r.choice(TLDS), r.randint(1, 254),
                                         r.getrandbits(32), taddr, date))
        if r.random() < 0.5:
            subj = self.sentence()[:60]
        else:
            subj = "=?UTF-8?Q?R=C3=A9sum=C3=A9_" + self.words(3).replace(" ", "_") + "?="
        if r.random() < 0.3:
            subj = "Re: " + subj
        h.append("From: %s <%s>" % (fname, faddr) if "ü" not in fname else
                 "From: =?UTF-8?Q?Frank_M=C3=BCller?= <%s>" % faddr)
        tos = ["%s <%s>" % self.addr() for _ in range(r.randint(1, 4))]
        h.append("To: " + ",\n    ".join(tos))
        if r.random() < 0.4:
            h.append("Cc: " + ", ".join("%s <%s>" % self.addr()
                                        for _ in range(r.randint(1, 3))))
        h.append("Subject: " + subj)
        h.append("Date: " + date)
        h.append("Message-ID: <%d.%08x@%s>" % (t, r.getrandbits(32), r.choice(TLDS)))
        if r.random() < 0.3:
            h.append("In-Reply-To: <%d.%08x@%s>" % (t - 3600, r.getrandbits(32), r.choice(TLDS)))
        if r.random() < 0.25:
            h.append("List-Id: Project discussion <project.lists.example.org>")
            h.append("List-Unsubscribe: <mailto:leave@lists.example.org>")
        h.append("MIME-Version: 1.0")
        h.append(ctype)
        return h, faddr, t

    def attachment(self, size, boundary):
        r = self.r
        kind = r.choice([("application/pdf", "report.pdf"),
                         ("image/png", "screenshot.png"),
                         ("application/zip", "logs.zip"),
                         ("application/octet-stream", "data.bin")])
        raw = r.randbytes(max(16, size * 3 // 4))
        b64 = base64.encodebytes(raw).decode("ascii")  # 76-column lines
        return ("--%s\nContent-Type: %s; name=\"%s\"\n"
                "Content-Disposition: attachment; filename=\"%s\"\n"
                "Content-Transfer-Encoding: base64\n\n%s" %
                (boundary, kind[0], kind[1], kind[1], b64))

    def message(self, i, size):
        r = self.r
        kind = r.random()
        if size > 40000:
            kind = 0.9
        bnd = "=_mxkit_%08x_%d" % (r.getrandbits(32), i)
        if kind < 0.4:
            qp = r.random() < 0.2
            ctype = ("Content-Type: text/plain; charset=utf-8\n"
                     "Content-Transfer-Encoding: %s" % ("quoted-printable" if qp else "7bit"))
            body = self.text_body(size - 900)
            if qp:
                body = body.replace(" the ", " th=C3=A9 ", 20)
        elif kind < 0.75:
            ctype = "Content-Type: multipart/alternative;\n\tboundary=\"%s\"" % bnd
            tsize = max(300, (size - 1200) // 3)
            body = ("This is a multi-part message in MIME format.\n\n"
                    "--%s\nContent-Type: text/plain; charset=utf-8\n"
                    "Content-Transfer-Encoding: 7bit\n\n%s\n"
                    "--%s\nContent-Type: text/html; charset=utf-8\n"
                    "Content-Transfer-Encoding: 7bit\n\n%s\n--%s--\n" %
                    (bnd, self.text_body(tsize), bnd,
                     self.html_body(size - 1200 - tsize), bnd))
        else:
            ctype = "Content-Type: multipart/mixed;\n\tboundary=\"%s\"" % bnd
            tsize = min(max(300, size // 10), 6000)
            parts = ["This is a multi-part message in MIME format.\n",
                     "--%s\nContent-Type: text/plain; charset=utf-8\n"
                     "Content-Transfer-Encoding: 7bit\n\n%s" % (bnd, self.text_body(tsize))]
            rest = max(200, size - 1500 - tsize)
            natt = 1 if rest < 60000 else r.randint(1, 3)
            for _ in range(natt):
                parts.append(self.attachment(rest // natt, bnd))
            parts.append("--%s--\n" % bnd)
            body = "\n".join(parts)
        h, faddr, t = self.headers(i, ctype)
        return faddr, t, "\n".join(h) + "\n\n" + body


def mboxrd_quote(msg):
    out = []
    for line in msg.split("\n"):
        s = line.lstrip(">")
        if s.startswith("From "):
            line = ">" + line
        out.append(line)
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=2200)
    ap.add_argument("-s", "--seed", type=int, default=20240101)
    ap.add_argument("--min", type=int, default=2048)
    ap.add_argument("--max", type=int, default=200 * 1024)
    a = ap.parse_args()
    g = Gen(a.seed)
    out = sys.stdout.buffer
    lo, hi = math.log(a.min), math.log(a.max)
    for i in range(a.n):
        size = int(math.exp(g.r.uniform(lo, hi)))
        faddr, t, msg = g.message(i, size)
        tm = time.gmtime(t)
        sep = "From %s %s\n" % (faddr, time.strftime("%a %b %d %H:%M:%S %Y", tm))
        out.write(sep.encode() + mboxrd_quote(msg).encode("utf-8") + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
