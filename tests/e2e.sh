#!/bin/sh
# End to end: compile examples, train for real, measure what was learnt.
#  - ring.gan, trained with its own step count, covers >= 7 of 8 modes with
#    >= 80% high-quality samples (as the program's own `eval` measures them);
#  - a run stopped and resumed ends bit-identical to one never stopped;
#  - the same seed gives the same run;
#  - mlp.gan trains on Fashion-MNIST and writes PNG sample grids.
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
ok() { echo "ok - e2e/$1"; }
nok() { echo "not ok - e2e/$1"; [ -n "$2" ] && echo "$2" | sed 's/^/#   /'; }

if build/ganc examples/ring.gan -o "$t/ring" $GANC_FLAGS 2>"$t/err"; then ok ring/compile; else nok ring/compile "$(cat "$t/err")"; exit 0; fi

# compiled in parts in parallel, yet the same program every time
build/ganc examples/ring.gan -o "$t/ring2" $GANC_FLAGS 2>/dev/null
if cmp -s "$t/ring" "$t/ring2"; then ok ring/same-program; else nok ring/same-program; fi
# the back end's stages, as one module each
if build/ganc examples/ring.gan --emit=llvm -o "$t/ring.ll" && grep -q '^define void @ganc_d_step' "$t/ring.ll" &&
   build/ganc examples/ring.gan --emit=asm -o "$t/ring.s" && grep -q '^ganc_d_step:' "$t/ring.s" &&
   build/ganc examples/ring.gan --emit=obj -o "$t/ring.o" && nm "$t/ring.o" | grep -q ' [DR] ganc_model$'; then
    ok ring/emit-stages
else
    nok ring/emit-stages
fi
# compile time: every body is optimised once, outside its kernel (kernels
# only forward to it, unoptimised); bodies that only small unthreaded
# kernels call are not optimised, those of products and of optimisers that
# also update big tensors are
attrs() {   # FILE: "name attributes" for each function defined in FILE
    awk '/^attributes #/{a[$2]=$0} /^define/{match($0,/@[A-Za-z0-9_]+/); n=substr($0,RSTART+1,RLENGTH-1); g[n]=$NF=="{"?$(NF-1):""}
         END{for (n in g) print n, a[g[n]]}' "$1"
}
if build/ganc examples/mlp.gan --emit=llvm -o "$t/mlp.ll"; then
    attrs "$t/mlp.ll" >"$t/mlp.attrs"
    cold=$(grep -c '_body .*optnone' "$t/mlp.attrs")
    hot=$(grep -E '_(matmul|matmul_nt|adam)_body ' "$t/mlp.attrs" | grep -c optnone)
    inl=$(grep -E '^k[0-9]+_[a-z_]+ ' "$t/mlp.attrs" | grep -v '_body ' | grep -vc optnone)
    if [ "$cold" -gt 0 ] && [ "$hot" = 0 ] && [ "$inl" = 0 ]; then
        ok "mlp/cold-bodies ($cold not optimised)"
    else
        nok mlp/cold-bodies "cold $cold, hot optnone $hot, optimised kernels $inl"
    fi
else
    nok mlp/cold-bodies
fi
# GANC_TIME: the time of each stage and part on stderr
if GANC_TIME=1 build/ganc examples/ring.gan -o "$t/ring3" 2>"$t/time" && grep -q '^ganc: link ' "$t/time" &&
   grep -q '^ganc: part 0: ' "$t/time" && cmp -s "$t/ring" "$t/ring3"; then
    ok ring/stage-times
else
    nok ring/stage-times "$(cat "$t/time")"
fi

if "$t/ring" train --out "$t/run" --seed 1 2>"$t/train.log"; then ok ring/train; else nok ring/train "$(tail -5 "$t/train.log")"; fi
"$t/ring" eval --ckpt "$t/run/last.ckpt" >"$t/eval" 2>&1
modes=$(awk '$1=="modes"{split($2,a,"/"); print a[1]}' "$t/eval")
hq=$(awk '$1=="high_quality"{print $2}' "$t/eval")
if [ -n "$modes" ] && [ "$modes" -ge 7 ] && awk -v h="$hq" 'BEGIN{exit !(h >= 0.8)}'; then
    ok "ring/modes ($modes/8, high quality $hq)"
else
    nok "ring/modes (modes $modes, high quality $hq)" "$(cat "$t/eval")"
fi
[ -s "$t/run/metrics.csv" ] && ls "$t/run/samples/"*.csv >/dev/null 2>&1 && ok ring/outputs || nok ring/outputs "$(ls -R "$t/run")"

# exact resume and determinism
"$t/ring" train --out "$t/a" --steps 600 --seed 7 2>/dev/null
"$t/ring" train --out "$t/c" --steps 600 --seed 7 2>/dev/null
"$t/ring" train --out "$t/b" --steps 250 --seed 7 2>/dev/null
"$t/ring" train --out "$t/b" --steps 600 --seed 7 --resume 2>/dev/null
if [ -s "$t/a/last.ckpt" ] && cmp -s "$t/a/last.ckpt" "$t/c/last.ckpt"; then ok ring/same-seed; else nok ring/same-seed; fi
if [ -s "$t/a/last.ckpt" ] && cmp -s "$t/a/last.ckpt" "$t/b/last.ckpt"; then ok ring/resume-exact; else nok ring/resume-exact; fi
# ring.gan keeps a moving average of G (ema G 0.999): saved in the checkpoint
# (so resume-exact above covers it), used by sample, bypassed by --no-ema.
if head -c 65536 "$t/run/last.ckpt" | grep -aq '"ema.G.0.weight"'; then ok ring/ema-saved; else nok ring/ema-saved; fi
"$t/ring" sample --ckpt "$t/run/last.ckpt" -n 200 -o "$t/ema.csv" 2>/dev/null
"$t/ring" sample --ckpt "$t/run/last.ckpt" -n 200 -o "$t/raw.csv" --no-ema 2>/dev/null
if [ "$(wc -l <"$t/ema.csv")" = "$(wc -l <"$t/raw.csv")" ] && [ -s "$t/ema.csv" ] && ! cmp -s "$t/ema.csv" "$t/raw.csv"; then
    ok ring/ema-samples-differ-from-raw
else
    nok ring/ema-samples-differ-from-raw
fi
# interpolate on 2-D points: a CSV of walks (walk,t,x,y), t from 0 to 1,
# whose ends are the points `sample` draws with the same seed
"$t/ring" interpolate --ckpt "$t/run/last.ckpt" -n 3 --steps 5 --seed 4 -o "$t/walk.csv" 2>/dev/null
"$t/ring" sample --ckpt "$t/run/last.ckpt" -n 6 --seed 4 -o "$t/ends.csv" 2>/dev/null
if [ "$(head -1 "$t/walk.csv")" = "walk,t,x,y" ] && [ "$(wc -l <"$t/walk.csv")" = 16 ] &&
   [ "$(awk -F, 'NR>1 && ($2 == 0 || $2 == 1) {print $3","$4}' "$t/walk.csv")" = "$(tail -n +2 "$t/ends.csv")" ] &&
   [ "$(awk -F, 'NR>1 {print $1":"$2}' "$t/walk.csv" | tr '\n' ' ')" = "0:0 0:0.25 0:0.5 0:0.75 0:1 1:0 1:0.25 1:0.5 1:0.75 1:1 2:0 2:0.25 2:0.5 2:0.75 2:1 " ]; then
    ok ring/interpolate-csv
else
    nok ring/interpolate-csv "$(head -5 "$t/walk.csv"; head -3 "$t/ends.csv")"
fi

# the MLP GAN on Fashion-MNIST, briefly
if build/ganc examples/mlp.gan -o "$t/mlp" $GANC_FLAGS 2>"$t/err"; then ok mlp/compile; else nok mlp/compile "$(cat "$t/err")"; exit 0; fi
if "$t/mlp" train --out "$t/m" --steps 300 2>"$t/mlp.log" && ls "$t/m/samples/"*.png >/dev/null 2>&1; then
    ok mlp/train
else
    nok mlp/train "$(tail -5 "$t/mlp.log")"
fi
if "$t/mlp" sample --ckpt "$t/m/last.ckpt" -n 16 -o "$t/s.png" 2>/dev/null && [ -s "$t/s.png" ]; then ok mlp/sample; else nok mlp/sample; fi

# DCGAN (conv, deconv, batchnorm) on Fashion-MNIST, a few hundred steps: the
# samples must move away from noise towards the data, as measured by the
# program's own eval (RMS distance of per-pixel means and spreads), and the
# checkpoint must load for sampling.
if build/ganc $GANC_FLAGS examples/dcgan.gan -o "$t/dcgan" 2>"$t/err"; then ok dcgan/compile; else nok dcgan/compile "$(cat "$t/err")"; exit 0; fi
"$t/dcgan" train --out "$t/d" --steps 0 2>/dev/null
"$t/dcgan" eval --ckpt "$t/d/last.ckpt" -n 256 >"$t/e0" 2>&1
"$t/dcgan" train --out "$t/d" --steps 300 --resume 2>"$t/dcgan.log"
"$t/dcgan" eval --ckpt "$t/d/last.ckpt" -n 256 >"$t/e1" 2>&1
m0=$(awk '$1=="pixel_mean_rmse"{print $2}' "$t/e0"); m1=$(awk '$1=="pixel_mean_rmse"{print $2}' "$t/e1")
s0=$(awk '$1=="pixel_std_rmse"{print $2}' "$t/e0"); s1=$(awk '$1=="pixel_std_rmse"{print $2}' "$t/e1")
if [ -n "$m0" ] && [ -n "$m1" ] && awk -v a="$m0" -v b="$m1" -v c="$s0" -v d="$s1" 'BEGIN{exit !(b < 0.5 * a && d < c)}'; then
    ok "dcgan/learns (pixel mean rmse $m0 -> $m1, pixel std rmse $s0 -> $s1 after 300 steps)"
else
    nok "dcgan/learns (pixel mean rmse $m0 -> $m1, pixel std rmse $s0 -> $s1)" "$(tail -3 "$t/dcgan.log"; cat "$t/e1")"
fi
if "$t/dcgan" sample --ckpt "$t/d/last.ckpt" -n 16 -o "$t/d.png" 2>/dev/null && [ -s "$t/d.png" ]; then ok dcgan/sample; else nok dcgan/sample; fi

# Winograd's convolutions (the default for dcgan.gan's 64- and 128-channel
# layers) train as the direct ones do, to float rounding: 3 steps from the
# same seed by each, then the same samples (sampling is direct in both) to
# 2e-3 (measured 2.6e-4; one more training step moves them by 2e-2).
if [ "$(build/ganc examples/dcgan.gan --emit=ir | grep -c wino_in)" -gt 0 ] &&
   [ "$(GANC_WINOGRAD=0 build/ganc examples/dcgan.gan --emit=ir | grep -c wino_in)" = 0 ] &&
   GANC_WINOGRAD=0 build/ganc $GANC_FLAGS examples/dcgan.gan -o "$t/dcgan_direct" 2>"$t/err" &&
   "$t/dcgan" train --out "$t/wg" --steps 3 --seed 5 >/dev/null 2>&1 &&
   "$t/dcgan_direct" train --out "$t/dr" --steps 3 --seed 5 >/dev/null 2>&1 &&
   "$t/dcgan" sample --ckpt "$t/wg/last.ckpt" -n 16 --seed 2 -o "$t/wg.f32" 2>/dev/null &&
   "$t/dcgan" sample --ckpt "$t/dr/last.ckpt" -n 16 --seed 2 -o "$t/dr.f32" 2>/dev/null &&
   od -An -v -f -w4 "$t/wg.f32" >"$t/wg.txt" && od -An -v -f -w4 "$t/dr.f32" >"$t/dr.txt" &&
   [ "$(wc -l <"$t/wg.txt")" = 12544 ] &&
   paste "$t/wg.txt" "$t/dr.txt" | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d } END { exit !(m < 2e-3) }'; then
    ok dcgan/winograd-trains-as-direct
else
    nok dcgan/winograd-trains-as-direct "$(cat "$t/err"; paste "$t/wg.txt" "$t/dr.txt" 2>/dev/null | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d } END { print "max diff", m }')"
fi

# interpolate: walk i runs from sample 2i to sample 2i+1 of the same seed
# (the images at its ends are those samples: to float rounding, as a
# deconvolution's product may add a pixel's terms in another order at
# another place in the batch), in steps much smaller than the whole way (the
# biggest change between neighbours under half the change from end to end);
# slerp and --lerp share the ends, not the middle; a PNG grid with a walk per
# row; --noise of the wrong size is an error that names the size it needs.
img=3136   # bytes of a 1x28x28 float32 image
"$t/dcgan" interpolate --ckpt "$t/d/last.ckpt" -n 2 --steps 8 --seed 3 -o "$t/w.f32" 2>/dev/null
"$t/dcgan" interpolate --ckpt "$t/d/last.ckpt" -n 2 --steps 8 --seed 3 --lerp -o "$t/wl.f32" 2>/dev/null
"$t/dcgan" sample --ckpt "$t/d/last.ckpt" -n 4 --seed 3 -o "$t/e.f32" 2>/dev/null
same() {   # FILE1 IMAGE1 FILE2 IMAGE2: the two images agree to 1e-5
    od -An -v -f -w4 -j $(($2 * img)) -N $img "$1" >"$t/i1" && od -An -v -f -w4 -j $(($4 * img)) -N $img "$3" >"$t/i2" &&
        [ "$(wc -l <"$t/i1")" = 784 ] && [ "$(wc -l <"$t/i2")" = 784 ] &&
        paste "$t/i1" "$t/i2" | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-5) bad = 1 } END { exit bad }'
}
if [ "$(wc -c <"$t/w.f32")" = $((16 * img)) ] && same "$t/w.f32" 0 "$t/e.f32" 0 && same "$t/w.f32" 7 "$t/e.f32" 1 &&
   same "$t/w.f32" 8 "$t/e.f32" 2 && same "$t/w.f32" 15 "$t/e.f32" 3 && ! same "$t/w.f32" 3 "$t/e.f32" 0 &&
   same "$t/wl.f32" 0 "$t/e.f32" 0 && same "$t/wl.f32" 15 "$t/e.f32" 3 && ! same "$t/w.f32" 3 "$t/wl.f32" 3; then
    ok dcgan/interpolate-ends
else
    nok dcgan/interpolate-ends "$(ls -l "$t"/*.f32)"
fi
steps=$(od -An -v -f -w4 "$t/w.f32" | awk -v n=784 '
    { v[int((NR - 1) / n), (NR - 1) % n] = $1 }
    function d(a, b,   s, k) { s = 0; for (k = 0; k < n; k++) s += (v[a, k] - v[b, k]) ^ 2; return sqrt(s) }
    END { for (w = 0; w < 2; w++) { m = 0; for (j = 0; j < 7; j++) if (d(8 * w + j, 8 * w + j + 1) > m) m = d(8 * w + j, 8 * w + j + 1)
                                    printf "%.3g/%.3g ", m, d(8 * w, 8 * w + 7); if (!(m < 0.5 * d(8 * w, 8 * w + 7))) bad = 1 }
          exit bad }') && ok "dcgan/interpolate-smooth (largest step / whole way: $steps)" || nok "dcgan/interpolate-smooth ($steps)"
if "$t/dcgan" interpolate --ckpt "$t/d/last.ckpt" -n 3 --steps 5 -o "$t/w.png" 2>/dev/null && [ -s "$t/w.png" ]; then
    ok dcgan/interpolate-png
else
    nok dcgan/interpolate-png
fi
head -c 800 "$t/e.f32" >"$t/short.f32"
if ! "$t/dcgan" interpolate --ckpt "$t/d/last.ckpt" -n 2 --noise "$t/short.f32" -o "$t/x.png" 2>"$t/err" &&
   grep -q 'needs exactly 4 x 100 float32 values' "$t/err" && [ ! -e "$t/x.png" ]; then
    ok dcgan/interpolate-noise-size
else
    nok dcgan/interpolate-noise-size "$(cat "$t/err")"
fi

# Every parallel kernel call of whole training steps computes each item on
# its own: with GANRT_CHECK_CHUNKS=1 the runtime runs each call's chunks as
# one range, in order and backwards, and stops at the first difference.
for m in ring mlp dcgan; do
    if GANRT_CHECK_CHUNKS=1 "$t/$m" train --out "$t/cc_$m" --steps 3 --seed 3 >/dev/null 2>"$t/cc.log"; then
        ok "$m/chunks-independent"
    else
        nok "$m/chunks-independent" "$(tail -3 "$t/cc.log")"
    fi
done

# The memory plan changes where values live, never what is computed:
# compiled with GANC_NO_REUSE=1 (every buffer its own memory, no buffer
# shared over time, none taken over in place) the programs train to the
# same bytes.  Covers liveness across the D and G steps (values both steps
# compute are free in between), outputs that overwrite a dying input, and
# sampling every 3 steps in the memory of the training step.
for m in mlp dcgan; do
    src=$t/${m}_s3.gan
    sed 's/sample every [0-9]*/sample every 3/' "examples/$m.gan" >"$src"
    if build/ganc $GANC_FLAGS "$src" -o "$t/${m}_s3" 2>"$t/err" &&
       GANC_NO_REUSE=1 build/ganc $GANC_FLAGS "$src" -o "$t/${m}_noreuse" 2>"$t/err" &&
       "$t/${m}_s3" train --out "$t/pr_$m" --steps 12 --seed 5 >/dev/null 2>&1 &&
       "$t/${m}_noreuse" train --out "$t/pn_$m" --steps 12 --seed 5 >/dev/null 2>&1 &&
       cmp -s "$t/pr_$m/last.ckpt" "$t/pn_$m/last.ckpt" && diff -r "$t/pr_$m/samples" "$t/pn_$m/samples" >/dev/null &&
       [ -f "$t/pr_$m/samples/step_000006.png" ]; then
        ok "$m/plan-independent"
    else
        nok "$m/plan-independent" "$(cat "$t/err"; cmp "$t/pr_$m/last.ckpt" "$t/pn_$m/last.ckpt" 2>&1)"
    fi
done

# G's forward pass computed again for its backward pass (sched.c
# recompute_g; by itself only for big models, forced here with
# GANC_RECOMPUTE=1) computes the same values: examples/dcgan.gan and
# tests/ok/unet.gan (skip connections, dropout in G: the copy reads the
# same mask) train to the same bytes with and without it.
for src in examples/dcgan.gan tests/ok/unet.gan; do
    m=$(basename "$src" .gan)
    if GANC_RECOMPUTE=1 build/ganc $GANC_FLAGS "$src" -o "$t/${m}_rc1" 2>"$t/err" &&
       GANC_RECOMPUTE=0 build/ganc $GANC_FLAGS "$src" -o "$t/${m}_rc0" 2>>"$t/err" &&
       "$t/${m}_rc1" train --out "$t/rc1_$m" --steps 6 --seed 3 >/dev/null 2>&1 &&
       "$t/${m}_rc0" train --out "$t/rc0_$m" --steps 6 --seed 3 >/dev/null 2>&1 &&
       ! cmp -s "$t/${m}_rc1" "$t/${m}_rc0" && cmp -s "$t/rc1_$m/last.ckpt" "$t/rc0_$m/last.ckpt"; then
        ok "$m/g-forward-again-exact"
    else
        nok "$m/g-forward-again-exact" "$(cat "$t/err"; cmp "$t/rc1_$m/last.ckpt" "$t/rc0_$m/last.ckpt" 2>&1)"
    fi
done

# A D weight's gradient sums a product over the real batch and one over the
# fake batch: the first is computed in its place in the gradient region and
# the second adds into it (sched.c, Schedule.adds_to).  The gradients (Adam's
# first moment after one step, half the gradient) agree with those of the
# sum computed from the two products in memory (GANC_SEPARATE_SUMS=1) to
# rounding.
# tensor_values CKPT NAME: a float32 tensor's values, one per line.
tensor_values() {
    hl=$(od -An -tu8 -N8 "$1" | tr -d ' ')
    hdr=$(dd if="$1" bs=1 skip=8 count="$hl" 2>/dev/null)
    offs=$(printf '%s' "$hdr" | tr '}' '\n' | grep "\"$2\"" | sed 's/.*data_offsets":\[\([0-9]*\),\([0-9]*\)\].*/\1 \2/')
    [ -n "$offs" ] || return 1
    set -- "$1" $offs
    od -An -v -tf4 -j $((8 + hl + $2)) -N $(($3 - $2)) "$1" | tr -s ' ' '\n' | grep .
}
n_adds=$(build/ganc examples/dcgan.gan --emit=fused 2>&1 | grep -c "adds into")
n_sep=$(GANC_SEPARATE_SUMS=1 build/ganc examples/dcgan.gan --emit=fused 2>&1 | grep -c "adds into")
worst=""
if [ "$n_adds" -gt 0 ] && [ "$n_sep" -eq 0 ] &&
   GANC_SEPARATE_SUMS=1 build/ganc $GANC_FLAGS examples/dcgan.gan -o "$t/dcgan_sep" 2>"$t/err" &&
   "$t/dcgan" train --out "$t/as_in" --steps 1 --seed 7 >/dev/null 2>&1 &&
   "$t/dcgan_sep" train --out "$t/as_sep" --steps 1 --seed 7 >/dev/null 2>&1; then
    worst=0
    for w in D.0.weight D.2.weight D.6.weight; do
        tensor_values "$t/as_in/last.ckpt" "adam_m.$w" >"$t/va" && tensor_values "$t/as_sep/last.ckpt" "adam_m.$w" >"$t/vb" &&
            [ -s "$t/va" ] && [ "$(wc -l <"$t/va")" -eq "$(wc -l <"$t/vb")" ] || { worst=unreadable; break; }
        r=$(paste "$t/va" "$t/vb" | awk '{d = $1 - $2; if (d < 0) d = -d; if (d > md) md = d; a = $2 < 0 ? -$2 : $2; if (a > ma) ma = a}
                                      END {printf "%.3g\n", (ma > 0 ? md / ma : 1)}')
        [ -n "$r" ] || { worst=unreadable; break; }
        worst=$(awk -v a="$worst" -v b="$r" 'BEGIN {print (b + 0 > a + 0 ? b : a)}')
    done
fi
if [ -n "$worst" ] && [ "$worst" != unreadable ] && awk -v w="$worst" 'BEGIN {exit !(w < 1e-4)}'; then
    ok "dcgan/gradient-sums-in-place ($n_adds products add into their gradient; largest relative difference $worst)"
else
    nok "dcgan/gradient-sums-in-place" "products adding in place: $n_adds (separate: $n_sep); relative difference: ${worst:-not measured}"
fi

# A bias right before a batchnorm has no effect on the output, so its
# gradient is zero up to rounding: the terms of batchnorm's backward pass
# that cancel must be added element by element before the sum over the
# batch (summed apart, their rounding is as large as a real gradient, and
# Adam turns it into full-size steps).  Adam's first moment of the bias of
# examples/dcgan.gan's second convolution (D.2, before batchnorm D.3) after
# the 12 steps above stays below 1e-4 (it was 0.16 when the sums were split).
# tensor_maxabs CKPT NAME: the largest |value| of a float32 tensor.
tensor_maxabs() {
    tensor_values "$1" "$2" | awk '{v = $1 < 0 ? -$1 : $1; if (v > m) m = v} END {if (NR) printf "%.3g\n", m; else exit 1}'
}
if v=$(tensor_maxabs "$t/pr_dcgan/last.ckpt" adam_m.D.2.bias) &&
   awk -v v="$v" 'BEGIN {exit !(v < 1e-4)}' &&
   w=$(tensor_maxabs "$t/pr_dcgan/last.ckpt" adam_m.D.2.weight) && awk -v w="$w" 'BEGIN {exit !(w > 1e-4)}'; then
    ok "dcgan/bias-before-batchnorm (Adam m of D.2.bias max $v; of D.2.weight $w)"
else
    nok "dcgan/bias-before-batchnorm" "Adam m of D.2.bias max ${v:-unreadable}, of D.2.weight ${w:-unreadable}"
fi
