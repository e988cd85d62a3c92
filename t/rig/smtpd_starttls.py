#!/usr/bin/python3
"""A tiny SMTP server offering STARTTLS, for mxkit's offline DANE/OCSP tests.

  smtpd_starttls.py --cert CHAIN.pem --key KEY.pem [--cert ... --key ...]
      [--ocsp-der RESP.der ...] [--listen ADDR[:PORT] ...] [--name HOST]
      [--no-starttls | --refuse-starttls] [--port-file FILE] [--timeout SECS]

Run it with /usr/bin/python3: it needs pyOpenSSL (Debian: python3-openssl),
since the stdlib ssl module cannot staple OCSP responses and `openssl
s_server` cannot do STARTTLS.

--listen ADDR, ADDR:PORT, [ADDR]:PORT or a bare IPv6 ADDR (::1); repeatable;
    default 127.0.0.1.  Listeners given without a port (or port 0) share one
    free port, so an MX host's A and AAAA addresses answer on the same port.
--cert CHAIN --key KEY: a PEM chain (leaf first, then intermediates, sent
    as given) and its key.  Repeatable (an RSA and an ECDSA certificate: the
    client's signature algorithms choose).
--ocsp-der FILE: the DER OCSP response stapled with the certificate of the
    same position (1st --ocsp-der with the 1st --cert, ...; "-" for none).
    Read again at every handshake that asks for a staple, so a test may
    replace the file (rename) while the server runs; a missing or empty file
    means no staple.
--no-starttls: STARTTLS is neither advertised nor accepted (502).
--refuse-starttls: advertised, but answered "454 4.7.0 TLS not available".
--port-file FILE: once every listener is bound, the port of each listener,
    one a line in --listen order, written atomically.
--timeout SECS: the server exits after SECS (default 60); a connection is
    closed after at most min(SECS, 30) seconds.

Log on stdout, one event a line: "listening ADDR PORT", "connect PEER",
"sni NAME", "status_request", "staple BYTES", "tls VERSION CIPHER",
"tls-error ...", "cmd VERB".  SMTP spoken: EHLO/HELO, STARTTLS, NOOP, RSET,
MAIL, RCPT, DATA (discarded), QUIT.
"""
import argparse
import errno
import os
import socket
import sys
import threading
import time

from OpenSSL import SSL, crypto

MAX_LINE = 4096
MAX_CONN_SECS = 30

_log_lock = threading.Lock()


def log(*words):
    with _log_lock:
        sys.stdout.write(" ".join(str(w) for w in words) + "\n")
        sys.stdout.flush()


def parse_listen(spec):
    """ADDR, ADDR:PORT, [ADDR]:PORT or bare IPv6 -> (family, addr, port)."""
    if spec.startswith("["):
        addr, _, rest = spec[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else "0"
    elif spec.count(":") > 1:
        addr, port = spec, "0"
    elif ":" in spec:
        addr, port = spec.rsplit(":", 1)
    else:
        addr, port = spec, "0"
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    return family, addr, int(port or "0")


def bind_all(specs):
    """Bind every listener; those without a port share one free port."""
    for _ in range(50):
        socks, shared = [], 0
        try:
            for family, addr, port in specs:
                s = socket.socket(family, socket.SOCK_STREAM)
                socks.append(s)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((addr, port or shared))
                if not port and not shared:
                    shared = s.getsockname()[1]
                s.listen(16)
            return socks
        except OSError as e:
            for s in socks:
                s.close()
            # Another listener took the shared port: pick another one.
            if e.errno != errno.EADDRINUSE or not shared:
                raise
    raise OSError(errno.EADDRINUSE, "no port free on every listener")


def make_context(args):
    ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
    digests = []
    for chain, key in zip(args.cert, args.key):
        ctx.use_certificate_chain_file(chain)
        ctx.use_privatekey_file(key)
        ctx.check_privatekey()
        with open(chain, "rb") as f:
            leaf = crypto.load_certificate(crypto.FILETYPE_PEM, f.read())
        digests.append(leaf.digest("sha256"))
    ocsp = list(args.ocsp_der or [])

    def on_sni(conn):
        name = conn.get_servername()
        log("sni", name.decode("ascii", "replace") if name else "-")

    def on_status_request(conn, _data):
        log("status_request")
        cert = conn.get_certificate()
        if cert is None or cert.digest("sha256") not in digests:
            return b""
        i = digests.index(cert.digest("sha256"))
        if i >= len(ocsp) or ocsp[i] in ("", "-"):
            return b""
        try:
            with open(ocsp[i], "rb") as f:
                der = f.read()
        except OSError:
            der = b""
        log("staple", len(der))
        return der

    ctx.set_tlsext_servername_callback(on_sni)
    ctx.set_ocsp_server_callback(on_status_request)
    return ctx


class Lines:
    """CRLF lines over a socket or an SSL.Connection, bounded in length."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def readline(self):
        while b"\n" not in self.buf:
            if len(self.buf) > MAX_LINE:
                return None
            try:
                chunk = self.sock.recv(4096)
            except (SSL.ZeroReturnError, SSL.SysCallError, SSL.Error,
                    OSError):
                chunk = b""
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("latin-1")

    def send(self, text):
        self.sock.sendall((text + "\r\n").encode("latin-1"))


def session(args, ctx, raw):
    name = args.name
    io = Lines(raw)
    tls = None
    io.send("220 %s ESMTP mxkit-test-smtpd" % name)
    while True:
        line = io.readline()
        if line is None:
            return
        verb = line.split(" ", 1)[0].upper()
        log("cmd", verb)
        offer = tls is None and not args.no_starttls
        if verb == "EHLO":
            io.send("250-%s" % name)
            io.send("250-PIPELINING")
            if offer:
                io.send("250-STARTTLS")
            io.send("250 8BITMIME")
        elif verb == "HELO":
            io.send("250 %s" % name)
        elif verb == "STARTTLS" and offer and args.refuse_starttls:
            io.send("454 4.7.0 TLS not available")
        elif verb == "STARTTLS" and offer:
            io.send("220 2.0.0 Ready to start TLS")
            # RFC 3207: whatever the client pipelined after STARTTLS is lost.
            tls = SSL.Connection(ctx, raw)
            tls.set_accept_state()
            try:
                tls.do_handshake()
            except SSL.Error as e:
                log("tls-error", e)
                return
            log("tls", tls.get_protocol_version_name(),
                tls.get_cipher_name())
            io = Lines(tls)
        elif verb == "QUIT":
            io.send("221 2.0.0 Bye")
            if tls is not None:
                try:
                    tls.shutdown()
                except SSL.Error:
                    pass
            return
        elif verb in ("NOOP", "RSET", "MAIL", "RCPT"):
            io.send("250 2.0.0 OK")
        elif verb == "DATA":
            io.send("354 End data with <CR><LF>.<CR><LF>")
            while True:
                body = io.readline()
                if body is None:
                    return
                if body == ".":
                    break
            io.send("250 2.0.0 Queued (discarded)")
        else:
            io.send("502 5.5.2 Command not recognized")


def hang_up(raw):
    try:
        raw.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def serve_one(args, ctx, raw, peer, limit):
    # A stuck client must not outlive the test: close it after `limit`.
    cap = threading.Timer(limit, hang_up, (raw,))
    cap.daemon = True
    cap.start()
    log("connect", peer[0])
    try:
        session(args, ctx, raw)
    except (OSError, SSL.Error) as e:
        log("conn-error", e)
    finally:
        cap.cancel()
        raw.close()


def accept_loop(args, ctx, sock, limit):
    while True:
        try:
            raw, peer = sock.accept()
        except OSError:
            return
        threading.Thread(target=serve_one, args=(args, ctx, raw, peer, limit),
                         daemon=True).start()


def write_port_file(path, socks):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for s in socks:
            f.write("%d\n" % s.getsockname()[1])
    os.rename(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", action="append")
    ap.add_argument("--cert", action="append", required=True)
    ap.add_argument("--key", action="append", required=True)
    ap.add_argument("--ocsp-der", action="append")
    ap.add_argument("--name", default="mx.test")
    ap.add_argument("--no-starttls", action="store_true")
    ap.add_argument("--refuse-starttls", action="store_true")
    ap.add_argument("--port-file")
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    if len(args.cert) != len(args.key):
        ap.error("give one --key for each --cert")
    if len(args.ocsp_der or []) > len(args.cert):
        ap.error("more --ocsp-der than --cert")
    if args.timeout <= 0:
        ap.error("--timeout must be positive")

    ctx = make_context(args)
    specs = [parse_listen(s) for s in (args.listen or ["127.0.0.1"])]
    socks = bind_all(specs)
    limit = min(args.timeout, MAX_CONN_SECS)
    for s in socks:
        threading.Thread(target=accept_loop, args=(args, ctx, s, limit),
                         daemon=True).start()
        host, port = s.getsockname()[:2]
        log("listening", host, port)
    if args.port_file:
        write_port_file(args.port_file, socks)
    time.sleep(args.timeout)
    log("timeout, exiting")
    os._exit(0)


if __name__ == "__main__":
    main()
