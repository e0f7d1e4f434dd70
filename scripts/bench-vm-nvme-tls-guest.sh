#!/bin/bash
# Guest side of bench-vm-nvme-tls.sh.
set -euo pipefail
B=$1 REPS=$2 SECS=$3
SIZE_MB=${NU_BENCH_SIZE_MB:-512} # the device size the jobs run over
modprobe ublk_drv; modprobe nvme-tcp; modprobe tls
. "$(dirname "$0")/bench-lib.sh"
. "$(dirname "$0")/../test/nvmet-lib.sh"
NQN=nqn.2026-12.org.netublk:bench-tls
H=nqn.2026-12.org.netublk:bench
nvmet_load
nvmet_subsys $NQN
nvmet_ns $NQN 1 $SIZE_MB 4096
nvmet_port 1 4420
nvmet_port_tls 2 4430
nvmet_link $NQN 1
nvmet_link $NQN 2
tlshd_start
key=$($SIDTLS/nvme gen-tls-key --hmac=1)
for h in kernel tls; do tls_key_insert "$key" "$H-$h" $NQN; done
# The kernel over TLS only: a second kernel controller of the subsystem
# would join the first under native multipath.
$SIDTLS/nvme connect -t tcp -a 127.0.0.1 -s 4430 -n $NQN --hostnqn="$H-kernel" --tls \
	--tls-key="$key" >/dev/null
for _ in $(seq 1 50); do
	kdev=$(for b in /sys/block/nvme*n*; do
		case $b in *c[0-9]*n*) continue ;; esac
		[ "$(cat "$b/device/subsysnqn" 2>/dev/null)" = $NQN ] && echo "/dev/${b##*/}"
	done | head -1)
	[ -n "$kdev" ] && break
	sleep 0.1
done
dd if=/dev/urandom of="$kdev" bs=1M count=$SIZE_MB oflag=direct status=none

names=(tls cp zc)
bench_netublkd tls "$B/netublkd" --nvme "address=127.0.0.1:4430,subsystem=$NQN,host_nqn=$H-tls,tls=required,tls_key=$key" --queues 2
bench_netublkd cp "$B/netublkd" --nvme "address=127.0.0.1:4420,subsystem=$NQN,host_nqn=$H-copy" \
	--queues 2 --data-mode copy
bench_netublkd zc "$B/netublkd" --nvme "address=127.0.0.1:4420,subsystem=$NQN,host_nqn=$H-zc" --queues 2
bench_ready "${names[@]}"
zc_mode=$(bench_mode zc)
sleep 1
echo "devices: kernel-tls=$kdev netublk-tls=$(bench_dev tls) ($(bench_mode tls)) netublk-copy=$(bench_dev cp) netublk-$zc_mode=$(bench_dev zc); $(uname -r)"
devs=("$kdev kernel-nvme-tcp-tls" "$(bench_entry tls netublk-tls-$(bench_mode tls))"
	"$(bench_entry cp netublk-clear-copy)" "$(bench_entry zc "netublk-clear-$zc_mode")")
bench_rounds /share/bench.tsv "$REPS" "$SECS" $SIZE_MB "${devs[@]}"
bench_stop "${names[@]}"
$SIDTLS/nvme disconnect -n $NQN >/dev/null
tlshd_stop
