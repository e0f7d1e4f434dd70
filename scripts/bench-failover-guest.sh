#!/bin/bash
# Guest side of bench-failover.sh: TRIALS interleaved rounds of
#   netublk-link       netublkd in a network namespace, two veth paths to
#                      nvmet, round-robin; path 0's carrier dropped (its
#                      far end set down)
#   netublk-blackhole  netublkd, two loopback ports, round-robin; one port
#                      black-holed (tc drops its packets both ways)
#   kernel-blackhole   the kernel's nvme-tcp with native multipath over the
#                      same two ports, iopolicy round-robin, the same hole
#   kernel-link        the kernel's nvme-tcp in the same namespace over the
#                      same two veth paths (a subsystem of its own, so that
#                      its controllers are not the black-hole ones), iopolicy
#                      round-robin, keep-alive 5 s; the same carrier loss
#   netublk-iscsi-blackhole  netublkd to LIO over two loopback portals,
#                      round-robin; one portal black-holed
#   dm-multipath-blackhole   the kernel's iSCSI initiator (open-iscsi) with
#                      dm-multipath (multipathd: multibus, round-robin,
#                      queue_if_no_path) over the same portals, the same hole
# The NVMe black-hole stacks run with keep-alive 5 s and command/io timeout
# 30 s; the iSCSI ones with NOP-Out every 5 s, timeout 5 s (both stacks'
# defaults), and the kernel's replacement_timeout 0 (fail to dm-multipath
# at once, as netublk hands a lost path's commands on at once). The
# kernel's iSCSI cannot see a carrier loss (no netlink watch): for it a
# lost link is a black hole, found by the same NOP-Out timeout. Each trial reads 4 KiB at QD1 with a per-I/O latency log; the
# failover time is the longest I/O of the trial (the one caught on the
# failed path, from its submission to its completion on the other).
set -euo pipefail
B=$1 TRIALS=$2
OUT=/share/failover.tsv
HERE=$(cd "$(dirname "$0")" && pwd)
modprobe ublk_drv
modprobe -a sch_prio cls_u32 act_gact nvme_tcp
. "$HERE/../test/nvmet-lib.sh"
nvmet_load
NQN=nqn.2026-12.org.netublk:failover
nvmet_subsys $NQN
nvmet_ns $NQN 1 256 4096
nvmet_port 1 4441
nvmet_port 2 4442
for i in 1 2; do
	nvmet_port 1$i 4420
	echo 10.78.$i.1 >"$NVMET/ports/1$i/addr_traddr"
done
# iSCSI: LIO on two loopback portals, for netublk and for open-iscsi + dm-multipath.
. "$HERE/../test/lio-lib.sh"
lio_load
IQN=iqn.2026-12.org.netublk:failover
lio_target $IQN 3301
mkdir -p "$(lio_tpg $IQN)/np/127.0.0.1:3302"
lio_fileio_lun $IQN /tmp/fo-lio.img 256
lio_open $IQN
lio_enable $IQN
ip netns add nufo
ip -n nufo link set lo up
for i in 1 2; do
	ip link add nuf${i}t type veth peer name nuf${i}i
	ip link set nuf${i}i netns nufo
	ip addr add 10.78.$i.1/24 dev nuf${i}t
	ip -n nufo addr add 10.78.$i.2/24 dev nuf${i}i
	ip link set nuf${i}t up
	ip -n nufo link set nuf${i}i up
done
for p in 1 2 11 12; do nvmet_link $NQN $p; done
KNQN=nqn.2026-12.org.netublk:failover-k
nvmet_subsys $KNQN
nvmet_ns $KNQN 2 256 4096  # nsid 2: another NGUID and image, or the kernel sees one twice
for i in 1 2; do
	nvmet_port 2$i 4421
	echo 10.78.$i.1 >"$NVMET/ports/2$i/addr_traddr"
	nvmet_link $KNQN 2$i
done

cat >/tmp/fo-link.conf <<CONF
[global]
queues = 1
[target link]
transport = nvme-tcp
address = 10.78.1.1:4420 10.78.2.1:4420
subsystem = $NQN
host_nqn = nqn.2026-12.org.netublk:fo-link
path_selector = round-robin
CONF
cat >/tmp/fo-bh.conf <<CONF
[global]
queues = 1
[target bh]
transport = nvme-tcp
address = 127.0.0.1:4441 127.0.0.1:4442
subsystem = $NQN
host_nqn = nqn.2026-12.org.netublk:fo-bh
path_selector = round-robin
keep_alive_timeout = 5
command_timeout = 30
CONF
cat >/tmp/fo-ibh.conf <<CONF
[global]
queues = 1
[target ibh]
portal = 127.0.0.1:3301, 127.0.0.1:3302
target = $IQN
initiator = iqn.2026-12.org.netublk:fo-ibh
path_selector = round-robin
CONF
start() { # start NAME WRAP... : netublkd with /tmp/fo-NAME.conf; prints its device
	local name=$1; shift
	rm -f /tmp/fo-$name.ready
	"$@" "$B/netublkd" --config /tmp/fo-$name.conf --ready-file /tmp/fo-$name.ready \
		--control /tmp/fo-$name.sock --by-id /tmp/fo-$name.by-id --log-time \
		>/share/fo-$name.log 2>&1 &
	for _ in $(seq 300); do [ -f /tmp/fo-$name.ready ] && break; sleep 0.1; done
	awk '{print $1}' /tmp/fo-$name.ready
}
link_dev=$(start link ip netns exec nufo)
bh_dev=$(start bh)
ibh_dev=$(start ibh)
# open-iscsi with dm-multipath: udev names the paths, multipathd groups them.
mkdir -p /etc/udev/rules.d /etc/iscsi /run/lock/iscsi && : >/etc/udev/rules.d/80-drivers.rules
/lib/systemd/systemd-udevd --daemon
echo "InitiatorName=iqn.2026-12.org.netublk:fo-kernel" >/etc/iscsi/initiatorname.iscsi
modprobe -a iscsi_tcp sd_mod dm_multipath dm_round_robin
setsid iscsid -f >/share/fo-iscsid.log 2>&1 &
sleep 1
for port in 3301 3302; do
	iscsiadm -m discovery -t st -p 127.0.0.1:$port >/dev/null
	for kv in node.conn[0].timeo.noop_out_interval=5 node.conn[0].timeo.noop_out_timeout=5 \
		node.session.timeo.replacement_timeout=0; do
		iscsiadm -m node -T $IQN -p 127.0.0.1:$port -o update -n "${kv%=*}" -v "${kv#*=}"
	done
	iscsiadm -m node -T $IQN -p 127.0.0.1:$port --login >/dev/null
done
udevadm settle -t 20
cat >/etc/multipath.conf <<CONF
defaults {
	user_friendly_names no
	find_multipaths no
	polling_interval 1
	path_grouping_policy multibus
	path_selector "round-robin 0"
	failback immediate
	no_path_retry queue
}
CONF
multipathd -d -s >/share/fo-multipathd.log 2>&1 &
for _ in $(seq 100); do
	dm_dev=$(ls /dev/mapper/3* 2>/dev/null | head -1 || true)
	[ -n "$dm_dev" ] && break
	sleep 0.2
done
nvme connect -t tcp -a 127.0.0.1 -s 4441 -n $NQN -k 5 -c 1 >/dev/null
nvme connect -t tcp -a 127.0.0.1 -s 4442 -n $NQN -k 5 -c 1 >/dev/null
sleep 1
subsys=$(grep -lx "$NQN" /sys/class/nvme-subsystem/*/subsysnqn | head -1 | xargs dirname)
echo round-robin >"$subsys/iopolicy"
kdev=/dev/$(basename "$(ls -d "$subsys"/nvme*n* | head -1)")
# The kernel reconnects a lost nvme-tcp controller from a kworker, in the
# initial network namespace (seen: src_addr 10.78.1.1, over loopback), so a
# controller that came back no longer crosses the veth: each kernel-link
# trial connects afresh from the namespace.
klink_connect() { # sets ksubsys and klink_dev
	nvme disconnect -n $KNQN >/dev/null 2>&1 || true
	for i in 1 2; do
		ip netns exec nufo nvme connect -t tcp -a 10.78.$i.1 -s 4421 -n $KNQN -k 5 -c 1 >/dev/null
	done
	for _ in $(seq 100); do
		ksubsys=$(grep -lx "$KNQN" /sys/class/nvme-subsystem/*/subsysnqn 2>/dev/null | head -1 || true)
		[ -n "$ksubsys" ] && ls -d "$(dirname "$ksubsys")"/nvme*n* >/dev/null 2>&1 && break
		sleep 0.2
	done
	ksubsys=$(dirname "$ksubsys")
	echo round-robin >"$ksubsys/iopolicy"
	klink_dev=/dev/$(basename "$(ls -d "$ksubsys"/nvme*n* | head -1)")
	grep -q 'src_addr=10.78.1.2' /sys/class/nvme/nvme*/address ||
		echo "kernel-link: path 0 not from the namespace" >&2
}
klink_connect
echo 30 >/sys/module/nvme_core/parameters/io_timeout 2>/dev/null || true
echo "devices: netublk-link=$link_dev netublk-blackhole=$bh_dev kernel-blackhole=$kdev kernel-link=$klink_dev netublk-iscsi-blackhole=$ibh_dev dm-multipath-blackhole=$dm_dev; $(uname -r)"
multipath -ll 2>/dev/null | sed 's/^/    /'
tc qdisc add dev lo root handle 1: prio

hole() { # hole on|off [PORT]: drop everything to and from PORT (4441)
	local port=${2:-4441}
	if [ "$1" = on ]; then
		tc filter add dev lo parent 1: protocol ip prio 1 u32 match ip dport $port 0xffff action drop
		tc filter add dev lo parent 1: protocol ip prio 1 u32 match ip sport $port 0xffff action drop
	else
		tc filter del dev lo parent 1: prio 1
	fi
}
paths_up() { # paths_up SOCK: every path of the target up again (up to 60 s)
	for _ in $(seq 300); do
		"$B/netublkctl" -s "$1" status | grep -E '^ +path [0-9] (admin|io|session)' |
			grep -qv ' up ' || return 0
		sleep 0.2
	done
	echo "paths not back after 60 s" >&2
}
kernel_up() { # kernel_up SUBSYS: both its controllers live again
	for _ in $(seq 300); do
		[ "$(cat "$1"/nvme*/state | grep -c live)" = 2 ] && return 0
		sleep 0.2
	done
	echo "kernel paths not back after 60 s" >&2
}
path0_reads() { # reads completed through the kernel-link controller on 10.78.1.1
	local c
	c=$(grep -l 'traddr=10.78.1.1,trsvcid=4421' /sys/class/nvme/nvme*/address | head -1)
	c=$(basename "$(dirname "$c")")
	# Its path device: nvme<subsystem>c<controller>n<namespace>.
	cat /sys/block/nvme*c"${c#nvme}"n*/stat | awk '{print $1}'
}
dm_up() { # both dm-multipath paths active again
	for _ in $(seq 300); do
		[ "$(multipathd show paths 2>/dev/null | grep -c 'active ready')" = 2 ] && return 0
		sleep 0.2
	done
	echo "dm-multipath paths not back after 60 s" >&2
}
# trial NAME DEV SECS AT CMD_ON CMD_OFF: fio for SECS, the fault at AT s; prints the longest I/O (ms)
trial() {
	local name=$1 dev=$2 secs=$3 at=$4 on=$5 off=$6 fpid
	rm -f /tmp/fo_clat.*.log
	fio --name=fo --filename="$dev" --ioengine=io_uring --direct=1 --rw=randread --bs=4k \
		--iodepth=1 --size=128M --time_based --runtime="$secs" --write_lat_log=/tmp/fo \
		--log_avg_msec=0 --output=/tmp/fo-fio.out >/dev/null 2>&1 &
	fpid=$!
	sleep "$at"
	$on
	wait $fpid || echo "$name: fio failed: $(grep -m1 err= /tmp/fo-fio.out)" >&2
	$off
	awk -F, '$2 > m { m = $2 } END { printf "%.1f\n", m / 1e6 }' /tmp/fo_clat.*.log
}
printf 'trial\tstack\tfailover_ms\n' >$OUT
for t in $(seq "$TRIALS"); do
	ms=$(trial netublk-link $link_dev 5 1.5 "ip link set nuf1t down" "ip link set nuf1t up")
	printf '%s\tnetublk-link\t%s\n' "$t" "$ms" | tee -a $OUT
	paths_up /tmp/fo-link.sock
	ms=$(trial netublk-blackhole $bh_dev 16 2 "hole on" "hole off")
	printf '%s\tnetublk-blackhole\t%s\n' "$t" "$ms" | tee -a $OUT
	paths_up /tmp/fo-bh.sock
	ms=$(trial kernel-blackhole $kdev 16 2 "hole on" "hole off")
	printf '%s\tkernel-blackhole\t%s\n' "$t" "$ms" | tee -a $OUT
	kernel_up "$subsys"
	klink_connect
	kernel_up "$ksubsys"
	p0=$(path0_reads)
	ms=$(trial kernel-link $klink_dev 16 2 "ip link set nuf1t down" "ip link set nuf1t up")
	# Only a trial whose I/O met the lost path measures its failover.
	[ "$(path0_reads)" -gt "$p0" ] || echo "kernel-link: path 0 carried no I/O" >&2
	printf '%s\tkernel-link\t%s\n' "$t" "$ms" | tee -a $OUT
	kernel_up "$ksubsys"
	paths_up /tmp/fo-link.sock
	ms=$(trial netublk-iscsi-blackhole $ibh_dev 16 2 "hole on 3301" "hole off")
	printf '%s\tnetublk-iscsi-blackhole\t%s\n' "$t" "$ms" | tee -a $OUT
	paths_up /tmp/fo-ibh.sock
	dm_up
	ms=$(trial dm-multipath-blackhole $dm_dev 16 2 "hole on 3301" "hole off")
	printf '%s\tdm-multipath-blackhole\t%s\n' "$t" "$ms" | tee -a $OUT
	dm_up
	paths_up /tmp/fo-ibh.sock
done
multipath -F >/dev/null 2>&1 || true
iscsiadm -m node -T $IQN --logout >/dev/null 2>&1 || true
nvme disconnect -n $NQN >/dev/null
nvme disconnect -n $KNQN >/dev/null
pkill -TERM -x netublkd || true
sleep 2
