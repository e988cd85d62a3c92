# t/lib-procmail.sh: deliver a test message with the real procmail.
# Source after t/lib.sh.
#
#   procmail_run NAME MSG [MAILDIR [PATH]]
#       Write $TEST_DIR/NAME.rc: the common settings (SHELL, PATH, MAILDIR,
#       DEFAULT, LOGFILE $TEST_DIR/NAME.log), then the test's own recipe
#       lines read from standard input, then the default delivery; run
#       procmail -m on it with MSG as the message (bounded by timeout).
#       NAME is a maildir $TEST_DIR/NAME/, or an mbox file when it ends
#       in .mbox.  MAILDIR defaults to $TEST_DIR, PATH to our binaries
#       first, then /usr/bin:/bin.

# procmail refuses a recipe file in a directory others can write, and
# reads $HOME/.procmailrc: give it a home of its own.
mkdir -p "$TEST_DIR/home"
HOME=$TEST_DIR/home
export HOME

procmail_run() {
	_pm_n=$1 _pm_msg=$2 _pm_dir=${3:-$TEST_DIR}
	_pm_path=${4:-$MXKIT_BIN:/usr/bin:/bin}
	case $_pm_n in
	*.mbox) _pm_dest=$TEST_DIR/$_pm_n ;;
	*) mkdir -p "$TEST_DIR/$_pm_n"; _pm_dest=$TEST_DIR/$_pm_n/ ;;
	esac
	{
		echo "SHELL=/bin/sh"
		echo "PATH=$_pm_path"
		echo "MAILDIR=$_pm_dir"
		echo "DEFAULT=$_pm_dest"
		echo "LOGFILE=$TEST_DIR/$_pm_n.log"
		cat
		printf ':0\n$DEFAULT\n'
	} >"$TEST_DIR/$_pm_n.rc"
	chmod 644 "$TEST_DIR/$_pm_n.rc"
	(cd "$_pm_dir" && exec timeout 60 procmail -m "$TEST_DIR/$_pm_n.rc") \
	    <"$_pm_msg"
}
