# shellcheck shell=bash
# Helpers for tests that run inside the VM (sourced by run.sh).
# Each check prints one line: "PASS: name", "FAIL: name" or "SKIP: name".

: "${BUILD:?BUILD must name the build directory}"
NETUBLKD=$BUILD/netublkd
LOGDIR=${LOGDIR:-/tmp/netublk-test}
mkdir -p "$LOGDIR"

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }
skip() { echo "SKIP: $*"; }
check() { # check NAME CMD...: PASS when CMD succeeds
	local name=$1; shift
	if "$@" >"$LOGDIR/check.out" 2>&1; then pass "$name"; else
		fail "$name"; sed 's/^/    /' "$LOGDIR/check.out" | tail -n 30
	fi
}

no_ublk_devices() {
	! ls /dev/ublkb* /dev/ublkc* >/dev/null 2>&1
}

# start_daemon NAME ARGS...: runs netublkd in the background, waits until its
# devices are up. Sets DPID, DLOG, and DEVS (the /dev/ublkbN names).
start_daemon() {
	local name=$1; shift
	DLOG=$LOGDIR/$name.log
	rm -f "$LOGDIR/ready"
	"$NETUBLKD" --ready-file "$LOGDIR/ready" "$@" >"$DLOG" 2>&1 &
	DPID=$!
	for _ in $(seq 1 600); do
		[ -f "$LOGDIR/ready" ] && break
		kill -0 $DPID 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -f "$LOGDIR/ready" ]; then
		echo "netublkd $* did not come up:"; sed 's/^/    /' "$DLOG"
		kill -9 $DPID 2>/dev/null; wait $DPID 2>/dev/null
		return 1
	fi
	DEVS=$(awk '{print $1}' "$LOGDIR/ready")
	DMODES=$(awk '{print $2}' "$LOGDIR/ready" | sort -u)
	for d in $DEVS; do
		for _ in $(seq 1 100); do [ -b "$d" ] && break; sleep 0.1; done
	done
}

# stop_daemon: SIGTERM, wait; returns netublkd's exit status.
stop_daemon() {
	local rc
	kill -TERM $DPID
	wait $DPID; rc=$?
	return $rc
}

# fio_verify DEV BS QD SIZE [extra fio args]: write, then read back and check
# every block's crc32c; fio exits non-zero on any mismatch or I/O error.
fio_verify() {
	local dev=$1 bs=$2 qd=$3 size=$4; shift 4
	fio --name=verify --filename="$dev" --ioengine=io_uring --direct=1 --rw=randwrite \
		--bs="$bs" --iodepth="$qd" --size="$size" --verify=crc32c --do_verify=1 \
		--verify_fatal=1 --randrepeat=0 "$@" >"$LOGDIR/fio.out" 2>&1 ||
		{ tail -n 30 "$LOGDIR/fio.out"; return 1; }
	grep -q 'err= 0' "$LOGDIR/fio.out" || { cat "$LOGDIR/fio.out"; return 1; }
}
