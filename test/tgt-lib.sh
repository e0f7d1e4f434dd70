# shellcheck shell=bash
# tgtd (the user-space iSCSI target) for tests, on 127.0.0.1 at a free
# port with its own control port. Sourced by host and VM tests.
#   tgt_start             sets TGT_PORT, TGT_CTRL, TGT_DIR
#   tgt_target TID IQN    adds a target bound to every initiator
#   tgt_lun TID LUN SIZE_MB [BS]  adds a file-backed LUN (file TGT_DIR/tTID-lLUN.img)
#   tgt_account TID USER PASS [--outgoing]
#   tgt_stop
tgt_start() {
	TGT_DIR=$(mktemp -d /tmp/netublk-tgt.XXXXXX)
	for _ in 1 2 3 4 5 6 7 8; do
		TGT_PORT=$((20000 + RANDOM % 9000))
		TGT_CTRL=$((100 + RANDOM % 800))
		ss -ltn 2>/dev/null | grep -q ":$TGT_PORT " && continue
		tgtd -f --iscsi portal=127.0.0.1:$TGT_PORT -C $TGT_CTRL >"$TGT_DIR/tgtd.log" 2>&1 &
		TGT_PID=$!
		for _ in $(seq 50); do
			tgtadm -C $TGT_CTRL --op show --mode system >/dev/null 2>&1 && return 0
			kill -0 $TGT_PID 2>/dev/null || break
			sleep 0.1
		done
		kill -9 $TGT_PID 2>/dev/null
	done
	echo "tgtd would not start"; cat "$TGT_DIR/tgtd.log"
	return 1
}
tgt_target() {
	tgtadm -C $TGT_CTRL --lld iscsi --op new --mode target --tid "$1" -T "$2" &&
		tgtadm -C $TGT_CTRL --lld iscsi --op bind --mode target --tid "$1" -I ALL
}
tgt_lun() {
	local f=$TGT_DIR/t$1-l$2.img
	truncate -s "${3}M" "$f"
	tgtadm -C $TGT_CTRL --lld iscsi --op new --mode logicalunit --tid "$1" --lun "$2" -b "$f" \
		${4:+--blocksize "$4"}
}
tgt_account() {
	tgtadm -C $TGT_CTRL --lld iscsi --op new --mode account --user "$2" --password "$3" &&
		tgtadm -C $TGT_CTRL --lld iscsi --op bind --mode account --tid "$1" --user "$2" ${4:-}
}
tgt_stop() {
	tgtadm -C $TGT_CTRL --op delete --mode system --force >/dev/null 2>&1 ||
		tgtadm -C $TGT_CTRL --op delete --mode system >/dev/null 2>&1
	for _ in $(seq 50); do kill -0 $TGT_PID 2>/dev/null || break; sleep 0.1; done
	kill -9 $TGT_PID 2>/dev/null
	wait $TGT_PID 2>/dev/null
	rm -rf "$TGT_DIR"
}
