#!/bin/bash
# Installs every build and test dependency of netublk on Debian bookworm.
# Idempotent; takes a second when everything is there already.
#
# liburing: bookworm's 2.3 lacks helpers we use, so liburing 2.15 comes from
# sid (it needs only libc6), with linux-libc-dev from sid for the kernel
# 7.2 uapi headers (ublk_cmd.h with every feature flag, io_uring.h). Both
# are installed by explicit name from a source pinned at priority 1.
set -euo pipefail
cd "$(dirname "$0")"
. ./apt-pins.sh

BOOKWORM_PKGS="build-essential autoconf automake libtool pkg-config
 libiscsi-dev libnvme-dev libssl-dev libnl-3-dev libnl-route-3-dev libcmocka-dev libisal-dev libinih-dev libmicrohttpd-dev
 fio tgt libiscsi-bin open-iscsi nvme-cli e2fsprogs util-linux kmod iproute2 procps psmisc
 qemu-system-x86 qemu-utils busybox-static cpio xz-utils valgrind python3 curl podman buildah"
PINNED_PKGS="liburing-dev/sid liburing2/sid linux-libc-dev/sid"

missing=""
for p in $BOOKWORM_PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
have_uring=$(dpkg-query -W -f='${Version}' liburing-dev 2>/dev/null || true)
have_hdrs=$(dpkg-query -W -f='${Version}' linux-libc-dev 2>/dev/null || true)
need_pinned=0
dpkg --compare-versions "${have_uring:-0}" ge 2.5 || need_pinned=1
dpkg --compare-versions "${have_hdrs:-0}" ge 6.16 || need_pinned=1

# promtool checks the metrics' format in the tests: taken out of Debian's
# prometheus package rather than installing it (that would add a service).
PROMTOOL=/var/cache/netublk-tools/promtool
need_promtool=0
command -v promtool >/dev/null || [ -x $PROMTOOL ] || need_promtool=1
get_promtool() {
	local d
	d=$(mktemp -d)
	(cd "$d" && apt-get download -qq prometheus >/dev/null 2>&1 &&
		dpkg-deb -x prometheus_*.deb x && mkdir -p "${PROMTOOL%/*}" &&
		cp x/usr/bin/promtool $PROMTOOL) ||
		echo "setup: no promtool (the metrics format check will be skipped)"
	rm -rf "$d"
}

# NVMe/TCP TLS in the VM tests needs tlshd (ktls-utils, the kernel target's
# handshake agent) and an nvme-cli that derives TLS PSKs (2.16): neither
# exists for bookworm, so sid's binaries with the libraries they need (sid's
# glibc among them) are unpacked apart and run through sid's dynamic loader
# (wrappers in $SIDTLS/bin). Nothing is installed. trixie's tlshd 1.0 comes
# too, as tlshd-1.0: sid's 1.4 sets TLS_TX_MAX_PAYLOAD_LEN, which Linux 6.12
# lacks; 1.0 runs there (but takes no SHA-384 PSKs).
SIDTLS=/var/cache/netublk-tools/sid-tls
SIDTLS_PKGS="ktls-utils nvme-cli libnvme1t64 libc6 libgnutls30t64 libglib2.0-0t64 libnl-3-200
 libnl-genl-3-200 libunistring5 libhogweed6t64 libnettle8t64 libtasn1-6 libp11-kit0 libidn2-0
 libgmp10 libssl3t64 libjson-c5 libkeyutils1 libdbus-1-3 libsystemd0 libcap2 libzstd1 liblz4-1
 liblzma5 libgcrypt20 libgpg-error0 libffi8 libpcre2-8-0 libmount1 libselinux1 libblkid1
 libbrotli1"
need_sidtls=0
[ -x $SIDTLS/bin/tlshd ] && [ -x $SIDTLS/bin/tlshd-1.0 ] && [ -x $SIDTLS/bin/nvme ] || need_sidtls=1
get_sidtls() {
	local d p lib
	nu_apt_pins
	d=$(mktemp -d)
	(
		cd "$d" || exit 1
		for p in $SIDTLS_PKGS; do
			apt-get download -qq "$p/sid" >/dev/null 2>&1 || { echo "setup: $p/sid: not found"; exit 1; }
		done
		for p in *.deb; do dpkg-deb -x "$p" root; done
		mkdir old && cd old && apt-get download -qq ktls-utils/trixie >/dev/null 2>&1 &&
			dpkg-deb -x ktls-utils_*.deb x && cp x/usr/sbin/tlshd ../root/usr/sbin/tlshd-1.0 &&
			cd .. || { echo "setup: ktls-utils/trixie: not found"; exit 1; }
		lib=$SIDTLS/root/usr/lib/x86_64-linux-gnu:$SIDTLS/root/lib/x86_64-linux-gnu
		mkdir -p bin
		for p in tlshd tlshd-1.0 nvme; do
			printf '#!/bin/sh\nexec %s --library-path %s:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu %s "$@"\n' \
				"$SIDTLS/root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" "$lib" \
				"$SIDTLS/root/usr/sbin/$p" >bin/$p
			chmod +x bin/$p
		done
		rm -rf "$SIDTLS" && mkdir -p "${SIDTLS%/*}" && mkdir "$SIDTLS" &&
			mv root bin "$SIDTLS/"
	) || echo "setup: no sid TLS tools (the NVMe/TCP TLS VM tests will fail)"
	rm -rf "$d"
	"$SIDTLS/bin/tlshd" --help 2>&1 | grep -q usage &&
		"$SIDTLS/bin/tlshd-1.0" --help 2>&1 | grep -q usage &&
		"$SIDTLS/bin/nvme" version | grep -q 'nvme version' ||
		echo "setup: the sid TLS tools do not run (the NVMe/TCP TLS VM tests will fail)"
}

if [ -z "$missing" ] && [ $need_pinned = 0 ]; then
	[ $need_promtool = 0 ] || get_promtool
	[ $need_sidtls = 0 ] || get_sidtls
	echo "setup: all dependencies present"
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if [ -n "$missing" ]; then
	echo "setup: installing$missing"
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
if [ $need_pinned = 1 ]; then
	nu_apt_pins
	echo "setup: installing $PINNED_PKGS (pinned)"
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $PINNED_PKGS >/dev/null
fi
[ $need_promtool = 0 ] || get_promtool
[ $need_sidtls = 0 ] || get_sidtls
echo "setup: done"
