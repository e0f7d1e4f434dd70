#!/bin/bash
# Builds an OCI image of netublkd and netublkctl with buildah, from the
# build and this machine's Debian libraries only (no registry, no base
# image): the two binaries, the shared libraries ldd names, the dynamic
# loader, and an empty /etc/netublk, /run/netublk and /dev (netublkd makes
# its devices' nodes itself). Tagged netublk:VERSION in buildah's store and
# written as an OCI archive (podman load -i / docker load -i); prints its size.
#   scripts/build-image.sh [BUILD_DIR [ARCHIVE]]  (default: build, build/netublk-VERSION.tar)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
command -v buildah >/dev/null ||
	{ apt-get install -y -qq --no-install-recommends buildah >/dev/null; }
[ -x "$B/netublkd" ] || scripts/build.sh
VERSION=$(sed -n 's/^AC_INIT(\[netublk\], \[\([^]]*\)\].*/\1/p' configure.ac)
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs} BUILDAH_ISOLATION=${BUILDAH_ISOLATION:-chroot}
root=$(mktemp -d /tmp/netublk-image.XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{usr/sbin,usr/bin,etc/netublk,run/netublk,dev,tmp}
install -m 755 "$B/netublkd" "$root/usr/sbin/netublkd"
install -m 755 "$B/netublkctl" "$root/usr/bin/netublkctl"
# Every library the binaries load, at the path the loader looks for it.
for lib in $(ldd "$B/netublkd" "$B/netublkctl" | awk '/=> \//{print $3} /^\t\/lib/{print $1}' | sort -u); do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
# Names the binaries look up at run time: users and groups (control_group), hosts.
printf 'root:x:0:0:root:/:/usr/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\ndisk:x:6:\n' >"$root/etc/group"
printf 'hosts: files\npasswd: files\ngroup: files\n' >"$root/etc/nsswitch.conf"
cp conf/netublk.conf.example "$root/etc/netublk/netublk.conf.example"
c=$(buildah from scratch)
buildah copy --quiet "$c" "$root" / >/dev/null
buildah config --entrypoint '["/usr/sbin/netublkd"]' \
	--cmd '--config /etc/netublk/netublk.conf' \
	--label org.opencontainers.image.title=netublk \
	--label org.opencontainers.image.version="$VERSION" \
	--volume /run/netublk "$c"
buildah commit --quiet --rm "$c" "netublk:$VERSION" >/dev/null
# The image is whole if its binaries start in it (every library found).
c=$(buildah from "netublk:$VERSION")
buildah run "$c" -- /usr/sbin/netublkd --help >/dev/null &&
	buildah run "$c" -- /usr/bin/netublkctl --help >/dev/null ||
	{ buildah rm "$c" >/dev/null; echo "build-image: the image's binaries do not start" >&2; exit 1; }
buildah rm "$c" >/dev/null
archive=${2:-$B/netublk-$VERSION.tar}
rm -f "$archive"
buildah push --quiet "netublk:$VERSION" "oci-archive:$archive:localhost/netublk:$VERSION" >/dev/null
size=$(buildah images --format '{{.Size}}' "netublk:$VERSION")
files=$(find "$root" -type f | wc -l)
echo "netublk:$VERSION: $size, $files files, archive $archive ($(du -h "$archive" | cut -f1))"
echo "  (netublkd, netublkctl, $(ls "$root"/lib/x86_64-linux-gnu "$root"/usr/lib/x86_64-linux-gnu 2>/dev/null | grep -c '\.so') libraries)"
