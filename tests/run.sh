#!/bin/sh
# The whole test suite.  Each suite prints `ok - NAME` / `not ok - NAME`
# lines; this driver runs them all, counts, and closes with `N passed, N failed`.
# Run from the repository root after `make` (the Makefile's `test` target does).
# Set TESTS="diag opcheck" to run only some suites.
cd "$(dirname "$0")/.." || exit 1
all="diag ok ir opcheck runtime e2e install bad resume sanitize fuzz"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for suite in ${TESTS:-$all}; do
    echo "# suite $suite"
    case $suite in
        diag)    sh tests/diag.sh ;;
        ok)      sh tests/ok.sh ;;
        ir)      sh tests/ir.sh ;;
        opcheck) sh tests/opcheck.sh ;;
        runtime) sh tests/rt_test.sh ;;
        e2e)     sh tests/e2e.sh ;;
        install) sh tests/install.sh ;;
        bad)     sh tests/bad_files.sh ;;
        resume)  sh tests/resume_kill.sh ;;
        sanitize) sh tests/sanitize.sh ;;
        fuzz)    sh tests/fuzz/run.sh "${FUZZ_TEST_SECONDS:-15}" ;;
        *)       echo "not ok - unknown suite $suite" ;;
    esac 2>&1 | tee -a "$log" | case $suite in
        e2e|install|fuzz) cat ;;       # few and telling: show them all
        *) grep -v '^ok - ' || true ;;
    esac
done
passed=$(grep -c '^ok - ' "$log")
failed=$(grep -c '^not ok - ' "$log")
grep '^not ok - ' "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
