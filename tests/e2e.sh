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

# the MLP GAN on Fashion-MNIST, briefly
if build/ganc examples/mlp.gan -o "$t/mlp" $GANC_FLAGS 2>"$t/err"; then ok mlp/compile; else nok mlp/compile "$(cat "$t/err")"; exit 0; fi
if "$t/mlp" train --out "$t/m" --steps 300 2>"$t/mlp.log" && ls "$t/m/samples/"*.png >/dev/null 2>&1; then
    ok mlp/train
else
    nok mlp/train "$(tail -5 "$t/mlp.log")"
fi
if "$t/mlp" sample --ckpt "$t/m/last.ckpt" -n 16 -o "$t/s.png" 2>/dev/null && [ -s "$t/s.png" ]; then ok mlp/sample; else nok mlp/sample; fi
