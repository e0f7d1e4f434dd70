#!/bin/bash
# Prints a seccomp profile for netublkd's container: the container
# engine's default profile (podman's, from containers-common) with the three
# io_uring system calls allowed, which the default refuses (ENOSYS). Every
# other call keeps the default's rule, so this is narrower than
# `--security-opt seccomp=unconfined`.
#   scripts/seccomp-profile.sh [DEFAULT_PROFILE] > netublk-seccomp.json
#   podman run --security-opt seccomp=netublk-seccomp.json ...
set -euo pipefail
DEFAULT=${1:-/usr/share/containers/seccomp.json}
[ -r "$DEFAULT" ] || { echo "seccomp-profile: $DEFAULT: no such profile (containers-common)" >&2; exit 1; }
python3 - "$DEFAULT" <<'PY'
import json, sys
profile = json.load(open(sys.argv[1]))
calls = ["io_uring_setup", "io_uring_enter", "io_uring_register"]
for rule in profile["syscalls"]:
    if rule.get("action") != "SCMP_ACT_ALLOW":
        rule["names"] = [n for n in rule.get("names", []) if n not in calls]
profile["syscalls"].append({"names": calls, "action": "SCMP_ACT_ALLOW", "args": [],
                            "comment": "netublkd: ublk and its sockets go through io_uring",
                            "includes": {}, "excludes": {}})
json.dump(profile, sys.stdout, indent=1)
print()
PY
