#!/bin/sh
# make demo: compile examples/mlp.gan and train it on Fashion-MNIST.
# Leaves sample grids in runs/mlp/samples/ (step_NNNNNN.png, last.png).
set -e
cd "$(dirname "$0")/.."
echo "demo: compiling examples/mlp.gan"
build/ganc examples/mlp.gan -o build/mlp
echo "demo: training (progress below; Ctrl-C saves a checkpoint and stops)"
build/mlp train --out runs/mlp "$@"
echo "demo: sample grids are in runs/mlp/samples/ (last: runs/mlp/samples/last.png)"
