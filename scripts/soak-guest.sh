#!/bin/bash
# Guest side of soak.sh: soak-guest.sh BUILD MINUTES [no-kill]
set -u
B=$1 MIN=$2 KILL=${3:-kill}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=/share/soak
mkdir -p $OUT
# Everything loaded before any I/O (kernel text must stay still under TCG).
for m in ublk_drv sch_netem loop target_core_mod iscsi_target_mod nvmet nvmet_tcp inet_diag tcp_diag; do
	modprobe $m
done
. "$HERE/../test/lio-lib.sh"
. "$HERE/../test/nvmet-lib.sh"
NVMET=/sys/kernel/config/nvmet
log() { echo "$(date +%T) $*" | tee -a $OUT/events.log; }

# iSCSI: LIO, two ramdisk LUNs; LUN 1 comes and goes during the soak.
IQN=iqn.2026-11.org.netublk:soak
lio_load
lio_target $IQN 3260
lio_rd_lun() { # lio_rd_lun N SIZE_MB
	local so=$LIO/core/rd_mcp_$1/lun$1 tpg
	tpg=$(lio_tpg $IQN)
	mkdir -p $so && echo "rd_pages=$(($2 * 256))" >$so/control && echo 1 >$so/enable
	cat /proc/sys/kernel/random/uuid >$so/wwn/vpd_unit_serial
	mkdir -p $tpg/lun/lun_$1 && ln -s $so $tpg/lun/lun_$1/port0
}
lio_rd_lun_del() {
	local tpg
	tpg=$(lio_tpg $IQN)
	rm -f $tpg/lun/lun_$1/port0 && rmdir $tpg/lun/lun_$1 && rmdir $LIO/core/rd_mcp_$1/lun$1 &&
		rmdir $LIO/core/rd_mcp_$1
}
lio_rd_lun 0 128
lio_rd_lun 2 64
lio_open $IQN
lio_enable $IQN
# NVMe/TCP: nvmet, two namespaces; namespace 3 comes, grows and goes.
NQN=nqn.2026-11.org.netublk:soak
nvmet_load
nvmet_subsys $NQN
nvmet_ns $NQN 1 128 4096
nvmet_ns $NQN 2 64 512
nvmet_port 1 4420
nvmet_link $NQN 1

cat >$OUT/netublk.conf <<CONF
[global]
queues = 2
log_level = info
[target lio]
transport = iscsi
portal = 127.0.0.1:3260
target = $IQN
command_timeout = 10
[target nvmet]
transport = nvme-tcp
address = 127.0.0.1:4420
subsystem = $NQN
keep_alive_timeout = 5
ctrl_loss_timeout = 3600
reconnect_delay = 1
command_timeout = 10
CONF

gen=0
start_netublkd() {
	gen=$((gen + 1))
	rm -f $OUT/ready
	"$B/netublkd" --config $OUT/netublk.conf --ready-file $OUT/ready >$OUT/netublkd-$gen.log 2>&1 &
	DPID=$!
	for _ in $(seq 600); do [ -f $OUT/ready ] && break; sleep 0.1; done
	[ -f $OUT/ready ] || { log "netublkd $gen did not come up"; return 1; }
	log "netublkd $gen up (pid $DPID): $(awk '{print $1}' $OUT/ready | tr '\n' ' ')"
}
sample() { # sample LABEL: netublkd's resident memory and open descriptors
	echo "$1 gen $gen: rss_kb $(awk '/VmRSS/ {print $2}' /proc/$DPID/status) fds $(ls /proc/$DPID/fd | wc -l)" |
		tee -a $OUT/resources.txt
}
ctl() { "$B/netublkctl" "$@" >>$OUT/ctl.log 2>&1; }

start_netublkd || exit 1
DEVS=$(awk '{print $1}' $OUT/ready | tr '\n' ' ')
jobs=""
for d in $DEVS; do
	n=$(basename $d)
	jobs="$jobs --name=$n --filename=$d --bs=4k --iodepth=8 --name=$n-big --filename=$d --bs=64k --iodepth=4 --offset=50%"
done
# shellcheck disable=SC2086
fio --ioengine=io_uring --direct=1 --rw=randwrite --size=32M --verify=crc32c --verify_backlog=64 \
	--verify_fatal=1 --time_based --runtime=$((MIN * 60)) --output=$OUT/fio.out $jobs &
FIO=$!
sleep 10
sample start

deadline=$(($(date +%s) + MIN * 60 - 30))
step=0
while [ "$(date +%s)" -lt $deadline ]; do
	sleep 15
	case $((step % 6)) in
	0)
		log "link down (lo) for 5 s"
		ip link set lo down; sleep 5; ip link set lo up
		log "link up" ;;
	1)
		if [ "$KILL" = no-kill ]; then
			# One long-lived instance: its memory, sampled every cycle instead.
			sample "cycle $((step / 6))"
		else
			log "netublkd killed with -9"
			sample "before kill"
			kill -9 $DPID; wait $DPID 2>/dev/null
			sleep 1
			start_netublkd || break
			log "recovered: $(grep -c ': recovered' $OUT/netublkd-$gen.log) device(s)"
			sleep 10
			sample start
		fi ;;

	2)
		log "target ports disabled for 5 s (LIO TPG, nvmet port)"
		echo 0 >"$(lio_tpg $IQN)/enable"; rm -f $NVMET/ports/1/subsystems/$NQN
		sleep 5
		echo 1 >"$(lio_tpg $IQN)/enable"; nvmet_link $NQN 1
		log "target ports enabled" ;;
	3)
		log "LUN 1 and namespace 3 added"
		lio_rd_lun 1 32; nvmet_ns $NQN 3 32 512
		ctl rescan; sleep 8
		log "devices: $(ls /dev/ublkb* | tr '\n' ' ')"
		f=$(nvmet_img 3); truncate -s 48M $f; losetup -c "$(nvmet_ns_dev $NQN 3)"
		echo 1 >$NVMET/subsystems/$NQN/namespaces/3/revalidate_bdev 2>/dev/null
		ctl rescan; sleep 8
		log "namespace 3 grown to 48 MiB; device sizes: $(for d in /dev/ublkb*; do printf '%s=%s ' ${d#/dev/} $(blockdev --getsize64 $d); done)"
		lio_rd_lun_del 1; nvmet_ns_remove $NQN 3
		ctl rescan; sleep 5
		log "LUN 1 and namespace 3 removed; devices: $(ls /dev/ublkb* | tr '\n' ' ')" ;;
	4)
		log "netem: 5% loss, 50 ms delay for 20 s"
		tc qdisc add dev lo root netem loss 5% delay 50ms; sleep 20; tc qdisc del dev lo root
		log "netem off" ;;
	5)
		log "SIGHUP reload"
		kill -HUP $DPID ;;	esac
	step=$((step + 1))
done
sample end
wait $FIO; fio_rc=$?
kill -TERM $DPID; wait $DPID; stop_rc=$?

errs=$(grep -o 'err= *[0-9]*' $OUT/fio.out | awk '{s += $2} END {print s + 0}')
bad=$(grep -ci 'verify: bad\|bad magic\|crc32c: verify failed' $OUT/fio.out)
ios=$(grep -o 'issued rwts: total=[0-9]*,[0-9]*' $OUT/fio.out | awk -F'[=,]' '{s += $2 + $3} END {print s + 0}')
reconn=$(cat $OUT/netublkd-*.log | grep -c 'reconnected\|associated again')
recov=$(cat $OUT/netublkd-*.log | grep -c ': recovered')
{
	echo "soak: $MIN minutes, kernel $(uname -r), $step faults ($(grep -c '' $OUT/events.log) events)"
	echo "fio: exit $fio_rc, I/Os $ios, errors $errs, verify failures $bad"
	echo "netublkd: $gen instance(s), reconnects $reconn, devices recovered $recov, last exit $stop_rc"
	echo "resources (rss kB, open fds):"
	sed 's/^/  /' $OUT/resources.txt
	if [ $fio_rc = 0 ] && [ "$errs" = 0 ] && [ "$bad" = 0 ] && [ $stop_rc = 0 ]; then
		echo "verdict: pass"
	else
		echo "verdict: FAIL"
	fi
} | tee $OUT/summary.txt
nvmet_clear
