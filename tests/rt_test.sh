#!/bin/sh
# rt_test.sh: tests of the runtime library (build/libganrt.a) on a
# hand-written model (tests/rt_fake_model.c), without the compiler.
# Prints "ok - name" / "not ok - name" per check; exits 1 if any failed.
# Usage: tests/rt_test.sh   (from anywhere; builds build/libganrt.a first)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/rt_test.XXXXXX")
trap 'rm -rf "$T"' EXIT
PASS=0 FAIL=0
ok() { echo "ok - $1"; PASS=$((PASS + 1)); }
nok() { echo "not ok - $1"; FAIL=$((FAIL + 1)); }
check() { n=$1; shift; if "$@"; then ok "$n"; else nok "$n"; fi; }
# expect_error NAME TEXT CMD...: CMD exits 1 or 2 (no crash, no success)
# and its stderr contains TEXT.
expect_error() {
    n=$1 text=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; rc=$?
    if [ $rc -ge 1 ] && [ $rc -le 2 ] && grep -qF -- "$text" "$T/err"; then ok "$n"
    else nok "$n (exit $rc: $(head -c 300 "$T/err"))"; fi
}

# GANRT_LIB and RT_CFLAGS select another build, e.g. one with sanitizers:
#   make B=/tmp/asan SANITIZE=1 /tmp/asan/libganrt.a
#   GANRT_LIB=/tmp/asan/libganrt.a RT_CFLAGS=-fsanitize=address,undefined tests/rt_test.sh
LIB=${GANRT_LIB:-$ROOT/build/libganrt.a}
if [ -z "${GANRT_LIB:-}" ]; then
    make -s -C "$ROOT" build/libganrt.a >"$T/make.log" 2>&1 || { cat "$T/make.log"; nok "build libganrt.a"; exit 1; }
    if grep -q warning "$T/make.log"; then nok "libganrt.a builds without warnings"; else ok "libganrt.a builds without warnings"; fi
fi
build() { out=$1; shift
    cc -O2 ${RT_CFLAGS:-} -I"$ROOT/runtime" "$@" "$ROOT/tests/rt_fake_model.c" "$LIB" \
       -lstb -lz -lm -pthread -o "$T/$out"; }
if build fake && build fakeimg -DFAKE_IDX && build fakehash '-DFAKE_HASH="fedcba9876543210"' &&
   build fakenan -DFAKE_NAN_AT=250; then ok "fake models build"; else nok "fake models build"; exit 1; fi
cd "$T" || exit 1
F=./fake

# --- command line ---
check "--help exits 0" sh -c "$F --help | grep -q 'train'"
check "train --help lists --resume" sh -c "$F train --help | grep -q -- '--resume'"
expect_error "unknown command" "unknown command" $F frobnicate
expect_error "unknown option" "unknown option" $F train --bogus
expect_error "bad number" "--steps" $F train --steps 12x
expect_error "sample needs --ckpt" "--ckpt" $F sample
expect_error "interpolate needs --ckpt" "--ckpt" $F interpolate
expect_error "interpolate needs two images per walk" "2 to 10000 images per walk" $F interpolate --ckpt x --steps 1
check "info" sh -c "$F info | grep -q '^params_G 6$' && $F info | grep -q '^tensor adam_v.D.0.bias moment2 \[1\] 1$'"

# --- training ---
$F train --out run --steps 300 2>"$T/train.err"
check "train exits 0" test $? -eq 0
check "metrics.csv has header and 300 rows" sh -c \
    "head -1 run/metrics.csv | grep -qx 'step,d_loss,g_loss,d_real,d_fake,steps_per_s' && test \$(wc -l <run/metrics.csv) -eq 301"
check "samples CSV every 100 steps" sh -c \
    "test -f run/samples/step_000100.csv && test -f run/samples/step_000300.csv && test \$(wc -l <run/samples/last.csv) -eq 1001"
check "last.ckpt written, no .tmp left" sh -c "test -s run/last.ckpt && ! test -e run/last.ckpt.tmp"
check "progress line" grep -q 'step 300/300 .* steps/s .*D(G(z))' "$T/train.err"
if command -v python3 >/dev/null; then
    check "checkpoint is valid safetensors" python3 -c '
import json, struct, sys
b = open("run/last.ckpt", "rb").read(); n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n]); m = h.pop("__metadata__")
assert n % 8 == 0 and m["format"] == "ganc" and m["step"] == "300" and m["d_updates"] == "600"
end = 0
for k, v in h.items():
    assert v["dtype"] == "F32" and v["data_offsets"][0] == end; end = v["data_offsets"][1]
assert end == len(b) - 8 - n and len(h) == 12'
fi
check "sample writes CSV" sh -c "$F sample --ckpt run/last.ckpt -n 10 -o s.csv 2>/dev/null && test \$(wc -l <s.csv) -eq 11"
check "interpolate writes a CSV of walks" sh -c \
    "$F interpolate --ckpt run/last.ckpt -n 3 --steps 4 -o w.csv 2>/dev/null && test \$(wc -l <w.csv) -eq 13 && head -1 w.csv | grep -q '^walk,t,'"
check "sample is reproducible per seed" sh -c \
    "$F sample --ckpt run/last.ckpt -n 10 -o s2.csv 2>/dev/null && cmp -s s.csv s2.csv &&
     $F sample --ckpt run/last.ckpt -n 10 -o s3.csv --seed 5 2>/dev/null && ! cmp -s s.csv s3.csv"
$F eval --ckpt run/last.ckpt >ev.txt 2>&1
check "eval prints modes and high_quality" sh -c \
    "grep -Eq '^modes [0-9]+/8$' ev.txt && grep -Eq '^high_quality [0-9.]+$' ev.txt && grep -q '^samples 2500$' ev.txt"

# --- resume is exact ---
$F train --out A --steps 200 --seed 3 2>/dev/null
$F train --out B --steps 100 --seed 3 2>/dev/null
$F train --out B --steps 200 --resume --threads 1 2>/dev/null
check "resume: 100 + 100 steps == 200 steps (bit-identical checkpoint)" cmp -s A/last.ckpt B/last.ckpt
check "resume: same samples" cmp -s A/samples/step_000200.csv B/samples/step_000200.csv
check "resume: metrics appended" test "$(wc -l <B/metrics.csv)" -eq 201
check "same seed, same run" sh -c "$F train --out A2 --steps 200 --seed 3 2>/dev/null && cmp -s A/last.ckpt A2/last.ckpt"
check "different seed, different run" sh -c "$F train --out A3 --steps 200 --seed 4 2>/dev/null && ! cmp -s A/last.ckpt A3/last.ckpt"
check "resume at the end does nothing" sh -c "$F train --out A --steps 200 --resume 2>&1 | grep -q 'nothing to do'"

# --- interruption ---
$F train --out S --steps 100000000 2>/dev/null & pid=$!
sleep 1; kill -INT $pid; wait $pid; rc=$?
check "SIGINT saves a checkpoint and exits 130" sh -c "test $rc -eq 130 && test -s S/last.ckpt"
check "interrupted run resumes" sh -c "s=\$(grep -ao '\"step\":\"[0-9]*\"' S/last.ckpt | tr -dc 0-9); $F train --out S --resume --steps \$((s + 10)) 2>/dev/null"

# --- NaN loss ---
./fakenan train --out N2 --steps 300 2>"$T/nan.err"; rc=$?
check "NaN loss: exit 1, last.ckpt of step 100 kept" sh -c \
    "test $rc -eq 1 && grep -q 'step 125: D loss is nan' $T/nan.err && grep -q 'step 100' $T/nan.err && grep -aq '\"step\":\"100\"' N2/last.ckpt"

# --- corrupt checkpoints ---
C=run/last.ckpt
head -c 200 $C >trunc.ckpt
head -c $(($(wc -c <$C) - 4)) $C >short.ckpt
printf '\377\377\377\377\000\000\000\000' >badlen.ckpt; tail -c +9 $C >>badlen.ckpt
printf '\020\000\000\000\000\000\000\000{"a":[1,2,}     ' >garbage.ckpt
printf '\010\000\000\000\000\000\000\000[1,2,3] ' >notobj.ckpt
sed 's/"shape":\[2,2\]/"shape":[2,3]/' $C >shape.ckpt
sed 's/"F32"/"F16"/' $C >dtype.ckpt
: >empty.ckpt
expect_error "truncated checkpoint" "trunc.ckpt" $F sample --ckpt trunc.ckpt -o x.csv
expect_error "checkpoint missing its last bytes" "short.ckpt: tensor" $F sample --ckpt short.ckpt -o x.csv
expect_error "bad header length" "badlen.ckpt: not a valid checkpoint: header length" $F sample --ckpt badlen.ckpt -o x.csv
expect_error "garbage JSON" "garbage.ckpt: checkpoint header is not valid JSON" $F eval --ckpt garbage.ckpt
expect_error "JSON not an object" "notobj.ckpt: not a ganc checkpoint" $F eval --ckpt notobj.ckpt
expect_error "wrong shape" "shape.ckpt: tensor \"G.0.weight\" has the wrong shape" $F eval --ckpt shape.ckpt
expect_error "wrong dtype" "dtype.ckpt: tensor \"G.0.weight\" is not F32" $F eval --ckpt dtype.ckpt
expect_error "empty checkpoint" "empty.ckpt: too short" $F sample --ckpt empty.ckpt
expect_error "missing checkpoint" "nope.ckpt: cannot open" $F sample --ckpt nope.ckpt
expect_error "wrong hash" "checkpoint was made from a different .gan (hash 0123456789abcdef, this program fedcba9876543210)" ./fakehash sample --ckpt $C
expect_error "resume without checkpoint" "nothing/last.ckpt: no checkpoint" $F train --out nothing --resume
cp run/last.ckpt keep.ckpt; mkdir run/last.ckpt.tmp
expect_error "failed checkpoint write names the file" "run/last.ckpt" $F train --out run --steps 310 --resume
check "failed write leaves the old checkpoint" cmp -s run/last.ckpt keep.ckpt
rm -rf run/last.ckpt.tmp

# --- IDX data ---
G=./fakeimg
python3 -c '
import struct, random
random.seed(1); n = 50
px = bytes(random.randrange(256) for _ in range(n * 16))
open("data.idx", "wb").write(struct.pack(">IIII", 0x803, n, 4, 4) + px)
open("dims.idx", "wb").write(struct.pack(">IIII", 0x803, n, 5, 4) + bytes(n * 20))
open("magic.idx", "wb").write(struct.pack(">IIII", 0x801, n, 4, 4) + px)
open("huge.idx", "wb").write(struct.pack(">IIII", 0x803, 2**32 - 1, 2**32 - 1, 2**32 - 1))
open("tail.idx", "wb").write(struct.pack(">IIII", 0x803, n, 4, 4) + px + b"x")'
gzip -c data.idx >data.idx.gz
head -c 500 data.idx >trunc.idx
head -c 100 data.idx.gz >trunc.idx.gz
printf '\037\213garbage-not-deflate' >bad.idx.gz
$G train --out I --steps 150 2>/dev/null
check "IDX: train on plain file" sh -c "test -s I/last.ckpt && test -f I/samples/step_000100.png && test -f I/samples/last.png"
check "IDX: gzip file gives the same run" sh -c "$G train --out I2 --steps 150 --data data.idx.gz 2>/dev/null && cmp -s I/last.ckpt I2/last.ckpt"
check "IDX: sample grid PNG" sh -c "$G sample --ckpt I/last.ckpt -n 10 -o g.png 2>/dev/null && head -c 8 g.png | od -c | grep -q 'P   N   G'"
check "IDX: resume is exact across epochs" sh -c \
    "$G train --out I3 --steps 70 2>/dev/null && $G train --out I3 --steps 150 --resume 2>/dev/null && cmp -s I/last.ckpt I3/last.ckpt"
check "IDX: eval prints pixel statistics" sh -c "$G eval --ckpt I/last.ckpt | grep -q '^data_mean '"
expect_error "IDX: missing file" "missing.idx: cannot open" $G train --out J --data missing.idx
expect_error "IDX: truncated file" "trunc.idx: truncated" $G train --out J --data trunc.idx
expect_error "IDX: truncated gzip" "trunc.idx.gz: truncated" $G train --out J --data trunc.idx.gz
expect_error "IDX: corrupt gzip" "bad.idx.gz:" $G train --out J --data bad.idx.gz
expect_error "IDX: wrong magic" "magic.idx: not an IDX3" $G train --out J --data magic.idx
expect_error "IDX: wrong image size" "dims.idx: images are 1x5x4 but the program expects 1x4x4" $G train --out J --data dims.idx
expect_error "IDX: overflowing dimensions" "huge.idx: IDX dimensions are too large" $G train --out J --data huge.idx
expect_error "IDX: trailing bytes" "tail.idx: unexpected data" $G train --out J --data tail.idx

# --- the thread pool: every chunk of every job exactly once, done on return ---
if cc -O2 ${RT_CFLAGS:-} -I"$ROOT/runtime" "$ROOT/tests/pool_stress.c" "$LIB" -lstb -lz -lm -pthread -o pool_stress; then
    for t in 2 3; do
        for run in 1 2; do
            out=$(./pool_stress $t 300000 2>&1)
            [ "$out" = ok ] || break
        done
        check "pool: 300000 back-to-back jobs, $t threads, twice ($out)" [ "$out" = ok ]
    done
    expect_error "pool: GANRT_CHECK_CHUNKS stops a kernel that depends on its chunk bounds" \
        "GANRT_CHECK_CHUNKS: parallel call 2 (4096 items in chunks of" env GANRT_CHECK_CHUNKS=1 ./pool_stress check
else nok "pool_stress builds"; fi

echo "# $PASS passed, $FAIL failed"
[ $FAIL -eq 0 ]
