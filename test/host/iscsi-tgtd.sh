#!/bin/bash
# The iSCSI transport against a real tgtd on 127.0.0.1, through netublk-perf
# (the host/queue engine without ublk): LUN enumeration, login with None,
# CHAP and mutual CHAP, wrong secrets, digests, R2T modes, and verified data
# at QD 1 and 32 from 4k to 1 MiB.
set -u
. "${top_srcdir:-.}/test/tgt-lib.sh"
perf=${top_builddir:-.}/netublk-perf
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

tgt_start || exit 1
trap tgt_stop EXIT
IQN=iqn.2026-11.org.netublk:open
tgt_target 1 $IQN && tgt_lun 1 1 128 && tgt_lun 1 2 64 4096 || { bad "tgtd setup"; exit 1; }
# Let the target agree to digests and unsolicited data (tgtd's defaults refuse both).
for kv in HeaderDigest=CRC32C,None DataDigest=CRC32C,None InitialR2T=No ImmediateData=Yes \
	FirstBurstLength=262144 MaxBurstLength=1048576 MaxRecvDataSegmentLength=65536; do
	tgtadm -C $TGT_CTRL --lld iscsi --op update --mode target --tid 1 -n "${kv%%=*}" -v "${kv#*=}" ||
		bad "tgtadm set $kv"
done
OPEN=portal=127.0.0.1:$TGT_PORT,target=$IQN

verify() { # verify NAME SPEC ARGS...: a verify run must check reads and find no mismatch
	local name=$1 spec=$2; shift 2
	out=$("$perf" --iscsi "$spec" --rw randrw --verify --time 1 "$@" 2>&1)
	if [ $? = 0 ] && echo "$out" | grep -q ' 0 mismatches'; then ok "$name"; else
		bad "$name"; echo "$out" | tail -n 15
	fi
}

out=$("$perf" --iscsi "$OPEN" --time 1 --log-level info 2>&1)
echo "$out" | grep -q "LUN 1: 134217728 bytes, 512/4096-byte" && echo "$out" | grep -q "LUN 2: 67108864 bytes, 4096/4096-byte" &&
	ok "REPORT LUNS and READ CAPACITY: two LUNs, 512 and 4096-byte blocks" ||
	{ bad "LUN enumeration"; echo "$out"; }
echo "$out" | grep -q "naa\.[0-9a-f]\{16,\}" && ok "WWID from VPD 0x83" || bad "no WWID"

verify "QD1 4k" "$OPEN" --qd 1 --bs 4k
verify "QD32 4k, 2 queues" "$OPEN" --qd 32 --bs 4k --queues 2
verify "QD32 128k" "$OPEN" --qd 32 --bs 128k
verify "QD4 1M" "$OPEN" --qd 4 --bs 1M
verify "4096-byte LUN, QD32 64k" "$OPEN" --lun-index 1 --qd 32 --bs 64k
verify "backend tags fewer than I/Os (QD32 over 4 tags)" "$OPEN" --qd 32 --backend-depth 4

out=$("$perf" --iscsi "$OPEN,header_digest=crc32c,data_digest=crc32c" --time 1 --log-level debug 2>&1)
echo "$out" | grep -q "digests CRC32C/CRC32C" && ok "header and data digests negotiated" ||
	{ bad "digests not negotiated"; echo "$out" | grep -i 'logged in'; }
out=$("$perf" --iscsi "$OPEN" --time 1 --log-level debug 2>&1)
echo "$out" | grep -q "digests None/None, MaxRecvDSL 65536/262144, burst 262144/1048576, immediate 1, initialR2T 0" &&
	ok "operational keys negotiated (MaxRecvDSL, bursts, ImmediateData, InitialR2T)" ||
	{ bad "operational negotiation"; echo "$out" | grep -i 'logged in'; }
verify "digests on, QD32 128k" "$OPEN,header_digest=crc32c,data_digest=crc32c" --qd 32 --bs 128k
verify "digests on, QD1 4k" "$OPEN,header_digest=crc32c,data_digest=crc32c" --qd 1
verify "InitialR2T=Yes ImmediateData=No, 128k" "$OPEN,initial_r2t=yes,immediate_data=no" --qd 16 --bs 128k
verify "InitialR2T=Yes ImmediateData=No, 1M" "$OPEN,initial_r2t=yes,immediate_data=no" --qd 4 --bs 1M
verify "unsolicited Data-Out (InitialR2T=No, ImmediateData=No)" "$OPEN,initial_r2t=no,immediate_data=no" --qd 8 --bs 256k
verify "small first burst (8k) then R2T" "$OPEN,initial_r2t=yes,first_burst=8k" --qd 8 --bs 128k

# CHAP, one-way and mutual, on a second target.
CIQN=iqn.2026-11.org.netublk:chap
tgt_target 2 $CIQN && tgt_lun 2 1 32 && tgt_account 2 alice alice-secret-1 &&
	tgt_account 2 tgtuser target-secret-2 --outgoing || bad "tgtd CHAP setup"
CHAP=portal=127.0.0.1:$TGT_PORT,target=$CIQN
verify "CHAP MD5" "$CHAP,chap_user=alice,chap_secret=alice-secret-1" --qd 8
verify "mutual CHAP MD5" "$CHAP,chap_user=alice,chap_secret=alice-secret-1,mutual_user=tgtuser,mutual_secret=target-secret-2" --qd 8
expect_fail() { # expect_fail NAME SPEC PATTERN
	out=$("$perf" --iscsi "$2" --time 1 2>&1); rc=$?
	if [ $rc = 1 ] && echo "$out" | grep -qiE -e "$3"; then ok "$1"; else
		bad "$1 (rc=$rc)"; echo "$out" | tail -n 5
	fi
}
expect_fail "no credentials: clear authentication error" "$CHAP" "authentication"
expect_fail "wrong secret: clear authentication error" "$CHAP,chap_user=alice,chap_secret=nope-nope-nope" "authentication"
expect_fail "wrong mutual secret: target's response refused" "$CHAP,chap_user=alice,chap_secret=alice-secret-1,mutual_user=tgtuser,mutual_secret=wrong-wrong-1" "CHAP_R|mutual CHAP"
expect_fail "unknown target: clear error" "portal=127.0.0.1:$TGT_PORT,target=iqn.2026-11.org.netublk:none" "not found|log in"
expect_fail "closed port: clear error" "portal=127.0.0.1:1,target=$IQN" "connect to 127.0.0.1:1: Connection refused"

# SendTargets discovery (netublkd --discover needs no ublk).
d=${top_builddir:-.}/netublkd
out=$("$d" --discover portal=127.0.0.1:$TGT_PORT 2>&1)
if echo "$out" | grep -q "^127.0.0.1:$TGT_PORT,1 $IQN$" && echo "$out" | grep -q " $CIQN$"; then
	ok "SendTargets lists both targets with their portal"
else
	bad "SendTargets"; echo "$out"
fi
out=$("$d" --discover portal=127.0.0.1:1 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "Connection refused" && ok "discovery at a closed port: clear error" ||
	{ bad "discovery error (rc=$rc)"; echo "$out"; }
exit $fail
