#!/bin/bash
# Inside the demo VM (see demo.sh).
set -euo pipefail
B=$1
say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
say "kernel $(uname -r); loading ublk_drv"
modprobe ublk_drv
say "netublkd --mem 256M --queues 2"
"$B/netublkd" --mem 256M --queues 2 --ready-file /tmp/ready &
pid=$!
for _ in $(seq 100); do [ -f /tmp/ready ] && break; sleep 0.1; done
dev=$(awk '{print $1; exit}' /tmp/ready)
for _ in $(seq 50); do [ -b "$dev" ] && break; sleep 0.1; done
say "lsblk $dev"
lsblk -o NAME,SIZE,LOG-SEC,PHY-SEC,DISC-GRAN,RO "$dev"
say "mkfs.ext4 $dev && mount $dev /mnt"
mkfs.ext4 -q "$dev"
mount "$dev" /mnt
head -c 32M /dev/urandom >/mnt/hello.bin
echo "hello from netublk" >/mnt/hello.txt
sync
df -h /mnt
ls -l /mnt
sha256sum /mnt/hello.bin
say "umount, stop netublkd (SIGTERM)"
umount /mnt
kill -TERM $pid
wait $pid
ls /dev/ublk* 2>/dev/null || echo "no /dev/ublkb* left: clean stop"
