#!/bin/sh
# bad_files.sh: bad input never crashes a program, never passes silently,
# and never damages what is already saved.
#
# Programs: examples/ring.gan (checkpoints), examples/mlp.gan (IDX data,
# 1x28x28, given with --data), a copy of ring.gan with one more comment (a
# different .gan with the same tensors), examples/grid.gan, and
# tests/robust/nan.gan (a learning rate of 1e30).  Each row of the tables
# below is one bad file and the text its message must contain.  Every case
# must exit with status 1, print "prog: error: FILE: ..." naming the file
# and the problem, and leave an existing run's last.ckpt byte for byte as it
# was (checked by resuming a run whose last.ckpt is the bad file, or whose
# data is).  Then: a full disk (a small tmpfs, when this may mount one), a
# read-only directory, /dev/full, and a NaN during training.
# Run from the repository root after `make`.
root=$(pwd)
t=$(mktemp -d); mnt=""
cleanup() { for m in $mnt; do umount "$m" 2>/dev/null; done; rm -rf "$t"; }
trap cleanup EXIT
ok() { echo "ok - bad/$1"; }
nok() { echo "not ok - bad/$1"; [ -n "${2:-}" ] && echo "$2" | head -6 | sed 's/^/#   /'; }
# expect NAME FILE TEXT CMD...: CMD exits 1, without a sanitizer report, and
# its stderr names FILE and contains TEXT
expect() {
    n=$1 file=$2 text=$3; shift 3
    "$@" >"$t/out" 2>"$t/err"; rc=$?
    if [ $rc -eq 1 ] && grep -qF -- "$file: " "$t/err" && grep -qF -- "$text" "$t/err" &&
       ! grep -qE 'Sanitizer|runtime error' "$t/err"; then ok "$n"
    else nok "$n" "exit $rc, want 1 and '$file: ...$text': $(head -c 600 "$t/err")"; fi
}
# same NAME A B: files A and B are byte-identical
same() { if cmp -s "$2" "$3"; then ok "$1"; else nok "$1" "$(cmp "$2" "$3" 2>&1)"; fi; }
step_of() { head -c 4096 "$1" | tr ',' '\n' | sed -n 's/.*"step":"\([0-9]*\)".*/\1/p' | head -1; }
# be32 N: N as 4 big-endian bytes
be32() { printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)))"; }
# idx N H W [PIXELS]: an IDX3 header and PIXELS (default N*H*W) bytes
idx() { printf '\000\000\010\003'; be32 $1; be32 $2; be32 $3; head -c "${4:-$(($1 * $2 * $3))}" /dev/urandom; }
# edit FILE OLD NEW: replaces the first OLD by NEW (same length) in a binary file
edit() { LC_ALL=C sed "0,/$2/s//$3/" "$1"; }

cp examples/ring.gan "$t/ring2.gan" && echo "# a different source" >>"$t/ring2.gan"
for p in examples/ring examples/mlp examples/grid "$t/ring2" tests/robust/nan; do
    if ! build/ganc "$p.gan" -o "$t/$(basename "$p")" $GANC_FLAGS 2>"$t/err"; then
        nok "compile $p.gan" "$(cat "$t/err")"; exit 0
    fi
done
R=$t/ring M=$t/mlp

# ---------------------------------------------------------------- checkpoints
$R train --out "$t/good" --steps 20 --seed 3 2>/dev/null && $t/ring2 train --out "$t/other" --steps 2 2>/dev/null &&
    $t/grid train --out "$t/gridrun" --steps 2 2>/dev/null || { nok "good runs" ; exit 0; }
G=$t/good/last.ckpt
size=$(wc -c <"$G")
hlen=$(od -An -tu8 -N8 "$G" | tr -d ' ')
c=$t/ck; mkdir -p "$c" "$t/adir"
: >"$c/empty"
head -c 5 "$G" >"$c/five-bytes"
{ printf 'PK\003\004\024\000\000\000'; tail -c +9 "$G"; } >"$c/zip-magic"
{ printf '\377\377\377\377\377\377\377\377'; tail -c +9 "$G"; } >"$c/hlen-overflow"
{ printf '\000\000\000\000\000\000\000\000'; tail -c +9 "$G"; } >"$c/hlen-zero"
{ printf '\000\000\000\200\000\000\000\000'; tail -c +9 "$G"; } >"$c/hlen-2gb"
head -c 100 "$G" >"$c/cut-in-header"
head -c $((size - 100)) "$G" >"$c/cut-in-tensors"
head -c $((8 + hlen)) "$G" >"$c/header-only"
edit "$G" '{"__metadata__"' '["__metadata__"' >"$c/json-garbage"
edit "$G" '"format":"ganc"' '"format":"gant"' >"$c/not-ganc"
edit "$G" '"G.2.weight"' '"G.2.wXight"' >"$c/missing-tensor"
edit "$G" '"shape":\[400,400\]' '"shape":[400,401]' >"$c/wrong-shape"
edit "$G" '"dtype":"F32"' '"dtype":"F16"' >"$c/wrong-dtype"
edit "$G" '"step":"20"' '"step":"-2"' >"$c/bad-step"
edit "$G" '"rng":"[0-9a-f]*"' '"rng":"0000000000000000000000000000000000000000000000000000000000000000"' >"$c/rng-zero"
edit "$G" '"data_offsets":\[0,3200\]' '"data_offsets":[0,3204]' >"$c/bad-offsets"
cp "$t/other/last.ckpt" "$c/other-gan"
cp "$t/gridrun/last.ckpt" "$c/grid-gan"
{ head -c 8 "$G"; head -c $((size - 8)) /dev/urandom; } >"$c/random-body"
head -c 65536 /dev/urandom >"$c/random"
for f in json-garbage not-ganc missing-tensor wrong-shape wrong-dtype bad-step rng-zero bad-offsets; do
    [ "$(wc -c <"$c/$f")" -eq "$size" ] && ! cmp -s "$G" "$c/$f" || nok "ckpt/$f: test file made" "sed edit failed"
done

while read -r name text; do
    f=$c/$name
    expect "ckpt/$name: sample" "$f" "$text" $R sample --ckpt "$f" -o "$t/s.csv"
    rm -rf "$t/run"; mkdir -p "$t/run"; cp "$f" "$t/run/last.ckpt"
    expect "ckpt/$name: train --resume" "$t/run/last.ckpt" "$text" $R train --out "$t/run" --steps 40 --resume
    same "ckpt/$name: last.ckpt untouched" "$f" "$t/run/last.ckpt"
done <<EOF2
empty too short to be a checkpoint (0 bytes)
five-bytes too short to be a checkpoint (5 bytes)
zip-magic not a valid checkpoint: header length
hlen-overflow header length 18446744073709551615 does not fit
hlen-zero header length 0 does not fit
hlen-2gb header length 2147483648 does not fit
cut-in-header does not fit a file of 100 bytes
cut-in-tensors has bad data offsets (truncated file?)
header-only has bad data offsets (truncated file?)
json-garbage checkpoint header is not valid JSON
not-ganc not a ganc checkpoint (format "gant")
missing-tensor tensor "G.2.weight" is missing
wrong-shape tensor "G.2.weight" has the wrong shape
wrong-dtype tensor "G.0.weight" is not F32
bad-step checkpoint metadata "step" is not a valid count
rng-zero checkpoint metadata "rng" is not 64 hex digits
bad-offsets tensor "G.0.weight" has bad data offsets
other-gan checkpoint was made from a different .gan
grid-gan checkpoint was made from a different .gan
random-body checkpoint header is not valid JSON
random not a valid checkpoint: header length
EOF2
expect "ckpt/missing file" "$t/nope.ckpt" "cannot open checkpoint: No such file" $R sample --ckpt "$t/nope.ckpt"
expect "ckpt/a directory" "$t/adir" "not a regular file" $R eval --ckpt "$t/adir"
expect "ckpt/resume without a checkpoint" "$t/empty-run/last.ckpt" "no checkpoint to resume from" $R train --out "$t/empty-run" --resume
if [ "$(id -u)" -ne 0 ]; then
    cp "$G" "$t/locked.ckpt"; chmod 000 "$t/locked.ckpt"
    expect "ckpt/unreadable" "$t/locked.ckpt" "Permission denied" $R sample --ckpt "$t/locked.ckpt"
else
    ok "ckpt/unreadable # skip: root reads any file (a directory and a missing file are tested)"
fi

# ------------------------------------------------------------------ IDX data
d=$t/idx; mkdir -p "$d"
idx 10 28 28 >"$d/good"
$M train --out "$t/mrun" --steps 2 --data "$d/good" 2>"$t/err" || { nok "mlp/good run" "$(cat "$t/err")"; exit 0; }
cp "$t/mrun/last.ckpt" "$t/mlp.ckpt"
: >"$d/empty"
printf '\000\000\010' >"$d/three-bytes"
{ printf '\000\000\010\001'; be32 10; head -c 10 /dev/urandom; } >"$d/labels-magic"
{ printf '\037\213\010\000'; head -c 100 /dev/urandom; } >"$d/gz-garbage"
idx 10 28 28 | head -c 10 >"$d/cut-header"
idx 0 28 28 >"$d/zero-images"
idx 10 0 28 >"$d/zero-height"
idx 4294967295 4294967295 4294967295 100 >"$d/dims-overflow"
idx 4294967295 65535 65535 100 >"$d/dims-huge"
idx 3 4 4 >"$d/wrong-size"
idx 3 28 28 1000 >"$d/truncated"
{ idx 3 28 28; printf x; } >"$d/trailing-byte"
idx 3 28 28 | gzip -c | head -c 600 >"$d/gz-truncated"
idx 3 28 28 | gzip -c >"$d/gz-ok"
gz=$(wc -c <"$d/gz-ok")
{ head -c $((gz - 8)) "$d/gz-ok"; printf '\001\002\003\004'; tail -c 4 "$d/gz-ok"; } >"$d/gz-bad-crc"
while read -r name text; do
    f=$d/$name
    expect "idx/$name: train" "$f" "$text" $M train --out "$t/m-$name" --steps 2 --data "$f"
    rm -rf "$t/mr"; mkdir -p "$t/mr"; cp "$t/mlp.ckpt" "$t/mr/last.ckpt"
    expect "idx/$name: train --resume" "$f" "$text" $M train --out "$t/mr" --steps 4 --resume --data "$f"
    same "idx/$name: last.ckpt untouched" "$t/mlp.ckpt" "$t/mr/last.ckpt"
done <<EOF2
empty too short to be an IDX file
three-bytes too short to be an IDX file
labels-magic not an IDX3 unsigned-byte image file (magic 0x00000801, expected 0x00000803)
gz-garbage cannot read
cut-header truncated IDX header
zero-images IDX file with a zero dimension
zero-height IDX file with a zero dimension
dims-overflow IDX dimensions are too large
dims-huge IDX dimensions are too large
wrong-size images are 1x4x4 but the program expects 1x28x28
truncated truncated: header says 3 images of 28x28 (2352 bytes) but only 1000 bytes follow
trailing-byte unexpected data after the last image
gz-truncated truncated: header says 3 images
gz-bad-crc cannot read (incorrect data check)
EOF2
expect "idx/missing file" "$d/nope" "cannot open: No such file or directory" $M train --out "$t/m1" --data "$d/nope"
expect "idx/a directory" "$d" "cannot read (Is a directory)" $M train --out "$t/m1" --data "$d"
expect "idx/eval with bad data" "$d/wrong-size" "images are 1x4x4" $M eval --ckpt "$t/mlp.ckpt" --data "$d/wrong-size"
labels=/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz
if [ -f $labels ]; then
    expect "idx/the labels file given as images" "$labels" "magic 0x00000801" $M train --out "$t/m1" --data $labels
fi

# ------------------------------------------------------------- image folders
# A folder model (4x4 grey images) trained on a good folder; then --data
# names bad folders.  A file that does not decode is skipped with a warning
# naming it; a folder with no readable image at all is an error.
im=$t/img; mkdir -p "$im/good" "$im/empty" "$im/junk" "$im/mixed"
# png FILE W H: a valid 8-bit grey PNG with a gradient
png() {
    python3 -c 'import struct, sys, zlib
w, h = int(sys.argv[2]), int(sys.argv[3])
raw = b"".join(b"\0" + bytes((x * 255 // max(1, w - 1) + y) % 256 for x in range(w)) for y in range(h))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                             + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))' "$1" "$2" "$3"
}
png "$im/good/a.png" 4 4 && png "$im/good/b.png" 7 5 && cp "$im/good/a.png" "$im/mixed/"
head -c 200 /dev/urandom >"$im/junk/noise.png"
head -c 40 "$im/good/b.png" >"$im/mixed/truncated.png"
# a 4x4 PNG whose image data inflates to 64 MB (a "zip bomb", 65 KB), and
# one whose second data chunk claims 1.2 GB (the file has 8 bytes of it):
# stb_image would allocate what they claim before finding out
python3 -c 'import struct, sys, zlib
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 0, 0, 0, 0))
open(sys.argv[1], "wb").write(head + chunk(b"IDAT", zlib.compress(bytes(64 << 20), 9)) + chunk(b"IEND", b""))
open(sys.argv[2], "wb").write(head + chunk(b"IDAT", zlib.compress(bytes(20))) + struct.pack(">I", 1229258792) + b"IDAT" + bytes(8))' \
    "$im/mixed/bomb.png" "$im/mixed/long-chunk.png"
cat >"$t/folder.gan" <<GAN
data   x ~ images("$im/good/", size=4, channels=1)
noise  z ~ normal(4)
generator G(z) { z -> linear(16) -> tanh -> reshape(1, 4, 4) }
discriminator D(x) { flatten(x) -> linear(1) }
objective nonsaturating
train {
    batch 2
    steps 4
}
GAN
if build/ganc "$t/folder.gan" -o "$t/folder" $GANC_FLAGS 2>"$t/err" && "$t/folder" train --out "$t/frun" 2>/dev/null; then
    F=$t/folder
    cp "$t/frun/last.ckpt" "$t/frun.ckpt"
    expect "images: missing folder" "$im/missing" "No such file" $F train --out "$t/frun" --steps 8 --resume --data "$im/missing"
    expect "images: empty folder" "$im/empty" "no image could be read" $F train --out "$t/frun" --steps 8 --resume --data "$im/empty"
    expect "images: only a corrupt file" "$im/junk" "no image could be read" $F train --out "$t/frun" --steps 8 --resume --data "$im/junk"
    same "images: last.ckpt untouched" "$t/frun.ckpt" "$t/frun/last.ckpt"
    if $F train --out "$t/mrun" --data "$im/mixed" 2>"$t/err" && grep -qF "$im/mixed/truncated.png: skipped" "$t/err"; then
        ok "images: a truncated file is skipped, named"
    else
        nok "images: a truncated file is skipped, named" "$(cat "$t/err")"
    fi
    if grep -qF "$im/mixed/bomb.png: skipped: its compressed image data inflates to more than its size needs" "$t/err" &&
       grep -qF "$im/mixed/long-chunk.png: skipped: a chunk runs past the end of the file" "$t/err"; then
        ok "images: a PNG claiming more memory than its size needs is skipped, named"
    else
        nok "images: a PNG claiming more memory than its size needs is skipped, named" "$(cat "$t/err")"
    fi
else
    nok "images: folder model" "$(cat "$t/err")"
fi

# -------------------------------------------------------- unwritable places
echo x >"$t/afile"
expect "out/--out is a file" "$t/afile/samples" "cannot create directory: Not a directory" $R train --out "$t/afile" --steps 2
expect "out/sample -o /dev/full" "/dev/full" "cannot write: No space left on device" $R sample --ckpt "$G" -o /dev/full
expect "out/sample -o into a missing directory" "$t/no/s.csv" "cannot write" $R sample --ckpt "$G" -o "$t/no/s.csv"
expect "out/interpolate -o /dev/full" "/dev/full" "cannot write: No space left on device" $R interpolate --ckpt "$G" -o /dev/full

ro=$t/ro full=$t/full; mkdir -p "$ro" "$full"
if mount -t tmpfs -o size=6m tmpfs "$full" 2>/dev/null; then
    mnt="$full"
    # a run on a 6 MB disk, its checkpoint 2.4 MB
    $R train --out "$full/run" --steps 10 --seed 3 2>/dev/null
    cp "$full/run/last.ckpt" "$t/full.ckpt"; cp "$full/run/metrics.csv" "$t/full.csv"
    head -c 300000 /dev/zero >"$full/slack"
    dd if=/dev/zero of="$full/filler" bs=64k 2>/dev/null
    rm -f "$full/slack"   # 300 kB left: the metrics and samples fit, the checkpoint does not
    expect "full-disk/checkpoint does not fit" "$full/run/last.ckpt" "cannot write checkpoint: No space left on device" \
        $R train --out "$full/run" --steps 20 --resume
    same "full-disk/checkpoint does not fit: last.ckpt untouched" "$t/full.ckpt" "$full/run/last.ckpt"
    if [ ! -e "$full/run/last.ckpt.tmp" ] && head -c "$(wc -c <"$t/full.csv")" "$full/run/metrics.csv" | cmp -s - "$t/full.csv"; then
        ok "full-disk/checkpoint does not fit: no temporary left, metrics.csv rows kept"
    else nok "full-disk/checkpoint does not fit: no temporary left, metrics.csv rows kept" "$(ls "$full/run")"; fi
    cp "$full/run/metrics.csv" "$t/full.csv"
    dd if=/dev/zero of="$full/filler2" bs=4k 2>/dev/null   # nothing left at all
    expect "full-disk/nothing fits" "$full/run/metrics.csv" "No space left on device" $R train --out "$full/run" --steps 20 --resume
    same "full-disk/nothing fits: last.ckpt untouched" "$t/full.ckpt" "$full/run/last.ckpt"
    same "full-disk/nothing fits: metrics.csv untouched" "$t/full.csv" "$full/run/metrics.csv"
    rm -f "$full/filler" "$full/filler2"
    $R train --out "$t/full-ref" --steps 20 --seed 3 2>/dev/null
    if $R train --out "$full/run" --steps 20 --resume 2>"$t/err" && cmp -s "$full/run/last.ckpt" "$t/full-ref/last.ckpt"; then
        ok "full-disk/space freed: the run resumes and ends as if never stopped"
    else nok "full-disk/space freed: the run resumes and ends as if never stopped" "$(cat "$t/err")"; fi
else
    ok "full-disk # skip: cannot mount a tmpfs here (needs root); /dev/full is tested"
fi
if mount -t tmpfs -o ro,size=1m tmpfs "$ro" 2>/dev/null; then
    mnt="$mnt $ro"
    expect "out/read-only --out" "$ro/run/samples" "Read-only file system" $R train --out "$ro/run" --steps 2
else
    ok "out/read-only --out # skip: cannot mount a tmpfs here"
fi

# -------------------------------------------------------- numerical safety
N=$t/nan
$N train --out "$t/nanrun" 2>"$t/err"; rc=$?
msg=$(grep 'error:' "$t/err")
k=$(echo "$msg" | sed -n 's/.*error: step \([0-9]*\): [DG] loss is \(nan\|inf\).*/\1/p')
j=$(echo "$msg" | sed -n "s|.*($t/nanrun/last.ckpt: the last good checkpoint is at step \([0-9]*\)).*|\1|p")
if [ $rc -eq 1 ] && [ -n "$k" ] && [ -n "$j" ] && [ "$j" -lt "$k" ] && [ "$(step_of "$t/nanrun/last.ckpt")" = "$j" ] &&
   $N sample --ckpt "$t/nanrun/last.ckpt" -o "$t/s.csv" 2>/dev/null; then
    ok "nan: stops at step $k naming the loss and the last good checkpoint (step $j), which loads"
else
    nok "nan: stops naming the step and the last good checkpoint" "exit $rc: $msg"
fi
$N train --out "$t/nanrun2" --steps "${j:-1}" 2>/dev/null
cp "$t/nanrun2/last.ckpt" "$t/nanrun2.ckpt"
expect "nan: resumed, stops again" "$t/nanrun2/last.ckpt" "the last good checkpoint is at step ${j:-1}" $N train --out "$t/nanrun2" --resume
same "nan: last.ckpt untouched" "$t/nanrun2.ckpt" "$t/nanrun2/last.ckpt"
