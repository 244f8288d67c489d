#!/bin/sh
# resume_kill.sh: a run is never lost, and a resumed run is exact.
#
# Two programs from tests/robust/: ring.gan (toy data, dropout, Adam,
# 2 D steps per G step) and idx.gan (ten 4x4 images in batches of 6, so
# epochs and their permutations cross batches; Adam for D, SGD with momentum
# for G), each checkpointing every 20-25 steps.  For each:
#   - a reference run, never interrupted;
#   - SIGKILL at 5 random moments (fractions of the reference's time), each
#     time checking that last.ckpt loads (`sample --ckpt`), then resuming,
#     and at the end the checkpoint is byte-identical to the reference's,
#     and metrics.csv has the same rows;
#   - SIGINT and SIGTERM during a run: exit 128+signal, a checkpoint of the
#     step it stopped at, and resuming from it ends identical too.
# The random moments come from KILL_SEED (default: the clock); it is printed.
# Run from the repository root after `make`.
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
ok() { echo "ok - resume/$1"; }
nok() { echo "not ok - resume/$1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/#   /'; }
seed=${KILL_SEED:-$(date +%s)}
echo "# KILL_SEED=$seed"
# next; rnd N: a new random fraction in (0.05, 1.0) times N seconds, as "0.123"
next() { seed=$(((seed * 1103515245 + 12345) % 2147483648)); }
rnd() { awk -v s="$seed" -v n="$1" 'BEGIN{srand(s); printf "%.3f", n * (0.05 + 0.95 * rand())}'; }
now() { date +%s.%N; }
# step_of CKPT: the step recorded in a checkpoint's metadata
step_of() { head -c 4096 "$1" | tr ',' '\n' | sed -n 's/.*"step":"\([0-9]*\)".*/\1/p' | head -1; }

for prog in ring idx; do
    case $prog in ring) steps=8000 every=20 ;; idx) steps=20000 every=25 ;; esac
    P=$t/$prog
    if build/ganc tests/robust/$prog.gan -o "$P" $GANC_FLAGS 2>"$t/err"; then :; else nok "$prog/compile" "$(cat "$t/err")"; continue; fi
    t0=$(now)
    "$P" train --out "$t/ref-$prog" --steps $steps --seed 11 2>"$t/ref.log" || { nok "$prog/reference run" "$(tail -3 "$t/ref.log")"; continue; }
    dur=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.3f", b - a}')
    ref=$t/ref-$prog/last.ckpt

    # --- SIGKILL at random moments, resume each time ---
    d=$t/kill-$prog kills=0 mid=0 bad=""
    while [ $kills -lt 5 ]; do
        s=0; if [ -f "$d/last.ckpt" ]; then set -- --resume; s=$(step_of "$d/last.ckpt"); else set --; fi
        # a random moment within what is left of the run
        left=$(awk -v d="$dur" -v s="${s:-0}" -v n=$steps 'BEGIN{printf "%.3f", d * (n - s) / n}')
        "$P" train --out "$d" --steps $steps --seed 11 "$@" 2>>"$t/kill.log" &
        pid=$!
        next; sleep "$(rnd "$left")"
        kill -KILL $pid 2>/dev/null
        wait $pid 2>/dev/null
        [ $? -eq 137 ] && mid=$((mid + 1))
        kills=$((kills + 1))
        if [ -f "$d/last.ckpt" ]; then
            s=$(step_of "$d/last.ckpt")
            if ! "$P" sample --ckpt "$d/last.ckpt" -n 8 -o "$t/s.csv" 2>"$t/err"; then
                bad="$bad; after kill $kills last.ckpt does not load: $(cat "$t/err")"
            elif [ -z "$s" ] || { [ $((s % every)) -ne 0 ] && [ "$s" -ne $steps ]; }; then
                bad="$bad; after kill $kills last.ckpt is at step '$s'"
            fi
        fi
    done
    if [ -f "$d/last.ckpt" ]; then set -- --resume; else set --; fi
    "$P" train --out "$d" --steps $steps --seed 11 "$@" 2>>"$t/kill.log" || bad="$bad; the last resume failed: $(tail -2 "$t/kill.log")"
    if [ -z "$bad" ]; then ok "$prog/kill-9: last.ckpt valid after each of $kills SIGKILLs ($mid mid-run)"; else nok "$prog/kill-9: last.ckpt valid after each SIGKILL" "$bad"; fi
    if [ -s "$ref" ] && cmp -s "$ref" "$d/last.ckpt"; then
        ok "$prog/kill-9: resumed $kills times, final checkpoint bit-identical to the uninterrupted run"
    else
        nok "$prog/kill-9: resumed $kills times, final checkpoint bit-identical to the uninterrupted run" "KILL_SEED=$seed; $(cmp "$ref" "$d/last.ckpt" 2>&1)"
    fi
    if cut -d, -f1-5 "$t/ref-$prog/metrics.csv" >"$t/m1" && cut -d, -f1-5 "$d/metrics.csv" >"$t/m2" 2>/dev/null &&
       [ -s "$t/m1" ] && cmp -s "$t/m1" "$t/m2"; then
        ok "$prog/kill-9: metrics.csv rows identical to the uninterrupted run"
    else
        nok "$prog/kill-9: metrics.csv rows identical to the uninterrupted run" "$(diff "$t/m1" "$t/m2" 2>&1 | head -5)"
    fi

    # --- SIGINT and SIGTERM: a clean stop with a checkpoint, then resume ---
    for sig in INT TERM; do
        d=$t/$sig-$prog
        rm -f "$t/sig.log"
        "$P" train --out "$d" --steps $steps --seed 11 2>"$t/sig.log" &
        pid=$!
        # the handlers are installed once the "training" line is printed
        n=0; while ! grep -q 'training' "$t/sig.log" 2>/dev/null && [ $n -lt 200 ]; do sleep 0.01; n=$((n + 1)); done
        next; sleep "$(rnd "$(awk -v d="$dur" 'BEGIN{print d / 2}')")"
        kill -$sig $pid 2>/dev/null
        wait $pid; rc=$?
        want=130; [ $sig = TERM ] && want=143
        at=$(sed -n 's/.*interrupted at step \([0-9]*\); checkpoint saved.*/\1/p' "$t/sig.log")
        s=$(step_of "$d/last.ckpt" 2>/dev/null)
        if [ $rc -eq 0 ]; then
            ok "$prog/SIG$sig: (the run finished before the signal: nothing to check)"
        elif [ $rc -eq $want ] && [ -n "$at" ] && [ "$at" = "$s" ] && ! [ -e "$d/last.ckpt.tmp" ]; then
            ok "$prog/SIG$sig: exit $rc, checkpoint saved at step $at"
        else
            nok "$prog/SIG$sig: exit $want with a checkpoint of the step it stopped at" "exit $rc, message step '$at', checkpoint step '$s': $(tail -2 "$t/sig.log")"
        fi
        "$P" train --out "$d" --steps $steps --seed 11 --resume 2>"$t/err"
        if cmp -s "$ref" "$d/last.ckpt"; then ok "$prog/SIG$sig: resumed, bit-identical to the uninterrupted run"
        else nok "$prog/SIG$sig: resumed, bit-identical to the uninterrupted run" "$(cat "$t/err" | tail -2)"; fi
    done
done
