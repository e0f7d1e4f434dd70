# Volume identity and stable names. LIO backstores made without a unit
# serial report one T10 vendor identifier for all their LUNs: netublk
# serves each LUN as its own device and never links them by that
# identifier (it would name three disks at once); the target-and-LUN names
# stay. One nvmet subsystem reached as two targets (two ports) is one
# volume twice: its identifier and target name keep pointing at the first
# device, never silently taken over by the second.
modprobe ublk_drv
. "$HERE/../../lio-lib.sh"
. "$HERE/../../nvmet-lib.sh"
lio_load && nvmet_load || { fail "LIO and nvmet load"; return; }
IQN=iqn.2026-12.org.netublk:ids
NQN=nqn.2026-12.org.netublk:ids
lio_target $IQN 3280
tpg=$(lio_tpg $IQN)
for l in 0 1 2; do
	so=$LIO/core/rd_mcp_7$l/lun$l
	mkdir -p $so && echo "rd_pages=$((8 * 256))" >$so/control && echo 1 >$so/enable
	mkdir -p $tpg/lun/lun_$l && ln -s $so $tpg/lun/lun_$l/port0
done
lio_open $IQN
lio_enable $IQN
nvmet_subsys $NQN
nvmet_ns $NQN 1 32 512
nvmet_port 1 4431
nvmet_port 2 4432
nvmet_link $NQN 1
nvmet_link $NQN 2
cat >/tmp/ids.conf <<CONF
[global]
queues = 1
[target lio]
portal = 127.0.0.1:3280
target = $IQN
[target nv-a]
transport = nvme-tcp
address = 127.0.0.1:4431
subsystem = $NQN
[target nv-b]
transport = nvme-tcp
address = 127.0.0.1:4432
subsystem = $NQN
CONF
if ! start_daemon ids --config /tmp/ids.conf; then
	fail "netublkd starts with LUNs that share an identifier"; nvmet_clear; return
fi
B=/run/netublk/by-id
ls -l $B | sed 's/^/    /'
grep -v ' debug ' $DLOG | sed 's/^/    /'
check "five devices: three LUNs, the namespace twice" test "$(echo $DEVS | wc -w)" = 5
check "every LUN its own device by target and LUN" sh -c "
	a=\$(readlink $B/$IQN-lun0) b=\$(readlink $B/$IQN-lun1) c=\$(readlink $B/$IQN-lun2)
	test -b \"\$a\" -a -b \"\$b\" -a -b \"\$c\" && test \$(printf '%s\n' \$a \$b \$c | sort -u | wc -l) = 3"
check "no link by the shared T10 vendor identifier" sh -c "! ls $B | grep -q '^t10\.'"
check "the weak identifier logged once per LUN" \
	test "$(grep -c 'does not name one logical unit' $DLOG)" = 3
check "writes to one LUN stay on it" sh -c "
	dd if=/dev/urandom of=/tmp/ids-a bs=1M count=8 2>/dev/null &&
	dd if=/tmp/ids-a of=\$(readlink $B/$IQN-lun0) bs=1M oflag=direct 2>/dev/null &&
	dd if=/dev/zero of=\$(readlink $B/$IQN-lun1) bs=1M count=8 oflag=direct 2>/dev/null &&
	cmp /tmp/ids-a \$(readlink $B/$IQN-lun0) -n 8388608"
uuid=uuid.00000001-0000-4000-8000-000000000001
first=$(readlink $B/$uuid)
check "the namespace's identifier links to one device" test -b "$first"
check "the second path's device did not take the links over" sh -c "
	test \"\$(readlink $B/$NQN-ns1)\" = '$first' && grep -q 'held by $first, not replaced' $DLOG"
check "nor tried to take the first one's device over as its own" \
	sh -c "! grep -q 'START_USER_RECOVERY' $DLOG"
# A crash: every device, both copies of the namespace included, is taken over.
before=$(echo $DEVS | tr ' ' '\n' | sort | tr '\n' ' ')
kill -9 $DPID; wait $DPID 2>/dev/null
mv $DLOG $LOGDIR/ids-before-crash.log
if start_daemon ids --config /tmp/ids.conf; then
	check "after kill -9 the new netublkd recovered all five devices" \
		test "$(grep -c ': recovered' $DLOG)" = 5
	check "the same devices, none new" test "$(echo $DEVS | tr ' ' '\n' | sort | tr '\n' ' ')" = "$before"
else
	fail "a new netublkd starts after kill -9"
fi
check "SIGTERM: exit 0" stop_daemon
check "no device left" no_ublk_devices
check "no link left behind" test -z "$(ls $B)"
nvmet_clear
