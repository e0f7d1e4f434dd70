#!/bin/bash
# Inside the demo VM (see demo.sh): a kernel iSCSI target (LIO) with CHAP,
# its LUN served by netublkd as /dev/ublkbN, ext4 on it, mounted.
set -euo pipefail
B=$1
say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
say "kernel $(uname -r): loading ublk_drv and the LIO iSCSI target"
modprobe ublk_drv
. "$(dirname "$0")/../test/lio-lib.sh"
lio_load
IQN=iqn.2026-11.org.netublk:demo
INI=iqn.2026-11.org.netublk:demo-initiator
lio_target $IQN 3260
lio_fileio_lun $IQN /tmp/demo-lun.img 512
lio_chap $IQN $INI demo demo-secret-123
lio_enable $IQN
echo "LIO target $IQN on 127.0.0.1:3260, one 512 MiB LUN, CHAP user 'demo'"

SPEC=portal=127.0.0.1:3260,target=$IQN,initiator=$INI,chap_user=demo,chap_secret=demo-secret-123
say "netublkd --iscsi $SPEC"
"$B/netublkd" --iscsi "$SPEC" --queues 2 --ready-file /tmp/ready &
pid=$!
for _ in $(seq 300); do [ -f /tmp/ready ] && break; sleep 0.1; done
dev=$(awk '{print $1; exit}' /tmp/ready)
for _ in $(seq 50); do [ -b "$dev" ] && break; sleep 0.1; done
say "lsblk $dev"
lsblk -o NAME,SIZE,LOG-SEC,PHY-SEC,RO,MODEL "$dev"
say "mkfs.ext4 $dev && mount $dev /mnt"
mkfs.ext4 -q "$dev"
mount "$dev" /mnt
head -c 32M /dev/urandom >/mnt/hello.bin
echo "hello from netublk" >/mnt/hello.txt
sync
df -h /mnt
ls -l /mnt
sha256sum /mnt/hello.bin
say "umount, stop netublkd (SIGTERM: logout, devices deleted)"
umount /mnt
kill -TERM $pid
wait $pid
ls /dev/ublkb* 2>/dev/null || echo "no /dev/ublkb* left: clean stop"
