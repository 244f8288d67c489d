#!/bin/sh
# tests/fuzz/run.sh SECONDS [TARGET...]: the libFuzzer targets of tests/fuzz/.
#
# Builds them (`make fuzz-build`: clang, -fsanitize=fuzzer,address,undefined,
# into build/fuzz), then for each target (front, idx, ckpt by default):
#   1. replays every input under tests/fuzz/regress/TARGET/ (each once: an
#      input that once crashed, leaked or hung must now pass);
#   2. fuzzes for SECONDS, starting from the seeds (front: every .gan of
#      examples/, tests/ok/ and tests/diag/; the others: tests/fuzz/seeds/)
#      and the corpus kept in build/fuzz/corpus/TARGET from earlier runs.
# Prints `ok - fuzz/...` / `not ok - fuzz/...` lines; a finding is saved
# under build/fuzz/artifacts/TARGET/ and named in the `not ok` line (copy
# it to tests/fuzz/regress/TARGET/ once fixed).  `make fuzz` runs this with
# FUZZ_SECONDS (60); the `fuzz` suite of `make test` with 15.
cd "$(dirname "$0")/../.." || exit 1
root=$(pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-front idx ckpt images}
fb=${FUZZ_B:-build/fuzz}
case $fb in /*) ;; *) fb=$root/$fb ;; esac
log=$(mktemp); trap 'rm -f "$log"' EXIT

if make -s fuzz-build FUZZ_B="$fb" >"$log" 2>&1 && ! grep -q 'warning:' "$log"; then
    echo "ok - fuzz/build (clang libFuzzer targets, no warnings)"
else
    echo "not ok - fuzz/build"; sed 's/^/#   /' "$log" | tail -20; exit 0
fi

for t in $targets; do
    bin=$fb/fuzz_$t
    [ -x "$bin" ] || { echo "not ok - fuzz/$t: no target $bin"; continue; }
    # the front end resolves data files relative to the cwd: run it where
    # the diagnostics tests keep theirs
    dir=$root; [ "$t" = front ] && dir=$root/tests/diag
    seeds=$fb/seeds/$t corpus=$fb/corpus/$t art=$fb/artifacts/$t
    rm -rf "$seeds"; mkdir -p "$seeds" "$corpus" "$art"
    if [ "$t" = front ]; then
        for f in examples/*.gan tests/ok/*.gan tests/diag/*.gan; do
            [ -f "$f" ] && cp "$f" "$seeds/$(echo "$f" | tr / _)"
        done
    else
        cp tests/fuzz/seeds/$t/* "$seeds/"
    fi
    n=0 bad=0
    for f in tests/fuzz/regress/$t/*; do
        [ -f "$f" ] || continue
        n=$((n + 1))
        cp "$f" "$seeds/regress_$(basename "$f")"
        if ! (cd "$dir" && "$bin" -timeout=10 -rss_limit_mb=2048 "$root/$f") >"$log" 2>&1 </dev/null; then
            bad=$((bad + 1))
            echo "not ok - fuzz/$t/regress/$(basename "$f")"
            grep -E 'ERROR|SUMMARY|runtime error|#[0-9]+ ' "$log" | head -8 | sed 's/^/#   /'
        fi
    done
    [ "$bad" -eq 0 ] && echo "ok - fuzz/$t/regress ($n inputs replayed)"

    (cd "$dir" && "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$art/" "$corpus" "$seeds") >"$log" 2>&1 </dev/null
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    size=$(ls "$corpus" | wc -l)
    if [ $rc -eq 0 ] && [ -n "$execs" ]; then
        echo "ok - fuzz/$t: $execs executions in ${secs}s, corpus $size, no crash, leak or hang"
    else
        found=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        echo "not ok - fuzz/$t: finding ${found:-(see below)} (exit $rc)"
        grep -E 'ERROR|SUMMARY|runtime error|^    #[0-9]+ ' "$log" | head -14 | sed 's/^/#   /'
    fi
done
