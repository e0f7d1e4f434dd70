# netublkd in a podman container, as a user would run it: the image built
# here by scripts/build-image.sh; its own network namespace, reaching LIO
# and nvmet over a veth; of the host's /dev only /dev/ublk-control and a
# device cgroup for ublk's majors; io_uring allowed by a seccomp profile
# made from podman's default (scripts/seccomp-profile.sh), not unconfined.
# The devices' nodes appear in the container's /dev (netublkd makes them);
# the kernel's initiators hold nothing; a second container, given one
# device with --device, runs fio verify, and a third puts ext4 on the other.
# A container killed and replaced recovers its predecessor's devices; one
# stopped while a consumer has ext4 mounted leaves that device to the next;
# removal leaves nothing. Each privilege is then taken away in turn and
# netublkd must fail saying why; in a user namespace it cannot make nodes.
modprobe ublk_drv
. "$HERE/../../lio-lib.sh"
. "$HERE/../../nvmet-lib.sh"
if ! command -v podman >/dev/null || ! command -v buildah >/dev/null; then
	skip "podman and buildah (scripts/setup.sh installs them)"; return
fi
lio_load && nvmet_load || { fail "LIO and nvmet load"; return; }
NS=nuctr
IQN=iqn.2026-12.org.netublk:ctr
NQN=nqn.2026-12.org.netublk:ctr
CT=/tmp/ctr
STATE=$CT/state IMAGE=localhost/netublk:0.1.0
mkdir -p $CT/etc $STATE $CT/storage $CT/run
# Storage on the VM's tmpfs, no systemd: cgroupfs, file events and logs.
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup
printf '[storage]\ndriver = "vfs"\ngraphroot = "%s/storage"\nrunroot = "%s/run"\n' $CT $CT >$CT/storage.conf
printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n[containers]\nlog_driver = "k8s-file"\n' >$CT/containers.conf
export CONTAINERS_STORAGE_CONF=$CT/storage.conf CONTAINERS_CONF=$CT/containers.conf
export STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot
net_up() {
	ip netns add $NS || return 1
	ip -n $NS link set lo up
	ip link add nuct type veth peer name nuci || return 1
	ip link set nuci netns $NS
	ip addr add 10.79.0.1/24 dev nuct
	ip -n $NS addr add 10.79.0.2/24 dev nuci
	ip link set nuct up
	ip -n $NS link set nuci up
	ip -n $NS route get 10.79.0.1 >/dev/null
}
cleanup() {
	podman rm -f -t 0 nu nu-consumer >/dev/null 2>&1
	nvmet_clear
	rmdir "$(lio_tpg $IQN)/np/10.79.0.1:3260" 2>/dev/null
	ip link del nuct 2>/dev/null
	ip netns del $NS 2>/dev/null
}
if ! net_up; then
	fail "a veth into the container's network namespace"; cleanup; return
fi
mkdir -p "$(lio_tpg $IQN)/np/10.79.0.1:3260"
lio_fileio_lun $IQN /tmp/ctr-lio.img 64
lio_open $IQN
lio_enable $IQN
nvmet_subsys $NQN
nvmet_ns $NQN 1 64 512
nvmet_port 1 4420
echo 10.79.0.1 >"$NVMET/ports/1/addr_traddr"
nvmet_link $NQN 1
cat >$CT/etc/netublk.conf <<CONF
[global]
queues = 2
host_nqn = nqn.2026-12.org.netublk:host-ctr
[target lio]
portal = 10.79.0.1:3260
target = $IQN
[target nv]
transport = nvme-tcp
address = 10.79.0.1:4420
subsystem = $NQN
CONF

check "scripts/build-image.sh builds the image in the VM (buildah, vfs on tmpfs)" \
	sh -c "'$HERE/../../../scripts/build-image.sh' '$BUILD' $CT/netublk.tar >$LOGDIR/build-image.out 2>&1 &&
		podman image exists $IMAGE"
sed 's/^/    /' $LOGDIR/build-image.out
check "scripts/seccomp-profile.sh: podman's default profile with io_uring allowed" \
	sh -c "'$HERE/../../../scripts/seccomp-profile.sh' >$CT/seccomp.json &&
		grep -q io_uring_enter $CT/seccomp.json"
UBLKC=$(awk '$2 == "ublk-char" {print $1}' /proc/devices)
BLKEXT=$(awk '$2 == "blkext" {print $1}' /proc/devices)
# The privileged set-up of the README, less one option when $2 names it:
# every capability dropped but the two it needs.
run_netublkd() { # run_netublkd NAME [LEAVE_OUT] [EXTRA PODMAN OPTIONS...]
	local name=$1 leave=${2:-} opts=(--cap-drop ALL); shift 2 2>/dev/null || shift
	[ "$leave" = SYS_ADMIN ] || opts+=(--cap-add SYS_ADMIN)
	[ "$leave" = MKNOD ] || opts+=(--cap-add MKNOD)
	[ "$leave" = seccomp ] || opts+=(--security-opt seccomp=$CT/seccomp.json)
	[ "$leave" = cgroup ] || opts+=(--device-cgroup-rule "c $UBLKC:* rwm" --device-cgroup-rule "b $BLKEXT:* rwm")
	rm -f $STATE/ready
	podman run -d --name "$name" --network ns:/run/netns/$NS "${opts[@]}" "$@" \
		--device /dev/ublk-control -v ${VOLUME:-$STATE}:/run/netublk -v $CT/etc:/etc/netublk:ro \
		$IMAGE --config /etc/netublk/netublk.conf --ready-file /run/netublk/ready >/dev/null
}
wait_ready() { # the container's netublkd wrote its ready file (or exited)
	for _ in $(seq 1 300); do
		[ -s $STATE/ready ] && return 0
		[ "$(podman inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ] || return 1
		sleep 0.1
	done
	return 1
}
ctl() { "$BUILD/netublkctl" -s $STATE/netublkd.sock "$@"; }
# A consumer's root: busybox, fio and mke2fs with their libraries, no more.
CONSUMER=$CT/consumer
mkdir -p $CONSUMER/bin $CONSUMER/mnt $CONSUMER/tmp $CONSUMER/dev $CONSUMER/proc $CONSUMER/sys
cp /bin/busybox $CONSUMER/bin/
for t in sh mount umount sha256sum dd cat sleep; do ln -sf busybox $CONSUMER/bin/$t; done
for b in fio mke2fs; do
	cp "$(command -v $b)" $CONSUMER/bin/
	for lib in $(ldd "$(command -v $b)" | awk '/=> \//{print $3} /^\t\/lib/{print $1}'); do
		mkdir -p "$CONSUMER$(dirname "$lib")" && cp -L "$lib" "$CONSUMER$lib"
	done
done
mkdir -p $CONSUMER/etc && cp /etc/mke2fs.conf $CONSUMER/etc/
consumer() { # consumer DEVICE [PODMAN OPTIONS] -- COMMAND...: a container given DEVICE only
	local dev=$1 opts=(); shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	podman run --rm --network none --device "$dev" "${opts[@]}" --rootfs $CONSUMER "$@"
}

if ! run_netublkd nu || ! wait_ready nu; then
	fail "netublkd comes up in a container of its own (privileged set-up)"
	podman logs nu 2>&1 | tail -n 20 | sed 's/^/    /'; cleanup; return
fi
pass "netublkd comes up in a container of its own (privileged set-up)"
podman logs nu >$LOGDIR/podman-nu.log 2>&1
CPID=$(podman inspect -f '{{.State.Pid}}' nu)
# shellcheck disable=SC2046
DEVS=$(echo $(awk '{print $1}' $STATE/ready))
device_of() { # the device of target $1, from status on the container's control socket
	ctl --json status | python3 -c "
import json, sys
t = {x['name']: x for x in json.load(sys.stdin)['targets']}['$1']
print('/dev/' + t['devices'][0]['dev'].removeprefix('/dev/'))"
}
dev_l=$(device_of lio) dev_n=$(device_of nv)
check "two devices, one per transport, through the control socket on its volume" \
	sh -c "test \$(wc -l <$STATE/ready) = 2 && test -n '$dev_l' && test -n '$dev_n' && test '$dev_l' != '$dev_n'"
check "its network namespace is not the VM's: the targets see 10.79.0.2" sh -c "
	test \"\$(readlink /proc/$CPID/ns/net)\" = \"\$(ip netns exec $NS readlink /proc/self/ns/net)\" &&
	test \"\$(readlink /proc/$CPID/ns/net)\" != \"\$(readlink /proc/self/ns/net)\" &&
	ss -Htn state established '( sport = :3260 )' | grep -q 10.79.0.2 &&
	ss -Htn state established '( sport = :4420 )' | grep -q 10.79.0.2"
check "the nodes are in the container's /dev, made by netublkd (no devtmpfs there)" sh -c "
	for d in $dev_l $dev_n; do
		test -b /proc/$CPID/root\$d || exit 1
		test \"\$(stat -c %t:%T /proc/$CPID/root\$d)\" = \"\$(stat -c %t:%T \$d)\" || exit 1
	done
	grep -q 'no devtmpfs' $LOGDIR/podman-nu.log &&
	! test -e /proc/$CPID/root/dev/sda"
check "netublkctl inside the container: both targets up" sh -c "
	podman exec nu /usr/bin/netublkctl status >$LOGDIR/ctr-status.out &&
	grep -q '^lio  *up' $LOGDIR/ctr-status.out && grep -q '^nv  *up' $LOGDIR/ctr-status.out"
check "no metrics listener unless configured: no TCP listener, one unix socket (control)" sh -c "
	test -z \"\$(ip netns exec $NS ss -Hltn)\" &&
	test \"\$(ip netns exec $NS ss -Hlx | grep -o '/[^ ]*' | sort -u)\" = /run/netublk/netublkd.sock"
check "the kernel's initiators hold nothing: no session, no controller, no iscsid" sh -c "
	test \"\$(cat /sys/module/iscsi_tcp/refcnt 2>/dev/null || echo 0)\" = 0 &&
	test \"\$(cat /sys/module/nvme_tcp/refcnt 2>/dev/null || echo 0)\" = 0 &&
	! ls /sys/class/iscsi_session/* >/dev/null 2>&1 &&
	! ls -d /sys/class/nvme-fabrics/ctl/nvme* >/dev/null 2>&1 && ! pgrep -x iscsid"
"$BUILD/netublkctl" -s $STATE/netublkd.sock metrics >$LOGDIR/ctr-metrics-before.txt
check "a second container given $dev_n only: fio verify" consumer $dev_n -- \
	/bin/fio --name=ctr --filename=$dev_n --ioengine=psync --direct=1 --rw=randwrite --bs=16k \
	--numjobs=4 --size=16M --offset_increment=16M --verify=crc32c --do_verify=1 --verify_fatal=1 \
	--group_reporting --output-format=json --output=/tmp/fio-ctr.json
"$BUILD/netublkctl" -s $STATE/netublkd.sock metrics >$LOGDIR/ctr-metrics-after.txt
check "metrics: the device's counters moved as fio's own counts say" python3 - \
	$LOGDIR/ctr-metrics-before.txt $LOGDIR/ctr-metrics-after.txt $CONSUMER/tmp/fio-ctr.json ${dev_n#/dev/} <<'PY'
import json, re, sys
def counters(path, dev):
    out = {}
    for line in open(path):
        m = re.match(r'(netublk_device_\w+)\{device="%s",[^}]*\} (\S+)$' % dev, line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out
before, after = counters(sys.argv[1], sys.argv[4]), counters(sys.argv[2], sys.argv[4])
fio = open(sys.argv[3]).read()  # notes may come before the JSON
job = json.loads(fio[fio.index('{'):])['jobs'][0]
delta = lambda k: after[k] - before.get(k, 0)
want = {'netublk_device_writes_total': job['write']['total_ios'],
        'netublk_device_write_bytes_total': job['write']['io_bytes'],
        'netublk_device_reads_total': job['read']['total_ios'],
        'netublk_device_read_bytes_total': job['read']['io_bytes'],
        'netublk_device_errors_total': 0, 'netublk_device_inflight': 0}
got = {k: (after[k] if k == 'netublk_device_inflight' else delta(k)) for k in want}
assert job['write']['total_ios'] > 0 and got == want, (got, want)
PY
check "a third container given $dev_l only: ext4, a file written" consumer $dev_l --cap-add SYS_ADMIN -- \
	/bin/sh -c "/bin/mke2fs -q -t ext4 $dev_l && mount $dev_l /mnt && dd if=/dev/urandom of=/mnt/data bs=1M count=8 2>/dev/null &&
		sha256sum /mnt/data >/tmp/sum && umount /mnt"
check "the consumer saw nothing of the VM's /dev but its device" consumer $dev_l -- \
	/bin/sh -c "test -b $dev_l && ! test -e $dev_n && ! test -e /dev/ublk-control"

# Killed and replaced: the new container recovers both devices (USER_RECOVERY).
podman kill nu >/dev/null; podman rm nu >/dev/null
check "the devices outlive the killed container" sh -c "test -b $dev_l && test -b $dev_n"
if run_netublkd nu && wait_ready nu; then
	podman logs nu >$LOGDIR/podman-nu2.log 2>&1
	check "a replacing container recovers its predecessor's two devices" sh -c "
		grep -q '$dev_l: recovered' $LOGDIR/podman-nu2.log && grep -q '$dev_n: recovered' $LOGDIR/podman-nu2.log &&
		test \$(wc -l <$STATE/ready) = 2"
else
	fail "a replacing container comes up"; podman logs nu 2>&1 | tail -n 20 | sed 's/^/    /'
fi
sum=$(awk '{print $1}' $CONSUMER/tmp/sum)
check "ext4 after recovery: the file's checksum" consumer $dev_l --cap-add SYS_ADMIN -- \
	/bin/sh -c "mount $dev_l /mnt && sha256sum /mnt/data | grep -q $sum && umount /mnt"

# Stopped while mounted: the mounted device stays for the next netublkd.
podman run -d --name nu-consumer --network none --device $dev_l --cap-add SYS_ADMIN --rootfs $CONSUMER \
	/bin/sh -c "mount $dev_l /mnt && sleep 600" >/dev/null
for _ in $(seq 1 50); do grep -q " /mnt " /proc/"$(podman inspect -f '{{.State.Pid}}' nu-consumer)"/mounts 2>/dev/null && break; sleep 0.1; done
podman stop -t 20 nu >/dev/null
podman logs nu >$LOGDIR/podman-nu3.log 2>&1
check "podman stop (SIGTERM): the unmounted device is deleted, the mounted one stays" sh -c "
	test \"\$(podman inspect -f '{{.State.ExitCode}}' nu)\" = 0 && ! test -e $dev_n && test -b $dev_l"
podman rm nu >/dev/null
if run_netublkd nu && wait_ready nu; then
	podman logs nu >$LOGDIR/podman-nu4.log 2>&1
	check "the next container takes the mounted device over and makes the other anew" sh -c "
		grep -q '$dev_l: recovered' $LOGDIR/podman-nu4.log && test \$(wc -l <$STATE/ready) = 2"
else
	fail "the next container comes up"; podman logs nu 2>&1 | tail -n 20 | sed 's/^/    /'
fi
podman exec nu-consumer /bin/sh -c "dd if=/dev/urandom of=/mnt/more bs=1M count=4 2>/dev/null && sync" ||
	fail "the mounted consumer writes through the new netublkd"
podman rm -f -t 0 nu-consumer >/dev/null
podman stop -t 20 nu >/dev/null
check "podman stop with nothing mounted: exit 0, no device, no node, no record left" sh -c "
	test \"\$(podman inspect -f '{{.State.ExitCode}}' nu)\" = 0 && ! ls /dev/ublkb* /dev/ublkc* 2>/dev/null &&
	! ls $STATE/state/* 2>/dev/null"
podman rm nu >/dev/null
check "podman rm: no container, no netublk process left in the VM" sh -c "
	test -z \"\$(podman ps -aq)\" && ! pgrep -x netublkd"

# Each privilege taken away in turn: netublkd says which is missing (its
# targets are retried, so it may stay up: the log is what is checked).
refused() { # refused LEAVE_OUT PATTERN [PODMAN OPTIONS]: netublkd's log matches PATTERN
	local name=$1 pattern=$2 log=$LOGDIR/podman-no-$1.log found=1; shift 2
	run_netublkd nu-$name "$name" "$@" || return 1
	for _ in $(seq 1 200); do
		podman logs nu-$name >$log 2>&1
		grep -Eq "$pattern" $log && { found=0; break; }
		[ "$(podman inspect -f '{{.State.Running}}' nu-$name)" = true ] || break
		sleep 0.1
	done
	podman rm -f -t 5 nu-$name >/dev/null
	[ $found = 0 ] && no_ublk_devices || { cat $log; return 1; }
}
check "without CAP_MKNOD: refused, naming CAP_MKNOD" refused MKNOD 'CAP_MKNOD'
check "with podman's default seccomp profile: refused, naming seccomp" refused seccomp 'seccomp'
check "without the device cgroup rules: refused, naming the node" refused cgroup '/dev/ublk[bc][0-9]'

# Without CAP_SYS_ADMIN: unprivileged devices (UBLK_F_UNPRIVILEGED_DEV),
# copy mode, no recovery; served and removed all the same. Its metrics page
# on the container's own address, said explicitly, scraped from outside.
printf 'metrics_listen = 10.79.0.2:9100\n' >$CT/etc/metrics.conf
sed -i '/^queues/r '$CT/etc/metrics.conf $CT/etc/netublk.conf
check "metrics_listen on a non-loopback address without metrics_listen_remote: refused, file and line" sh -c "
	timeout 20 '$BUILD/netublkd' --config $CT/etc/netublk.conf 2>&1 | grep -q 'netublk.conf:3: metrics_listen must be a loopback address'"
sed -i 's/^metrics_listen = .*/&\nmetrics_listen_remote = yes/' $CT/etc/netublk.conf
if run_netublkd nu-unpriv SYS_ADMIN && wait_ready nu-unpriv; then
	check "metrics_listen_remote = yes: the page on the container's address, scraped from the VM" sh -c "
		curl -sf http://10.79.0.2:9100/metrics | grep -q '^netublk_target_up{target=\"nv\",transport=\"nvme-tcp\"} 1'"
	podman logs nu-unpriv >$LOGDIR/podman-unpriv.log 2>&1
	dev_u=$(awk 'NR == 1 {print $1}' $STATE/ready)
	check "without CAP_SYS_ADMIN: unprivileged devices, copy mode, said so" sh -c "
		grep -q 'no CAP_SYS_ADMIN: making unprivileged' $LOGDIR/podman-unpriv.log &&
		'$BUILD/netublkctl' -s $STATE/netublkd.sock --json status | grep -q '\"unprivileged\":true' && ! grep -q 'data mode zero-copy' $LOGDIR/podman-unpriv.log" 
	check "a consumer container given the unprivileged $dev_u: fio verify" consumer $dev_u -- \
		/bin/fio --name=unpriv --filename=$dev_u --ioengine=psync --direct=1 --rw=randwrite --bs=64k \
		--size=16M --verify=crc32c --do_verify=1 --verify_fatal=1
	podman stop -t 20 nu-unpriv >/dev/null
	check "podman stop: the unprivileged devices are deleted" sh -c "
		test \"\$(podman inspect -f '{{.State.ExitCode}}' nu-unpriv)\" = 0 && ! ls /dev/ublkb* /dev/ublkc*"
else
	fail "without CAP_SYS_ADMIN: netublkd comes up with unprivileged devices"
	podman logs nu-unpriv 2>&1 | tail -n 20 | sed 's/^/    /'
fi
podman rm -f -t 5 nu-unpriv >/dev/null

# A user namespace (root mapped to 100000): its CAP_SYS_ADMIN is not the
# kernel's, so the devices are unprivileged ones, and no user namespace may
# make device nodes; with its own /dev it cannot serve, and says why.
mkdir -p $CT/state-userns && chown 100000:100000 $CT/state-userns
VOLUME=$CT/state-userns
chmod 666 /dev/ublk-control # as conf/90-netublk.rules does for unprivileged users
check "in a user namespace: refused, saying that device nodes cannot be made there" \
	refused userns 'in a user namespace no device node can be made' --uidmap 0:100000:65536 --gidmap 0:100000:65536
VOLUME=
chmod 600 /dev/ublk-control
cleanup
