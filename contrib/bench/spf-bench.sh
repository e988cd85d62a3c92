#!/bin/sh
# contrib/bench/spf-bench.sh: the SPF part of `make bench`: spfcheck --batch
# against pyspf and libspf2's spfquery over one query list.  Run from the
# top directory with MXKIT_BIN set (contrib/bench/run.sh does both).
#
#   BENCH_SPF_N=10000        queries
#   BENCH_SPF_DOMAINS=200    domains (contrib/bench/spf-gen.py, deterministic)
#
# The zones are served by nsd on loopback; the DNS queries each checker
# sends are counted at the server (nsd-control stats over a unix socket).
# spfquery can only use /etc/resolv.conf, so when namespaces are available
# the whole run happens inside private user, network and mount namespaces
# (unshare -rnm, as t/peers/netns-dns.sh): nsd on 127.0.0.1:53, a resolv.conf
# naming it bind-mounted, and all three checkers ask that one server.
# Without namespaces nsd takes a free port and spfquery is not run.
#   spfcheck   --batch queries.txt, one process, its DNS cache shared
#   pyspf      an in-process loop over the same list (spf-peer-pyspf.py;
#              pyspf caches within one check only)
#   spfquery   -file queries.txt, one process (libspf2's own DNS cache)
# Output: a table on stdout (also bench-out/spf/results.txt); the data, the
# outputs and the logs stay in bench-out/spf/.  Exit 69 when spfcheck or
# nsd is missing.
set -u

TOP=$(pwd)
[ -f "$TOP/contrib/bench/spf-bench.sh" ] || { echo "spf-bench: run from the top directory" >&2; exit 64; }
: "${MXKIT_BIN:=$TOP/bin}"
OUT=$TOP/bench-out/spf
N=${BENCH_SPF_N:-10000}
NDOM=${BENCH_SPF_DOMAINS:-200}
PY=/usr/bin/python3
say() { printf 'bench: spf: %s\n' "$*" >&2; }

if [ "${SPF_BENCH_INNER:-0}" != 1 ]; then
	[ -x "$MXKIT_BIN/spfcheck" ] || { say "$MXKIT_BIN/spfcheck missing (make)"; exit 69; }
	command -v nsd >/dev/null 2>&1 && command -v nsd-control >/dev/null 2>&1 ||
		{ say "nsd missing (make deps-bench)"; exit 69; }
	mkdir -p "$OUT" || exit 73
	# the data (cached; regenerated when the generator, N or NDOM change)
	id=$(sha256sum <"$TOP/contrib/bench/spf-gen.py" | cut -c1-16)-$N-$NDOM
	if [ ! -s "$OUT/data/queries.txt" ] || [ "$(cat "$OUT/data.id" 2>/dev/null)" != "$id" ]; then
		say "generating $N queries over $NDOM domains (contrib/bench/spf-gen.py)"
		rm -rf "$OUT/data"
		$PY "$TOP/contrib/bench/spf-gen.py" "$OUT/data" -n "$N" -d "$NDOM" &&
			echo "$id" >"$OUT/data.id" || exit 70
	fi
	if unshare -rnm true 2>/dev/null; then
		SPF_BENCH_INNER=1 SPF_BENCH_NETNS=1 exec timeout 3600 unshare -rnm sh "$0" "$@"
	fi
	say "unshare -rnm not permitted: spfquery will not run"
	SPF_BENCH_INNER=1 SPF_BENCH_NETNS=0 exec timeout 3600 sh "$0" "$@"
fi

# ---- inside: the server ----
W=$(mktemp -d "$OUT/run.XXXXXX") || exit 73
NSD_PID=
cleanup() {
	if [ -n "$NSD_PID" ]; then
		kill -TERM "$NSD_PID" 2>/dev/null
		i=0
		while kill -0 "$NSD_PID" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$NSD_PID" 2>/dev/null
		wait "$NSD_PID" 2>/dev/null
	fi
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$SPF_BENCH_NETNS" = 1 ]; then
	ip link set lo up 2>/dev/null || ifconfig lo up 2>/dev/null ||
		{ say "cannot bring lo up"; exit 70; }
	PORT=53
	printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:2\n' >"$W/resolv.conf"
	mount --bind "$W/resolv.conf" /etc/resolv.conf || { say "cannot mount resolv.conf"; exit 70; }
else
	. "$TOP/t/rig/port.sh"
	PORT=$(free_port)
fi

cat >"$W/nsd.conf" <<EOF
server:
	ip-address: 127.0.0.1@$PORT
	port: $PORT
	do-ip6: no
	username: ""
	chroot: ""
	database: ""
	zonesdir: "$OUT/data"
	pidfile: "$W/nsd.pid"
	xfrdfile: "$W/xfrd.state"
	zonelistfile: "$W/zone.list"
	logfile: "$W/nsd.log"
	verbosity: 1
	server-count: 1
	hide-version: yes
	zonefiles-write: 0
remote-control:
	control-enable: yes
	control-interface: "$W/nsd.ctl"
EOF
while IFS== read -r origin file; do
	printf 'zone:\n\tname: "%s"\n\tzonefile: "%s"\n' "$origin" "$OUT/data/$file" >>"$W/nsd.conf"
done <"$OUT/data/zones"
nsd -d -c "$W/nsd.conf" >"$W/nsd.out" 2>&1 </dev/null &
NSD_PID=$!
i=0
until dig +short +norec +time=1 +tries=1 -p "$PORT" @127.0.0.1 bench.example SOA 2>/dev/null | grep -q . &&
	nsd-control -c "$W/nsd.conf" status >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -ge 50 ] || ! kill -0 "$NSD_PID" 2>/dev/null; then
		say "nsd did not start"
		cat "$W/nsd.out" "$W/nsd.log" >&2 2>/dev/null
		exit 70
	fi
	sleep 0.1
done
say "nsd on 127.0.0.1:$PORT$([ "$SPF_BENCH_NETNS" = 1 ] && echo ' (private namespaces)')"

now() { date +%s.%N; }
RES=$OUT/results.raw
: >"$RES"

# run_one NAME VERSION CMD...: time CMD (stdout NAME.out), count its DNS queries
run_one() {
	_n=$1 _v=$2
	shift 2
	nsd-control -c "$W/nsd.conf" stats >/dev/null 2>&1
	say "$_n"
	t0=$(now)
	timeout 1800 "$@" <"$OUT/data/queries.txt" >"$OUT/$_n.out" 2>"$OUT/$_n.log"
	rc=$?
	t1=$(now)
	nq=$(nsd-control -c "$W/nsd.conf" stats 2>/dev/null | sed -n 's/^num\.queries=//p')
	# spfquery -file exits with the last query's result
	[ $rc = 0 ] || [ "$_n" = spfquery ] || say "$_n exited $rc: $(head -n 2 "$OUT/$_n.log")"
	echo "$_n $rc $t0 $t1 ${nq:-n/a} $_v" >>"$RES"
}

Q=$OUT/data/queries.txt
run_one spfcheck "mxkit" "$MXKIT_BIN/spfcheck" --batch "$Q" --resolver "127.0.0.1:$PORT"
if $PY -c 'import spf, dns.resolver' 2>/dev/null; then
	v=$($PY -c 'import spf; print(spf.__version__)' 2>/dev/null || echo "?")
	run_one pyspf "$v" $PY "$TOP/contrib/bench/spf-peer-pyspf.py" "$PORT" "$Q"
else
	echo "pyspf n/a python3-spf-missing" >>"$RES"
fi
if [ "$SPF_BENCH_NETNS" = 1 ] && command -v spfquery >/dev/null 2>&1; then
	v=$(dpkg-query -W -f '${Version}' libspf2-2 2>/dev/null || echo "?")
	run_one spfquery "$v" spfquery -file "$Q"
elif [ "$SPF_BENCH_NETNS" = 1 ]; then
	echo "spfquery n/a not-installed" >>"$RES"
else
	echo "spfquery n/a no-namespaces" >>"$RES"
fi

$PY - "$RES" "$OUT" "$N" "$NDOM" "$PORT" <<'PY' | tee "$OUT/results.txt"
import collections, sys
res, out, n, ndom, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]

def results(name):
    """The result of each query, in order."""
    try:
        lines = open("%s/%s.out" % (out, name), encoding="utf-8", errors="replace").read().splitlines()
    except OSError:
        return []
    if name != "spfquery":
        return [l.split()[0] for l in lines if l and not l.startswith("queries=")]
    # spfquery: [StartError ... EndError] RESULT, SMTP comment, header comment, Received-SPF
    r, i = [], 0
    while i < len(lines):
        if lines[i] == "StartError":
            while i < len(lines) and lines[i] != "EndError":
                i += 1
            i += 1
            continue
        r.append(lines[i].strip())
        i += 4
    return r

rows = [l.split() for l in open(res)]
print("SPF: %d queries over %s domains (contrib/bench/spf-gen.py), nsd on 127.0.0.1:%s" % (n, ndom, port))
print("  %-32s %10s %8s %12s %10s %12s" % ("checker", "queries/s", "time s", "DNS queries", "DNS/query", "vs spfcheck"))
base = None
res_of = {}
for r in rows:
    name = r[0]
    if r[1] == "n/a":
        print("  %-32s %10s   (%s)" % (name, "n/a", r[2].replace("-", " ")))
        continue
    rc, t0, t1, nq, ver = r[1], float(r[2]), float(r[3]), r[4], " ".join(r[5:])
    t = t1 - t0
    got = results(name)
    res_of[name] = got
    label = {"spfcheck": "spfcheck --batch", "pyspf": "pyspf %s" % ver,
             "spfquery": "spfquery -file (%s)" % ver}[name]
    if base is None and name == "spfcheck":
        base = t
    qps = len(got) / t if t > 0 else 0
    dpq = "%.2f" % (int(nq) / max(len(got), 1)) if nq.isdigit() else "n/a"
    ratio = "%.2fx" % (t / base) if base else "n/a"
    # spfquery -file exits with the last query's result
    note = "" if (rc == "0" or name == "spfquery") and len(got) == n else "   (exit %s, %d/%d results)" % (rc, len(got), n)
    print("  %-32s %10.1f %8.2f %12s %10s %12s%s" % (label, qps, t, nq, dpq, ratio, note))
print("  (vs spfcheck: wall time relative to spfcheck --batch; above 1 is slower)")
qps = {}
for r in rows:
    if r[1] != "n/a" and r[0] in res_of and float(r[3]) > float(r[2]):
        qps[r[0]] = len(res_of[r[0]]) / (float(r[3]) - float(r[2]))
if qps.get("spfcheck"):
    print("  speed ratio: " + ", ".join("spfcheck/%s %.2f" % (k, qps["spfcheck"] / v)
                                        for k, v in qps.items() if k != "spfcheck" and v))
for name, got in res_of.items():
    c = collections.Counter(got)
    print("  %-9s results: %s" % (name, " ".join("%s=%d" % kv for kv in sorted(c.items()))))
ref = res_of.get("spfcheck")
for name, got in res_of.items():
    if name == "spfcheck" or not ref or len(got) != len(ref):
        continue
    same = sum(1 for a, b in zip(ref, got) if a == b)
    print("  spfcheck and %s agree on %d/%d queries" % (name, same, len(ref)))
PY
