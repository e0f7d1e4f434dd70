#!/bin/bash
# The netublk demo: installs what it needs, builds, boots a VM with a ublk
# capable kernel and, inside it, brings up a kernel iSCSI target (LIO, with
# CHAP), serves its LUN through netublkd as /dev/ublkbN, puts ext4 on it,
# writes files and shows them mounted.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
exec test/vm/vm.sh --kernel "${NU_DEMO_KERNEL:-sid}" "bash $PWD/scripts/demo-guest.sh $PWD/build"
