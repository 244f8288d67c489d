"""The benchmark models of BENCHMARKS.md in PyTorch, timed the way ganc's
programs time themselves (`PROG bench`): one step = one D update on a real
and a generated batch (G's output detached) and one G update through D,
non-saturating BCE on logits, Adam(2e-4, 0.5, 0.999).

usage: python3 torch_ref.py MODEL [BATCH] [STEPS] [THREADS]
prints: median_ms_per_step=...
PyTorch's best configuration on these machines is one OpenBLAS thread beside
its own intra-op threads (set below before torch is imported)."""
import os, sys, time
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch
import torch.nn as nn

class Unflatten(nn.Module):
    def __init__(self, *shape):
        super().__init__()
        self.shape = shape
    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)

def mlp():
    lr = lambda: nn.LeakyReLU(0.2)
    G = nn.Sequential(nn.Linear(100, 256), lr(), nn.Linear(256, 512), lr(), nn.Linear(512, 1024), lr(),
                      nn.Linear(1024, 784), nn.Tanh())
    D = nn.Sequential(nn.Linear(784, 512), lr(), nn.Linear(512, 256), lr(), nn.Linear(256, 1))
    return G, D, (784,)

def dcgan28():
    G = nn.Sequential(nn.Linear(100, 128 * 7 * 7), Unflatten(128, 7, 7), nn.BatchNorm2d(128), nn.ReLU(),
                      nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
                      nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())
    D = nn.Sequential(nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(64, 128, 4, 2, 1),
                      nn.BatchNorm2d(128), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
    return G, D, (1, 28, 28)

def dcgan64():
    def up(i, o, s, p):
        return [nn.ConvTranspose2d(i, o, 4, s, p, bias=False), nn.BatchNorm2d(o), nn.ReLU()]
    def down(i, o, bn):
        return [nn.Conv2d(i, o, 4, 2, 1, bias=False)] + ([nn.BatchNorm2d(o)] if bn else []) + [nn.LeakyReLU(0.2)]
    G = nn.Sequential(Unflatten(100, 1, 1), *up(100, 512, 1, 0), *up(512, 256, 2, 1), *up(256, 128, 2, 1),
                      *up(128, 64, 2, 1), nn.ConvTranspose2d(64, 3, 4, 2, 1, bias=False), nn.Tanh())
    D = nn.Sequential(*down(3, 64, False), *down(64, 128, True), *down(128, 256, True), *down(256, 512, True),
                      nn.Conv2d(512, 1, 4, 1, 0, bias=False), nn.Flatten())
    return G, D, (3, 64, 64)

MODELS = {"mlp": mlp, "dcgan28": dcgan28, "dcgan64": dcgan64}

def main():
    name = sys.argv[1]
    B = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else os.cpu_count())
    torch.manual_seed(0)
    G, D, shape = MODELS[name]()
    oG = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    oD = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    real = torch.rand(B, *shape) * 2 - 1
    ones, zeros = torch.ones(B, 1), torch.zeros(B, 1)

    def step():
        fake = G(torch.randn(B, 100))
        oD.zero_grad()
        ld = bce(D(real).view(B, 1), ones) + bce(D(fake.detach()).view(B, 1), zeros)
        ld.backward()
        oD.step()
        oG.zero_grad()
        lg = bce(D(fake).view(B, 1), ones)
        lg.backward()
        oG.step()

    for _ in range(3):
        step()
    ts = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t)
    ts.sort()
    print(f"median_ms_per_step={ts[len(ts) // 2] * 1e3:.3f} threads={torch.get_num_threads()}")

if __name__ == "__main__":
    main()
