#!/usr/bin/python3
# t/rig/spfdns.py: a small programmable authoritative DNS server for the
# OpenSPF test suites (t/data/spf/*.yml), on loopback, UDP and TCP.
#
# It serves a suite's "zonedata" with the conventions of the reference
# harness (pyspf's testspf.py; see the suite's README):
#   - a name maps to a list of {TYPE: value} (SPF, TXT, A, AAAA, MX, PTR,
#     CNAME) and bare TIMEOUT entries; names are case-insensitive;
#   - an SPF entry is also served as TXT unless the name has a TXT entry of
#     its own; "TXT: NONE" (any TYPE: NONE) is such an entry but serves
#     nothing;
#   - TIMEOUT makes every query type that has no record listed before it
#     time out; a value "TIMEOUT" makes its own type time out;
#   - a name that is not listed and begins with "error." times out.
# A timeout is a real one: the query is dropped (UDP) or never answered
# (TCP).  Otherwise the answers are those of an authoritative server: AA set,
# NXDOMAIN for a name that does not exist (neither listed nor the parent of
# a listed name), NODATA (NOERROR, SOA in authority) for an existing name
# without records of the type, CNAMEs followed within the data.
# Records are served in the data's order (the suite's preferred results,
# e.g. ptr-limit's, assume it), identical records once.
# TXT and SPF values are a string or a list of strings (one RR with several
# character-strings); a string longer than 255 bytes is split.  MX values
# are [preference, exchange].
#
# Control names (not counted, answered TXT): "_stats.spfdns.invalid" gives
# "queries=N udp=N tcp=N dropped=N"; "_reset.spfdns.invalid" zeroes them.
#
# As a module (the suite runner):
#     srv = spfdns.Server(port=0); srv.start(); srv.set_zonedata(d)
#     ... srv.port ...; srv.stop()
# As a program (other tests, benchmarks):
#     spfdns.py --zone FILE.yml [--scenario N] [--port P] [--port-file F]
#               [--address 127.0.0.1] [--lifetime SECONDS] [--stats FILE]
#   FILE.yml is a suite (the zonedata of every scenario merged, or only of
#   scenario N, counted from 0) or a bare mapping name -> list of entries.
#   Prints the port on stdout.  Stops on TERM/INT, when its parent process
#   goes away, or after --lifetime seconds (default 900).  SIGHUP reloads.
import os
import select
import signal
import socket
import struct
import sys
import threading
import time

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset

TTL = 300
NEG_TTL = 60
MAX_CNAME = 8
MAX_UDP = 4096
STATS_NAME = dns.name.from_text("_stats.spfdns.invalid.")
RESET_NAME = dns.name.from_text("_reset.spfdns.invalid.")
TYPES = {"A": dns.rdatatype.A, "AAAA": dns.rdatatype.AAAA,
         "MX": dns.rdatatype.MX, "PTR": dns.rdatatype.PTR,
         "CNAME": dns.rdatatype.CNAME, "TXT": dns.rdatatype.TXT,
         "SPF": 99}
TIMEOUT = "TIMEOUT"


def _key(name):
    """A name as a lookup key: its bytes, ASCII lower case, no final dot.
    Raw bytes, not dnspython's text form, which escapes spaces and such."""
    if isinstance(name, dns.name.Name):
        b = b".".join(l for l in name.labels if l)
    else:
        b = name.encode("utf-8")
        if b.endswith(b".") and b != b".":
            b = b[:-1]
    return b.lower()


def _absolute(text):
    if text in ("", "."):
        return dns.name.root
    return dns.name.from_text(text if text.endswith(".") else text + ".")


def _strings(value):
    """TXT/SPF value (a string or a list of strings) as character-strings."""
    if value is None:
        value = []
    if isinstance(value, (str, bytes)):
        value = [value]
    out = []
    for s in value:
        b = s if isinstance(s, bytes) else str(s).encode("utf-8")
        if not b:
            out.append(b)
        while b:
            out.append(b[:255])
            b = b[255:]
    return tuple(out)


def _rdata(rtype, value):
    rdtype = TYPES[rtype]
    cls = dns.rdataclass.IN
    if rtype in ("TXT", "SPF"):
        return dns.rdtypes.ANY.TXT.TXT(cls, rdtype, _strings(value)) \
            if rtype == "TXT" else _spf_rdata(_strings(value))
    if rtype == "MX":
        if isinstance(value, (list, tuple)):
            pref, exch = value
        else:
            pref, exch = str(value).split(None, 1)
        return dns.rdata.from_text(cls, rdtype, "%d %s" % (
            int(pref), _absolute(str(exch)).to_text()))
    if rtype in ("PTR", "CNAME"):
        return dns.rdata.from_text(cls, rdtype, _absolute(str(value)).to_text())
    return dns.rdata.from_text(cls, rdtype, str(value))


def _spf_rdata(strings):
    # Type 99 has TXT's wire format; dnspython knows it as SPF.
    import dns.rdtypes.ANY.SPF
    return dns.rdtypes.ANY.SPF.SPF(dns.rdataclass.IN, 99, strings)


class Zone:
    """The suite's zonedata, compiled for lookups."""

    def __init__(self, zonedata=None):
        self.names = {}         # key -> [TIMEOUT | (rtype, value-or-TIMEOUT, rdata)]
        self.parents = set()    # empty non-terminals: exist, hold nothing
        for name, entries in (zonedata or {}).items():
            k = _key(str(name))
            self.names.setdefault(k, []).extend(self._compile(entries or []))
        for k in self.names:
            labels = k.split(b".")
            for i in range(1, len(labels)):
                self.parents.add(b".".join(labels[i:]))

    @staticmethod
    def _compile(entries):
        # The reference harness's getrdata(): an SPF entry also yields a
        # TXT entry, appended after everything else, unless any TXT entry
        # (even "TXT: NONE") is listed for the name.
        out, gen, own_txt = [], [], False
        for e in entries:
            if isinstance(e, str):
                if e.strip().upper() == TIMEOUT:
                    out.append(TIMEOUT)
                continue
            if not isinstance(e, dict):
                continue
            for rtype, value in e.items():
                rtype = str(rtype).upper()
                if rtype not in TYPES:
                    continue
                if rtype == "TXT":
                    own_txt = True
                elif rtype == "SPF":
                    gen.append(("TXT", value))
                if value == "NONE":
                    continue
                if value == TIMEOUT:
                    out.append((rtype, TIMEOUT, None))
                else:
                    out.append((rtype, value, _rdata(rtype, value)))
        if not own_txt:
            for rtype, value in gen:
                if value not in ("NONE", TIMEOUT):
                    out.append((rtype, value, _rdata(rtype, value)))
        return out

    def lookup(self, key, rtype):
        """('drop',) | ('nxdomain',) | ('data', [(rtype, rdata)])"""
        entries = self.names.get(key)
        if entries is None:
            if key.startswith(b"error."):
                return ("drop",)
            if key in self.parents:
                return ("data", [])
            return ("nxdomain",)
        seen, found = False, []
        for e in entries:
            if e == TIMEOUT:
                if not seen:
                    return ("drop",)
                break
            t, value, rd = e
            if t == rtype or (t == "CNAME" and rtype != "CNAME"):
                if value == TIMEOUT:
                    return ("drop",)
                seen = True
                found.append((t, rd))
        cnames = [x for x in found if x[0] == "CNAME"]
        if cnames and rtype != "CNAME":
            return ("data", cnames[:1])
        return ("data", found)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.queries = self.udp = self.tcp = self.dropped = 0

    def count(self, proto, dropped):
        with self.lock:
            self.queries += 1
            if proto == "udp":
                self.udp += 1
            else:
                self.tcp += 1
            if dropped:
                self.dropped += 1

    def text(self):
        return "queries=%d udp=%d tcp=%d dropped=%d" % (
            self.queries, self.udp, self.tcp, self.dropped)


def _soa_owner(qname):
    labels = qname.labels
    if len(labels) <= 3:
        return qname
    return dns.name.Name(labels[-3:])


class Server:
    """The server: UDP and TCP on one loopback port, a thread for each."""

    def __init__(self, port=0, address="127.0.0.1", zonedata=None,
                 tcp_hold=10.0):
        if address not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("spfdns: loopback only, not %s" % address)
        self.address = "127.0.0.1" if address == "localhost" else address
        self.family = socket.AF_INET6 if ":" in self.address else socket.AF_INET
        self.want_port = port
        self.port = None
        self.zone = Zone(zonedata)
        self.stats = Stats()
        self.tcp_hold = tcp_hold
        self._stop = threading.Event()
        self._threads = []
        self._udp = self._tcp = None

    def set_zonedata(self, zonedata):
        self.zone = Zone(zonedata)      # one reference swap: thread-safe

    def _bind(self):
        for _ in range(50):
            t = socket.socket(self.family, socket.SOCK_STREAM)
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            u = socket.socket(self.family, socket.SOCK_DGRAM)
            try:
                t.bind((self.address, self.want_port))
                port = t.getsockname()[1]
                u.bind((self.address, port))
            except OSError:
                t.close()
                u.close()
                if self.want_port:
                    raise
                continue
            t.listen(64)
            return t, u, port
        raise OSError("spfdns: no free port")

    def start(self):
        self._tcp, self._udp, self.port = self._bind()
        for fn in (self._serve_udp, self._serve_tcp):
            th = threading.Thread(target=fn, daemon=True)
            th.start()
            self._threads.append(th)
        return self.port

    def stop(self):
        self._stop.set()
        for th in self._threads:
            th.join(2)
        for s in (self._udp, self._tcp):
            if s is not None:
                s.close()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # ---- answering ----
    def answer(self, wire, proto):
        """The response's wire form, or None to drop the query."""
        try:
            q = dns.message.from_wire(wire)
        except Exception:
            return self._formerr(wire)
        if q.opcode() != dns.opcode.QUERY or len(q.question) != 1:
            r = dns.message.make_response(q)
            r.set_rcode(dns.rcode.NOTIMP if q.opcode() != dns.opcode.QUERY
                        else dns.rcode.FORMERR)
            return r.to_wire()
        qrr = q.question[0]
        if qrr.name in (STATS_NAME, RESET_NAME):
            return self._control(q, qrr)
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        r.flags &= ~dns.flags.RA
        drop = self._fill(r, qrr)
        self.stats.count(proto, drop)
        if drop:
            return None
        maxsize = 65535
        if proto == "udp":
            maxsize = 512
            if q.edns >= 0:
                maxsize = max(512, min(q.payload, MAX_UDP))
        try:
            # In the data's order (dnspython shuffles by default): the
            # suite's preferred results assume it (ptr-limit).
            return r.to_wire(max_size=maxsize, want_shuffle=False)
        except dns.exception.TooBig:
            t = dns.message.make_response(q)
            t.flags |= dns.flags.AA | dns.flags.TC
            t.flags &= ~dns.flags.RA
            return t.to_wire()

    def _fill(self, r, qrr):
        """Put the answer in r; True when the query must be dropped."""
        zone = self.zone
        name = qrr.name
        rtype = dns.rdatatype.to_text(qrr.rdtype) if qrr.rdtype != 99 else "SPF"
        if qrr.rdclass != dns.rdataclass.IN:
            r.set_rcode(dns.rcode.REFUSED)
            return False
        seen = set()
        for _ in range(MAX_CNAME):
            key = _key(name)
            res = zone.lookup(key, rtype)
            if res[0] == "drop":
                return True
            if res[0] == "nxdomain":
                r.set_rcode(dns.rcode.NXDOMAIN)
                self._soa(r, name)
                return False
            recs = res[1]
            if not recs:
                self._soa(r, name)
                return False
            t0 = recs[0][0]
            rs = dns.rrset.RRset(name, dns.rdataclass.IN, TYPES[t0])
            rs.update_ttl(TTL)
            for _t, rd in recs:
                rs.add(rd, TTL)
            r.answer.append(rs)
            if t0 != "CNAME" or rtype == "CNAME":
                return False
            seen.add(key)
            name = recs[0][1].target
            if _key(name) in seen:
                return False            # a loop: the chain as far as it goes
        return False

    @staticmethod
    def _soa(r, name):
        owner = _soa_owner(name)
        soa = dns.rrset.from_text(owner, NEG_TTL, "IN", "SOA",
                                  "ns.spfdns.invalid. hostmaster.spfdns.invalid."
                                  " 1 3600 600 86400 %d" % NEG_TTL)
        r.authority.append(soa)

    def _control(self, q, qrr):
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        if qrr.name == RESET_NAME:
            with self.stats.lock:
                text = self.stats.text()
                self.stats.reset()
        else:
            with self.stats.lock:
                text = self.stats.text()
        rs = dns.rrset.from_text(qrr.name, 0, "IN", "TXT", '"%s"' % text)
        r.answer.append(rs)
        return r.to_wire()

    @staticmethod
    def _formerr(wire):
        if len(wire) < 12:
            return None
        qid, flags = struct.unpack("!HH", wire[:4])
        if flags & 0x8000:
            return None                 # a response: never answer it
        return struct.pack("!HHHHHH", qid, 0x8000 | (flags & 0x7900) | 1,
                           0, 0, 0, 0)

    # ---- transports ----
    def _serve_udp(self):
        u = self._udp
        while not self._stop.is_set():
            r, _, _ = select.select([u], [], [], 0.2)
            if not r:
                continue
            try:
                wire, peer = u.recvfrom(65535)
            except OSError:
                continue
            try:
                out = self.answer(wire, "udp")
            except Exception as e:      # never die on a query
                sys.stderr.write("spfdns: %s\n" % e)
                out = self._formerr(wire)
            if out is not None:
                try:
                    u.sendto(out, peer)
                except OSError:
                    pass

    def _serve_tcp(self):
        t = self._tcp
        while not self._stop.is_set():
            r, _, _ = select.select([t], [], [], 0.2)
            if not r:
                continue
            try:
                c, _ = t.accept()
            except OSError:
                continue
            th = threading.Thread(target=self._tcp_conn, args=(c,), daemon=True)
            th.start()

    def _tcp_conn(self, c):
        deadline = time.monotonic() + self.tcp_hold
        buf = b""
        try:
            c.settimeout(0.2)
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    data = c.recv(65535)
                except socket.timeout:
                    continue
                if not data:
                    return
                buf += data
                while len(buf) >= 2:
                    n = struct.unpack("!H", buf[:2])[0]
                    if len(buf) < 2 + n:
                        break
                    wire, buf = buf[2:2 + n], buf[2 + n:]
                    try:
                        out = self.answer(wire, "tcp")
                    except Exception as e:
                        sys.stderr.write("spfdns: %s\n" % e)
                        out = self._formerr(wire)
                    if out is not None:
                        c.sendall(struct.pack("!H", len(out)) + out)
                        deadline = time.monotonic() + self.tcp_hold
        except OSError:
            pass
        finally:
            c.close()


def load_zonedata(path, scenario=None):
    """zonedata from a suite file (merged, or scenario N) or a bare mapping."""
    import yaml
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    if len(docs) == 1 and isinstance(docs[0], dict) and "zonedata" not in docs[0]:
        return docs[0]
    if scenario is not None:
        docs = [docs[scenario]]
    merged = {}
    for d in docs:
        for name, entries in (d.get("zonedata") or {}).items():
            merged.setdefault(name, []).extend(entries or [])
    return merged


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="spfdns.py",
                                 description="programmable DNS server for SPF tests")
    ap.add_argument("--zone", required=True, help="YAML zonedata or suite file")
    ap.add_argument("--scenario", type=int, help="only this scenario (from 0)")
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--lifetime", type=float, default=900)
    ap.add_argument("--stats", help="write the counters here at exit and on USR1")
    a = ap.parse_args(argv)
    parent = os.getppid()

    done = threading.Event()
    flags = {"reload": False, "stats": False}

    def on_term(*_):
        done.set()

    def on_hup(*_):
        flags["reload"] = True

    def on_usr1(*_):
        flags["stats"] = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGHUP, on_hup)
    signal.signal(signal.SIGUSR1, on_usr1)

    srv = Server(port=a.port, address=a.address,
                 zonedata=load_zonedata(a.zone, a.scenario))
    srv.start()
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % srv.port)
        os.rename(a.port_file + ".tmp", a.port_file)
    print(srv.port, flush=True)

    def write_stats():
        if a.stats:
            with open(a.stats + ".tmp", "w") as f:
                f.write(srv.stats.text() + "\n")
            os.rename(a.stats + ".tmp", a.stats)

    end = time.monotonic() + a.lifetime
    while not done.is_set() and time.monotonic() < end:
        done.wait(0.5)
        if os.getppid() != parent:
            break                       # our parent is gone: so are we
        if flags["reload"]:
            flags["reload"] = False
            try:
                srv.set_zonedata(load_zonedata(a.zone, a.scenario))
            except Exception as e:
                sys.stderr.write("spfdns: reload: %s\n" % e)
        if flags["stats"]:
            flags["stats"] = False
            write_stats()
    write_stats()
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
