#!/bin/sh
# make bench: every bench/*.gan compiled by ganc and timed against the same
# model in PyTorch (bench/torch_ref.py), interleaved in one run, plus the
# machine's matrix-product ceiling (bench/peak.py) measured in the same run.
# Prints a table and writes it to bench/results.md.
#   MODELS="mlp"  ROUNDS=5  STEPS=N  THREADS=$(nproc)   override the defaults
#   (steps timed per run: mlp 30, dcgan28 20, dcgan64 5 unless STEPS is set)
# Both sides train on one fixed random batch as the real data (torch_ref.py;
# ganc: bench --synthetic), so peak memory compares the training alone.
# After timing, each model is trained for a few steps and its checkpoint's
# generator is loaded into the PyTorch model: the samples for the same noise
# must agree (bench/torch_check.py).
cd "$(dirname "$0")/.." || exit 1
sh scripts/install-deps.sh python3-torch libopenblas0-pthread time || exit 1
threads=${THREADS:-$(nproc)}
rounds=${ROUNDS:-5}   # the machine is shared: a round's ratio varied from 1.7 to 2.5 within minutes
models=${MODELS:-$(for f in bench/*.gan; do basename "$f" .gan; done)}
py=/usr/bin/python3
# OpenBLAS (behind torch.mm and PyTorch's BLAS calls) does not recognise some
# virtual CPUs and falls back to its generic "Prescott" kernels, 5x slower
# here; name the core for it, from the CPU's vector extensions, unless the
# environment already does: the peer gets its best configuration.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
    if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
    elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell; fi
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

median() { sort -g | awk '{v[NR]=$1} END{if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
rss_mb() { awk -F: '/Maximum resident set size/{printf "%.0f", $2/1024}' "$1"; }

# The ceiling is measured right before each timed round of ganc, and a
# round's share of it is ganc's GFLOP/s over that measurement: a shared
# machine's speed moves within minutes (the ceiling measured 167-300 GFLOP/s
# in one run), so, as with PyTorch, like is compared with like; the table
# gives the median share.  The header gives the range of the measurements.
peak() { $py bench/peak.py "$threads" | sed 's/gflops=//'; }
cpu=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)
echo "on $cpu, $threads threads"
: > "$tmp/ceilings"

rows=""; executed=""; stepsof=""; conservative=""
for m in $models; do
    # compile time: the median of three compiles (wall clock, the whole
    # command: parse to linked executable)
    : > "$tmp/$m.c"
    for k in 1 2 3; do
        t0=$(date +%s%N)
        build/ganc "bench/$m.gan" -o "$tmp/$m" || { echo "bench: $m does not compile"; exit 1; }
        t1=$(date +%s%N)
        echo $(( (t1 - t0) / 1000000 )) >> "$tmp/$m.c"
    done
    compile_ms=$(median < "$tmp/$m.c")
    flops=$(cd bench && $py model_flops.py "$m")   # BENCHMARKS.md's count
    eflops=$("$tmp/$m" info | awk '$1=="flops_per_step"{print $2}')   # the products ganc executes
    executed="$executed $m $(awk -v f="$eflops" 'BEGIN{printf "%.2f", f/1e9}'),"
    case $m in mlp) steps=${STEPS:-30} ;; dcgan28) steps=${STEPS:-20} ;; *) steps=${STEPS:-5} ;; esac
    stepsof="$stepsof $m $steps,"
    : > "$tmp/$m.g"; : > "$tmp/$m.t"; : > "$tmp/$m.r"; : > "$tmp/$m.f"
    for r in $(seq "$rounds"); do
        c=$(peak); echo "$c" >> "$tmp/ceilings"
        /usr/bin/time -v "$tmp/$m" bench --synthetic --steps "$steps" --threads "$threads" >"$tmp/out" 2>"$tmp/tv" || { cat "$tmp/out" "$tmp/tv"; exit 1; }
        g=$(sed -n 's/.*median_ms_per_step=\([0-9.]*\).*/\1/p' "$tmp/out"); rss_mb "$tmp/tv" >> "$tmp/$m.gr"; echo >> "$tmp/$m.gr"
        /usr/bin/time -v $py bench/torch_ref.py "$m" 64 "$steps" "$threads" >"$tmp/out" 2>"$tmp/tv" || { cat "$tmp/out" "$tmp/tv"; exit 1; }
        t=$(sed -n 's/.*median_ms_per_step=\([0-9.]*\).*/\1/p' "$tmp/out"); rss_mb "$tmp/tv" >> "$tmp/$m.tr"; echo >> "$tmp/$m.tr"
        echo "$g" >> "$tmp/$m.g"; echo "$t" >> "$tmp/$m.t"
        awk -v g="$g" -v t="$t" 'BEGIN{print t/g}' >> "$tmp/$m.r"
        awk -v g="$g" -v f="$flops" -v c="$c" 'BEGIN{print f/(g*1e6)/c}' >> "$tmp/$m.f"
        echo "  $m round $r: ceiling $c GFLOP/s, ganc $g ms, pytorch $t ms"
    done
    g=$(median < "$tmp/$m.g"); t=$(median < "$tmp/$m.t"); ratio=$(median < "$tmp/$m.r"); share=$(median < "$tmp/$m.f")
    grss=$(grep . "$tmp/$m.gr" | sort -n | tail -1); trss=$(grep . "$tmp/$m.tr" | sort -n | tail -1)
    row=$(awk -v m="$m" -v g="$g" -v t="$t" -v r="$ratio" -v f="$flops" -v sh="$share" -v gr="$grss" -v tr="$trss" -v cm="$compile_ms" \
        'BEGIN{gf=f/(g*1e6); printf "| %s | %.2f | %.2f | %.2fx | %.1f | %.0f%% | %d | %d | %d |", m, g, t, r, gf, 100*sh, gr, tr, cm}')
    rows="$rows$row
"
    conservative="$conservative $m $(awk -v g="$g" -v f="$flops" 'BEGIN{printf "%.1f", f/(g*1e6)}'),"
    (cd "$tmp" && "./$m" train --steps 3 --out "run_$m" 2>/dev/null) &&
        check=$(cd bench && $py torch_check.py "$m" "$tmp/$m" "$tmp/run_$m/last.ckpt" 2>&1 | tail -1) || check="FAILED: $check"
    checks="$checks- $m: generator weights in PyTorch give the same samples: $check
"
done
ceiling=$(sort -g "$tmp/ceilings" | awk '{v[NR]=$1} END{printf "%s-%s", v[1], v[NR]}')
best=$(sort -g "$tmp/ceilings" | tail -1)
# the share of the run's highest measurement: the median GFLOP/s over it
conservative=$(echo "$conservative" | tr ',' '\n' | awk -v b="$best" 'NF==2{printf "%s %.0f%%, ", $1, 100*$2/b}' | sed 's/, $//')
table="| model | ganc ms/step | PyTorch ms/step | speed-up (median of pairs) | ganc GFLOP/s | of ceiling (median of rounds) | ganc peak RSS MB | PyTorch peak RSS MB | ganc compile ms |
|---|---|---|---|---|---|---|---|---|
$rows"
echo
printf '%s' "$table"
{
    echo "# Benchmark results"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $cpu, $threads threads, batch 64, $rounds interleaved rounds, timed steps per run:${stepsof%,} (medians)."
    echo "Ceiling: $ceiling GFLOP/s (bench/peak.py: 2048^3 sgemm on OpenBLAS, best of ten; measured right before each round of ganc, whose share of it is ganc's GFLOP/s in the round over that measurement).  Median GFLOP/s over the highest measurement of the run instead: $conservative."
    echo "PyTorch $($py -c 'import torch; print(torch.__version__)') in its best configuration: OpenBLAS (libopenblas0-pthread) with OPENBLAS_NUM_THREADS=1 and OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-auto}, torch.set_num_threads($threads)."
    echo "GFLOP/s: BENCHMARKS.md's count of a step's FLOPs (bench/model_flops.py: 2 x (3 x G + 9 x D forward multiply-adds) per sample) over ganc's time.  The products ganc executes per step (\`PROG info\`: flops_per_step), in GFLOP:${executed%,}."
    echo "Both train on one fixed batch of uniform noise as the real data, as bench/torch_ref.py does (\`PROG bench --synthetic\`): neither holds a data set in memory."
    echo "ganc compile ms: the median of three compiles of the model, wall clock, from the command to the linked executable."
    echo
    printf '%s' "$table"
    echo
    echo "Cross-check of the layer semantics (bench/torch_check.py, 16 samples, same noise, evaluation mode):"
    printf '%s' "$checks"
} > bench/results.md
printf '\n%s' "$checks"
echo "(written to bench/results.md)"
