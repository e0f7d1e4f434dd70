# shellcheck shell=bash
# LIO, the kernel's iSCSI target, through configfs (no targetcli), and the
# kernel's own initiator. For the VM tests, the demo and the benchmarks.
#   lio_load
#   lio_target IQN PORT            target portal group 1 listening on 127.0.0.1:PORT
#   lio_fileio_lun IQN FILE SIZE_MB   or   lio_ramdisk_lun IQN SIZE_MB
#   lio_open IQN                    any initiator, no authentication
#   lio_chap IQN INITIATOR USER SECRET [MUTUAL_USER MUTUAL_SECRET]
#   lio_enable IQN
#   kernel_login IQN PORT [USER SECRET [MUTUAL_USER MUTUAL_SECRET]]  sets KDEV=/dev/sdX
#   kernel_logout IQN PORT
LIO=/sys/kernel/config/target
lio_load() {
	mountpoint -q /sys/kernel/config || { modprobe configfs; mount -t configfs none /sys/kernel/config; }
	modprobe target_core_mod && modprobe iscsi_target_mod
}
lio_tpg() { echo "$LIO/iscsi/$1/tpgt_1"; }
lio_target() {
	mkdir -p "$(lio_tpg "$1")/np/127.0.0.1:$2"
}
lio_lun_link() { # lio_lun_link IQN STORAGE_OBJECT
	local tpg
	tpg=$(lio_tpg "$1")
	# A unit serial, as targetcli sets: without it LIO reports no NAA identifier.
	cat /proc/sys/kernel/random/uuid >"$2/wwn/vpd_unit_serial"
	mkdir -p "$tpg/lun/lun_0" && ln -s "$2" "$tpg/lun/lun_0/port0"
}
lio_fileio_lun() {
	# One storage object per file: configfs keeps them for the whole boot,
	# and an enabled one ignores a new fd_dev_name (it would serve the
	# first test's file to every later one).
	local so=$LIO/core/fileio_0/$(basename "$2" .img)
	truncate -s "${3}M" "$2"
	mkdir -p $so
	echo "fd_dev_name=$2,fd_dev_size=$(($3 << 20))" >$so/control
	echo 1 >$so/enable
	lio_lun_link "$1" $so
}
lio_ramdisk_lun() {
	local so=$LIO/core/rd_mcp_0/rd-${1##*:} # one per target, as files above
	mkdir -p $so
	echo "rd_pages=$(($2 * 256))" >$so/control
	echo 1 >$so/enable
	lio_lun_link "$1" $so
}
lio_open() {
	local tpg
	tpg=$(lio_tpg "$1")
	echo 0 >"$tpg/attrib/authentication"
	echo 1 >"$tpg/attrib/generate_node_acls"
	echo 1 >"$tpg/attrib/cache_dynamic_acls"
	echo 0 >"$tpg/attrib/demo_mode_write_protect"
}
lio_chap() {
	local tpg acl
	tpg=$(lio_tpg "$1")
	acl=$tpg/acls/$2
	echo 1 >"$tpg/attrib/authentication"
	echo 0 >"$tpg/attrib/generate_node_acls"
	mkdir -p "$acl/lun_0" && ln -s "$tpg/lun/lun_0" "$acl/lun_0/lun0"
	# configfs keeps a trailing newline: printf, never echo.
	printf %s "$3" >"$acl/auth/userid"
	printf %s "$4" >"$acl/auth/password"
	if [ -n "${5:-}" ]; then
		printf %s "$5" >"$acl/auth/userid_mutual"
		printf %s "$6" >"$acl/auth/password_mutual"
	fi
}
lio_enable() { echo 1 >"$(lio_tpg "$1")/enable"; }

kernel_login() {
	local iqn=$1 p=127.0.0.1:$2 sd=
	mkdir -p /run/lock/iscsi /etc/iscsi
	[ -f /etc/iscsi/initiatorname.iscsi ] ||
		echo "InitiatorName=iqn.2026-11.org.netublk:kernel" >/etc/iscsi/initiatorname.iscsi
	modprobe iscsi_tcp; modprobe sd_mod
	pgrep -x iscsid >/dev/null || { setsid iscsid -f >/tmp/iscsid.log 2>&1 & sleep 1; }
	iscsiadm -m discovery -t st -p "$p" >/dev/null 2>&1
	if [ -n "${3:-}" ]; then
		iscsiadm -m node -T "$iqn" -p "$p" -o update -n node.session.auth.authmethod -v CHAP
		iscsiadm -m node -T "$iqn" -p "$p" -o update -n node.session.auth.username -v "$3"
		iscsiadm -m node -T "$iqn" -p "$p" -o update -n node.session.auth.password -v "$4"
	fi
	if [ -n "${5:-}" ]; then
		iscsiadm -m node -T "$iqn" -p "$p" -o update -n node.session.auth.username_in -v "$5"
		iscsiadm -m node -T "$iqn" -p "$p" -o update -n node.session.auth.password_in -v "$6"
	fi
	iscsiadm -m node -T "$iqn" -p "$p" --login >/tmp/iscsiadm.log 2>&1 || return 1
	for _ in $(seq 50); do
		sd=$(ls -d /sys/class/iscsi_session/session*/device/target*/*/block/* 2>/dev/null | head -1)
		[ -n "$sd" ] && break; sleep 0.2
	done
	[ -n "$sd" ] || return 1
	KDEV=/dev/$(basename "$sd")
}
kernel_logout() { iscsiadm -m node -T "$1" -p "127.0.0.1:$2" --logout >/dev/null 2>&1; }
