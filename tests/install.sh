#!/bin/sh
# `make install PREFIX=...` gives a ganc that finds its runtime and builds a program.
root=$(pwd); t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
if make -s install PREFIX="$t/prefix" >/dev/null 2>&1 && [ -x "$t/prefix/bin/ganc" ]; then
    echo "ok - install/files"
else
    echo "not ok - install/files"; exit 0
fi
if (cd "$t" && "$t/prefix/bin/ganc" "$root/examples/ring.gan" -o ring $GANC_FLAGS >/dev/null 2>&1) && "$t/ring" info >/dev/null 2>&1; then
    echo "ok - install/compile"
else
    echo "not ok - install/compile"
fi
