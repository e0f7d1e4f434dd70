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

if [ -z "$missing" ] && [ $need_pinned = 0 ]; then
	[ $need_promtool = 0 ] || get_promtool
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
echo "setup: done"
