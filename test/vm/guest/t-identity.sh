# Volume identity and stable names. LIO backstores made without a unit
# serial report one T10 vendor identifier for all their LUNs: netublk
# serves each LUN as its own device and never links them by that
# identifier (it would name three disks at once); the target-and-LUN names
# stay. One nvmet subsystem reached as two targets (two [target] sections,
# two ports) is one volume: one device with two paths, the second
# section's path joining the first's device; I/O survives the first path
# failed by hand, and a reload that drops the second section takes its
# path out while the device keeps serving.
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
path_selector = round-robin
[target nv-b]
transport = nvme-tcp
address = 127.0.0.1:4432
subsystem = $NQN
path_selector = round-robin
CONF
if ! start_daemon ids --config /tmp/ids.conf; then
	fail "netublkd starts with LUNs that share an identifier"; nvmet_clear; return
fi
B=/run/netublk/by-id
ls -l $B | sed 's/^/    /'
grep -v ' debug ' $DLOG | sed 's/^/    /'
check "four devices: three LUNs, the namespace once" test "$(echo $DEVS | wc -w)" = 4
check "every LUN its own device by target and LUN" sh -c "
	a=\$(readlink $B/$IQN-lun0) b=\$(readlink $B/$IQN-lun1) c=\$(readlink $B/$IQN-lun2)
	test -b \"\$a\" -a -b \"\$b\" -a -b \"\$c\" && test \$(printf '%s\n' \$a \$b \$c | sort -u | wc -l) = 3"
check "no link by the shared T10 vendor identifier" sh -c "! ls $B | grep -q '^t10\.'"
check "the weak identifier logged once per LUN" \
	test "$(grep -c 'does not name one logical unit' $DLOG)" = 3
check "LUNs with the weak identifier not grouped" sh -c "! grep -q 'reaches the volumes of target lio' $DLOG"
check "writes to one LUN stay on it" sh -c "
	dd if=/dev/urandom of=/tmp/ids-a bs=1M count=8 2>/dev/null &&
	dd if=/tmp/ids-a of=\$(readlink $B/$IQN-lun0) bs=1M oflag=direct 2>/dev/null &&
	dd if=/dev/zero of=\$(readlink $B/$IQN-lun1) bs=1M count=8 oflag=direct 2>/dev/null &&
	cmp /tmp/ids-a \$(readlink $B/$IQN-lun0) -n 8388608"
uuid=uuid.00000001-0000-4000-8000-000000000001
ns=$(readlink $B/$uuid)
check "the namespace's identifier links to its device" test -b "$ns"
# Whichever section connected first owns the device; the other joined it.
base=$(grep -o 'its paths join [a-z-]*' $DLOG | awk '{print $4}' | sed "s/'s$//")
joiner=nv-a; [ "$base" = nv-a ] && joiner=nv-b
echo "    base $base, joined $joiner"
check "the second section's path joined the first's device" \
	grep -q "target $joiner reaches the volumes of target $base" $DLOG
check "one device, two paths, both up" test "$(paths $base state)" = "up up"
check "the joined section shows as joined" sh -c "
	$BUILD/netublkctl status | grep -E '^$joiner +joined' &&
	$BUILD/netublkctl --json status | grep -q '\"joined\":\"$base\"'"
check "no link held by a second device of the namespace" sh -c "! grep -q 'held by' $DLOG"
check "the joined target's name reaches the base's paths" \
	sh -c "$BUILD/netublkctl path list | grep -c '^$base ' | grep -qx 2"
check "path 0 failed by hand: fio verify over the joined path" sh -c "
	$BUILD/netublkctl path fail $base 0 && $(declare -f fio_verify) && LOGDIR=$LOGDIR &&
	fio_verify $ns 4k 8 8M && $BUILD/netublkctl path reinstate $joiner 0"
check "round-robin: the joined path carried I/O" sh -c "$(declare -f paths); BUILD=$BUILD; paths $base ios | awk '{exit !(\$2 > 0)}'"
# A crash: every device, the grouped namespace included, is taken over.
before=$(echo $DEVS | tr ' ' '\n' | sort | tr '\n' ' ')
kill -9 $DPID; wait $DPID 2>/dev/null
mv $DLOG $LOGDIR/ids-before-crash.log
if start_daemon ids --config /tmp/ids.conf; then
	check "after kill -9 the new netublkd recovered all four devices" \
		test "$(grep -c ': recovered' $DLOG)" = 4
	check "the same devices, none new" test "$(echo $DEVS | tr ' ' '\n' | sort | tr '\n' ' ')" = "$before"
	check "the namespace has its two paths again" sh -c "$(declare -f paths); BUILD=$BUILD
		for t in nv-a nv-b; do paths \$t state; done 2>/dev/null | grep -qx 'up up'"
else
	fail "a new netublkd starts after kill -9"
fi
# A reload without one NVMe section: its path leaves, the device serves on.
base=$(grep -o 'its paths join [a-z-]*' $DLOG | awk '{print $4}' | sed "s/'s$//")
joiner=nv-a; [ "$base" = nv-a ] && joiner=nv-b
sed -i "/^\[target $joiner\]/,\$d" /tmp/ids.conf
[ $joiner = nv-a ] && printf '[target nv-b]\ntransport = nvme-tcp\naddress = 127.0.0.1:4432\nsubsystem = %s\npath_selector = round-robin\n' $NQN >>/tmp/ids.conf
fio --name=leave --filename=$ns --ioengine=io_uring --direct=1 --rw=randwrite --bs=4k \
	--iodepth=16 --size=16M --verify=crc32c --do_verify=1 --verify_fatal=1 --loops=4 \
	>"$LOGDIR/fio-leave.out" 2>&1 &
fpid=$!
sleep 1
kill -HUP $DPID
for _ in $(seq 1 50); do grep -q "path 1 .* left" $DLOG && break; sleep 0.2; done
wait $fpid; rc=$?
check "reload without $joiner: its path left the device" grep -q "path 1 (127.0.0.1:443[12]) left" $DLOG
check "fio verify across the path leaving: exit 0, no error" sh -c "test $rc = 0 && grep -q 'err= 0' $LOGDIR/fio-leave.out"
check "one path listed now" sh -c "$BUILD/netublkctl path list | grep -c '^$base ' | grep -qx 1"
check "still four devices" test "$(ls /dev/ublkb* | wc -l)" = 4
check "SIGTERM: exit 0" stop_daemon
check "no device left" no_ublk_devices
check "no link left behind" test -z "$(ls $B)"
nvmet_clear
