# t/rig/pki.sh: a test PKI and OCSP responders.  Source it after t/lib.sh.
# Call the start/make functions at the top level of a test script, not
# inside test_expect_success (a subshell: exports and at_exit would be lost).
#
#   pki_make DIR
#       Build in DIR (created) a PKI with EC P-256 keys: root.pem -> int.pem
#       (the issuing CA; its openssl-ca database DIR/ca/int/index.txt is
#       what the responders answer from), OCSP signers under int: ocsp.pem
#       (extendedKeyUsage OCSPSigning, noCheck, valid a year), ocsp-expired.pem
#       (expired yesterday), ocsp-short.pem (valid now, expires in an hour:
#       earlier than a responder's default nextUpdate of one day), and an
#       unrelated self-signed CA other.pem.  Keys are NAME.key next to NAME.pem;
#       ca-chain.pem is int then root.
#       Exports PKI_DIR, PKI_OCSP_PORT and PKI_OCSP_URL (http://127.0.0.1:PORT/,
#       a free port, put in every leaf's AIA by default) and PKI_OCSP_DOWN_URL
#       (another free port nobody listens on: an unreachable responder).
#   pki_leaf NAME "DNS:a,DNS:b" [ec|rsa] [DAYS|expired] [URL|none]
#       Issue DIR/NAME.{key,pem,chain.pem} (chain: leaf then issuer) under int
#       (or under the CA named by $PKI_ISSUER, e.g. PKI_ISSUER=other).  Defaults:
#       ec, 365 days, AIA OCSP URL $PKI_OCSP_URL; "none" leaves out the AIA;
#       "expired": valid from 30 days ago until yesterday; rsa: RSA 2048.
#   pki_revoke NAME [REASON]
#       Revoke NAME in its issuer's database (REASON as for openssl ca
#       -crl_reason; default keyCompromise).  Running responders see it at once.
#   pki_ocsp_start NAME [SIGNER [ARGS...]]
#       Start responder NAME (letters, digits, _) for int's certificates,
#       signing with DIR/SIGNER.{pem,key} (default ocsp; int, ocsp-expired,
#       ocsp-short, other or any leaf work too).  ARGS go to `openssl ocsp`
#       (-nmin 5, -ndays 2, -badsig, -resp_no_certs, -resp_key_id...); without
#       -ndays/-nmin it adds -ndays 1; the word "nonext" instead gives answers
#       without nextUpdate.  It listens on 127.0.0.1: on $PKI_OCSP_PORT (the
#       AIA URL) unless another running responder holds it, otherwise on a
#       new port.  Exports PKI_OCSP_URL_<NAME> and PKI_OCSP_LOG_<NAME> (one
#       line per request: method, Host header, request size, outcome), stops
#       it at exit (and it quits by itself after 15 minutes).  Answers
#       carry int.pem (-rother).  pki_ocsp_url NAME prints the URL.
#       Each request is answered by a fresh `openssl ocsp -index ... -reqin
#       -respout` behind a small HTTP front end bound to 127.0.0.1 only,
#       because `openssl ocsp -port` (3.0) takes only a port number, listens
#       on all interfaces, and is wedged at 100 % CPU by a bare connect
#       (openssl issue 31129).  PKI_OCSP_SERVER=openssl starts the real
#       `openssl ocsp -port` server instead (all interfaces; ready when its
#       log says it waits for connections: never probe it with a connect).
#   pki_ocsp_stop [NAME]
#       Stop responder NAME, or all of them (TERM, KILL after 5 s).

_pki_run=
_pki_atexit=
_px_san=
_px_ku=
_px_ocsp=

# _pki_run_ssl WHAT CMD...: run openssl quietly; on failure say what and why.
_pki_run_ssl() {
	_pw=$1
	shift
	# The configuration names these; openssl wants them set even unused.
	env "PKI_X_SAN=${_px_san:-DNS:unused.invalid}" \
	    "PKI_X_KU=${_px_ku:-digitalSignature}" \
	    "PKI_X_OCSP=${_px_ocsp:-$PKI_OCSP_URL}" \
	    "$@" >"$PKI_DIR/.err" 2>&1 && return 0
	{
		echo "pki: $_pw failed: $*"
		cat "$PKI_DIR/.err"
	} | sed 's/^/# /' >&2
	return 1
}

# _pki_when OFFSET: a time for openssl ca -startdate/-enddate, e.g. "-1 day".
_pki_when() {
	date -u -d "$1" +%Y%m%d%H%M%SZ
}

# _pki_ca_init NAME SERIAL: an openssl-ca database and configuration.
_pki_ca_init() {
	_pd=$PKI_DIR/ca/$1
	mkdir -p "$_pd/new" || return 1
	: >"$_pd/index.txt"
	echo 'unique_subject = no' >"$_pd/index.txt.attr"
	echo "$2" >"$_pd/serial"
	cat >"$PKI_DIR/ca/$1.cnf" <<EOF
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca ]
default_ca = this
[ this ]
dir = $_pd
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
certificate = $PKI_DIR/$1.pem
private_key = $PKI_DIR/$1.key
default_md = sha256
default_days = 365
policy = pol
email_in_dn = no
unique_subject = no
copy_extensions = none
[ pol ]
commonName = supplied
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_int ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_leaf_noaia ]
basicConstraints = CA:FALSE
keyUsage = critical,\$ENV::PKI_X_KU
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = \$ENV::PKI_X_SAN
[ v3_leaf ]
basicConstraints = CA:FALSE
keyUsage = critical,\$ENV::PKI_X_KU
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = \$ENV::PKI_X_SAN
authorityInfoAccess = OCSP;URI:\$ENV::PKI_X_OCSP
[ v3_ocsp ]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,OCSPSigning
noCheck = ignored
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
}

# _pki_csr NAME CN ec|rsa: a new key and request.
_pki_csr() {
	case $3 in
	rsa) set -- "$1" "$2" -newkey rsa:2048 ;;
	*) set -- "$1" "$2" -newkey EC -pkeyopt ec_paramgen_curve:P-256 ;;
	esac
	_pn=$1 _pcn=$2
	shift 2
	_pki_run_ssl "key for $_pn" openssl req -new "$@" -noenc \
	    -config "$PKI_DIR/ca/int.cnf" -subj "/CN=$_pcn" \
	    -keyout "$PKI_DIR/$_pn.key" -out "$PKI_DIR/ca/$_pn.csr"
}

# _pki_sign CA NAME EXTENSIONS [openssl ca args]: NAME.csr -> NAME.pem.
_pki_sign() {
	_pca=$1 _pn=$2 _px=$3
	shift 3
	_pki_run_ssl "certificate $_pn" openssl ca -batch -notext \
	    -config "$PKI_DIR/ca/$_pca.cnf" -extensions "$_px" \
	    -in "$PKI_DIR/ca/$_pn.csr" -out "$PKI_DIR/$_pn.pem" "$@" &&
	    echo "$_pca" >"$PKI_DIR/ca/$_pn.issuer"
}

# _pki_root NAME CN SERIAL: a self-signed CA with its database.
_pki_root() {
	_pki_ca_init "$1" "$3" &&
	    _pki_run_ssl "CA $1" openssl req -x509 -new -newkey EC \
	    -pkeyopt ec_paramgen_curve:P-256 -noenc -days 3650 \
	    -config "$PKI_DIR/ca/$1.cnf" -extensions v3_ca -set_serial 1 \
	    -subj "/CN=$2" -keyout "$PKI_DIR/$1.key" -out "$PKI_DIR/$1.pem"
}

pki_make() {
	if [ $# != 1 ]; then
		echo "pki_make: usage: pki_make DIR" >&2
		return 1
	fi
	pki_ocsp_stop	# one PKI at a time: forget none of its responders
	mkdir -p "$1/ca" || return 1
	PKI_DIR=$(cd "$1" && pwd) || return 1
	PKI_OCSP_PORT=$(free_port)
	PKI_OCSP_URL=http://127.0.0.1:$PKI_OCSP_PORT/
	PKI_OCSP_DOWN_URL=http://127.0.0.1:$(free_port)/
	export PKI_DIR PKI_OCSP_PORT PKI_OCSP_URL PKI_OCSP_DOWN_URL
	_pki_run=$PKI_DIR/ocsp-run
	mkdir -p "$_pki_run" || return 1
	_pki_root root "mxkit Test Root CA" 0100 &&
	    _pki_ca_init int 1000 &&
	    _pki_csr int "mxkit Test Issuing CA" ec &&
	    _pki_sign root int v3_int -days 1825 &&
	    _pki_csr ocsp "mxkit Test OCSP Signer" ec &&
	    _pki_sign int ocsp v3_ocsp -days 365 &&
	    _pki_csr ocsp-expired "mxkit Test OCSP Signer (expired)" ec &&
	    _pki_sign int ocsp-expired v3_ocsp \
	    -startdate "$(_pki_when '-30 days')" \
	    -enddate "$(_pki_when '-1 day')" &&
	    _pki_csr ocsp-short "mxkit Test OCSP Signer (expires soon)" ec &&
	    _pki_sign int ocsp-short v3_ocsp \
	    -enddate "$(_pki_when '+1 hour')" &&
	    _pki_root other "mxkit Other Test CA" 5000 &&
	    cat "$PKI_DIR/int.pem" "$PKI_DIR/root.pem" >"$PKI_DIR/ca-chain.pem"
}

pki_leaf() {
	if [ $# -lt 2 ] || [ -z "$2" ] || [ -z "${PKI_DIR:-}" ]; then
		echo "pki_leaf: usage: pki_leaf NAME SANS [ec|rsa]" \
		    "[DAYS|expired] [URL|none] (after pki_make)" >&2
		return 1
	fi
	case $1 in
	*[!A-Za-z0-9_.-]* | '' | .*)
		echo "pki_leaf: bad name '$1'" >&2
		return 1 ;;
	esac
	_pl=$1 _psan=$2 _palg=${3:-ec} _pdays=${4:-365} _pu=${5:-$PKI_OCSP_URL}
	_pca=${PKI_ISSUER:-int}
	# The common name: the first DNS name, else NAME.
	_pcn=${_psan%%,*}
	case $_pcn in DNS:?*) _pcn=${_pcn#DNS:} ;; *) _pcn=$_pl ;; esac
	case $_palg in
	ec) _pku=digitalSignature ;;
	rsa) _pku=digitalSignature,keyEncipherment ;;
	*) echo "pki_leaf: key type '$_palg': want ec or rsa" >&2; return 1 ;;
	esac
	case $_pdays in
	expired) set -- -startdate "$(_pki_when '-30 days')" \
	    -enddate "$(_pki_when '-1 day')" ;;
	*[!0-9]* | '') echo "pki_leaf: '$_pdays': want DAYS or expired" >&2
	    return 1 ;;
	*) set -- -days "$_pdays" ;;
	esac
	_pext=v3_leaf
	[ "$_pu" = none ] && _pext=v3_leaf_noaia _pu=$PKI_OCSP_URL
	_px_san=$_psan _px_ku=$_pku _px_ocsp=$_pu
	_pki_csr "$_pl" "$_pcn" "$_palg" &&
	    _pki_sign "$_pca" "$_pl" "$_pext" "$@" &&
	    cat "$PKI_DIR/$_pl.pem" "$PKI_DIR/$_pca.pem" >"$PKI_DIR/$_pl.chain.pem"
	_prc=$?
	_px_san='' _px_ku='' _px_ocsp=''
	return $_prc
}

pki_revoke() {
	if [ $# -lt 1 ] || [ ! -r "${PKI_DIR:-}/ca/$1.issuer" ]; then
		echo "pki_revoke: usage: pki_revoke NAME [REASON]" \
		    "(NAME issued by pki_make/pki_leaf)" >&2
		return 1
	fi
	_pca=$(cat "$PKI_DIR/ca/$1.issuer")
	_pki_run_ssl "revoking $1" openssl ca -config "$PKI_DIR/ca/$_pca.cnf" \
	    -revoke "$PKI_DIR/$1.pem" -crl_reason "${2:-keyCompromise}"
}

pki_ocsp_url() {
	[ -s "$_pki_run/$1.port" ] || return 1
	echo "http://127.0.0.1:$(cat "$_pki_run/$1.port")/"
}

# _pki_aia_taken: a running responder of ours listens on $PKI_OCSP_PORT.
_pki_aia_taken() {
	for _pf in "$_pki_run"/*.port; do
		[ -s "$_pf" ] || continue
		[ "$(cat "$_pf")" = "$PKI_OCSP_PORT" ] || continue
		proc_alive "$(cat "${_pf%.port}.pid")" && return 0
	done
	return 1
}

_pki_ocspd() {
	cat <<'PY'
# HTTP front end for `openssl ocsp` on 127.0.0.1 (t/rig/pki.sh): every
# request (POST, or GET per RFC 5019) is answered by a fresh run of the
# openssl command given after "--", plus -reqin/-respout.
import base64, os, subprocess, sys, tempfile, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, portfile, logfile, workdir = sys.argv[1:5]
cmd = sys.argv[sys.argv.index("--") + 1:]
MAXREQ = 65536
MALFORMED = bytes.fromhex("30030a0101")
INTERNAL = bytes.fromhex("30030a0102")
log = open(logfile, "a", buffering=1)

def respond(der):
    if not der or der[0] != 0x30:
        return MALFORMED, "malformed"
    fd, req = tempfile.mkstemp(dir=workdir, suffix=".req")
    os.write(fd, der)
    os.close(fd)
    resp = req[:-4] + ".resp"
    try:
        p = subprocess.run(cmd + ["-reqin", req, "-respout", resp],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=10)
        with open(resp, "rb") as f:
            out = f.read()
        if p.returncode == 0 and out:
            return out, "answered"
        why = p.stderr.decode(errors="replace").strip().replace("\n", " | ")
    except (OSError, subprocess.TimeoutExpired) as e:
        why = str(e)
    finally:
        for f in (req, resp):
            try:
                os.unlink(f)
            except OSError:
                pass
    if "reading OCSP request" in why:
        return MALFORMED, "malformed: " + why
    return INTERNAL, "error: " + why

class Handler(BaseHTTPRequestHandler):
    timeout = 10
    def log_message(self, *args):
        pass
    def answer(self, der):
        body, outcome = respond(der)
        log.write("%s host=%s bytes=%d %s\n" % (self.command,
                  self.headers.get("Host", "-"), len(der), outcome))
        self.send_response(200)
        self.send_header("Content-Type", "application/ocsp-response")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        try:
            n = int(self.headers.get("Content-Length", ""))
        except ValueError:
            n = -1
        if not 0 <= n <= MAXREQ:
            log.write("POST host=%s bad length\n" % self.headers.get("Host", "-"))
            self.send_error(411 if n < 0 else 413)
            return
        self.answer(self.rfile.read(n))
    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        b64 = urllib.parse.unquote(path[1:])
        try:
            der = base64.b64decode(b64 + "=" * (-len(b64) % 4))
        except ValueError:
            der = b""
        self.answer(der)

try:
    srv = ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
except OSError as e:
    sys.exit("ocspd: cannot listen on 127.0.0.1:%s: %s" % (port, e))
srv.daemon_threads = True
srv.timeout = 1
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(portfile + ".tmp", portfile)
deadline = time.monotonic() + 900   # never outlive a forgotten test
while time.monotonic() < deadline:
    srv.handle_request()
PY
}

# _pki_wait TEST PID: until TEST (shell code) holds, PID exits, or 5 s.
_pki_wait() {
	_pk=0
	while [ $_pk -lt 50 ] && proc_alive "$2"; do
		eval "$1" && return 0
		sleep 0.1
		_pk=$((_pk + 1))
	done
	eval "$1"
}

# _pki_spawn NAME PORT SIGNER ARGS...: one try; sets _ppid, _pport.
_pki_spawn() {
	_pn=$1 _pp=$2 _ps=$3
	shift 3
	_plog=$_pki_run/$_pn.log
	rm -f "$_pki_run/$_pn.port" "$_pki_run/$_pn.out"
	: >>"$_plog"
	set -- openssl ocsp -index "$PKI_DIR/ca/int/index.txt" \
	    -CA "$PKI_DIR/int.pem" -rsigner "$PKI_DIR/$_ps.pem" \
	    -rkey "$PKI_DIR/$_ps.key" -rother "$PKI_DIR/int.pem" "$@"
	if [ "${PKI_OCSP_SERVER:-}" = openssl ]; then
		[ "$_pp" = 0 ] && _pp=$(free_port)
		"$@" -port "$_pp" -timeout 5 -ignore_err \
		    >"$_pki_run/$_pn.out" 2>&1 </dev/null &
		_ppid=$!
		_pki_wait "grep -qi 'waiting for OCSP client connections' \
		    '$_pki_run/$_pn.out'" "$_ppid" &&
		    proc_alive "$_ppid" || return 1
		echo "$_pp" >"$_pki_run/$_pn.port"
	else
		mkdir -p "$_pki_run/$_pn.tmp"
		_pki_ocspd >"$_pki_run/ocspd.py"
		/usr/bin/python3 "$_pki_run/ocspd.py" "$_pp" "$_pki_run/$_pn.port" \
		    "$_plog" "$_pki_run/$_pn.tmp" -- "$@" \
		    >"$_pki_run/$_pn.out" 2>&1 </dev/null &
		_ppid=$!
		_pki_wait "[ -s '$_pki_run/$_pn.port' ]" "$_ppid" || return 1
	fi
	echo "$_ppid" >"$_pki_run/$_pn.pid"
	_pport=$(cat "$_pki_run/$_pn.port")
}

pki_ocsp_start() {
	if [ $# -lt 1 ] || [ -z "${PKI_DIR:-}" ]; then
		echo "pki_ocsp_start: usage: pki_ocsp_start NAME [SIGNER [ARGS...]]" \
		    "(after pki_make)" >&2
		return 1
	fi
	case $1 in
	*[!A-Za-z0-9_]* | '')
		echo "pki_ocsp_start: bad name '$1' (letters, digits, _)" >&2
		return 1 ;;
	esac
	_pon=$1 _pos=${2:-ocsp}
	shift
	[ $# -gt 0 ] && shift
	if [ ! -r "$PKI_DIR/$_pos.pem" ] || [ ! -r "$PKI_DIR/$_pos.key" ]; then
		echo "pki_ocsp_start: no signer $PKI_DIR/$_pos.{pem,key}" >&2
		return 1
	fi
	_pnext=-ndays
	for _pa do
		shift
		case $_pa in
		nonext) _pnext=none; continue ;;
		-ndays | -nmin) _pnext=given ;;
		esac
		set -- "$@" "$_pa"
	done
	[ "$_pnext" = -ndays ] && set -- "$@" -ndays 1
	pki_ocsp_stop "$_pon"
	if [ -z "$_pki_atexit" ]; then
		at_exit pki_ocsp_stop
		_pki_atexit=1
	fi
	# A free port can be taken before we bind it: try another (not the
	# AIA port, which the certificates name).
	_paia=0
	_pki_aia_taken || _paia=$PKI_OCSP_PORT
	_pport=$_paia
	for _ptry in 1 2 3; do
		_pki_spawn "$_pon" "$_pport" "$_pos" "$@" && break
		proc_stop "$_ppid"
		rm -f "$_pki_run/$_pon.port"
		if [ "$_paia" != 0 ] || [ $_ptry = 3 ]; then
			{
				echo "pki_ocsp_start: responder $_pon did not start"
				cat "$_pki_run/$_pon.out"
			} | sed 's/^/# /' >&2
			return 1
		fi
		_pport=0
	done
	eval "PKI_OCSP_URL_$_pon=http://127.0.0.1:$_pport/"
	eval "PKI_OCSP_LOG_$_pon=\$_pki_run/$_pon.log"
	export "PKI_OCSP_URL_$_pon" "PKI_OCSP_LOG_$_pon"
	return 0
}

pki_ocsp_stop() {
	[ -n "$_pki_run" ] || return 0
	if [ $# -gt 0 ]; then
		set -- "$_pki_run/$1.pid"
	else
		set -- "$_pki_run"/*.pid
	fi
	for _pf do
		[ -s "$_pf" ] || continue
		proc_stop "$(cat "$_pf")"
		rm -f "$_pf" "${_pf%.pid}.port"
	done
	return 0
}
