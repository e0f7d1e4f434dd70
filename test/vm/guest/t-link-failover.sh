# Link failover through rtnetlink: netublkd runs in a network namespace
# that reaches the targets over two veth pairs, one per path, so that
# `ip link set down` on the far end is a real carrier loss. Carrier lost on
# the active path during fio verify: the path fails at once (the log names
# the carrier, not a timeout), I/O moves, no error; the link returns: the
# path reconnects and serves again as the failback policy says: after it
# stayed up for a time (iSCSI), or once reinstated by hand (NVMe). Then an
# address and a route taken away and given back, one path each, and 5%
# loss with 50 ms delay (netem) on the path in use. Path 1 is
# down when netublkd starts, and joins when it comes up.
modprobe ublk_drv
. "$HERE/../../lio-lib.sh"
. "$HERE/../../nvmet-lib.sh"
lio_load && nvmet_load || { fail "LIO and nvmet load"; return; }
NS=nulink
IQN=iqn.2026-12.org.netublk:link
NQN=nqn.2026-12.org.netublk:link
net_up() {
	ip netns add $NS || return 1
	ip -n $NS link set lo up
	for i in 1 2; do
		ip link add nul${i}t type veth peer name nul${i}i || return 1
		ip link set nul${i}i netns $NS
		ip addr add 10.77.$i.1/24 dev nul${i}t
		ip -n $NS addr add 10.77.$i.2/24 dev nul${i}i
		ip link set nul${i}t up
		ip -n $NS link set nul${i}i up
	done
	ip -n $NS route get 10.77.1.1 >/dev/null && ip -n $NS route get 10.77.2.1 >/dev/null
}
net_down() {
	ip link del nul1t 2>/dev/null
	ip link del nul2t 2>/dev/null
	ip netns del $NS 2>/dev/null
}
if ! net_up; then
	fail "two veth paths into a network namespace"; net_down; return
fi
pass "two veth paths into a network namespace"
tpg=$(lio_tpg $IQN)
mkdir -p "$tpg/np/10.77.1.1:3260" "$tpg/np/10.77.2.1:3260"
lio_fileio_lun $IQN /tmp/link-lio.img 48
lio_open $IQN
lio_enable $IQN
nvmet_subsys $NQN
nvmet_ns $NQN 1 48 512
for i in 1 2; do
	nvmet_port 1$i 4420
	echo 10.77.$i.1 >"$NVMET/ports/1$i/addr_traddr"
	nvmet_link $NQN 1$i
done
cat >/tmp/link.conf <<CONF
[global]
queues = 2
[target lio]
portal = 10.77.1.1:3260, 10.77.2.1:3260
target = $IQN
path_selector = failover
no_path_retry = 60
failback = 12
[target nv]
transport = nvme-tcp
address = 10.77.1.1:4420 10.77.2.1:4420
subsystem = $NQN
path_selector = failover
no_path_retry = 60
failback = manual
CONF
cleanup() {
	kill -9 $DPID 2>/dev/null
	nvmet_clear
	rmdir "$tpg/np/10.77.1.1:3260" "$tpg/np/10.77.2.1:3260" 2>/dev/null
	net_down
}
# Path 1 is down at start: served without it, it joins once it is back.
ip link set nul2t down
NETUBLKD_WRAP="ip netns exec $NS"
if ! start_daemon link --config /tmp/link.conf --log-time; then
	fail "netublkd in the namespace, two paths per volume"; NETUBLKD_WRAP=; cleanup; return
fi
NETUBLKD_WRAP=
pass "netublkd in the namespace, two paths per volume"
check "netublkd watches links through rtnetlink" grep -q 'netmon: watching links' $DLOG
lio_dev=$(readlink /run/netublk/by-id/$IQN-lun0)
nv_dev=$(readlink /run/netublk/by-id/$NQN-ns1)
wait_state() { # wait_state TARGET REGEX: up to 30 s for the paths' states to match
	for _ in $(seq 150); do paths $1 state | grep -Eqx "$2" && return 0; sleep 0.2; done
	echo "$1: $(paths $1 state), wanted $2"; return 1
}
UP='(up|failback-wait)'
check "a path down at start: the devices come up without it" sh -c "
	test '$(paths lio state)' = up && test '$(paths nv state)' = up &&
	test \$(grep -c 'path 10.77.2.1:[0-9]* is down: served without it until it joins' $DLOG) = 2"
ip link set nul2t up
check "back, it joins the device (both transports)" sh -c "
	$(declare -f paths wait_state); wait_state lio 'up up' && wait_state nv 'up up' &&
	grep -q 'lio: path 1 (10.77.2.1:3260) joins, on 2 queue(s)' $DLOG &&
	grep -q 'nv: path 1 (10.77.2.1:4420) joins, on 2 queue(s)' $DLOG"

# Carrier lost on path 0 (its far end down) during fio verify, then back.
pids=
for d in $lio_dev $nv_dev; do
	fio --name=link --filename=$d --ioengine=io_uring --direct=1 --rw=randwrite --bs=16k \
		--iodepth=16 --size=16M --verify=crc32c --verify_backlog=64 --verify_fatal=1 \
		--time_based --runtime=16 >"$LOGDIR/fio-link-${d#/dev/}.out" 2>&1 &
	pids="$pids $!"
done
sleep 3
lio_before=$(paths lio ios); nv_before=$(paths nv ios)
ip link set nul1t down
sleep 4
lio_down=$(paths lio ios); nv_down=$(paths nv ios)
lio_state=$(paths lio state); nv_state=$(paths nv state)
ip link set nul1t up
set -- $pids
wait $1; rc1=$?
wait $2; rc2=$?
check "fio verify on iSCSI through a lost carrier: no error" \
	sh -c "test $rc1 = 0 && grep -q 'err= 0' $LOGDIR/fio-link-${lio_dev#/dev/}.out"
check "fio verify on NVMe through a lost carrier: no error" \
	sh -c "test $rc2 = 0 && grep -q 'err= 0' $LOGDIR/fio-link-${nv_dev#/dev/}.out"
check "the carrier loss failed path 0 at once (rtnetlink, not a timeout)" sh -c "
	test \$(grep -c 'the network no longer reaches 10.77.1.1:[0-9]*: carrier lost on nul1i' $DLOG) -ge 4"
check "while it was down, path 0 showed down and path 1 carried the I/O" sh -c "
	test '${lio_state%% *}' != up && test '${nv_state%% *}' != up &&
	test ${lio_down#* } -gt ${lio_before#* } && test ${nv_down#* } -gt ${nv_before#* }"
check "no reconnect was tried while the carrier was down" \
	grep -q 'carrier lost on nul1i; no reconnect until it does again' $DLOG
check "the link back: path 0 reconnects by the link event, then waits for its failback" sh -c "
	$(declare -f paths wait_state); wait_state lio 'failback-wait up' && wait_state nv 'failback-wait up' &&
	grep -q 'the network reaches 10.77.1.1:[0-9]* again: reconnecting' $DLOG"
check "the waits are logged" sh -c "
	grep -q 'lio: path 0 (10.77.1.1:3260) is back: used as before once up for 12 s (failback)' $DLOG &&
	grep -q 'nv: path 0 (10.77.1.1:4420) is back: used only when no other path is, until reinstated (failback manual)' $DLOG"
lio_before=$(paths lio ios); nv_before=$(paths nv ios)
for d in $lio_dev $nv_dev; do dd if=/dev/urandom of=$d bs=64k count=32 oflag=direct 2>/dev/null; done
lio_after=$(paths lio ios); nv_after=$(paths nv ios)
check "while it waits, the path back carries nothing" sh -c "
	test ${lio_after% *} = ${lio_before% *} && test ${lio_after#* } -gt ${lio_before#* } &&
	test ${nv_after% *} = ${nv_before% *} && test ${nv_after#* } -gt ${nv_before#* }"
check "failback 12: after 12 s up, path 0 is in use as before" sh -c "
	$(declare -f paths wait_state); wait_state lio 'up up' &&
	grep -q 'lio: path 0 (10.77.1.1:3260) up for 12 s: in use as before (failback)' $DLOG"
check "failback manual: path 0 still waits" test "$(paths nv state)" = "failback-wait up"
check "path reinstate ends the wait" sh -c "
	'$BUILD/netublkctl' path reinstate nv 0 | grep -q reinstated &&
	$(declare -f paths wait_state); wait_state nv 'up up'"
lio_before=$(paths lio ios); nv_before=$(paths nv ios)
check "fio verify after the failback (iSCSI)" fio_verify $lio_dev 64k 8 8M
check "fio verify after the failback (NVMe)" fio_verify $nv_dev 64k 8 8M
lio_after=$(paths lio ios); nv_after=$(paths nv ios)
check "failover selector: path 0 carries the I/O again" sh -c "
	test ${lio_after% *} -gt ${lio_before% *} && test ${nv_after% *} -gt ${nv_before% *}"

# The idle path's address removed: it fails; back: it reconnects.
ip -n $NS addr del 10.77.2.2/24 dev nul2i
check "an address removed fails its path" sh -c "
	$(declare -f paths wait_state); wait_state lio 'up reconnecting' &&
	grep -q 'the network no longer reaches 10.77.2.1:3260: address 10.77.2.2 is gone' $DLOG"
ip -n $NS addr add 10.77.2.2/24 dev nul2i
check "... and given back, the path reconnects" sh -c "
	$(declare -f paths wait_state); wait_state lio 'up $UP' && wait_state nv 'up failback-wait'"
# The NVMe path's controller may be re-associated once more after its
# return (keep-alive), which is a new return and a new wait: reinstate
# until it serves.
check "... and, failback manual, serves once reinstated" sh -c "
	$(declare -f paths); for i in \$(seq 10); do
		'$BUILD/netublkctl' path reinstate nv 1 | grep -q reinstated || exit 1
		sleep 2; paths nv state | grep -qx 'up up' && exit 0
	done; exit 1"

# The active path's route removed: I/O moves; the route back: it returns.
ip -n $NS route del 10.77.1.0/24 dev nul1i
check "a route removed fails its path" sh -c "
	$(declare -f paths wait_state); wait_state nv 'reconnecting up' &&
	grep -q 'the network no longer reaches 10.77.1.1:4420: no route to 10.77.1.1' $DLOG"
check "fio verify with the route gone" fio_verify $nv_dev 16k 8 8M
ip -n $NS route add 10.77.1.0/24 dev nul1i
check "... and put back, the path reconnects" sh -c "
	$(declare -f paths wait_state); wait_state nv '$UP up'"
# A bad link rather than a dead one: 5% loss and 50 ms each way on path 0,
# which both devices use (every path reinstated: the route's removal left
# iSCSI's waiting out its failback too): slower, no error, no failover
# (the timeouts are far longer than TCP's retransmits).
# The NVMe controller may be re-associated once more after the route's
# return (a new return, a new wait): reinstate until all four serve.
for _ in $(seq 10); do
	for t in lio nv; do for p in 0 1; do $BUILD/netublkctl path reinstate $t $p >/dev/null; done; done
	sleep 2
	[ "$(paths lio state) $(paths nv state)" = "up up up up" ] && break
done
tc qdisc add dev nul1t root netem loss 5% delay 50ms
ip netns exec $NS tc qdisc add dev nul1i root netem loss 5% delay 50ms
before_l=$(paths lio ios | awk '{print $1}') before_n=$(paths nv ios | awk '{print $1}')
check "fio verify over a lossy, slow path (iSCSI)" fio_verify $lio_dev 16k 8 2M
check "fio verify over a lossy, slow path (NVMe)" fio_verify $nv_dev 16k 8 2M
check "the lossy path carried that I/O, and stayed up" sh -c "
	$(declare -f paths); BUILD=$BUILD
	test \$(paths lio ios | awk '{print \$1}') -gt $before_l &&
	test \$(paths nv ios | awk '{print \$1}') -gt $before_n &&
	test \"\$(paths lio state) \$(paths nv state)\" = 'up up up up'"
tc qdisc del dev nul1t root
ip netns exec $NS tc qdisc del dev nul1i root
same() { # same DEV FILE
	dd if=$1 iflag=direct bs=1M 2>/dev/null | cmp - $2
}
check "reads through both paths equal the targets' backing files" sh -c "
	$(declare -f same); same $lio_dev /tmp/link-lio.img && same $nv_dev $(nvmet_img 1)"
nv_sum=$(dd if=$nv_dev iflag=direct bs=1M 2>/dev/null | sha256sum)
check "SIGTERM: exit 0" stop_daemon
check "no device left" no_ublk_devices
# An independent reader: the kernel's initiator, through path 1's port.
if nvme_kernel_connect $NQN 4420 10.77.2.1; then
	check "the kernel's nvme-tcp reads what went through both paths" \
		test "$(dd if=${KDEVS%% *} iflag=direct bs=1M 2>/dev/null | sha256sum)" = "$nv_sum"
	nvme_kernel_disconnect $NQN
else
	fail "the kernel's nvme-tcp connects"; cat /tmp/nvme-connect.log
fi
cleanup
