#!/bin/bash
# Inside the demo VM (see demo.sh): a kernel iSCSI target (LIO) with CHAP,
# its LUN served by netublkd as /dev/ublkbN, ext4 on it, mounted.
set -euo pipefail
B=$1
say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
say "kernel $(uname -r): loading ublk_drv and the LIO iSCSI target"
modprobe ublk_drv
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
modprobe target_core_mod
modprobe iscsi_target_mod
CFS=/sys/kernel/config/target
IQN=iqn.2026-11.org.netublk:demo
INI=iqn.2026-11.org.netublk:demo-initiator
TPG=$CFS/iscsi/$IQN/tpgt_1
SO=$CFS/core/fileio_0/disk0
truncate -s 512M /tmp/demo-lun.img
mkdir -p $SO
echo "fd_dev_name=/tmp/demo-lun.img,fd_dev_size=$((512 << 20))" >$SO/control
echo 1 >$SO/enable
mkdir -p $TPG/lun/lun_0 && ln -s $SO $TPG/lun/lun_0/port0
mkdir $TPG/np/127.0.0.1:3260
echo 1 >$TPG/attrib/authentication
echo 0 >$TPG/attrib/generate_node_acls
mkdir -p $TPG/acls/$INI/lun_0 && ln -s $TPG/lun/lun_0 $TPG/acls/$INI/lun_0/lun0
printf %s demo >$TPG/acls/$INI/auth/userid
printf %s demo-secret-123 >$TPG/acls/$INI/auth/password
echo 1 >$TPG/enable
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
