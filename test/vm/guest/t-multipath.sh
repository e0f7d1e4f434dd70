# Multipath: a target with two portals (LIO) and a subsystem on two ports
# (nvmet) are one device per volume with two paths each, both carrying
# I/O (round-robin). One path is taken away during fio verify: no error,
# I/O goes on the other; it comes back and serves again. Both taken away
# longer than no_path_retry: I/O fails with EIO, the daemon stays up, and
# a returning path serves again. What went through both paths is compared
# with the targets' backing files.
modprobe ublk_drv
. "$HERE/../../lio-lib.sh"
. "$HERE/../../nvmet-lib.sh"
lio_load && nvmet_load || { fail "LIO and nvmet load"; return; }
IQN=iqn.2026-12.org.netublk:mp
NQN=nqn.2026-12.org.netublk:mp
lio_target $IQN 3290
lio_target $IQN 3291
lio_fileio_lun $IQN /tmp/mp-lio.img 48
lio_open $IQN
lio_enable $IQN
nvmet_subsys $NQN
nvmet_ns $NQN 1 48 512
nvmet_port 1 4441
nvmet_port 2 4442
nvmet_link $NQN 1
nvmet_link $NQN 2
cat >/tmp/mp.conf <<CONF
[global]
queues = 2
[target lio]
portal = 127.0.0.1:3290, 127.0.0.1:3291
target = $IQN
path_selector = round-robin
no_path_retry = 4
[target nv]
transport = nvme-tcp
address = 127.0.0.1:4441 127.0.0.1:4442
subsystem = $NQN
path_selector = round-robin
no_path_retry = 4
keep_alive_timeout = 2
reconnect_delay = 1
CONF
if ! start_daemon mp --config /tmp/mp.conf; then
	fail "netublkd starts with two two-path targets"; nvmet_clear; return
fi
pass "netublkd starts with two two-path targets"
check "one device per volume" test "$(echo $DEVS | wc -w)" = 2
lio_dev=$(readlink /run/netublk/by-id/$IQN-lun0)
nv_dev=$(readlink /run/netublk/by-id/$NQN-ns1)
check "iSCSI: two paths, both up" test "$(paths lio state)" = "up up"
check "NVMe: two paths, both up" test "$(paths nv state)" = "up up"
for d in $lio_dev $nv_dev; do
	dd if=/dev/urandom of=$d bs=1M count=48 oflag=direct 2>/dev/null
done
check "round-robin: both iSCSI paths carried I/O" sh -c "$(declare -f paths); paths lio ios | awk '{ok = \$1 > 0 && \$2 > 0} END {exit !ok}'"
check "round-robin: both NVMe paths carried I/O" sh -c "$(declare -f paths); paths nv ios | awk '{ok = \$1 > 0 && \$2 > 0} END {exit !ok}'"

# By hand, as multipathd's fail path / reinstate path.
CTL=$BUILD/netublkctl
"$CTL" path list | sed 's/^/    /'
check "path list: two paths per target" test "$("$CTL" path list | grep -c 'active')" = 4
check "path fail lio 1" sh -c "'$CTL' path fail lio 127.0.0.1:3291 | grep -q 'path 1 (127.0.0.1:3291): failed'"
before=$(paths lio ios)
dd if=/dev/urandom of=$lio_dev bs=64k count=64 oflag=direct 2>/dev/null
after=$(paths lio ios)
check "a failed path carries no I/O, the other all of it" sh -c "
	test '${before#* }' = '${after#* }' && test '${before% *}' -lt '${after% *}'"
check "path list shows it failed" sh -c "'$CTL' path list | grep -q '^lio .* 1 127.0.0.1:3291 .* failed'"
check "path reinstate lio 1" sh -c "'$CTL' path reinstate lio 1 | grep -q reinstated"
dd if=/dev/urandom of=$lio_dev bs=64k count=64 oflag=direct 2>/dev/null
check "the reinstated path carries I/O again" test "$(paths lio ios | awk '{print $2}')" -gt "${after#* }"
check "path fail of an unknown path is refused" sh -c "! '$CTL' path fail lio 7 2>/dev/null"

# Faults on command: a dropped connection, then a black hole (no byte in or
# out: only the NOP-Out timeout can tell), during fio verify.
# Time-based, verifying as it goes: I/O must span the black hole and its
# detection (10-12 s), whatever the VM's speed.
fio --name=inject --filename=$lio_dev --ioengine=io_uring --direct=1 --rw=randwrite --bs=16k \
	--iodepth=16 --size=16M --verify=crc32c --verify_backlog=64 --verify_fatal=1 \
	--time_based --runtime=24 >"$LOGDIR/fio-mp-inject.out" 2>&1 &
fpid=$!
sleep 2
check "path inject drop" sh -c "'$CTL' path inject lio 0 drop | grep -q 'drop injected on 2 connection'"
sleep 4
check "path inject blackhole" \
	sh -c "'$CTL' path inject lio 1 blackhole 14 | grep -q 'blackhole for 14 s injected on 2 connection(s)'"
wait $fpid; rc=$?
check "fio verify through a dropped and a black-holed path: no error" \
	sh -c "test $rc = 0 && grep -q 'err= 0' $LOGDIR/fio-mp-inject.out"
# Moves are logged at the next multipath tick: fio may end before.
for _ in $(seq 25); do grep -q 'path 1 (127.0.0.1:3291) down or refusing: .* s after the injected' $DLOG && break; sleep 0.2; done
check "the black hole was found by the NOP-Out timeout, its commands moved" sh -c "
	grep -q 'NOP-Out ping timed out' $DLOG &&
	grep -q 'path 1 (127.0.0.1:3291) down or refusing: .* s after the injected fault' $DLOG"
check "the injected faults are logged" sh -c "
	grep -q 'injected fault: connection to 127.0.0.1:3290 dropped' $DLOG &&
	grep -q 'injected fault: connection to 127.0.0.1:3291 black-holed for 14000 ms' $DLOG"
for _ in $(seq 150); do [ "$(paths lio state)" = "up up" ] && break; sleep 0.2; done
check "after the black hole both paths serve again" test "$(paths lio state)" = "up up"
check "path inject with a bad fault is refused" sh -c "! '$CTL' path inject lio 1 melt 2>/dev/null"
check "path inject delay without its duration is refused" \
	sh -c "! '$CTL' path inject lio 0 delay 200 2>/dev/null"

# An injected delay: every send on path 0 waits 200 ms (path 1 out of use,
# so that each read goes that way); five reads take a second at least.
"$CTL" path fail lio 1 >/dev/null
check "path inject delay" sh -c "
	'$CTL' path inject lio 0 delay 200 8 | grep -q 'delay of 200 ms for 8 s injected on 2 connection(s)'"
t0=$(date +%s%N)
for i in 1 2 3 4 5; do dd if=$lio_dev of=/dev/null bs=4k count=1 skip=$((i * 9)) iflag=direct 2>/dev/null; done
t1=$(date +%s%N)
check "the delay holds each command back: 5 reads, 1 s or more" test $(((t1 - t0) / 1000000)) -ge 1000
check "fio verify through the delay" fio_verify $lio_dev 16k 8 2M
check "the delay is logged, and its end" sh -c "
	grep -q 'injected fault: sends to 127.0.0.1:3290 delayed by 200 ms for 8000 ms' $DLOG &&
	for _ in \$(seq 60); do grep -q 'injected delay over' $DLOG && exit 0; sleep 0.2; done; exit 1"
"$CTL" path reinstate lio 1 >/dev/null

pids=
for d in $lio_dev $nv_dev; do
	fio --name=mp --filename=$d --ioengine=io_uring --direct=1 --rw=randwrite --bs=16k \
		--iodepth=16 --size=32M --verify=crc32c --do_verify=1 --verify_fatal=1 --loops=3 \
		>"$LOGDIR/fio-mp-${d#/dev/}.out" 2>&1 &
	pids="$pids $!"
done
sleep 3
# Path 1 of each goes away: the portal and its sessions, the port.
rmdir "$(lio_tpg $IQN)/np/127.0.0.1:3291"
ss -K state established "( sport = :3291 )" >/dev/null 2>&1
rm "$NVMET/ports/2/subsystems/$NQN"
set -- $pids
wait $1; rc1=$?
wait $2; rc2=$?
check "fio verify on the iSCSI device with a path lost: no error" \
	sh -c "test $rc1 = 0 && grep -q 'err= 0' $LOGDIR/fio-mp-${lio_dev#/dev/}.out"
check "fio verify on the NVMe device with a path lost: no error" \
	sh -c "test $rc2 = 0 && grep -q 'err= 0' $LOGDIR/fio-mp-${nv_dev#/dev/}.out"
check "the lost paths are shown down" sh -c "
	test \"\$(paths lio state)\" != 'up up' && test \"\$(paths nv state)\" != 'up up'"
mkdir -p "$(lio_tpg $IQN)/np/127.0.0.1:3291"
nvmet_link $NQN 2
for _ in $(seq 100); do
	[ "$(paths lio state) $(paths nv state)" = "up up up up" ] && break
	sleep 0.2
done
check "the paths come back by themselves" test "$(paths lio state) $(paths nv state)" = "up up up up"
before=$(paths lio ios | awk '{print $2}')
check "fio verify after the path returned" fio_verify $lio_dev 64k 8 16M
check "the returned iSCSI path carries I/O again" test "$(paths lio ios | awk '{print $2}')" -gt "$before"
# Direct reads on both sides: what the paths return, not a page cache's.
same() { # same DEV FILE
	dd if=$1 iflag=direct bs=1M 2>/dev/null | cmp - $2 ||
		{ dd if=$1 iflag=direct bs=1M 2>/dev/null | cmp -l - $2 | head -n 5; return 1; }
}
check "reads through both paths equal the targets' backing files" sh -c "
	$(declare -f same); same $lio_dev /tmp/mp-lio.img && same $nv_dev $(nvmet_img 1)"

# Every path gone for longer than no_path_retry (4 s): EIO, the daemon lives.
rmdir "$(lio_tpg $IQN)/np/127.0.0.1:3290" "$(lio_tpg $IQN)/np/127.0.0.1:3291"
ss -K state established "( sport = :3290 or sport = :3291 )" >/dev/null 2>&1
t0=$(date +%s)
dd if=$lio_dev of=/dev/null bs=4k count=1 skip=77 iflag=direct 2>"$LOGDIR/dd-nopath.err"; rc=$?
t1=$(date +%s)
check "no path: the read fails with an I/O error" sh -c "test $rc != 0 && grep -q 'Input/output error' $LOGDIR/dd-nopath.err"
check "... after waiting no_path_retry, not at once" test $((t1 - t0)) -ge 3
check "the daemon is still up" kill -0 $DPID
mkdir -p "$(lio_tpg $IQN)/np/127.0.0.1:3290"
for _ in $(seq 100); do [ "$(paths lio state | cut -d' ' -f1)" = up ] && break; sleep 0.2; done
state0=$(paths lio state | cut -d' ' -f1)
check "a returning path serves again, on every queue" sh -c "
	test '$state0' = up &&
	for q in 0 1; do taskset -c \$q dd if=$lio_dev of=/dev/null bs=4k count=16 iflag=direct || exit 1; done"
check "... and the no-path state ended with it" sh -c "
	sleep 1; taskset -c 0 dd if=$lio_dev of=/dev/null bs=4k count=16 iflag=direct &&
	test \$(grep -c 'no path for 4 s' $DLOG) -le 2"
"$BUILD/netublkctl" status | sed 's/^/    /'

# A crash: both multipath devices taken over, fio verify through it.
fio --name=crash --filename=$nv_dev --ioengine=io_uring --direct=1 --rw=randwrite --bs=4k \
	--iodepth=16 --size=16M --verify=crc32c --do_verify=1 --verify_fatal=1 --loops=2 \
	>"$LOGDIR/fio-mp-crash.out" 2>&1 &
fpid=$!
sleep 2
kill -9 $DPID; wait $DPID 2>/dev/null
mv $DLOG $LOGDIR/mp-before-crash.log
if start_daemon mp --config /tmp/mp.conf; then
	check "after kill -9 both multipath devices are recovered" \
		test "$(grep -c ': recovered' $DLOG)" = 2
	wait $fpid; rc=$?
	check "fio verify through the crash: no error" \
		sh -c "test $rc = 0 && grep -q 'err= 0' $LOGDIR/fio-mp-crash.out"
	check "both paths up again after the takeover" test "$(paths nv state)" = "up up"
else
	fail "a new netublkd starts after kill -9"; kill $fpid
fi
check "SIGTERM: exit 0" stop_daemon
check "no device left" no_ublk_devices
nvmet_clear
