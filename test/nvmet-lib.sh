# shellcheck shell=bash
# nvmet, the kernel's NVMe over Fabrics target, over TCP through configfs
# (no nvmetcli), and the kernel's own NVMe/TCP initiator. For the VM tests,
# the demo and the benchmarks.
#   nvmet_load
#   nvmet_port ID PORT                 TCP port on 127.0.0.1
#   nvmet_port_tls ID PORT [TREQ]      ... offering TLS 1.3, TREQ "required" (default)
#                                      or "not required"; needs tlshd_start
#   tlshd_start / tlshd_stop           the handshake agent (sid's, see setup.sh)
#   tls_key_insert KEY HOSTNQN NQN [nvme-cli options]
#                                      KEY's TLS PSK into the .nvme keyring, by nvme-cli
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
nvmet_port_tls() {
	nvmet_port "$1" "$2"
	echo tls1.3 >"$NVMET/ports/$1/addr_tsas" && echo "${3:-required}" >"$NVMET/ports/$1/addr_treq"
}
SIDTLS=/var/cache/netublk-tools/sid-tls/bin
# Whether this kernel's kTLS has TLS_TX_MAX_PAYLOAD_LEN, which tlshd 1.4 sets
# (Linux 7.2 has it, 6.12 not; there tlshd 1.0 runs, without SHA-384 PSKs).
ktls_new() {
	python3 -c "
import socket
l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(1)
c = socket.create_connection(l.getsockname()); a, _ = l.accept()
c.setsockopt(socket.IPPROTO_TCP, 31, b'tls')  # TCP_ULP
c.getsockopt(282, 5, 4)  # SOL_TLS, TLS_TX_MAX_PAYLOAD_LEN
" 2>/dev/null
}
tlshd_start() {
	TLSHD=$SIDTLS/tlshd
	ktls_new || TLSHD=$SIDTLS/tlshd-1.0
	[ -x $TLSHD ] || { echo "no $TLSHD: run scripts/setup.sh"; return 1; }
	mkdir -p /etc/tlshd
	printf '[debug]\nloglevel=1\ntls=0\nnl=0\n[authenticate]\nkeyrings=.nvme\n[authenticate.client]\n[authenticate.server]\n' \
		>/etc/tlshd/config
	$TLSHD -s -c /etc/tlshd/config >"${LOGDIR:-/tmp}/tlshd.log" 2>&1 &
	TLSHD_PID=$!
	sleep 0.5
	kill -0 $TLSHD_PID
}
tlshd_stop() {
	[ -n "${TLSHD_PID:-}" ] && kill $TLSHD_PID 2>/dev/null && wait $TLSHD_PID 2>/dev/null
	TLSHD_PID=
}
tls_key_insert() { # identity version 1 unless told, as nvme connect --tls-key does
	local key=$1 host=$2 nqn=$3
	shift 3
	$SIDTLS/nvme check-tls-key --keydata="$key" --hostnqn="$host" --subsysnqn="$nqn" --insert \
		--identity=1 "$@" >/dev/null
}
nvmet_subsys() {
	mkdir -p "$NVMET/subsystems/$1"
	echo 1 >"$NVMET/subsystems/$1/attr_allow_any_host"
}
# nvmet_img NSID: the file nvmet_ns makes to back namespace NSID.
nvmet_img() { echo "/tmp/nvmet-$1.img"; }
nvmet_ns() {
	local n=$NVMET/subsystems/$1/namespaces/$2 img dev
	img=$(nvmet_img "$2")
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
	# Its image goes too: a whole suite's images would fill the guest's /tmp.
	rm -f "$(nvmet_img "$2")"
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
