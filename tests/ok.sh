#!/bin/sh
# Programs that must compile without a word: tests/ok/*.gan and examples/.
for f in tests/ok/*.gan examples/*.gan bench/*.gan; do
    [ -f "$f" ] || continue
    out=$(build/ganc --check "$f" 2>&1); st=$?
    if [ $st -eq 0 ] && [ -z "$out" ]; then echo "ok - ok/$f"
    else echo "not ok - ok/$f (exit $st)"; echo "$out" | sed 's/^/#   /'; fi
done
