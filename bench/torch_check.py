"""Cross-check with PyTorch: a ganc checkpoint's generator weights, loaded
into the same nn.Sequential of torch_ref.py, must give the same samples for
the same noise (evaluation mode: batchnorm's running statistics).

usage: python3 torch_check.py MODEL PROG CKPT   (MODEL as in torch_ref.py)
Runs `PROG sample --ckpt CKPT --noise z.f32 -n 16 -o out.f32`, prints
`max_abs_diff=...` and exits 1 when it exceeds 1e-4."""
import json, os, struct, subprocess, sys, tempfile
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch
from torch_ref import MODELS

def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(t["shape"])
    return out

def main():
    model, prog, ckpt = sys.argv[1:4]
    G, _, shape = MODELS[model]()
    tensors = read_safetensors(ckpt)
    state = {k[2:]: v for k, v in tensors.items() if k.startswith("G.")}
    missing, unexpected = G.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        print(f"state_dict mismatch: missing {missing}, unexpected {unexpected}")
        sys.exit(1)
    G.eval()
    n = 16
    z = torch.randn(n, 100)
    with tempfile.TemporaryDirectory() as d:
        zf, of = os.path.join(d, "z.f32"), os.path.join(d, "out.f32")
        z.numpy().astype("<f4").tofile(zf)
        subprocess.run([prog, "sample", "--ckpt", ckpt, "--noise", zf, "-n", str(n), "-o", of], check=True,
                       stderr=subprocess.DEVNULL)
        ours = torch.from_numpy(__import__("numpy").fromfile(of, dtype="<f4")).reshape(n, -1)
    with torch.no_grad():
        ref = G(z).reshape(n, -1)
    diff = (ours - ref).abs().max().item()
    print(f"max_abs_diff={diff:.3g}")
    sys.exit(0 if diff <= 1e-4 else 1)

if __name__ == "__main__":
    main()
