#!/bin/bash
# Builds netublk out of tree: build/ (normal) and, with --asan, build-asan/
# (AddressSanitizer + UBSan). Both with -Werror.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x configure ] && [ configure -nt configure.ac ] || ./autogen.sh >/dev/null 2>&1
build() { # build DIR [configure args]
	local dir=$1; shift
	mkdir -p "$dir"
	(cd "$dir" && { [ -f Makefile ] || ../configure -q "$@"; } && make -s -j"$(nproc)")
}
build build
if [ "${1:-}" = --asan ]; then build build-asan --enable-sanitizers; fi
