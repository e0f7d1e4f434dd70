#!/bin/bash
# The netublk demo: installs what it needs, builds, boots a VM with a ublk
# capable kernel and, inside it, serves a volume through netublkd as
# /dev/ublkbN, puts ext4 on it, writes a file and shows it mounted.
#
# Until the iSCSI transport lands, the volume is netublk's memory TEST
# backend (RAM, gone when netublkd exits).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
exec test/vm/vm.sh --kernel "${NU_DEMO_KERNEL:-sid}" "bash $PWD/scripts/demo-guest.sh $PWD/build"
