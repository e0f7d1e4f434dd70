#!/bin/bash
# The VM suite's harness (test/vm/run-suite.sh) with a stand-in for vm.sh
# that plays a guest: tests that pass, one whose VM dies once of an
# emulator fault (int3 oops), one whose kernel panics, one that hangs the
# VM. Each death must cost one test, the rest must run in new boots, an
# emulator fault must be retried once without counting the lost attempt,
# and the summary must say so.
set -u
src=${top_srcdir:-.}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
cat >"$work/fake-vm.sh" <<'FAKE'
#!/bin/bash
# fake-vm.sh --kernel K --timeout S 'CMD ... run.sh BUILD TEST...'
cmd=$5
share=$NU_VM_SHARE
tests=${cmd#*run.sh }
tests=${tests#* }
echo "guest: kernel fake, tests: $tests"
for t in $tests; do
	echo "start $t" >>"$share/progress"
	echo "=== $t"
	echo "PASS: $t: first check"
	case $t in
	t-int3-once)
		if [ ! -f "$share/int3-seen" ]; then
			: >"$share/int3-seen"
			echo "Oops: int3: 0000 [#1] SMP" >"$share/console.log"
			exit 255
		fi ;;
	t-panic)
		echo "Kernel panic - not syncing: Fatal exception" >"$share/console.log"
		exit 255 ;;
	t-hang)
		echo "" >"$share/console.log"
		exit 255 ;;
	t-fails)
		echo "FAIL: $t: second check" ;;
	esac
	echo "done $t" >>"$share/progress"
done
echo end >>"$share/progress"
exit 0
FAKE
chmod +x "$work/fake-vm.sh"
out=$(NU_VM_SH="$work/fake-vm.sh" "$src/test/vm/run-suite.sh" "$work" sid \
	t-a t-int3-once t-b t-panic t-c t-hang t-fails t-d 2>&1)
rc=$?
expect() { # expect DESCRIPTION COUNT PATTERN
	local n
	n=$(grep -c -- "$3" <<<"$out")
	if [ "$n" = "$2" ]; then echo "ok: $1"; else
		echo "FAIL: $1 (pattern '$3' seen $n times, wanted $2)"; fail=1
	fi
}
expect "every test that passes is counted once" 1 '^PASS: t-a: first check'
expect "the test lost to an emulator fault counts once, from its retry" 1 '^PASS: t-int3-once'
expect "tests after a death still run" 1 '^PASS: t-d: first check'
expect "tests after a death still run (c)" 1 '^PASS: t-c: first check'
expect "a panic fails the test that was running" 1 '^FAIL: t-panic: the VM died (Kernel panic'
expect "a hang fails the test that was running" 1 '^FAIL: t-hang: the VM died (hung'
expect "an ordinary failure is reported" 1 '^FAIL: t-fails: second check'
expect "the emulator fault is said" 1 'emulator fault (int3 oops in patched kernel text) during t-int3-once'
expect "the summary counts boots and faults" 1 '^guest: sid: 4 boot(s), 1 emulator fault(s), retried: t-int3-once'
if [ $rc = 0 ]; then echo "FAIL: the suite exited 0 despite failures"; fail=1; else echo "ok: non-zero exit"; fi
[ $fail = 0 ] || echo "$out"
exit $fail
