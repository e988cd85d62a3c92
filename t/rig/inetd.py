#!/usr/bin/python3
"""inetd: a tiny inetd for the tests: listen on loopback and run a command
for each connection with the socket as its standard input and output (an
"nowait" inetd service, as tcpserver or systemd-socket-activate --inetd -a
would), so that a server speaking SMTP on stdin/stdout (exim -bs,
smtpfront without --listen) can be reached over TCP.

usage: inetd.py --port-file FILE [--listen ADDR] [--timeout SECS]
                [--max-conn N] -- CMD [ARG...]

  --listen ADDR    address to bind (default 127.0.0.1) on a free port,
                   written to --port-file (atomically) once listening
  --timeout SECS   stop after SECS (default 120), as on SIGTERM
  --max-conn N     commands running at once (default 8); more connections
                   wait in the listen queue

CMD runs in a process group of its own with TCPREMOTEIP, TCPREMOTEPORT,
TCPLOCALIP, TCPLOCALPORT set (as tcpserver does); its standard error is
inetd.py's.  On SIGTERM (or the timeout) inetd.py stops listening, TERMs
the commands still running, KILLs them a second later, and exits 0.
"""
import argparse
import os
import signal
import socket
import subprocess
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--listen", default="127.0.0.1")
ap.add_argument("--port-file", required=True)
ap.add_argument("--timeout", type=float, default=120)
ap.add_argument("--max-conn", type=int, default=8)
ap.add_argument("cmd", nargs="+")
opt = ap.parse_args()

kids = {}       # pid -> Popen
stop = [False]


def on_term(signo, frame):
    stop[0] = True


signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGINT, on_term)

fam = socket.AF_INET6 if ":" in opt.listen else socket.AF_INET
ls = socket.socket(fam)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((opt.listen, 0))
ls.listen(16)
with open(opt.port_file + ".tmp", "w") as f:
    f.write("%d\n" % ls.getsockname()[1])
os.rename(opt.port_file + ".tmp", opt.port_file)
deadline = time.monotonic() + opt.timeout


def reap():
    for pid, p in list(kids.items()):
        if p.poll() is not None:
            del kids[pid]


def killall():
    for sig in (signal.SIGTERM, signal.SIGKILL):
        reap()
        for p in kids.values():
            try:
                os.killpg(p.pid, sig)
            except OSError:
                pass
        t = time.monotonic() + 1
        while kids and time.monotonic() < t:
            reap()
            time.sleep(0.02)


while not stop[0] and time.monotonic() < deadline:
    reap()
    if len(kids) >= opt.max_conn:
        time.sleep(0.05)
        continue
    ls.settimeout(0.2)
    try:
        c, peer = ls.accept()
    except (socket.timeout, InterruptedError):
        continue
    me = c.getsockname()
    env = dict(os.environ, TCPREMOTEIP=peer[0], TCPREMOTEPORT=str(peer[1]),
               TCPLOCALIP=me[0], TCPLOCALPORT=str(me[1]))
    c.setblocking(True)
    try:
        p = subprocess.Popen(opt.cmd, stdin=c.fileno(), stdout=c.fileno(),
                             env=env, start_new_session=True)
        kids[p.pid] = p
    except OSError as e:
        print("inetd.py: %s: %s" % (opt.cmd[0], e), file=sys.stderr)
    c.close()
ls.close()
killall()
sys.exit(0)
