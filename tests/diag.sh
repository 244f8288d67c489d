#!/bin/sh
# tests/diag.sh: the diagnostics goldens and the must-compile programs.
#
# Each tests/diag/NAME.gan is a wrong program whose expected stderr is
# embedded at its end, one `#| ` comment line per output line.  The test
# passes when `ganc --check tests/diag/NAME.gan` prints exactly that on
# stderr and exits 1.  Each tests/ok/NAME.gan must check with no output and
# exit 0.  Prints TAP-style `ok - diag/NAME` / `not ok - diag/NAME` with a
# diff; exits non-zero if any test failed.  GANC overrides the compiler.
cd "$(dirname "$0")/.." || exit 2
GANC=${GANC:-build/ganc}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
fail=0
for f in tests/diag/*.gan; do
    name=$(basename "$f" .gan)
    sed -n -e '/^#| /{s/^#| //p;d;}' -e 's/^#|$//p' "$f" >"$tmp/want"
    "$GANC" --check "$f" >/dev/null 2>"$tmp/got"
    rc=$?
    if [ "$rc" -eq 1 ] && cmp -s "$tmp/want" "$tmp/got"; then
        echo "ok - diag/$name"
    else
        echo "not ok - diag/$name (exit status $rc, expected 1)"
        diff -u "$tmp/want" "$tmp/got" | sed 's/^/#   /'
        fail=1
    fi
done
for f in tests/ok/*.gan; do
    name=$(basename "$f" .gan)
    "$GANC" --check "$f" >/dev/null 2>"$tmp/got"
    rc=$?
    if [ "$rc" -eq 0 ] && [ ! -s "$tmp/got" ]; then
        echo "ok - ok/$name"
    else
        echo "not ok - ok/$name (exit status $rc, expected 0 and no output)"
        sed 's/^/#   /' "$tmp/got"
        fail=1
    fi
done
exit $fail
