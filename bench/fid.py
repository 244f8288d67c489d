"""Sample quality of examples/dcgan.gan: a Fréchet distance on the features
of a Fashion-MNIST classifier, ganc's trained generator against the same
model trained by PyTorch for the same number of steps.  `make fid` runs
`python3 bench/fid.py run` and writes bench/fid.md.

  python3 bench/fid.py run [--steps 3000] [--n 10000] [--cache DIR] [--work DIR]
        [--threads T] [--ganc-ckpt FILE] [--out bench/fid.md]
      everything: the classifier (trained once, cached), the sanity line
      (train images vs test images), the PyTorch reference, ganc's program
      (compiled by build/ganc, trained, sampled with G's moving average and
      with its raw weights); prints the table and writes it to --out.
      --ganc-ckpt scores an existing checkpoint of examples/dcgan.gan instead
      of training one (the table then says so).
  python3 bench/fid.py classifier [--cache DIR]     train/load, print accuracy
  python3 bench/fid.py score FILE.f32 [--n N]       FID of raw float32 samples
      ([N,1,28,28] in [-1,1], e.g. `PROG sample --ckpt C -n N -o FILE.f32`)
  python3 bench/fid.py torch [--steps S] [--save FILE.f32]   PyTorch reference

The classifier (a small CNN, 128-dimensional penultimate layer after ReLU)
is trained with a fixed seed for 4 epochs on the 60,000 training images
scaled to [-1,1] as ganc's data loader does (x/127.5 - 1), and cached in
bench/.cache/fid_classifier.pt (with a hash of this recipe; delete to
retrain).  FID = |mu1-mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2) in float64 over
N generated images and the first N test images; the square root is
scipy.linalg.sqrtm when python3-scipy is installed, otherwise (and always
as a printed cross-check) the eigen-decomposition form
Tr((S1 S2)^1/2) = sum sqrt(eig(S1^1/2 S2 S1^1/2)).

The PyTorch reference is examples/dcgan.gan layer for layer (bench/
torch_ref.py's dcgan28) with ganc's `init dcgan` (every linear/conv/deconv
weight N(0, 0.02), batchnorm scale N(1, 0.02), batchnorm shift 0; biases keep
PyTorch's default initialisation, as ganc's sema.c does), the usual DCGAN
step (D on a real batch and on G's detached batch in two forward passes,
then G through D with the non-saturating loss, BCE on logits), Adam(2e-4,
0.5, 0.999) for both, batch 64 drawn from epoch-wise shuffles of the same
file, no EMA (an EMA of its weights kept the way ganc keeps one is reported
on a separate line).  Its samples come from G in evaluation mode (batchnorm's
running statistics), as ganc's `sample` does; the FID of samples with
batch statistics (train mode, batches of 64) is reported beside it.
"""
import argparse, gzip, hashlib, os, platform, subprocess, sys, time
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = "/usr/share/datasets/fashion-mnist"
CLF_EPOCHS = 4
CLF_RECIPE = f"cnn32-64-128 bn adam1e-3 b128 epochs{CLF_EPOCHS} seed0 scale127.5"

def log(*a):
    print(*a, file=sys.stderr, flush=True)

def idx_images(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        b = f.read()
    n, h, w = (int.from_bytes(b[4 * i:4 * i + 4], "big") for i in (1, 2, 3))
    x = np.frombuffer(b, np.uint8, n * h * w, 16).reshape(n, 1, h, w)
    return torch.from_numpy(x.astype(np.float32) / 127.5 - 1.0)   # as runtime/data.c

def idx_labels(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        b = f.read()
    return torch.from_numpy(np.frombuffer(b, np.uint8, offset=8).astype(np.int64))

# ---------------------------------------------------------------- classifier

class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),    # 14x14
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),   # 7x7
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU())                             # features
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        return self.head(self.body(x))

    @torch.no_grad()
    def features(self, x, bs=1000):
        self.eval()
        return torch.cat([self.body(x[i:i + bs]) for i in range(0, len(x), bs)]).double()

@torch.no_grad()
def accuracy(clf, x, y):
    clf.eval()
    right = sum((clf(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item() for i in range(0, len(x), 1000))
    return right / len(x)

def classifier(cache):
    path = os.path.join(cache, "fid_classifier.pt")
    tag = hashlib.sha1(CLF_RECIPE.encode()).hexdigest()[:12]
    xt, yt = idx_images("t10k-images-idx3-ubyte.gz"), idx_labels("t10k-labels-idx1-ubyte.gz")
    clf = Classifier()
    if os.path.exists(path):
        saved = torch.load(path)
        if saved.get("recipe") == tag:
            clf.load_state_dict(saved["state"])
            acc = accuracy(clf, xt, yt)
            log(f"classifier: {path} (cached), test accuracy {acc:.4f}")
            return clf, acc
    x, y = idx_images("train-images-idx3-ubyte.gz"), idx_labels("train-labels-idx1-ubyte.gz")
    torch.manual_seed(0)
    opt = torch.optim.Adam(clf.parameters(), 1e-3)
    t0 = time.time()
    for ep in range(CLF_EPOCHS):
        clf.train()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            j = perm[i:i + 128]
            opt.zero_grad()
            F.cross_entropy(clf(x[j]), y[j]).backward()
            opt.step()
        log(f"classifier: epoch {ep + 1}/{CLF_EPOCHS}, test accuracy {accuracy(clf, xt, yt):.4f} ({time.time() - t0:.0f} s)")
    acc = accuracy(clf, xt, yt)
    os.makedirs(cache, exist_ok=True)
    torch.save({"recipe": tag, "state": clf.state_dict(), "accuracy": acc}, path)
    return clf, acc

# ---------------------------------------------------------------- distance

try:
    import scipy.linalg
    SQRTM = "scipy.linalg.sqrtm"
except ImportError:
    scipy = None
    SQRTM = "eigen-decomposition (numpy.linalg.eigh)"

def stats(f):
    f = f.numpy()
    return f.mean(0), np.cov(f, rowvar=False)

def tr_sqrt_eigh(s1, s2):
    w, v = np.linalg.eigh(s1)
    r = (v * np.sqrt(np.clip(w, 0, None))) @ v.T          # S1^1/2
    e = np.linalg.eigvalsh(r @ s2 @ r)
    return np.sqrt(np.clip(e, 0, None)).sum()

def frechet(a, b):
    (m1, s1), (m2, s2) = a, b
    d = m1 - m2
    t_eig = tr_sqrt_eigh(s1, s2)
    if scipy is not None:
        c, _ = scipy.linalg.sqrtm(s1 @ s2, disp=False)
        if not np.isfinite(c).all():   # singular product: regularise, as the usual FID code does
            off = np.eye(len(s1)) * 1e-6
            c = scipy.linalg.sqrtm((s1 + off) @ (s2 + off))
        t = np.trace(c.real)
    else:
        t = t_eig
    fid = d @ d + np.trace(s1) + np.trace(s2) - 2 * t
    alt = d @ d + np.trace(s1) + np.trace(s2) - 2 * t_eig
    return float(fid), float(alt)

class Scorer:
    def __init__(self, clf, n):
        self.clf, self.n = clf, n
        xt = idx_images("t10k-images-idx3-ubyte.gz")
        if n > len(xt):
            sys.exit(f"fid: --n {n} exceeds the {len(xt)} test images")
        self.ref = stats(clf.features(xt[:n]))

    def score(self, x, what):
        x = torch.as_tensor(x, dtype=torch.float32).reshape(-1, 1, 28, 28)
        if len(x) != self.n:
            sys.exit(f"fid: {what}: {len(x)} samples, expected {self.n}")
        fid, alt = frechet(stats(self.clf.features(x)), self.ref)
        log(f"fid: {what}: {fid:.3f}  (eigen cross-check {alt:.3f}; pixel mean {x.mean():.4f} std {x.std():.4f})")
        return fid

def read_f32(path):
    return torch.from_numpy(np.fromfile(path, dtype=np.float32).copy())

# ---------------------------------------------------------------- PyTorch reference

def torch_reference(steps, n, seed=0, save=None):
    sys.path.insert(0, HERE)
    from torch_ref import dcgan28     # the layers of examples/dcgan.gan
    torch.manual_seed(seed)
    G, D, _ = dcgan28()
    for m in list(G.modules()) + list(D.modules()):
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)          # ganc's `init dcgan`; biases as PyTorch
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    x = idx_images("train-images-idx3-ubyte.gz")
    oG = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    oD = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    B = 64
    ones, zeros = torch.ones(B, 1), torch.zeros(B, 1)
    perm, pos = torch.randperm(len(x)), 0
    ema = [q.detach().clone() for q in G.parameters()]   # as ganc's `ema G 0.995`: weights only
    t0 = time.time()
    for step in range(1, steps + 1):
        if pos + B > len(perm):
            perm, pos = torch.randperm(len(x)), 0
        real = x[perm[pos:pos + B]]
        pos += B
        fake = G(torch.randn(B, 100))
        oD.zero_grad()
        dr, df = D(real), D(fake.detach())
        ld = bce(dr, ones) + bce(df, zeros)
        ld.backward()
        oD.step()
        oG.zero_grad()
        lg = bce(D(fake), ones)
        lg.backward()
        oG.step()
        with torch.no_grad():
            b = min(0.995, (1.0 + step) / (10.0 + step))      # runtime/util.c's warm-up
            for e, q in zip(ema, G.parameters()):
                e.mul_(b).add_(q, alpha=1 - b)
        if step % max(1, steps // 20) == 0 or step == steps:
            el = time.time() - t0
            log(f"torch: step {step}/{steps}  D {ld.item():.3f}  G {lg.item():.3f}  "
                f"D(x) {torch.sigmoid(dr).mean():.2f}  D(G(z)) {torch.sigmoid(df).mean():.2f}  {el:.0f} s")
    with torch.no_grad():
        z = torch.randn(n, 100)
        G.eval()
        s_eval = torch.cat([G(z[i:i + 1000]) for i in range(0, n, 1000)])
        G.train()                   # batch statistics in batches of 64 (running stats frozen afterwards: not used)
        s_train = torch.cat([G(z[i:i + B]) for i in range(0, n, B)])
        G.eval()
        for e, q in zip(ema, G.parameters()):   # running statistics stay those of the raw G, as in ganc
            q.copy_(e)
        s_ema = torch.cat([G(z[i:i + 1000]) for i in range(0, n, 1000)])
    if save:
        s_eval.numpy().astype(np.float32).tofile(save)
    return s_eval, s_train, s_ema, time.time() - t0

# ---------------------------------------------------------------- ganc

def sh(cmd, **kw):
    log("+ " + " ".join(cmd))
    subprocess.run(cmd, check=True, **kw)

def ganc_samples(work, steps, n, threads, ckpt=None):
    prog = os.path.join(work, "dcgan")
    t = 0.0
    if ckpt is None:
        sh([os.path.join(ROOT, "build", "ganc"), os.path.join(ROOT, "examples", "dcgan.gan"), "-o", prog])
        run = os.path.join(work, "run")
        t0 = time.time()
        sh([prog, "train", "--steps", str(steps), "--out", run, "--threads", str(threads)])
        t = time.time() - t0
        ckpt = os.path.join(run, "last.ckpt")
    elif not os.path.exists(prog):
        sh([os.path.join(ROOT, "build", "ganc"), os.path.join(ROOT, "examples", "dcgan.gan"), "-o", prog])
    out = {}
    for tag, extra in (("ema", []), ("raw", ["--no-ema"])):
        f = os.path.join(work, f"ganc_{tag}.f32")
        sh([prog, "sample", "--ckpt", ckpt, "-n", str(n), "-o", f, "--seed", "1", "--threads", str(threads)] + extra)
        out[tag] = read_f32(f)
    return out, ckpt, t

# ---------------------------------------------------------------- main

def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["run", "classifier", "score", "torch"])
    ap.add_argument("file", nargs="?")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--cache", default=os.path.join(HERE, ".cache"))
    ap.add_argument("--work", default="/tmp/ganc-fid")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--ganc-ckpt")
    ap.add_argument("--save")
    ap.add_argument("--out", default=os.path.join(HERE, "fid.md"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t_start = time.time()

    if a.cmd == "torch":
        s, st, se, _ = torch_reference(a.steps, a.n, save=a.save)
        clf, _ = classifier(a.cache)
        sc = Scorer(clf, a.n)
        sc.score(s, "pytorch (eval mode)")
        sc.score(st, "pytorch (train-mode batchnorm)")
        sc.score(se, "pytorch, EMA of G (eval mode)")
        return
    clf, acc = classifier(a.cache)
    if a.cmd == "classifier":
        print(f"accuracy {acc:.4f}")
        return
    sc = Scorer(clf, a.n)
    if a.cmd == "score":
        if not a.file:
            sys.exit("fid: score needs FILE.f32")
        print(f"fid {sc.score(read_f32(a.file), a.file):.3f}")
        return

    os.makedirs(a.work, exist_ok=True)
    xtr = idx_images("train-images-idx3-ubyte.gz")
    g = torch.Generator().manual_seed(0)
    xtr = xtr[torch.randperm(len(xtr), generator=g)[:a.n]]
    sanity = sc.score(xtr, "train images vs test images")
    # ganc first (its program runs alone on the CPU), then PyTorch
    gs, ckpt, t_ganc = ganc_samples(a.work, a.steps, a.n, a.threads, a.ganc_ckpt)
    f_ema = sc.score(gs["ema"], "ganc, EMA of G")
    f_raw = sc.score(gs["raw"], "ganc, raw G (--no-ema)")
    s_eval, s_train, s_ema, t_torch = torch_reference(a.steps, a.n, save=os.path.join(a.work, "pytorch.f32"))
    f_torch = sc.score(s_eval, "pytorch (eval mode)")
    f_torch_train = sc.score(s_train, "pytorch (train-mode batchnorm)")
    f_torch_ema = sc.score(s_ema, "pytorch, EMA of G (eval mode)")

    pix = lambda s: f"{s.mean():.3f} / {s.std():.3f}"
    xt = idx_images("t10k-images-idx3-ubyte.gz")[:a.n]
    ganc_note = (f"trained here ({t_ganc / 60:.1f} min)" if a.ganc_ckpt is None
                 else f"an existing checkpoint ({a.ganc_ckpt}), not trained by this run")
    table = f"""| samples ({a.n} each, against the first {a.n} test images) | FID | pixel mean / std |
|---|---|---|
| real: {a.n} training images (sanity, should be near 0) | {sanity:.2f} | {pix(xtr)} |
| PyTorch reference, {a.steps} steps, eval-mode batchnorm | {f_torch:.2f} | {pix(s_eval)} |
| PyTorch reference, same G, train-mode batchnorm (batches of 64) | {f_torch_train:.2f} | {pix(s_train)} |
| PyTorch reference with ganc's EMA of G (0.995, weights only), eval mode | {f_torch_ema:.2f} | {pix(s_ema)} |
| ganc, {a.steps} steps, EMA of G (`ema G 0.995`, the default) | {f_ema:.2f} | {pix(gs['ema'])} |
| ganc, {a.steps} steps, raw G (`sample --no-ema`) | {f_raw:.2f} | {pix(gs['raw'])} |
| (test images themselves) | 0 | {pix(xt)} |
"""
    total = time.time() - t_start
    md = f"""# Sample quality: Fréchet distance on a Fashion-MNIST classifier

{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {cpu_name()}, {a.threads} threads.
`make fid` (bench/fid.py): examples/dcgan.gan trained for {a.steps} steps by ganc and by
PyTorch {torch.__version__} (the same layers, init, loss, optimiser and batch; see bench/fid.py),
{a.n} samples of each scored against {a.n} held-out test images.

Classifier: a small CNN trained {CLF_EPOCHS} epochs on the 60,000 training images (inputs in [-1,1]),
test accuracy {acc * 100:.2f}%; features: its 128-dimensional penultimate layer.
Matrix square root: {SQRTM} (float64), cross-checked by an eigen-decomposition.
ganc: {ganc_note}; PyTorch reference: {t_torch / 60:.1f} min. Whole run: {total / 60:.1f} min.

{table}
Lower is better.  The distances are on this classifier's features, so they are comparable with
each other, not with Inception FIDs or with another classifier's scale.
"""
    print(table)
    with open(a.out, "w") as f:
        f.write(md)
    log(f"fid: written to {a.out} ({total / 60:.1f} min)")

if __name__ == "__main__":
    main()
