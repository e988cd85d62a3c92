# t/rig/port.sh: free_port prints a port free for both TCP and UDP on
# 127.0.0.1.  Sourced by t/lib.sh and by contrib/bench/run.sh.
free_port() {
	/usr/bin/python3 - <<'PY'
import socket
for _ in range(50):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p))
    except OSError:
        s.close(); continue
    u.close(); s.close(); print(p); break
PY
}
