# shellcheck shell=bash
# nvmet, the kernel's NVMe over Fabrics target, over TCP through configfs
# (no nvmetcli), and the kernel's own NVMe/TCP initiator. For the VM tests,
# the demo and the benchmarks.
#   nvmet_load
#   nvmet_port ID PORT                 TCP port on 127.0.0.1
#   nvmet_subsys NQN                   any host may connect
#   nvmet_ns NQN NSID SIZE_MB [BS]     namespace on a loop device of BS-byte sectors [512]
#   nvmet_ns_remove NQN NSID
#   nvmet_link NQN ID                  offer the subsystem on port ID
#   nvmet_auth_host NQN HOSTNQN KEY [CTRLKEY [HASH [DHGROUP]]]
#                                      only HOSTNQN may connect, with DH-HMAC-CHAP
#                                      (HASH "hmac(sha256)", DHGROUP "ffdhe2048"...)
#   nvmet_clear                        everything above undone
#   nvme_kernel_connect NQN PORT [ADDR] kernel initiator (ADDR 127.0.0.1); sets KDEVS
#   nvme_kernel_disconnect NQN
NVMET=/sys/kernel/config/nvmet
nvmet_load() {
	mountpoint -q /sys/kernel/config || { modprobe configfs; mount -t configfs none /sys/kernel/config; }
	modprobe nvmet && modprobe nvmet-tcp && modprobe loop
}
nvmet_port() {
	local p=$NVMET/ports/$1
	mkdir -p "$p"
	echo 127.0.0.1 >"$p/addr_traddr"; echo tcp >"$p/addr_trtype"
	echo "$2" >"$p/addr_trsvcid"; echo ipv4 >"$p/addr_adrfam"
}
nvmet_subsys() {
	mkdir -p "$NVMET/subsystems/$1"
	echo 1 >"$NVMET/subsystems/$1/attr_allow_any_host"
}
nvmet_ns() {
	local n=$NVMET/subsystems/$1/namespaces/$2 img=/tmp/nvmet-$2.img dev
	truncate -s "${3}M" "$img"
	dev=$(losetup --sector-size "${4:-512}" -f --show "$img") || return 1
	mkdir -p "$n"
	echo "$dev" >"$n/device_path"
	# A stable NGUID, as a storage admin would set: the WWID netublk shows.
	printf '%08x-0000-4000-8000-%012x\n' "$2" "$2" >"$n/device_uuid" 2>/dev/null
	echo 1 >"$n/enable"
}
nvmet_ns_dev() { cat "$NVMET/subsystems/$1/namespaces/$2/device_path"; }
nvmet_ns_remove() {
	local n=$NVMET/subsystems/$1/namespaces/$2 dev
	dev=$(cat "$n/device_path")
	echo 0 >"$n/enable"; rmdir "$n"; losetup -d "$dev"
}
nvmet_link() {
	ln -s "$NVMET/subsystems/$1" "$NVMET/ports/$2/subsystems/$1"
}
nvmet_auth_host() {
	local h=$NVMET/hosts/$2 a=$NVMET/subsystems/$1/allowed_hosts/$2
	[ -L "$a" ] && rm -f "$a"
	[ -d "$h" ] && rmdir "$h"
	mkdir "$h" || return 1
	echo 0 >"$NVMET/subsystems/$1/attr_allow_any_host"
	echo "$3" >"$h/dhchap_key" || return 1
	[ -n "${4:-}" ] && { echo "$4" >"$h/dhchap_ctrl_key" || return 1; }
	[ -n "${5:-}" ] && { echo "$5" >"$h/dhchap_hash" || return 1; }
	[ -n "${6:-}" ] && { echo "$6" >"$h/dhchap_dhgroup" || return 1; }
	ln -s "$h" "$a"
}
nvmet_clear() {
	local l s n h
	for l in "$NVMET"/ports/*/subsystems/* "$NVMET"/subsystems/*/allowed_hosts/*; do
		[ -L "$l" ] && rm -f "$l"
	done
	for h in "$NVMET"/hosts/*; do [ -d "$h" ] && rmdir "$h"; done
	for s in "$NVMET"/subsystems/*; do
		[ -d "$s" ] || continue
		for n in "$s"/namespaces/*; do [ -d "$n" ] && nvmet_ns_remove "$(basename "$s")" "$(basename "$n")"; done
		rmdir "$s"
	done
	for p in "$NVMET"/ports/*; do [ -d "$p" ] && rmdir "$p"; done
	return 0
}
nvme_kernel_connect() {
	modprobe nvme-tcp
	nvme connect -t tcp -a "${3:-127.0.0.1}" -s "$2" -n "$1" >/tmp/nvme-connect.log 2>&1 || return 1
	for _ in $(seq 1 50); do
		# Block devices only (not the hidden per-path nvmeXcYnZ nodes of native multipath).
		KDEVS=$(for b in /sys/block/nvme*n*; do
			case $b in *c[0-9]*n*) continue ;; esac
			[ "$(cat "$b/device/subsysnqn" 2>/dev/null)" = "$1" ] && echo "/dev/${b##*/}"
		done)
		[ -n "$KDEVS" ] && return 0
		sleep 0.1
	done
	return 1
}
nvme_kernel_disconnect() {
	nvme disconnect -n "$1" >/dev/null 2>&1
}
