#!/usr/bin/python3
# t/rig/spfsuite.py: run an OpenSPF test suite (t/data/spf/*.yml) against an
# SPF implementation, the zone data served by t/rig/spfdns.py (a thread of
# this process) on loopback, and print the score.
#
#   spfsuite.py --suite t/data/spf/rfc7208-tests.yml --impl spfcheck|spfquery|pyspf
#               [--bin DIR] [--min N] [--list-failures] [--only SCENARIO/TEST]...
#               [-v] [--test-timeout S] [--deadline S] [--dns-timeout MS]
#
#   spfcheck  $BIN/spfcheck -o json ... --resolver 127.0.0.1:PORT, one process
#             per test (BIN: --bin, else $MXKIT_BIN, else ./bin).
#   pyspf     Debian's python3-spf in this process, dnspython's default
#             resolver pointed at the server.
#   spfquery  libspf2's CLI, which can only use the system resolver: the run
#             moves into private user, network and mount namespaces
#             (unshare -rnm) where the server listens on 127.0.0.1:53 and a
#             resolv.conf naming it is bind-mounted over /etc/resolv.conf.
#             Exit 77 when namespaces are unavailable.  Two scores: its raw
#             one, and one with its "(invalid)" result mapped plainly:
#             libspf2's error 26 (DNS) to temperror, any other to permerror.
#             Its explanation is its SMTP comment less " : Reason: ...".
#
# Output: "score IMPL SUITE: P/T" (and "score spfquery-mapped SUITE: P/T");
# with --list-failures one line per failure before it:
#   "SCENARIO/TEST: expected X got Y" (X a result or "a|b"; an explanation
#   mismatch reads "expected fail explanation 'E' got fail explanation 'F'").
# -v adds, under each failure, the command run and its raw output (the
# server's port is gone by then: to replay, serve the scenario with
# "t/rig/spfdns.py --zone SUITE --scenario N").
# --only selects tests: TEST, SCENARIO/TEST or SCENARIO (a scenario is its
# description, e.g. "Initial processing"); repeatable, or comma-separated.
# Exit: 0; 1 when P < --min; 2 usage; 66 no suite file; 69 implementation
# missing; 70 the DNS server cannot start; 77 skip (spfquery without namespaces).
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True         # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import spfdns  # noqa: E402

RESULTS = ("pass", "fail", "softfail", "neutral", "none", "permerror",
           "temperror")
INNER = "SPFSUITE_NETNS_INNER"


def load_suite(path):
    import yaml
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    out = []
    for d in docs:
        tests = []
        for name, t in (d.get("tests") or {}).items():
            res = t["result"]
            res = [res] if isinstance(res, str) else list(res)
            tests.append({
                "name": str(name),
                "helo": str(t.get("helo", "")),
                "host": str(t["host"]),
                "mailfrom": str(t.get("mailfrom", "")),
                "result": [r.lower() for r in res],
                "explanation": t.get("explanation"),
                "strict": t.get("strict", True),
            })
        out.append((str(d.get("description", "scenario")),
                    d.get("zonedata") or {}, tests))
    return out


def selected(only, scenario, test):
    if not only:
        return True
    for o in only:
        if o in (test, scenario, scenario + "/" + test):
            return True
    return False


# ---- implementations: each returns (result, explanation[, mapped]) ----

class SpfCheck:
    name = "spfcheck"

    def __init__(self, a, port):
        self.bin = os.path.join(a.bin, "spfcheck")
        self.port = port
        self.timeout = a.test_timeout
        self.dns_timeout = str(a.dns_timeout)
        if not os.access(self.bin, os.X_OK):
            raise LookupError("%s missing" % self.bin)

    def run(self, t):
        cmd = [self.bin, "-o", "json", "-i", t["host"], "-s", t["mailfrom"],
               "-e", t["helo"], "--default-explanation", "DEFAULT",
               "--resolver", "127.0.0.1:%d" % self.port,
               "--dns-timeout", self.dns_timeout]
        self.last_raw = " ".join(cmd)
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            return ("(timeout %gs)" % self.timeout, None)
        self.last_raw += "\n" + (p.stdout + p.stderr).decode("utf-8", "replace")
        try:
            j = json.loads(p.stdout.decode("utf-8", "replace"))
            return (str(j.get("spf_result")), j.get("spf_explanation"))
        except ValueError:
            err = p.stderr.decode("utf-8", "replace").strip().splitlines()
            return ("(exit %d%s)" % (p.returncode,
                                     ": " + err[-1][:80] if err else ""), None)


class PySpf:
    name = "pyspf"

    def __init__(self, a, port):
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import dns.resolver
            import spf
        except ImportError as e:
            raise LookupError("python3-spf: %s" % e)
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = ["127.0.0.1"]
        r.port = port
        r.timeout = 1.0
        r.lifetime = 2.0
        dns.resolver.default_resolver = r
        self.spf = spf

    def run(self, t):
        spf = self.spf
        try:
            q = spf.query(i=t["host"], s=t["mailfrom"], h=t["helo"],
                          strict=t["strict"], timeout=2)
            q.set_default_explanation("DEFAULT")
            res, code, exp = q.check()
            self.last_raw = "%s %s %r" % (res, code, exp)
        except Exception as e:          # a crash is a failed test, not ours
            return ("(exception %s)" % type(e).__name__, None)
        res = {"error": "temperror", "unknown": "permerror"}.get(res, res)
        return (res, exp)


class SpfQuery:
    name = "spfquery"

    def __init__(self, a, port):
        self.bin = shutil.which("spfquery")
        self.timeout = a.test_timeout
        if not self.bin:
            raise LookupError("spfquery missing (Debian package spfquery)")

    def run(self, t):
        cmd = [self.bin, "-ip", t["host"], "-sender", t["mailfrom"],
               "-helo", t["helo"], "-default-explanation", "DEFAULT"]
        self.last_raw = " ".join(cmd)
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            r = "(timeout %gs)" % self.timeout
            return (r, None, r)
        self.last_raw += "\n" + (p.stdout + p.stderr).decode("utf-8", "replace")
        lines = p.stdout.decode("utf-8", "replace").splitlines()
        code, errors = None, []
        i = 0
        while i < len(lines) and lines[i] == "StartError":
            while i < len(lines) and lines[i] != "EndError":
                if lines[i].startswith("ErrorCode: (") and code is None:
                    try:
                        code = int(lines[i][12:].split(")")[0])
                    except ValueError:
                        pass
                elif lines[i].startswith("Error: "):
                    errors.append(lines[i])
                i += 1
            i += 1
        if i >= len(lines):
            r = "(no output, exit %d)" % p.returncode
            return (r, None, r)
        res = lines[i].strip()
        # The explanation is the SMTP comment, less libspf2's " : Reason: ..."
        exp = lines[i + 1] if i + 1 < len(lines) else None
        if exp is not None and " : Reason: " in exp:
            exp = exp[:exp.rindex(" : Reason: ")]
        mapped = res
        if res == "(invalid)":
            mapped = self.map_invalid(code, errors)
        return (res, exp, mapped)


    @staticmethod
    def map_invalid(code, errors):
        # Plainly, as the suite's README measured it: libspf2's
        # SPF_E_DNS_ERROR (26) is a temperror, every other error a
        # permerror.  (Two of its DNS errors, "unrecoverable" ones for
        # names no query can be made for, are really RFC 7208 4.3 "none".)
        del errors
        return "temperror" if code == 26 else "permerror"


IMPLS = {"spfcheck": SpfCheck, "pyspf": PySpf, "spfquery": SpfQuery}


def verdict(t, res, exp):
    """None when the test passes, else 'expected X got Y'."""
    want = "|".join(t["result"])
    if res not in t["result"]:
        return "expected %s got %s" % (want, res)
    if t["explanation"] is not None and res == "fail" \
            and exp != t["explanation"]:
        return "expected fail explanation %r got fail explanation %r" % (
            t["explanation"], exp)
    return None


def enter_netns(argv):
    """Re-run this program in private namespaces; never returns."""
    if not shutil.which("unshare"):
        print("spfsuite: no unshare: spfquery skipped", file=sys.stderr)
        sys.exit(77)
    try:
        ok = subprocess.run(["unshare", "-rnm", "true"], timeout=10,
                            capture_output=True).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if not ok:
        print("spfsuite: unshare -rnm not permitted: spfquery skipped",
              file=sys.stderr)
        sys.exit(77)
    env = dict(os.environ)
    env[INNER] = "1"
    os.execvpe("unshare", ["unshare", "-rnm", sys.executable,
                           os.path.abspath(__file__)] + argv, env)


def netns_setup(tmp):
    """Inside the namespaces: loopback up, resolv.conf -> 127.0.0.1."""
    for cmd in (["ip", "link", "set", "lo", "up"], ["ifconfig", "lo", "up"]):
        try:
            if subprocess.run(cmd, capture_output=True,
                              timeout=10).returncode == 0:
                break
        except (OSError, subprocess.TimeoutExpired):
            continue
    else:
        print("spfsuite: cannot bring lo up", file=sys.stderr)
        sys.exit(77)
    rc = os.path.join(tmp, "resolv.conf")
    with open(rc, "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    if subprocess.run(["mount", "--bind", rc, "/etc/resolv.conf"],
                      capture_output=True, timeout=10).returncode != 0:
        print("spfsuite: cannot bind-mount resolv.conf", file=sys.stderr)
        sys.exit(77)


def main(argv):
    ap = argparse.ArgumentParser(prog="spfsuite.py")
    ap.add_argument("--suite", required=True)
    ap.add_argument("--impl", required=True, choices=sorted(IMPLS))
    ap.add_argument("--bin", default=os.environ.get("MXKIT_BIN") or "bin")
    ap.add_argument("--min", type=int, default=0)
    ap.add_argument("--list-failures", action="store_true")
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="with --list-failures: the command and its output")
    ap.add_argument("--test-timeout", type=float, default=20.0,
                    help="seconds for one test (default 20)")
    ap.add_argument("--dns-timeout", type=int, default=300,
                    help="spfcheck's --dns-timeout, ms per try (default 300)")
    ap.add_argument("--deadline", type=float, default=900.0,
                    help="seconds for the whole run (default 900)")
    a = ap.parse_args(argv)
    only = [o for x in a.only for o in x.split(",") if o]

    if not os.path.isfile(a.suite):
        print("spfsuite: %s: no such file" % a.suite, file=sys.stderr)
        return 66
    suite = load_suite(a.suite)
    sname = os.path.basename(a.suite)
    if sname.endswith(".yml"):
        sname = sname[:-4]

    port = 0
    tmp = None
    if a.impl == "spfquery":
        if os.environ.get(INNER) != "1":
            enter_netns(argv)
        tmp = tempfile.mkdtemp(prefix="spfsuite.")
        netns_setup(tmp)
        port = 53

    srv = spfdns.Server(port=port)
    try:
        srv.start()
    except OSError as e:
        print("spfsuite: DNS server: %s" % e, file=sys.stderr)
        return 77 if a.impl == "spfquery" else 70
    try:
        try:
            impl = IMPLS[a.impl](a, srv.port)
        except LookupError as e:
            print("spfsuite: %s" % e, file=sys.stderr)
            return 69
        end = time.monotonic() + a.deadline
        total = passed = mapped_ok = 0
        for scen, zonedata, tests in suite:
            srv.set_zonedata(zonedata)
            for t in tests:
                if not selected(only, scen, t["name"]):
                    continue
                total += 1
                if time.monotonic() > end:
                    if a.list_failures:
                        print("%s/%s: not run (deadline)" % (scen, t["name"]))
                    continue
                got = impl.run(t)
                why = verdict(t, got[0], got[1])
                if why is None:
                    passed += 1
                elif a.list_failures:
                    print("%s/%s: %s" % (scen, t["name"], why))
                    if a.verbose:
                        for line in getattr(impl, "last_raw", "").splitlines():
                            print("    " + line)
                if len(got) > 2 and verdict(t, got[2], got[1]) is None:
                    mapped_ok += 1
                sys.stdout.flush()
    finally:
        srv.stop()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print("score %s %s: %d/%d" % (a.impl, sname, passed, total))
    if a.impl == "spfquery":
        print("score spfquery-mapped %s: %d/%d" % (sname, mapped_ok, total))
    sys.stdout.flush()
    return 1 if passed < a.min else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
