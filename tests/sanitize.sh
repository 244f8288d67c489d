#!/bin/sh
# sanitize.sh: memory errors, leaks and undefined behaviour, checked by tools.
#
#  - The runtime built with AddressSanitizer + UBSan (build/san, or build/
#    itself under `make test SANITIZE=1`), linked into tests/robust/ring.gan
#    and idx.gan with `ganc --sanitize`: train, resume, sample, eval, info
#    and a few bad checkpoints and data files, each clean (no report, leaks
#    included: LeakSanitizer runs at exit).
#  - valgrind memcheck (--leak-check=full) of one end-to-end run of
#    tests/robust/ring.gan: train 50 steps, sample, eval.  The program is
#    compiled for plain x86-64 (valgrind cannot run AVX-512).  Errors and
#    definite/indirect leaks fail; "possibly lost" is excluded: that is the
#    thread pool's stacks, whose threads are alive at exit by design.
#    examples/ring.gan itself takes minutes per 50 steps under valgrind;
#    the small ring runs the same code paths.  Skipped under SANITIZE=1
#    (valgrind and ASan exclude each other).
# Run from the repository root after `make`.
root=$(pwd)
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
ok() { echo "ok - sanitize/$1"; }
nok() { echo "not ok - sanitize/$1"; [ -n "${2:-}" ] && echo "$2" | head -12 | sed 's/^/#   /'; }
# clean NAME WANT CMD...: CMD exits WANT and no sanitizer reported anything
clean() {
    n=$1 want=$2; shift 2
    "$@" >"$t/out" 2>"$t/err"; rc=$?
    if [ $rc -eq "$want" ] && ! grep -qE 'Sanitizer|runtime error|LeakSanitizer' "$t/err"; then ok "$n"
    else nok "$n" "exit $rc (want $want): $(grep -E -A8 'ERROR|runtime error' "$t/err" | head -12)"; fi
}

if nm build/libganrt.a 2>/dev/null | grep -q __asan_report; then
    lib=$root/build/libganrt.a; sanitized=1
else
    sanitized=0
    if make -s B=build/san SANITIZE=1 build/san/libganrt.a >"$t/make.log" 2>&1; then ok "runtime builds with ASan+UBSan"
    else nok "runtime builds with ASan+UBSan" "$(tail -5 "$t/make.log")"; exit 0; fi
    lib=$root/build/san/libganrt.a
fi
for p in ring idx; do
    if GANC_RUNTIME=$lib build/ganc tests/robust/$p.gan --sanitize -o "$t/$p" 2>"$t/err" &&
       nm "$t/$p" | grep -q __asan_report; then ok "$p: linked with the sanitized runtime"
    else nok "$p: linked with the sanitized runtime" "$(cat "$t/err")"; exit 0; fi
done
R=$t/ring I=$t/idx
clean "ring: train 300 steps" 0 $R train --out "$t/r" --steps 300 --seed 2
clean "ring: resume to 400" 0 $R train --out "$t/r" --steps 400 --resume
clean "ring: sample" 0 $R sample --ckpt "$t/r/last.ckpt" -n 300 -o "$t/s.csv"
clean "ring: eval" 0 $R eval --ckpt "$t/r/last.ckpt"
clean "ring: info" 0 $R info
clean "ring: bench" 0 $R bench --steps 5
clean "idx: train 300 steps" 0 $I train --out "$t/i" --steps 300
clean "idx: resume to 400" 0 $I train --out "$t/i" --steps 400 --resume
clean "idx: sample" 0 $I sample --ckpt "$t/i/last.ckpt" -n 10 -o "$t/s.png"
clean "idx: eval" 0 $I eval --ckpt "$t/i/last.ckpt"
clean "idx: bench --synthetic loads no data set" 0 $I bench --steps 3 --synthetic --data "$t/missing.gz"
clean "idx: bench on a missing data file is an error" 1 $I bench --steps 3 --data "$t/missing.gz"
G=$t/r/last.ckpt
head -c 3000 "$G" >"$t/cut.ckpt"
{ head -c 8 "$G"; head -c 5000 /dev/urandom; } >"$t/noise.ckpt"
LC_ALL=C sed '0,/"shape":\[32,4\]/s//"shape":[32,5]/' "$G" >"$t/shape.ckpt"
cp "$t/i/last.ckpt" "$t/other.ckpt"
for f in cut noise shape other; do
    clean "ring: bad checkpoint ($f) is an error, not a crash" 1 $R sample --ckpt "$t/$f.ckpt" -o "$t/x.csv"
done
printf '\000\000\010\003\000\000\000\011\000\000\000\004\000\000\000\004abc' >"$t/short.idx"
printf '\037\213\010\000garbage-that-is-not-deflate' >"$t/bad.gz"
for f in short.idx bad.gz; do
    clean "idx: bad data ($f) is an error, not a crash" 1 $I train --out "$t/j" --data "$t/$f"
done

if [ $sanitized = 1 ]; then
    ok "valgrind # skip: this build uses ASan (run plain 'make test' for valgrind)"
elif ! command -v valgrind >/dev/null; then
    nok "valgrind" "valgrind is not installed (scripts/install-deps.sh installs it)"
else
    build/ganc tests/robust/ring.gan --cpu x86-64 --features +sse2 -o "$t/vring" 2>"$t/err" || nok "valgrind: compile" "$(cat "$t/err")"
    vg="valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect"
    for args in "train --out $t/v --steps 50" "sample --ckpt $t/v/last.ckpt -n 200 -o $t/v.csv" "eval --ckpt $t/v/last.ckpt -n 500"; do
        cmd=${args%% *}
        if $vg "$t/vring" $args >"$t/out" 2>"$t/err"; then ok "valgrind: memcheck of $cmd (no errors, no leaks)"
        else nok "valgrind: memcheck of $cmd (no errors, no leaks)" "$(grep '==' "$t/err" | head -12)"; fi
    done
fi
