# One config, both transports: an iSCSI target (LIO) and NVMe/TCP
# subsystems (nvmet) behind one netublkd. Status and --json show them;
# discovery through netublkctl; a portal that is down at start is reported
# and served once it appears; SIGHUP removes the iSCSI target and adds an
# NVMe one while fio verify runs on a third with zero errors; logout/login;
# SIGTERM leaves no device and no session (checked on the target side);
# a mounted device outlives SIGTERM and the next netublkd takes it over.
modprobe ublk_drv
. "$HERE/../../lio-lib.sh"
. "$HERE/../../nvmet-lib.sh"
lio_load && nvmet_load || { fail "LIO and nvmet load"; return; }
IQN=iqn.2026-11.org.netublk:mixed
lio_target $IQN 3260
lio_fileio_lun $IQN /tmp/mixed-lio.img 48
lio_open $IQN
lio_enable $IQN
for s in a b c; do nvmet_subsys nqn.2026-11.org.netublk:mix-$s; done
nvmet_ns nqn.2026-11.org.netublk:mix-a 1 64 4096
nvmet_ns nqn.2026-11.org.netublk:mix-b 2 80 512
nvmet_ns nqn.2026-11.org.netublk:mix-c 3 96 512
nvmet_port 1 4420
nvmet_link nqn.2026-11.org.netublk:mix-a 1
nvmet_link nqn.2026-11.org.netublk:mix-b 1
CTL="$BUILD/netublkctl"
sessions() { # target-side TCP connections on port $1 (0 when nobody is logged in)
	ss -Htn state established "( sport = :$1 )" | wc -l
}
conf() { # conf [iscsi] NVME_LETTERS...: the config, with target 'late' (port 4425) always
	{
		printf '[global]\nqueues = 2\nhost_nqn = nqn.2026-11.org.netublk:host-mixed\n'
		printf 'metrics_listen = %s\n' "$METRICS"
		if [ "$1" = iscsi ]; then
			printf '[target lio]\ntransport = iscsi\nportal = 127.0.0.1:3260\ntarget = %s\n' $IQN
			shift
		fi
		for s in "$@"; do
			printf '[target nv-%s]\ntransport = nvme-tcp\naddress = 127.0.0.1:4420\n' $s
			printf 'subsystem = nqn.2026-11.org.netublk:mix-%s\nheader_digest = crc32c\n' $s
		done
		printf '[target late]\ntransport = nvme-tcp\naddress = 127.0.0.1:4425\n'
		printf 'subsystem = nqn.2026-11.org.netublk:mix-c\nreconnect_delay = 1\n'
	} >/tmp/mixed.conf
}
METRICS=unix:/tmp/nu-metrics.sock
conf iscsi a
if ! start_daemon mixed --config /tmp/mixed.conf; then
	fail "netublkd starts with an iSCSI and two NVMe/TCP targets, one down"; nvmet_clear; return
fi
check "two devices at start (LIO LUN, nvme namespace), the down target reported" sh -c "test \$(wc -l <$LOGDIR/ready) = 2 && grep -q 'target late .* not served; retrying' $DLOG"
out=$("$CTL" status)
check "status: both transports up, the late one retrying" sh -c "echo '$out' | grep -q '^lio  *up' && echo '$out' | grep -q '^nv-a  *up' && echo '$out' | grep -Eq '^late  *(retrying|connecting)'"
json=$("$CTL" --json status)
check "status --json: transports and devices" python3 -c "
import json, sys
d = json.loads(sys.argv[1])
t = {x['name']: x for x in d['targets']}
assert t['lio']['transport'] == 'iscsi' and t['nv-a']['transport'] == 'nvme-tcp', t
assert len(t['lio']['devices']) == 1 and len(t['nv-a']['devices']) == 1
assert t['nv-a']['devices'][0]['block_size'] == 4096
assert t['late']['state'] in ('retrying', 'connecting') and not t['late']['devices']
" "$json"
check "status --json: one iSCSI session per queue, the NVMe admin and I/O queues" python3 -c "
import json, sys
t = {x['name']: x for x in json.loads(sys.argv[1])['targets']}
s = t['lio']['paths']
assert [(p['queue'], p['role'], p['state']) for p in s] == [(0, 'session', 'up'), (1, 'session', 'up')], s
assert all(p['remote'] == '127.0.0.1:3260' and p['local'].startswith('127.0.0.1:') for p in s), s
assert s[0]['id'].startswith('isid 80') and s[0]['id'][:17] != s[1]['id'][:17], s
n = t['nv-a']['paths']
assert [(p['queue'], p['role'], p['state']) for p in n] == [(-1, 'admin', 'up'), (0, 'io', 'up'), (1, 'io', 'up')], n
assert n[0]['id'].endswith('qid 0') and n[2]['id'].endswith('qid 2'), n
assert all(p['remote'] == '127.0.0.1:4420' and p['reconnects'] == 0 for p in n), n
assert t['late']['paths'] == []
" "$json"
check "status: a line per session" sh -c "echo '$out' | grep -Eq '^  session q1 +up +127.0.0.1:[0-9]+ +-> 127.0.0.1:3260 +isid 80'"
out=$("$CTL" discover nvme address=127.0.0.1:4420)
check "netublkctl discover nvme lists both subsystems" sh -c "echo '$out' | grep -q mix-a && echo '$out' | grep -q mix-b"
out=$("$CTL" discover iscsi portal=127.0.0.1:3260)
check "netublkctl discover iscsi lists the LIO target" grep -q "$IQN" <<<"$out"
check "target side: one iSCSI session per queue" test "$(sessions 3260)" = 2

# The late portal appears: it is served without anyone asking.
nvmet_port 2 4425
nvmet_link nqn.2026-11.org.netublk:mix-c 2
for _ in $(seq 100); do grep -q "target late is up" "$DLOG" && break; sleep 0.2; done
check "the late target is served once its portal appears" grep -q "target late is up" "$DLOG"

# fio verify on nv-a while the iSCSI target goes and nv-b comes.
dev_a=$(readlink /run/netublk/by-id/nqn.2026-11.org.netublk:mix-a-ns1)
fio --name=mixed --filename=$dev_a --ioengine=io_uring --direct=1 --rw=randwrite --bs=4k \
	--iodepth=8 --size=16M --verify=crc32c --do_verify=1 --verify_fatal=1 --loops=4 \
	>"$LOGDIR/fio-mixed.out" 2>&1 &
fio_pid=$!
check "the metrics page on a unix socket (config): the targets' metrics" sh -c "
	curl -sf --unix-socket /tmp/nu-metrics.sock http://x/metrics | grep -q '^netublk_target_up{target=\"lio\",transport=\"iscsi\"} 1'"
sleep 1
METRICS=127.0.0.1:9577 # the reload moves the page
conf a b
kill -HUP $DPID
for _ in $(seq 100); do grep -q "target nv-b is up" "$DLOG" && break; sleep 0.2; done
check "SIGHUP: the iSCSI target removed, nv-b added" sh -c "grep -q 'target lio is no longer configured' $DLOG && grep -q 'target nv-b is up' $DLOG"
check "target side: the removed iSCSI target has no session left" test "$(sessions 3260)" = 0
wait $fio_pid; rc=$?
check "fio verify on nv-a through the reload: exit 0, no error" sh -c "test $rc = 0 && grep -q 'err= 0' $LOGDIR/fio-mixed.out"
# Metrics (Prometheus text): valid, and the same numbers as status.
"$CTL" metrics >$LOGDIR/metrics.txt
"$CTL" --json status >$LOGDIR/status.json
PROMTOOL=$(command -v promtool || echo /var/cache/netublk-tools/promtool)
if [ -x "$PROMTOOL" ]; then
	check "netublkctl metrics: promtool check metrics finds nothing" \
		sh -c "out=\$('$PROMTOOL' check metrics <$LOGDIR/metrics.txt 2>&1) && test -z \"\$out\" ||
			{ echo \"\$out\"; exit 1; }"
else
	skip "netublkctl metrics: promtool check metrics (no promtool)"
fi
check "the metrics page moved on reload: served on 127.0.0.1:9577, its unix socket gone" sh -c "
	curl -sf http://127.0.0.1:9577/metrics >$LOGDIR/metrics-http.txt && test ! -e /tmp/nu-metrics.sock"
check "the page has what netublkctl metrics has" sh -c "
	test \"\$(grep '^# TYPE' $LOGDIR/metrics-http.txt)\" = \"\$(grep '^# TYPE' $LOGDIR/metrics.txt)\" &&
	grep -q '^netublk_device_writes_total{device=\"${dev_a#/dev/}\"' $LOGDIR/metrics-http.txt"
check "the page: text/plain 0.0.4; other paths 404, other methods 405" sh -c "
	curl -sfI http://127.0.0.1:9577/metrics | grep -qi '^content-type: text/plain; version=0.0.4' &&
	test \$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9577/) = 404 &&
	test \$(curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:9577/metrics) = 405"
check "netublkctl metrics: families declared, counts as status says, histograms whole" python3 - \
	$LOGDIR/metrics.txt $LOGDIR/status.json ${dev_a#/dev/} <<'PY'
import json, re, sys
text, status, dev = open(sys.argv[1]).read(), json.load(open(sys.argv[2])), sys.argv[3]
types, samples = {}, {}
for line in text.splitlines():
    if line.startswith('# TYPE '):
        _, _, name, kind = line.split()
        types[name] = kind
        continue
    if line.startswith('#'):
        continue
    m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)', line)
    assert m, f'bad sample line: {line}'
    name, labels, value = m.groups()
    family = re.sub(r'_(bucket|sum|count)$', '', name) if name not in types else name
    assert family in types, f'{name}: no TYPE before it'
    samples.setdefault(name, []).append((dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', labels)), float(value)))
def one(name, **want):
    hits = [v for l, v in samples.get(name, []) if all(l.get(k) == w for k, w in want.items())]
    assert len(hits) == 1, f'{name} {want}: {len(hits)} samples'
    return hits[0]
d = [x for t in status['targets'] for x in t['devices'] if x['dev'] == '/dev/' + dev][0]
assert one('netublk_device_writes_total', device=dev) == d['writes'] > 0, 'writes differ'
assert one('netublk_device_reads_total', device=dev) == d['reads'] > 0, 'reads differ'
assert one('netublk_device_errors_total', device=dev) == d['errors'] == 0
assert one('netublk_device_write_bytes_total', device=dev) >= 4096 * d['writes']
assert one('netublk_device_inflight', device=dev) == 0
for op, n in (('read', d['reads']), ('write', d['writes'])):
    assert one('netublk_device_io_latency_seconds_count', device=dev, op=op) == n, op
    b = [v for l, v in samples['netublk_device_io_latency_seconds_bucket'] if l['device'] == dev and l['op'] == op]
    assert b == sorted(b) and b[-1] == n, f'{op} buckets not cumulative up to the count'
    assert one('netublk_device_io_latency_seconds_sum', device=dev, op=op) > 0
conns = sum(len(t['paths']) for t in status['targets'])
assert len(samples['netublk_connection_up']) == conns, 'one up sample per connection'
assert all(v == 1 for _, v in samples['netublk_connection_up'])
assert one('netublk_target_up', target='nv-a', transport='nvme-tcp') == 1
print(len(samples), 'metric names,', sum(map(len, samples.values())), 'samples')
PY

out=$("$CTL" logout nv-b)
check "netublkctl logout: devices removed" sh -c "echo '$out' | grep -q 'logged out' && test ! -e /run/netublk/by-id/nqn.2026-11.org.netublk:mix-b-ns2"
check "status shows it logged out" sh -c "'$CTL' status | grep -q '^nv-b  *logged-out'"
"$CTL" login nv-b >/dev/null
for _ in $(seq 50); do [ -e /run/netublk/by-id/nqn.2026-11.org.netublk:mix-b-ns2 ] && break; sleep 0.2; done
check "netublkctl login: served again" test -b "$(readlink /run/netublk/by-id/nqn.2026-11.org.netublk:mix-b-ns2)"

# A mounted device at SIGTERM stays (as after a crash); the rest goes.
dev_a=$(readlink /run/netublk/by-id/nqn.2026-11.org.netublk:mix-a-ns1)
mkdir -p /mnt/mx
check "ext4 on nv-a's device ($dev_a), mounted" sh -c "mkfs.ext4 -q -F $dev_a && mount $dev_a /mnt/mx && head -c 4M /dev/urandom >/mnt/mx/f && sha256sum /mnt/mx/f >/tmp/mx.sum"
check "SIGTERM with a mounted device: exit 0" stop_daemon
check "the mounted device is still there" test -b "$dev_a"
ublk_block_devices() { find /dev -maxdepth 1 -type b -name 'ublkb*' | wc -l; }
for _ in $(seq 50); do [ "$(ublk_block_devices)" = 1 ] && break; sleep 0.1; done
check "the others are gone" sh -c "test $(ublk_block_devices) = 1 || { ls -la /dev | grep ublk; false; }"
check "the log says why" grep -q "$dev_a is in use (mounted?): left in place" "$DLOG"
if start_daemon mixed2 --config /tmp/mixed.conf; then
	check "the next netublkd takes the mounted device over" grep -q "$dev_a: recovered" "$DLOG"
	check "the filesystem reads back" sh -c "sync && echo 3 >/proc/sys/vm/drop_caches && sha256sum -c --quiet /tmp/mx.sum"
	umount /mnt/mx
	check "SIGTERM: exit 0" stop_daemon
else
	fail "netublkd starts again"; umount -l /mnt/mx
fi
check "no device left" no_ublk_devices
sleep 1
check "target side: no NVMe/TCP connection left" test "$(sessions 4420)$(sessions 4425)" = 00

# --syslog: the same lines reach syslog.
rm -f /dev/log
python3 - >/tmp/syslog.out 2>&1 <<'PY' &
import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
s.settimeout(20)
while True:
    m = s.recv(4096).decode(errors="replace")
    print(m, flush=True)
    if "ready:" in m:
        break
PY
log_pid=$!
for _ in $(seq 100); do [ -S /dev/log ] && break; sleep 0.1; done
if start_daemon syslog --nvme address=127.0.0.1:4420,subsystem=nqn.2026-11.org.netublk:mix-b --syslog; then
	wait $log_pid
	check "--syslog: lines reach syslog with the daemon facility" sh -c "grep -Eq '^<30>.*netublkd\[[0-9]+\]: info: ready: 1 device' /tmp/syslog.out || { cat /tmp/syslog.out; false; }"
	stop_daemon
else
	fail "netublkd --syslog starts"; kill $log_pid
fi
rm -f /dev/log
nvmet_clear
