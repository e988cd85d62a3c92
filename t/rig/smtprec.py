#!/usr/bin/python3
"""smtprec: a scripted SMTP server that records what a client sends, for
the tests of SMTP clients (socks5-send): which commands came, with which
parameters, whether a command arrived before the reply to the one before
it (pipelining), and the message text exactly as it was on the wire.

usage: smtprec.py --port-file FILE --log FILE [options]

  --listen ADDR     address to bind (default 127.0.0.1); the port is free
                    one, written to --port-file (atomically) once listening
  --log FILE        one event a line (flushed at once):
                      connect ADDR PORT
                      cmd LINE        a command line (CRLF removed)
                      early LINE      a command line that had arrived before
                                      the reply to the command before it was
                                      sent (so the client pipelined it)
                      bad-eol LINE    a command line ending in a bare LF
                      data N BYTES    message N (from 1) stored in DIR/N.raw
                      close
  --ehlo REPLY      answer EHLO with REPLY (e.g. "502 5.5.2 Error: command
                    not recognized") instead of the 250 and keywords
  --ext KEYWORD     an EHLO keyword ("PIPELINING", "SIZE 100", "8BITMIME",
                    "SMTPUTF8", ...); repeatable; none by default
  --rcpt LOCAL=REPLY  answer RCPT for that local part with REPLY (repeatable;
                    others get "250 2.1.5 Ok")
  --mail REPLY, --data REPLY, --dot REPLY   answers to MAIL, DATA, the
                    final dot (defaults 250, 354, 250)
  --delay SECS      wait that long before every reply after the banner
                    (default 0.2): what a pipelining client sends meanwhile
                    is seen as "early"
  --data-dir DIR    where DIR/N.raw, the bytes between the 354 and the
                    final ".\\r\\n" (CRLF and stuffing dots as sent), go
                    (default: the directory of --log)
  --timeout SECS    exit after SECS (default 60); a connection is closed
                    after at most that long too

STARTTLS, BDAT, AUTH are not offered and are answered 502.
"""
import argparse
import os
import socket
import sys
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--listen", default="127.0.0.1")
ap.add_argument("--port-file", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--ehlo")
ap.add_argument("--ext", action="append", default=[])
ap.add_argument("--rcpt", action="append", default=[])
ap.add_argument("--mail", default="250 2.1.0 Ok")
ap.add_argument("--data", default="354 End data with <CR><LF>.<CR><LF>")
ap.add_argument("--dot", default="250 2.0.0 Ok: queued")
ap.add_argument("--delay", type=float, default=0.2)
ap.add_argument("--data-dir")
ap.add_argument("--timeout", type=float, default=60)
opt = ap.parse_args()

rcpt_reply = {}
for r in opt.rcpt:
    k, _, v = r.partition("=")
    rcpt_reply[k] = v
data_dir = opt.data_dir or os.path.dirname(os.path.abspath(opt.log))
lock = threading.Lock()
logf = open(opt.log, "a", buffering=1, encoding="utf-8", errors="replace")
nmsg = [0]
deadline = time.monotonic() + opt.timeout


def log(s):
    with lock:
        logf.write(s + "\n")


class Session:
    def __init__(self, sock):
        self.s = sock
        self.buf = b""
        self.early = False      # the next line had arrived before our reply

    def left(self):
        return max(0.05, deadline - time.monotonic())

    def fill(self):
        self.s.settimeout(self.left())
        d = self.s.recv(65536)
        if not d:
            raise EOFError
        self.buf += d

    def line(self):
        while b"\n" not in self.buf:
            self.fill()
        ln, self.buf = self.buf.split(b"\n", 1)
        early, self.early = self.early, False
        return ln, early

    def reply(self, text, delay=True):
        if delay and opt.delay > 0:
            time.sleep(opt.delay)
        # What came in while we waited was sent without our reply.
        self.s.setblocking(False)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    break
                self.buf += d
        except (BlockingIOError, InterruptedError):
            pass
        self.s.setblocking(True)
        self.early = len(self.buf) > 0
        self.s.sendall(text.encode() + b"\r\n")

    def data(self):
        # The text up to CRLF.CRLF, from what the buffer already holds on.
        while True:
            i = self.buf.find(b"\r\n.\r\n")
            if i >= 0:
                raw, self.buf = self.buf[:i + 2], self.buf[i + 5:]
                return raw
            if self.buf.startswith(b".\r\n"):
                self.buf = self.buf[3:]
                return b""
            self.fill()

    def run(self):
        self.reply("220 smtprec.test ESMTP smtprec", delay=False)
        while True:
            raw, early = self.line()
            if raw.endswith(b"\r"):
                raw = raw[:-1]
                kind = "early" if early else "cmd"
            else:
                kind = "bad-eol"
            text = raw.decode("utf-8", "replace")
            log("%s %s" % (kind, text))
            verb = text.split(" ", 1)[0].upper()
            if verb == "EHLO":
                if opt.ehlo:
                    self.reply(opt.ehlo)
                    continue
                lines = ["smtprec.test"] + opt.ext
                out = ["250-" + x for x in lines[:-1]] + ["250 " + lines[-1]]
                self.reply("\r\n".join(out))
            elif verb == "HELO":
                self.reply("250 smtprec.test")
            elif verb == "MAIL":
                self.reply(opt.mail)
            elif verb == "RCPT":
                a = text[text.find("<") + 1:]
                a = a[:a.rfind(">")] if ">" in a else a
                local = a.rpartition("@")[0] or a
                self.reply(rcpt_reply.get(local, "250 2.1.5 Ok"))
            elif verb == "DATA":
                self.reply(opt.data)
                if not opt.data.startswith("354"):
                    continue
                body = self.data()
                with lock:
                    nmsg[0] += 1
                    n = nmsg[0]
                with open(os.path.join(data_dir, "%d.raw" % n), "wb") as f:
                    f.write(body)
                log("data %d %d" % (n, len(body)))
                self.reply(opt.dot)
            elif verb in ("RSET", "NOOP"):
                self.reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("502 5.5.2 Error: command not recognized")


def serve(conn, peer):
    log("connect %s %d" % peer[:2])
    try:
        Session(conn).run()
    except (EOFError, OSError):
        pass
    finally:
        log("close")
        conn.close()


fam = socket.AF_INET6 if ":" in opt.listen else socket.AF_INET
ls = socket.socket(fam)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((opt.listen, 0))
ls.listen(16)
with open(opt.port_file + ".tmp", "w") as f:
    f.write("%d\n" % ls.getsockname()[1])
os.rename(opt.port_file + ".tmp", opt.port_file)
while time.monotonic() < deadline:
    ls.settimeout(max(0.05, min(1, deadline - time.monotonic())))
    try:
        c, peer = ls.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(c, peer), daemon=True).start()
sys.exit(0)
