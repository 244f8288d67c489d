#!/bin/sh
# opcheck.sh: the op-level test suite (tests/opcheck.c).  For every op of
# compiler/ops.h: gradient checks on the interpreter, compiled kernels (JIT)
# against the interpreter, and simplify's stable forms.  Prints the checks'
# "ok - name" / "not ok - name: details" lines; exits 1 if any failed.
# Usage: tests/opcheck.sh [-v]   (from anywhere; builds build/opcheck first)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LOG=$(mktemp "${TMPDIR:-/tmp}/opcheck.XXXXXX")
trap 'rm -f "$LOG"' EXIT
if ! make -s -C "$ROOT" build/opcheck >"$LOG" 2>&1; then
    cat "$LOG"
    echo "not ok - build build/opcheck"
    exit 1
fi
if grep -q warning "$LOG"; then
    grep warning "$LOG"
    echo "not ok - opcheck builds without warnings"
    FAILED=1
else
    echo "ok - opcheck builds without warnings"
    FAILED=0
fi
"$ROOT/build/opcheck" "$@" 2>&1 | tee "$LOG"
status=$(tail -n 1 "$LOG")   # the summary line "# N passed, M failed, ..."
if grep -q '^not ok' "$LOG"; then FAILED=1; fi
case $status in
    "# "*" passed, "*" failed"*) ;;
    *) echo "not ok - opcheck ran to the end"; FAILED=1 ;;
esac
exit $FAILED
