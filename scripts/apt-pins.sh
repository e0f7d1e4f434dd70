# shellcheck shell=bash
# Sourced by setup.sh and test/vm/vm.sh: Debian trixie and sid as package
# sources pinned at priority 1, so nothing comes from them unless named
# explicitly (pkg/sid). Without the pin, the next apt-get install would
# replace the host's glibc and more.
nu_apt_pins() {
	local src=/etc/apt/sources.list.d/netublk-pinned.sources
	local pref=/etc/apt/preferences.d/netublk-pinned.pref
	if [ ! -f "$pref" ]; then
		cat >"$pref" <<'PREF'
Package: *
Pin: release n=sid
Pin-Priority: 1

Package: *
Pin: release n=trixie
Pin-Priority: 1
PREF
	fi
	if [ ! -f "$src" ]; then
		cat >"$src" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
		# The archive mirror here may serve Release files past Valid-Until.
		apt-get update -qq -o Acquire::Check-Valid-Until=false
	fi
}
