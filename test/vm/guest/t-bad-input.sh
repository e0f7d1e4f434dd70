# Bad input and hostile environments: one clear message, an exit code,
# no device left behind.

rmmod ublk_drv 2>/dev/null
out=$("$NETUBLKD" --mem 16M 2>&1); rc=$?
check "missing ublk module: exit 1" test $rc = 1
check "missing ublk module: says modprobe ublk_drv" grep -q "modprobe ublk_drv" <<<"$out"

modprobe ublk_drv
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$NETUBLKD" --mem 16M 2>&1); rc=$?
check "non-root: exit 1" test $rc = 1
check "non-root: says permission denied" grep -q "permission denied" <<<"$out"

out=$("$NETUBLKD" --mem 12x 2>&1); rc=$?
check "invalid size: exit 2" test $rc = 2
check "invalid size: names the value" grep -q "invalid --mem size '12x'" <<<"$out"
out=$("$NETUBLKD" --mem 1001k --block-size 4096 2>&1); rc=$?
check "size not a block multiple: exit 2" test $rc = 2

# A failure after the device exists and its tags were fetched (injected at
# START_DEV) must still stop and delete it.
out=$(NETUBLK_FAULT=start_dev "$NETUBLKD" --mem 16M --mem 16M 2>&1); rc=$?
check "failed start: exit 1" test $rc = 1
check "failed start: device deleted" grep -q "ublk[0-9]*: deleted" <<<"$out"
check "no device left behind" no_ublk_devices
