#!/bin/bash
# Fuzz campaign: builds every fuzz target with clang's libFuzzer (ASan +
# UBSan), runs each for MINUTES from its seeds (test/fuzz/corpus/TARGET
# and the target's own fuzz_seed()), then replays the grown corpus in a
# coverage build and reports, per target: executions, findings, and line
# coverage of the files that parse what a target sends.
#
#   scripts/fuzz.sh MINUTES [TARGET...]     (default: every target)
#   scripts/fuzz.sh --save MINUTES ...      also merges the new inputs that
#                                           add coverage into the repo's corpus
#   scripts/fuzz.sh --runs N MINUTES ...    stops each target after N executions
#                                           (MINUTES is then the most it may take)
#
# Not part of CI (the corpora are replayed there by test_fuzz_*_smoke).
# Results: build-fuzz/summary.md, crashes in build-fuzz/TARGET/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SAVE=0
RUNS=-1
while :; do
	case ${1:-} in
	--save) SAVE=1; shift ;;
	--runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
	*) break ;;
	esac
done
MINUTES=${1:?usage: scripts/fuzz.sh [--save] [--runs N] MINUTES [TARGET...]}
shift
TARGETS=${*:-fuzz_stream fuzz_iscsi fuzz_iscsi_rx fuzz_nvme fuzz_nvme_rx fuzz_scsi fuzz_ctl}
OUT=${FUZZ_OUT:-$ROOT/build-fuzz}
mkdir -p "$OUT"

for t in clang llvm-profdata llvm-cov; do
	command -v $t >/dev/null || { apt-get install -y -qq clang llvm libclang-rt-dev >/dev/null; break; }
done

PKGS="liburing libiscsi libssl libcrypto libisal libnl-3.0 libnl-route-3.0"
CFLAGS="-g -O1 -std=gnu11 -D_GNU_SOURCE -Iinitiator -Iiscsi -Invmetcp -Isession -Iconf -Itest/sim $(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS) -lpthread"

# The sources each target exercises: the parsers under test and what they need.
sources() {
	case $1 in
	fuzz_stream) echo test/sim/stream_sim.c initiator/stream.c initiator/digest.c initiator/log.c initiator/tls.c initiator/hkdf.c ;;
	fuzz_iscsi) echo iscsi/pdu.c iscsi/text.c iscsi/chap.c iscsi/login.c iscsi/scsi.c initiator/io.c initiator/log.c ;;
	fuzz_nvme) echo nvmetcp/nvme_pdu.c nvmetcp/nvme_cmd.c nvmetcp/nvme_conn.c nvmetcp/nvme_auth.c \
		nvmetcp/nvme_auth_msg.c nvmetcp/dhchap.c nvmetcp/nvme_secret.c nvmetcp/nvme_tls_psk.c nvmetcp/nvme_config.c \
		initiator/tcp.c initiator/tls.c initiator/hkdf.c initiator/io.c initiator/digest.c initiator/log.c ;;
	fuzz_scsi) echo iscsi/scsi.c iscsi/scsi_geom.c initiator/io.c initiator/log.c ;;
	fuzz_ctl) echo session/ctl_proto.c ;;
	fuzz_iscsi_rx) echo test/sim/stream_sim.c initiator/stream.c initiator/digest.c initiator/log.c initiator/tls.c initiator/hkdf.c \
		initiator/supervisor.c initiator/netmon.c initiator/voltab.c initiator/path.c initiator/tcp.c initiator/io.c iscsi/login.c iscsi/chap.c iscsi/text.c \
		iscsi/pdu.c iscsi/scsi.c iscsi/scsi_geom.c iscsi/discover.c iscsi/conn.c ;;
	fuzz_nvme_rx) echo test/sim/stream_sim.c initiator/stream.c initiator/digest.c initiator/log.c initiator/tls.c initiator/hkdf.c \
		initiator/supervisor.c initiator/netmon.c initiator/voltab.c initiator/path.c initiator/tcp.c initiator/io.c nvmetcp/nvme_pdu.c nvmetcp/nvme_cmd.c \
		nvmetcp/nvme_conn.c nvmetcp/nvme_auth.c nvmetcp/nvme_auth_msg.c nvmetcp/dhchap.c nvmetcp/nvme_secret.c \
		nvmetcp/nvme_tls_psk.c nvmetcp/nvme_config.c ;;
	*) echo "fuzz.sh: unknown target $1" >&2; exit 2 ;;
	esac
}
# The files whose line coverage says whether every parser was reached.
parsers() {
	case $1 in
	fuzz_stream) echo initiator/stream.c ;;
	fuzz_iscsi) echo iscsi/pdu.c iscsi/text.c iscsi/login.c iscsi/chap.c iscsi/scsi.c ;;
	fuzz_nvme) echo nvmetcp/nvme_pdu.c nvmetcp/nvme_cmd.c nvmetcp/nvme_conn.c nvmetcp/nvme_auth.c \
		nvmetcp/nvme_auth_msg.c ;;
	fuzz_scsi) echo iscsi/scsi_geom.c iscsi/scsi.c ;;
	fuzz_ctl) echo session/ctl_proto.c ;;
	fuzz_iscsi_rx) echo iscsi/iscsi_transport.c initiator/supervisor.c initiator/stream.c ;;
	fuzz_nvme_rx) echo nvmetcp/nvme_queue.c nvmetcp/nvme_pdu.c initiator/supervisor.c initiator/stream.c ;;
	esac
}

summary=$OUT/summary.md
{
	echo "| target | minutes | executions | exec/s | findings | corpus | line coverage of the parsers | functions there never reached |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
} >"$summary"

for t in $TARGETS; do
	d=$OUT/$t
	mkdir -p "$d/corpus" "$d/crashes"
	# shellcheck disable=SC2046
	clang $CFLAGS -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		test/fuzz/$t.c $(sources $t) $LIBS -o "$d/$t"
	# shellcheck disable=SC2046
	clang $CFLAGS -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping \
		test/fuzz/$t.c $(sources $t) $LIBS -o "$d/$t-cov"
	# Seeds: the repo's corpus and the target's built-in ones.
	# shellcheck disable=SC2046
	clang $CFLAGS -DFUZZ_SEED_DUMP test/fuzz/seed_dump.c test/fuzz/$t.c $(sources $t) $LIBS \
		-o "$d/$t-seeds"
	"$d/$t-seeds" "$d/corpus"
	[ -d test/fuzz/corpus/$t ] && cp test/fuzz/corpus/$t/* "$d/corpus/" 2>/dev/null || true

	echo "== $t: $MINUTES min$([ "$RUNS" -ge 0 ] && echo ", at most $RUNS executions")"
	set +e
	t0=$SECONDS
	(cd "$d/crashes" && "$d/$t" -max_total_time=$((MINUTES * 60)) -runs="$RUNS" -print_final_stats=1 \
		-timeout=20 -rss_limit_mb=4096 -max_len=262144 -artifact_prefix="$d/crashes/" \
		"$d/corpus" >"$d/run.log" 2>&1)
	set -e
	took=$(awk -v s=$((SECONDS - t0)) 'BEGIN { printf "%.1f", s / 60 }')
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/run.log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$d/run.log" | tail -1)
	found=$(find "$d/crashes" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
	ncorp=$(find "$d/corpus" -type f | wc -l)

	# Coverage: replay the corpus in the coverage build.
	rm -f "$d"/*.profraw
	LLVM_PROFILE_FILE="$d/cov-%p.profraw" "$d/$t-cov" -runs=0 "$d/corpus" >/dev/null 2>&1 || true
	llvm-profdata merge -sparse "$d"/cov-*.profraw -o "$d/cov.profdata"
	# shellcheck disable=SC2046
	llvm-cov report "$d/$t-cov" -instr-profile="$d/cov.profdata" $(parsers $t) >"$d/coverage.txt"
	cov=$(awk '$1 != "Filename" && $1 !~ /^-+$/ && NF >= 10 { printf "%s %s, ", $1, $10 }' "$d/coverage.txt" |
		sed 's/, $//; s|/work/[^ ]*/\([a-z]*/[a-z_]*\.c\)|\1|g')
	# shellcheck disable=SC2046
	llvm-cov report -show-functions "$d/$t-cov" -instr-profile="$d/cov.profdata" $(parsers $t) \
		>"$d/functions.txt"
	unreached=$(awk '$1 ~ /^[a-z_.]+(:[a-z_0-9]+)?$/ && $7 == "0.00%" { printf "%s ", $1 }' \
		"$d/functions.txt")
	echo "| $t | $took | ${execs:-?} | ${rate:-?} | $found | $ncorp | $cov | ${unreached:-none} |" >>"$summary"
	echo "$t: ${execs:-?} executions, $found findings, coverage: $cov"

	if [ $SAVE = 1 ]; then
		mkdir -p test/fuzz/corpus/$t "$d/min"
		rm -rf "$d/min"/*
		"$d/$t" -merge=1 "$d/min" test/fuzz/corpus/$t "$d/corpus" >/dev/null 2>&1 || true
		# Keep the repo's corpus small: inputs of at most 4 KiB that add coverage.
		find "$d/min" -type f -size -4k -exec cp {} test/fuzz/corpus/$t/ \;
	fi
done
echo
cat "$summary"
