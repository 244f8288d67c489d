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
