#!/bin/sh
# IR goldens: for tests/ir/NAME.gan, the output of each stage STAGE with a
# golden tests/ir/NAME.STAGE (ir: the checked, simplified forward graph;
# grad: the gradients) must match exactly.  Goldens were checked by hand
# against the mathematics (see the comments in each .gan file).
for golden in tests/ir/*.ir tests/ir/*.grad tests/ir/*.fused; do
    [ -f "$golden" ] || continue
    stage=${golden##*.}; src=${golden%.*}.gan; name=$(basename "$golden")
    if out=$(build/ganc "$src" --emit="$stage" 2>&1) && [ "$out" = "$(cat "$golden")" ]; then
        echo "ok - ir/$name"
    else
        echo "not ok - ir/$name"
        printf '%s\n' "$out" | diff "$golden" - | head -20 | sed 's/^/#   /'
    fi
done
# A D instance's batchnorm updates run in the step whose objective made it
# (chained real then fake in the D step, the G step's own after it), even
# though simplify merges the fake instances of both steps: the G step must
# not compute D on the real batch x for an update of the D step.
x=$(build/ganc bench/dcgan28.gan --emit=ir 2>&1 | awk '$3 == "input" && $NF == "x" {print $1; exit}')
if [ -n "$x" ] && build/ganc bench/dcgan28.gan --emit=fused 2>&1 | sed -n '/^section g_step:/,/^section g_sample:/p' |
        grep -q -- "$x\b"; then
    echo "not ok - sched/g-step-reads-no-real-data: the G step of bench/dcgan28.gan reads x ($x)"
elif [ -n "$x" ]; then
    echo "ok - sched/g-step-reads-no-real-data"
else
    echo "not ok - sched/g-step-reads-no-real-data: no input x in the IR of bench/dcgan28.gan"
fi
# A hidden layer's activation of 4 MB or more is computed again for its
# backward readers (sched.c clone_late): the G step does not read the relu
# outputs that G's forward pass stored, so they are free while the D step
# runs.
f=$(build/ganc bench/dcgan64.gan --emit=fused 2>&1)
acts=$(printf '%s\n' "$f" | sed -n '/^section g_forward:/,/^section d_step:/p' |
       awk '$1 == "store" && $4 == "relu" {s = $6; gsub(/[][]/, "", s); n = split(s, d, ","); v = 1;
                                          for (i = 1; i <= n; i++) v *= d[i]; if (v >= 1048576) print $2}')
late=$(for a in $acts; do printf '%s\n' "$f" | sed -n '/^section g_step:/,/^section g_sample:/p' | grep -q -- "$a\b" && echo "$a"; done)
if [ -z "$acts" ]; then
    echo "not ok - sched/late-activation-copy: no relu stored by G's forward pass in bench/dcgan64.gan"
elif [ -n "$late" ]; then
    echo "not ok - sched/late-activation-copy: the G step reads" $late
else
    echo "ok - sched/late-activation-copy"
fi
# G's forward pass is computed again in the G step when what its backward
# pass reads of it is big (sched.c recompute_g, 16 MB or more): of the values
# bench/dcgan64.gan's G forward section computes, the D step and the G step
# read only the generated batch (tanh), so the rest is free while D runs;
# GANC_RECOMPUTE=0 keeps them (the check can fail), and makes a bigger arena.
g_fwd_read_later() {   # the values of the G forward section read by the steps
    printf '%s\n' "$1" | sed -n '/^section g_forward:/,/^section d_step:/p' |
        awk '$1 == "store" {print $2, $4} $1 ~ /^%/ && $2 == "=" && $3 != "broadcast" {print $1, $3}' | sort -u |
        while read -r v op; do
            printf '%s\n' "$1" | sed -n '/^section d_step:/,/^section g_sample:/p' | grep -q -- "$v\b" && echo "$v:$op"
        done
}
f1=$(build/ganc bench/dcgan64.gan --emit=fused 2>&1)
f0=$(GANC_RECOMPUTE=0 build/ganc bench/dcgan64.gan --emit=fused 2>&1)
r1=$(g_fwd_read_later "$f1" | tr '\n' ' ')
r0=$(g_fwd_read_later "$f0" | wc -l)
a1=$(printf '%s\n' "$f1" | awk 'NR == 1 {print $3}')
a0=$(printf '%s\n' "$f0" | awk 'NR == 1 {print $3}')
case "$r1" in
*:tanh" ") if [ "$(echo "$r1" | wc -w)" -eq 1 ] && [ "$r0" -gt 4 ] && [ "$a1" -lt "$a0" ]; then
              echo "ok - sched/g-forward-again (arena $a1 floats, $a0 without)"
          else
              echo "not ok - sched/g-forward-again: read later: $r1; without: $r0 values, arena $a0 (with: $a1)"
          fi ;;
*) echo "not ok - sched/g-forward-again: the steps read these values of G's forward section: $r1" ;;
esac
# --emit=fused names the memory plan's peak: at most the arena, the biggest
# values then listed largest first, together no more than the peak.
f=$(build/ganc bench/dcgan64.gan --emit=fused 2>&1 | head -2)
if printf '%s\n' "$f" | awk 'NR == 1 {v = $5; sub(/^[(]/, "", v); arena = v + 0}
        NR == 2 && $2 == "peak:" {peak = $3 + 0; list = $0; sub(/.*biggest: /, "", list); n = split(list, parts, ", ")
            prev = 1e18; sum = 0; ok = n >= 2
            for (i = 1; i <= n; i++) { m = split(parts[i], w, " "); v = w[m - 1] + 0; if (v > prev + 1e-9) ok = 0; prev = v; sum += v }}
        END {exit !(ok && peak > 0 && peak < arena && sum <= peak + 0.01)}'; then
    echo "ok - sched/peak-shown"
else
    echo "not ok - sched/peak-shown"
    printf '%s\n' "$f" | sed 's/^/#   /'
fi
# Every Winograd transform that writes an image in bench/dcgan28.gan (a
# conv's output, a deconv's, a conv's input gradient) has the elementwise
# kernel that reads it as its epilogue, also where the weight transform's
# gradient came between them (sched.c absorb_epilogues moves it after).
f=$(build/ganc bench/dcgan28.gan --emit=fused 2>&1)
n=$(printf '%s\n' "$f" | grep -cE "= (wino_out .*m=4$|wino_in .*adjoint$)")
e=$(printf '%s\n' "$f" | grep -A1 -E "= (wino_out .*m=4$|wino_in .*adjoint$)" | grep -c "epilogue of")
if [ "$n" -gt 0 ] && [ "$n" = "$e" ]; then
    echo "ok - sched/winograd-epilogues ($e of $n)"
else
    echo "not ok - sched/winograd-epilogues: $e of $n image-writing transforms have an epilogue"
fi
