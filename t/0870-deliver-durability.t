#!/bin/sh
# lib/deliver on a full disk: a 256 KiB tmpfs in a mount namespace of our
# own (so nothing stays mounted however the test ends), then the cmocka
# suite's full-disk group (test_deliver with DELIVER_DISK_DIR): a message
# bigger than the free space is a temporary failure, maildir keeps
# nothing in tmp/ or new/, the mbox is back to its exact old bytes.
. "$(dirname "$0")/lib.sh"

unit="$MXKIT_BIN/unit/test_deliver"
[ -x "$unit" ] || { echo "Bail out! $unit is missing"; exit 1; }
[ "$(id -u)" = 0 ] || skip_all "needs root for a tmpfs mount"
command -v unshare >/dev/null || skip_all "no unshare(1)"
mkdir disk
unshare -m sh -c 'mount -t tmpfs -o size=256k,mode=0700 tmpfs disk' \
	>/dev/null 2>&1 || skip_all "unshare -m or mount -t tmpfs not permitted"

# The tmpfs lives as long as the namespace: the test runs inside it.
# No exec: lib.sh's cleanup removes the scratch directory afterwards.
CMOCKA_MESSAGE_OUTPUT=TAP DELIVER_DISK_DIR="$TEST_DIR/disk" \
	unshare -m sh -c '
	mount --make-rprivate / 2>/dev/null
	mount -t tmpfs -o size=256k,mode=0700 tmpfs disk || exit 1
	exec "$0"' "$unit"
