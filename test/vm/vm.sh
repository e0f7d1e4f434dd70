#!/bin/bash
# Boots one of Debian's stock kernels under qemu (TCG) with this machine's
# root filesystem shared read-only over 9p (tmpfs overlay on top) and runs
# a command inside as root. The guest command's exit status becomes ours.
#
#   test/vm/vm.sh [--kernel sid|trixie] [--timeout SEC] 'command'
#
# --kernel picks the Debian suite whose default kernel boots: sid (newest,
# full ublk features: zero copy) or trixie (6.12: no zero copy, the copy
# fallback). The version comes from the archive and is cached under
# $NU_VM_CACHE (default /var/cache/netublk-vm). $NU_VM_SHARE (default: a
# new temporary directory) is mounted read-write at /share in the guest;
# the console log is kept there as console.log. $NU_VM_APPEND is added to
# the guest's kernel command line (idle=poll for the benchmarks' variant).
set -euo pipefail

SUITE=sid
TIMEOUT=1200
while [ $# -gt 1 ]; do
	case $1 in
	--kernel) SUITE=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--) shift; break ;;
	*) break ;;
	esac
done
CMD=${1:?usage: vm.sh [--kernel sid|trixie] [--timeout SEC] 'guest command'}
HERE=$(cd "$(dirname "$0")" && pwd)
# The checkout is shared on its own: the guest mounts a fresh tmpfs on /tmp
# (and the overlay hides nothing else), so a clone under /tmp would vanish.
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${NU_VM_CACHE:-/var/cache/netublk-vm}
SHARE=${NU_VM_SHARE:-$(mktemp -d /tmp/netublk-vm.XXXXXX)}
SHARE=$(realpath "$SHARE")
MEM=${NU_VM_MEM:-2048}
CPUS=${NU_VM_CPUS:-2}

for t in qemu-system-x86_64 cpio depmod xz; do
	command -v $t >/dev/null || { echo "vm.sh: $t missing: run scripts/setup.sh" >&2; exit 2; }
done
[ -x /bin/busybox ] || { echo "vm.sh: busybox-static missing: run scripts/setup.sh" >&2; exit 2; }

# shellcheck source=../../scripts/apt-pins.sh
. "$HERE/../../scripts/apt-pins.sh"

# The kernel ABI of the suite's default kernel, e.g. 7.2.13+deb14-amd64.
# Cached per suite for a day, so repeated runs need no apt look-up.
abi_file=$CACHE/$SUITE.abi
mkdir -p "$CACHE"
if [ -z "$(find "$abi_file" -mmin -1440 2>/dev/null)" ]; then
	nu_apt_pins
	abi=$(apt-cache show "linux-image-amd64/$SUITE" 2>/dev/null |
		sed -n 's/^Depends: .*linux-image-\([^ ,]*-amd64\).*/\1/p' | head -1)
	if [ -z "$abi" ]; then
		apt-get update -qq -o Acquire::Check-Valid-Until=false || true
		abi=$(apt-cache show "linux-image-amd64/$SUITE" 2>/dev/null |
			sed -n 's/^Depends: .*linux-image-\([^ ,]*-amd64\).*/\1/p' | head -1)
	fi
	if [ -z "$abi" ]; then
		[ -s "$abi_file" ] || { echo "vm.sh: no kernel found for $SUITE" >&2; exit 2; }
	else
		echo "$abi" >"$abi_file"
	fi
fi
ABI=$(cat "$abi_file")
KDIR=$CACHE/$ABI

fetch_kernel() {
	local tmp
	tmp=$(mktemp -d "$CACHE/dl.XXXXXX")
	(
		cd "$tmp"
		local pkgs="linux-image-$ABI"
		# Newer Debian splits the image into -binary and -modules packages.
		if apt-cache show "linux-binary-$ABI" >/dev/null 2>&1; then
			pkgs="linux-binary-$ABI linux-modules-$ABI"
		fi
		# shellcheck disable=SC2086
		apt-get download $pkgs 2>&1 | grep -v unsandboxed || true
		for d in *.deb; do dpkg-deb -x "$d" root; done
	)
	local mods
	mods=$(find "$tmp/root" -maxdepth 4 -type d -path "*/lib/modules/$ABI")
	[ -n "$mods" ] || { echo "vm.sh: no modules in the $ABI packages" >&2; exit 2; }
	depmod -b "${mods%/lib/modules/$ABI}" "$ABI"
	mkdir -p "$KDIR.new"
	cp "$(find "$tmp/root" \( -name "vmlinuz-$ABI" -o -name vmlinuz \) -type f | head -1)" \
		"$KDIR.new/vmlinuz"
	mv "${mods%/$ABI}" "$KDIR.new/modules"
	rm -rf "$tmp"
	rm -rf "$KDIR" && mv "$KDIR.new" "$KDIR"
}
[ -f "$KDIR/vmlinuz" ] || fetch_kernel

INITRD=$KDIR/initrd-netublk.gz
if [ ! -f "$INITRD" ] || [ "$HERE/vm.sh" -nt "$INITRD" ]; then
	T=$(mktemp -d)
	mkdir -p "$T"/{bin,proc,sys,dev,mods,mnt/host,mnt/root,mnt/rw}
	cp /bin/busybox "$T/bin/"
	for m in fs/netfs/netfs net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p fs/overlayfs/overlay; do
		f=$(ls "$KDIR/modules/$ABI/kernel/$m.ko"* 2>/dev/null | head -1)
		[ -n "$f" ] || continue # built in
		case $f in
		*.xz) xz -dc "$f" >"$T/mods/$(basename $m).ko" ;;
		*.zst) zstd -qdc "$f" >"$T/mods/$(basename $m).ko" ;;
		*) cp "$f" "$T/mods/$(basename $m).ko" ;;
		esac
	done
	# The guest's PID 1: host root read-only + tmpfs overlay, the guest's
	# modules at /lib/modules, the share at /share; run the command, keep
	# its status, power off (PID 1 must outlive the poweroff request).
	cat >"$T/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in netfs 9pnet 9pnet_virtio 9p overlay; do [ -f /mods/$m.ko ] && insmod /mods/$m.ko; done
O=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o $O,ro hostroot /mnt/host
mount -t tmpfs tmpfs /mnt/rw; mkdir -p /mnt/rw/upper /mnt/rw/work
mount -t overlay overlay -o lowerdir=/mnt/host,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work /mnt/root
mkdir -p /mnt/root/lib/modules /mnt/root/share
mount -t 9p -o $O,ro kmods /mnt/root/lib/modules
mount -t 9p -o $O share /mnt/root/share
mount --move /proc /mnt/root/proc; mount --move /sys /mnt/root/sys; mount --move /dev /mnt/root/dev
mount -t tmpfs tmpfs /mnt/root/tmp; mount -t tmpfs tmpfs /mnt/root/run
REPO=$(sed -n 's/.*nu_repo=\([^ ]*\).*/\1/p' /mnt/root/proc/cmdline)
if [ -n "$REPO" ]; then mkdir -p /mnt/root$REPO; mount -t 9p -o $O,ro repo /mnt/root$REPO; fi
# switch_root, not chroot: the overlay becomes the root mount, as on a real
# system (a container runtime's pivot_root and exec need that).
exec switch_root /mnt/root /bin/sh -c '
mkdir -p /dev/shm /dev/pts /run/lock; mount -t tmpfs tmpfs /dev/shm; mount -t devpts devpts /dev/pts
modprobe configfs 2>/dev/null; mount -t configfs none /sys/kernel/config 2>/dev/null
ip link set lo up
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
cd /share; : > /share/.guest-started; sh /share/.guest-cmd </dev/null; echo $? > /share/.guest-rc; sync
echo o > /proc/sysrq-trigger; while :; do :; done'
INIT
	chmod +x "$T/init"
	(cd "$T" && find . | cpio -o -H newc 2>/dev/null | gzip) >"$INITRD.tmp"
	mv "$INITRD.tmp" "$INITRD"
	rm -rf "$T"
fi

printf '%s\n' "$CMD" >"$SHARE/.guest-cmd"
# TCG occasionally panics while booting (text patching under multi-threaded
# TCG, seen once in hundreds of boots): boot again if the guest never got
# as far as starting the command.
for attempt in 1 2 3; do
	rm -f "$SHARE/.guest-rc" "$SHARE/.guest-started"
	set +e
	timeout --foreground -k 10 "$TIMEOUT" \
		qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m "$MEM" -smp "$CPUS" \
		-nographic -no-reboot -kernel "$KDIR/vmlinuz" -initrd "$INITRD" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$KDIR/modules,mount_tag=kmods,security_model=none,readonly=on" \
		-virtfs "local,path=$SHARE,mount_tag=share,security_model=none" \
		-virtfs "local,path=$REPO,mount_tag=repo,security_model=none,readonly=on,multidevs=remap" \
		-append "console=ttyS0 quiet panic=-1 oops=panic nu_repo=$REPO ${NU_VM_APPEND:-}" </dev/null >"$SHARE/console.log" 2>&1
	qrc=$?
	set -e
	[ -f "$SHARE/.guest-started" ] && break
	echo "vm.sh: the guest did not boot (attempt $attempt); console tail:" >&2
	tail -n 5 "$SHARE/console.log" >&2
	cp "$SHARE/console.log" "$SHARE/console-failed-boot-$attempt.log"
done
rc=$(cat "$SHARE/.guest-rc" 2>/dev/null || echo 255)
rm -f "$SHARE/.guest-cmd" "$SHARE/.guest-rc" "$SHARE/.guest-started"
# The guest's output, without the firmware's banner and terminal resets.
sed -n '/Booting from ROM/,$p' "$SHARE/console.log" | tail -n +2 |
	sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g; s/\r$//'
if [ "$rc" != 0 ]; then
	[ $qrc = 124 ] && echo "vm.sh: the VM timed out after $TIMEOUT s" >&2
	echo "vm.sh: guest command failed (status $rc, kernel $ABI); full log: $SHARE/console.log" >&2
fi
exit "$rc"
