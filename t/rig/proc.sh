# t/rig/proc.sh: stopping the servers a test started.  Sourced by t/lib.sh.
#
#   proc_alive PID   alive and not a zombie (a container's init may never
#                    reap one)
#   proc_stop PID    TERM, up to 5 s, then KILL; reaped when it is ours

proc_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

proc_stop() {
	kill -TERM "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
	_ps_n=0
	while proc_alive "$1" && [ $_ps_n -lt 250 ]; do
		sleep 0.02
		_ps_n=$((_ps_n + 1))
	done
	proc_alive "$1" && kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}
