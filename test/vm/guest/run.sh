#!/bin/bash
# Runs guest tests inside the VM: run.sh BUILD_DIR TEST...
# Prints PASS/FAIL/SKIP lines and a summary; exits non-zero on any failure.
# Writes /share/progress ("start T", "done T", "end") so that the host can
# tell which test was running if the VM dies, and go on in a new boot.
BUILD=$(realpath "$1"); shift
export BUILD
HERE=$(cd "$(dirname "$0")" && pwd)
FAILED=0
export LOGDIR=/share/logs
PROGRESS=/share/progress
# shellcheck source=lib.sh
. "$HERE/lib.sh"
echo "guest: kernel $(uname -r), tests: $*"
preload_modules
for t in "$@"; do
	echo "start $t" >>"$PROGRESS"
	echo "=== $t"
	# shellcheck disable=SC1090
	( FAILED=0; . "$HERE/$t.sh"; exit $FAILED ) || FAILED=1
	# A test that died mid-way must not leave its daemon to the next one.
	pkill -9 -x netublkd 2>/dev/null && sleep 0.5
	echo "done $t" >>"$PROGRESS"
done
report_late_modules
echo end >>"$PROGRESS"
exit $FAILED
