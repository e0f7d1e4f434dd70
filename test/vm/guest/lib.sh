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
	# NETUBLKD_WRAP: a command that execs it, e.g. "ip netns exec NS".
	# shellcheck disable=SC2086
	$NETUBLKD_WRAP "$NETUBLKD" --ready-file "$LOGDIR/ready" "$@" >"$DLOG" 2>&1 &
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
	# Space-separated: "${DEVS%% *}" is the first device.
	# shellcheck disable=SC2046
	DEVS=$(echo $(awk '{print $1}' "$LOGDIR/ready"))
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

# ext4_roundtrip DEV DIR: ext4 on DEV mounted at DIR, a 16 MiB random file
# checksummed, unmounted, mounted again and checked.
ext4_roundtrip() {
	local dev=$1 mnt=$2 rc
	mkfs.ext4 -q -F "$dev" && mkdir -p "$mnt" && mount "$dev" "$mnt" &&
		head -c 16M /dev/urandom >"$mnt/f" && (cd "$mnt" && sha256sum f >"$mnt.sum") &&
		umount "$mnt" && mount "$dev" "$mnt" && (cd "$mnt" && sha256sum -c --quiet "$mnt.sum")
	rc=$?
	umount "$mnt" 2>/dev/null
	return $rc
}

# fio_during NAME DEV DELAY CMD...: fio verify (4k random writes at QD16,
# 32 MiB from 64 MiB, three loops) on DEV, CMD run DELAY seconds into it;
# fails on any fio error.
fio_during() {
	local name=$1 dev=$2 delay=$3 pid rc
	shift 3
	fio --name="$name" --filename="$dev" --ioengine=io_uring --direct=1 --rw=randwrite \
		--bs=4k --iodepth=16 --size=32M --verify=crc32c --do_verify=1 --verify_fatal=1 \
		--loops=3 --offset=64M >"$LOGDIR/fio-$name.out" 2>&1 &
	pid=$!
	sleep "$delay"
	"$@"
	wait $pid
	rc=$?
	[ $rc = 0 ] && grep -q 'err= 0' "$LOGDIR/fio-$name.out" && return 0
	tail -n 20 "$LOGDIR/fio-$name.out"
	return 1
}
# cpus_expand LIST: "0-2,5" or "0, 1" as "0 1 2 5".
cpus_expand() {
	local r out=()
	for r in $(echo "$1" | tr -d ' ' | tr , ' '); do
		out+=($(seq "${r%-*}" "${r#*-}"))
	done
	echo "${out[*]}"
}

# queues_placed blk-mq|apart: netublkd's (DPID) two queue threads run on the
# CPUs blk-mq maps to their ublk queue (of the first device in DEVS), or on
# all the online CPUs but those (--queue-affinity).
queues_placed() {
	local dev=${DEVS%% *} t q n=0 map want c
	for t in /proc/$DPID/task/*; do
		case $(cat "$t/comm") in netublk-q*) ;; *) continue ;; esac
		q=$(cat "$t/comm"); q=${q#netublk-q}
		map=$(cpus_expand "$(cat "/sys/block/${dev#/dev/}/mq/$q/cpu_list")")
		want=$map
		if [ "$1" = apart ]; then
			want=""
			for c in $(cpus_expand "$(cat /sys/devices/system/cpu/online)"); do
				[[ " $map " == *" $c "* ]] || want+="$c "
			done
			want=${want% }
		fi
		[ -n "$want" ] || return 1
		[ "$(cpus_expand "$(awk '/Cpus_allowed_list/ {print $2}' "$t/status")")" = "$want" ] ||
			return 1
		n=$((n + 1))
	done
	[ $n = 2 ]
}

# link_outage: loopback down for 4 s.
link_outage() { ip link set lo down; sleep 4; ip link set lo up; }

# dev_stat DEV FIELD: one of DEV's fields in netublkctl's JSON status.
dev_stat() {
	"$BUILD/netublkctl" --json status | python3 -c "
import json, sys
print(*[d['$2'] for t in json.load(sys.stdin)['targets'] for d in t.get('devices', [])
        if d['dev'] == '$1'])"
}

# copied_in_check LABEL BEFORE AFTER MIN: reads_copied_in went from BEFORE
# to AFTER over a job: with zero copy by MIN or more (its small reads came
# with a batch and were copied in), or not at all for MIN 0 (large reads
# stay zero copy); without zero copy it stays 0.
copied_in_check() {
	if [ "$EXPECT_MODE" != zero-copy ]; then
		check "$EXPECT_MODE: $1: none copied in" test "$3" = 0
	elif [ "$4" -gt 0 ]; then
		check "$EXPECT_MODE: $1: copied in ($(($3 - $2)))" test "$3" -ge $(($2 + $4))
	else
		check "$EXPECT_MODE: $1: none copied in" test "$3" = "$2"
	fi
}

# paths TARGET FIELD: a multipath target's paths from netublkctl status, in
# path order: per path the sum of FIELD over its connections (ios) or the
# set of their values (state, "a/b" when they differ); admin queues left out.
paths() {
	"$BUILD/netublkctl" --json status | python3 -c "
import json, sys
t = {x['name']: x for x in json.load(sys.stdin)['targets']}['$1']
by = {}
for p in t['paths']:
    if p['role'] != 'admin':
        by.setdefault(p['path'], []).append(p['$2'])
print(' '.join(str(sum(v)) if '$2' == 'ios' else '/'.join(sorted(set(v))) for k, v in sorted(by.items())))"
}

# crash_recover NAME DAEMON_ARGS...: with netublkd (DPID, DEVS) serving, fio
# verify on its first device; kill -9 netublkd mid-way; a new netublkd with
# the same arguments must take the device over (USER_RECOVERY) and fio must
# finish verified. Leaves the new daemon running.
crash_recover() {
	local name=$1 dev=${DEVS%% *} fio_pid rc; shift
	check "state recorded for recovery" test -f /run/netublk/state/ublk${dev#/dev/ublkb}
	fio --name=crash --filename=$dev --ioengine=io_uring --direct=1 --rw=randwrite --bs=4k \
		--iodepth=16 --size=24M --verify=crc32c --do_verify=1 --verify_fatal=1 --loops=3 \
		>"$LOGDIR/fio-$name.out" 2>&1 &
	fio_pid=$!
	sleep 3
	kill -9 $DPID; wait $DPID 2>/dev/null
	check "the device outlives netublkd" test -b $dev
	sleep 1
	mv "$DLOG" "$LOGDIR/$name-before-crash.log"
	if ! start_daemon "$name" "$@"; then
		fail "a new netublkd starts"; kill $fio_pid; return 1
	fi
	check "the new netublkd recovered the same device" grep -q "$dev: recovered" "$DLOG"
	check "no second device" test "$(echo $DEVS)" = "$dev"
	wait $fio_pid; rc=$?
	check "fio verify through the crash: exit 0, no error" sh -c "test $rc = 0 && grep -q 'err= 0' $LOGDIR/fio-$name.out"
	[ $rc = 0 ] || tail -n 20 "$LOGDIR/fio-$name.out"
}

# Kernel text must stay still while tests run: loading a module patches it,
# and multi-threaded TCG does not make patching code that another vCPU is
# running safe (seen as an int3 oops in io_submit_sqes when tgtd's iSER
# support pulled in the RDMA stack mid-suite). So every module the suite
# and its tools use is loaded at boot, before any I/O; requests the kernel
# makes on demand later go through a hook that refuses the RDMA stack
# (nothing here uses it) and logs the rest, which report_late_modules names
# so that they can join this list.
PRELOAD_MODULES="ublk_drv loop configfs target_core_mod target_core_iblock target_core_file
	iscsi_target_mod iscsi_tcp libiscsi_tcp sd_mod nvme_core nvme_fabrics nvme_tcp nvmet
	nvmet_tcp veth sch_netem tls ext4 inet_diag tcp_diag udp_diag unix_diag crc32c_generic crc32c_intel md5 sha1 sha256
	sha512 sha3_generic sha3 libsha3 hmac cbc ecb ghash_generic gcm aes_generic crypto_null dm_mod af_packet
	ipv6 nf_conntrack bridge mptcp_diag raw_diag target_core_pscsi target_core_user uio"
MODPROBE_LOG=/share/modprobe.log
preload_modules() {
	local m hook=/run/netublk-modprobe-hook
	for m in $PRELOAD_MODULES; do
		modprobe -q "$m" 2>/dev/null
	done
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config 2>/dev/null
	# The first memory cgroup flips a static key in the page allocator
	# (memcg_kmem_online): patched text, as a module load; seen as an int3
	# oops when the first container started mid-suite. Done here, for good.
	mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null
	echo "+memory +pids +cpu +io" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
	mkdir -p /sys/fs/cgroup/netublk-warm 2>/dev/null
	: >"$MODPROBE_LOG"
	cat >"$hook" <<HOOK
#!/bin/sh
# The kernel's on-demand module loader during the tests (see lib.sh).
case "\$*" in
*net-pf-16-proto-20*|*rdma*|*ib_*|*iw_cm*|*char-major-231*)
	echo "refused: \$*" >>$MODPROBE_LOG; exit 1 ;;
esac
echo "loaded: \$*" >>$MODPROBE_LOG
exec /sbin/modprobe "\$@"
HOOK
	chmod +x "$hook"
	echo "$hook" >/proc/sys/kernel/modprobe
	# udev loads drivers for new devices itself (not through the hook).
	mkdir -p /etc/udev/rules.d && : >/etc/udev/rules.d/80-drivers.rules
	awk '{print $1}' /proc/modules | sort >/run/netublk-modules.boot
	echo "guest: $(wc -l </run/netublk-modules.boot) modules loaded at boot"
}
report_late_modules() {
	local late
	late=$(awk '{print $1}' /proc/modules | sort | comm -13 /run/netublk-modules.boot - | tr '\n' ' ')
	[ -z "$late" ] || echo "guest: modules loaded after boot: $late"
	if [ -s "$MODPROBE_LOG" ]; then
		echo "guest: modules asked for on demand during the tests: $(sort -u "$MODPROBE_LOG" | tr '\n' ' ')"
	fi
}
