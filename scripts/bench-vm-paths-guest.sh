#!/bin/bash
# Guest side of bench-vm-paths.sh.
set -euo pipefail
B=$1 REPS=$2 SECS=$3
SIZE_MB=${NU_BENCH_SIZE_MB:-512} # the device size the jobs run over
HERE=$(cd "$(dirname "$0")" && pwd)
modprobe ublk_drv
. "$HERE/../test/nvmet-lib.sh"
nvmet_load
NQN=nqn.2026-12.org.netublk:paths
nvmet_subsys $NQN
nvmet_ns $NQN 1 $SIZE_MB 4096
nvmet_port 1 4441
nvmet_port 2 4442
nvmet_link $NQN 1
nvmet_link $NQN 2
dd if=/dev/urandom of="$(nvmet_img 1)" bs=1M count=$SIZE_MB conv=notrunc status=none
# serve NAME ADDRESSES SELECTOR: a netublkd of its own; prints "DEV NAME PID"
serve() {
	cat >/tmp/p-$1.conf <<CONF
[global]
queues = 2
[target $1]
transport = nvme-tcp
address = $2
subsystem = $NQN
host_nqn = nqn.2026-12.org.netublk:paths-$1
path_selector = $3
CONF
	"$B/netublkd" --config /tmp/p-$1.conf --ready-file /tmp/p-$1.ready --log-level warn \
		--control /tmp/p-$1.sock --by-id /tmp/p-$1.by-id >/share/p-$1.log 2>&1 &
	local pid=$!
	for _ in $(seq 300); do [ -f /tmp/p-$1.ready ] && break; sleep 0.1; done
	echo "$(awk '{print $1}' /tmp/p-$1.ready) $1 $pid"
}
one=$(serve one-path "127.0.0.1:4441" failover)
rr=$(serve round-robin "127.0.0.1:4441 127.0.0.1:4442" round-robin)
qd=$(serve queue-depth "127.0.0.1:4441 127.0.0.1:4442" queue-depth)
sleep 1
echo "devices: $one / $rr / $qd; $(uname -r)"
. "$HERE/bench-lib.sh"
bench_rounds /share/bench.tsv "$REPS" "$SECS" $SIZE_MB "$one" "$rr" "$qd"
pkill -TERM -x netublkd || true
sleep 2
