#!/bin/bash
# Guest side of bench-failover.sh: TRIALS interleaved rounds of
#   netublk-link       netublkd in a network namespace, two veth paths to
#                      nvmet, failover selector; the active path's carrier
#                      dropped (its far end set down)
#   netublk-blackhole  netublkd, two loopback ports, round-robin; one port
#                      black-holed (tc drops its packets both ways)
#   kernel-blackhole   the kernel's nvme-tcp with native multipath over the
#                      same two ports, iopolicy round-robin, the same hole
# Both black-hole stacks run with keep-alive 5 s and command/io timeout
# 30 s. Each trial reads 4 KiB at QD1 with a per-I/O latency log; the
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

cat >/tmp/fo-link.conf <<CONF
[global]
queues = 1
[target link]
transport = nvme-tcp
address = 10.78.1.1:4420 10.78.2.1:4420
subsystem = $NQN
host_nqn = nqn.2026-12.org.netublk:fo-link
path_selector = failover
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
nvme connect -t tcp -a 127.0.0.1 -s 4441 -n $NQN -k 5 -c 1 >/dev/null
nvme connect -t tcp -a 127.0.0.1 -s 4442 -n $NQN -k 5 -c 1 >/dev/null
sleep 1
subsys=$(grep -l "$NQN" /sys/class/nvme-subsystem/*/subsysnqn | head -1 | xargs dirname)
echo round-robin >"$subsys/iopolicy"
kdev=/dev/$(basename "$(ls -d "$subsys"/nvme*n* | head -1)")
echo 30 >/sys/module/nvme_core/parameters/io_timeout 2>/dev/null || true
echo "devices: netublk-link=$link_dev netublk-blackhole=$bh_dev kernel-blackhole=$kdev; $(uname -r)"
tc qdisc add dev lo root handle 1: prio

hole() { # hole on|off: drop everything to and from port 4441
	if [ "$1" = on ]; then
		tc filter add dev lo parent 1: protocol ip prio 1 u32 match ip dport 4441 0xffff action drop
		tc filter add dev lo parent 1: protocol ip prio 1 u32 match ip sport 4441 0xffff action drop
	else
		tc filter del dev lo parent 1: prio 1
	fi
}
paths_up() { # paths_up SOCK: every path of the target up again (up to 60 s)
	for _ in $(seq 300); do
		"$B/netublkctl" -s "$1" status | grep -E '^ +path [0-9] (admin|io)' |
			grep -qv ' up ' || return 0
		sleep 0.2
	done
	echo "paths not back after 60 s" >&2
}
kernel_up() { # both controllers live again
	for _ in $(seq 300); do
		[ "$(cat "$subsys"/nvme*/state | grep -c live)" = 2 ] && return 0
		sleep 0.2
	done
	echo "kernel paths not back after 60 s" >&2
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
	kernel_up
done
nvme disconnect -n $NQN >/dev/null
pkill -TERM -x netublkd || true
sleep 2
