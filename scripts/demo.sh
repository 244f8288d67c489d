#!/bin/sh
# make demo: compile examples/dcgan.gan (a DCGAN) and train it on
# Fashion-MNIST for 1,500 steps, a few minutes on two cores.  Leaves sample
# grids in runs/dcgan/samples/ (step_NNNNNN.png, last.png).  Extra
# arguments go to `train` (e.g. scripts/demo.sh --steps 3000).
set -e
cd "$(dirname "$0")/.."
echo "demo: compiling examples/dcgan.gan"
build/ganc examples/dcgan.gan -o build/dcgan
echo "demo: training 1,500 steps (progress below; Ctrl-C saves a checkpoint and stops)"
build/dcgan train --out runs/dcgan --steps 1500 "$@"
echo "demo: sample grids are in runs/dcgan/samples/ (last: runs/dcgan/samples/last.png)"
echo "demo: more samples: build/dcgan sample --ckpt runs/dcgan/last.ckpt -n 64 -o grid.png"
echo "demo: walks from one sample to another: build/dcgan interpolate --ckpt runs/dcgan/last.ckpt -o walk.png"
