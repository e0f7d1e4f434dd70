# The control socket is input too (control_group members can reach it):
# garbage, oversized, truncated and foreign requests get a clear refusal;
# clients that never speak, dribble, or fill every slot are dropped on
# their deadline; nobody holds the daemon up for anyone else, and its
# device keeps serving throughout.
modprobe ublk_drv
sock=/run/netublk/ctl-hostile.sock
if ! start_daemon ctl-hostile --mem 16M --control $sock; then
	fail "netublkd starts"; return
fi
ctl() { timeout 10 "$BUILD/netublkctl" --socket $sock "$@"; }
# raw BYTES-AS-PYTHON-LITERAL: sends them, closes the write side, prints the answer.
raw() {
	python3 - "$sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
try:
    s.sendall(eval(sys.argv[2]))
    s.shutdown(socket.SHUT_WR)
except OSError:
    pass  # the daemon may answer and close before it took everything
out = b""
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        out += b
except OSError:
    pass
print(out.decode(errors="replace"), end="")
PY
}
check "garbage: refused, says why" grep -q "^error: request with bytes that are not printable ASCII" \
	<<<"$(raw 'b"\x00\xff\x7fnetublk/1 status\n"')"
check "oversized (64 KiB, no newline): refused" grep -q "^error: request too long" \
	<<<"$(raw 'b"netublk/1 status " + b"a" * 65536')"
check "truncated (no newline, then closed): refused" grep -q "^error: request not ended by a newline" \
	<<<"$(raw 'b"netublk/1 stat"')"
check "another protocol: refused" grep -q "^error: this daemon speaks netublk/1" \
	<<<"$(raw 'b"netublk/9 status\n"')"
check "unknown command: refused" grep -q "^error: unknown command" <<<"$(raw 'b"netublk/1 format c:\n"')"
check "arguments too long: refused" grep -q "^error: arguments too long" \
	<<<"$(raw 'b"netublk/1 login " + b"x" * 1070 + b"\n"')"

# Clients that say nothing, and one that dribbles a byte at a time, held
# open while others ask: every answer comes at once.
python3 - "$sock" <<'PY' &
import socket, sys, time
held = []
for _ in range(3):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); held.append(s)
d = socket.socket(socket.AF_UNIX); d.connect(sys.argv[1])
for c in b"netublk/1 sta":
    try:
        d.send(bytes([c]))
    except OSError:
        break
    time.sleep(0.3)
time.sleep(3)
PY
silent=$!
sleep 0.5
t0=$(date +%s%N)
out=$(ctl status); rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "status answered while silent and dribbling clients are held (exit 0)" test $rc = 0
check "... at once (${ms} ms, under 1000)" test $ms -lt 1000
check "... and it lists the device" grep -q ublkb <<<"$out"
wait $silent
check "the silent and dribbling clients were dropped on their deadline" \
	grep -q "control socket: client dropped: said no whole request in time" "$DLOG"

# Every slot taken by silent clients: a new client waits in the backlog
# until their deadline frees one, then is answered.
python3 - "$sock" <<'PY' &
import socket, sys, time
held = []
for _ in range(12):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); held.append(s)
time.sleep(6)
PY
flood=$!
sleep 0.5
t0=$(date +%s%N)
out=$(ctl status); rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "status answered with every slot taken by silent clients (exit 0, ${ms} ms)" test $rc = 0
check "... within a few seconds (the silent ones' deadline)" test $ms -lt 6000
wait $flood
check "the device served throughout" dd if="${DEVS%% *}" of=/dev/null bs=1M count=16 iflag=direct status=none
check "netublkd still up" kill -0 $DPID
check "SIGTERM: exit 0" stop_daemon
