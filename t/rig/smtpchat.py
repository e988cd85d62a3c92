#!/usr/bin/python3
"""smtpchat: a scripted SMTP client for the tests, for what swaks cannot
send: BDAT chunks cut anywhere, raw bytes, pipelined groups, slow or early
talkers.

usage: smtpchat.py (--connect HOST:PORT | --exec CMD...) [--timeout S] SCRIPT

SCRIPT (a file, or - for stdin) has one step per line:
  > TEXT        send TEXT + CRLF (escapes: \\r \\n \\t \\0 \\\\ \\xHH)
  >> TEXT       send TEXT as it is, without CRLF (same escapes)
  >file PATH    send the bytes of a file
  < CODE        read one reply (all its lines) and check its code; CODE may
                be 2xx-style partial ("25", "4")
  <any          read one reply, whatever its code
  <eof          expect the server to close the connection
  sleep SECS
  slow TEXT     send TEXT + CRLF one byte every 0.2 s
  # comment / blank lines ignored
Every reply read is printed as "<- line"; every send as "-> line".
Exit 0 when every check held, 1 at the first that did not (and a line
saying which), 2 on a usage error, 3 on a timeout or connection error.
"""
import socket
import subprocess
import sys
import time


def unescape(s):
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "x":
                out.append(int(s[i + 2:i + 4], 16))
                i += 4
                continue
            out += {"r": b"\r", "n": b"\n", "t": b"\t", "0": b"\0",
                    "\\": b"\\"}.get(n, ("\\" + n).encode())
            i += 2
            continue
        out += c.encode("utf-8")
        i += 1
    return bytes(out)


class Conn:
    def __init__(self, args, timeout):
        self.timeout = timeout
        self.buf = b""
        self.proc = None
        if args[0] == "--connect":
            host, port = args[1].rsplit(":", 1)
            host = host.strip("[]")
            self.sock = socket.create_connection((host, int(port)), timeout)
            self.sock.settimeout(timeout)
            self._send = self.sock.sendall
            self._recv = lambda: self.sock.recv(65536)
        else:
            self.proc = subprocess.Popen(args[1], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, bufsize=0)
            self._send = lambda b: (self.proc.stdin.write(b),
                                    self.proc.stdin.flush())
            import os
            import select
            fd = self.proc.stdout.fileno()

            def recv():
                r, _, _ = select.select([fd], [], [], self.timeout)
                if not r:
                    raise socket.timeout("timed out")
                return os.read(fd, 65536)
            self._recv = recv

    def send(self, b):
        try:
            self._send(b)
        except (BrokenPipeError, ConnectionResetError):
            print("-> (connection closed while sending)")
            return
        for line in b.split(b"\n"):
            if line:
                print("->", line.decode("utf-8", "replace").rstrip("\r"))

    def line(self):
        while b"\n" not in self.buf:
            d = self._recv()
            if not d:
                return None
            self.buf += d
        l, self.buf = self.buf.split(b"\n", 1)
        return l.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self):
        lines = []
        while True:
            l = self.line()
            if l is None:
                return None, lines
            print("<-", l)
            lines.append(l)
            if len(l) < 4 or l[3] != "-":
                return l[:3], lines

    def eof(self):
        try:
            d = self.buf or self._recv()
        except (ConnectionResetError, socket.timeout):
            return isinstance(sys.exc_info()[1], ConnectionResetError)
        return not d


def main(argv):
    timeout = 10.0
    args = []
    i = 1
    while i < len(argv):
        if argv[i] == "--timeout":
            timeout = float(argv[i + 1])
            i += 2
        elif argv[i] == "--connect":
            args = ["--connect", argv[i + 1]]
            i += 2
        elif argv[i] == "--exec":
            script = argv[-1]
            args = ["--exec", argv[i + 1:-1]]
            break
        else:
            break
    else:
        print(__doc__, file=sys.stderr)
        return 2
    script = argv[-1]
    steps = (sys.stdin if script == "-" else open(script, encoding="utf-8"))
    try:
        c = Conn(args, timeout)
        for n, raw in enumerate(steps.read().splitlines(), 1):
            s = raw.rstrip("\n")
            if not s.strip() or s.startswith("#"):
                continue
            if s.startswith(">> "):
                c.send(unescape(s[3:]))
            elif s.startswith(">file "):
                with open(s[6:], "rb") as f:
                    c.send(f.read())
            elif s.startswith("> ") or s == ">":
                c.send(unescape(s[2:]) + b"\r\n")
            elif s.startswith("slow "):
                for b in unescape(s[5:]) + b"\r\n":
                    c.send(bytes([b]))
                    time.sleep(0.2)
            elif s.startswith("sleep "):
                time.sleep(float(s[6:]))
            elif s == "<eof":
                if not c.eof():
                    print("smtpchat: line %d: connection still open" % n)
                    return 1
            elif s == "<any":
                code, _ = c.reply()
                if code is None:
                    print("smtpchat: line %d: connection closed" % n)
                    return 1
            elif s.startswith("< "):
                want = s[2:].strip()
                code, _ = c.reply()
                if code is None:
                    print("smtpchat: line %d: connection closed, wanted %s"
                          % (n, want))
                    return 1
                if not code.startswith(want):
                    print("smtpchat: line %d: got %s, wanted %s"
                          % (n, code, want))
                    return 1
            else:
                print("smtpchat: line %d: bad step: %s" % (n, s),
                      file=sys.stderr)
                return 2
    except (socket.timeout, TimeoutError):
        print("smtpchat: timed out")
        return 3
    except OSError as e:
        print("smtpchat: %s" % e)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
