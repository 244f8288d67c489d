"""FLOPs of one training step of a benchmark model as BENCHMARKS.md counts
them: 2 x (3 x G's forward multiply-adds + 9 x D's) per sample, times the
batch (G forward and backward; D forward and backward on the real, the
detached fake and the fake batch).  Usage: model_flops.py NAME [BATCH]."""
import sys
import torch
import torch.nn as nn
from torch_ref import MODELS


def forward_macs(net, shape):
    total = 0

    def count(mod, inp, out):
        nonlocal total
        if isinstance(mod, nn.Linear):
            total += mod.in_features * mod.out_features
        elif isinstance(mod, nn.Conv2d):
            total += out[0].numel() * mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1]
        elif isinstance(mod, nn.ConvTranspose2d):
            total += inp[0][0].numel() * mod.out_channels * mod.kernel_size[0] * mod.kernel_size[1]

    hooks = [m.register_forward_hook(count) for m in net.modules()]
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, *shape))
    for h in hooks:
        h.remove()
    return total


name = sys.argv[1]
batch = int(sys.argv[2]) if len(sys.argv) > 2 else 64
G, D, shape = MODELS[name]()
print(2 * (3 * forward_macs(G, (100,)) + 9 * forward_macs(D, shape)) * batch)
