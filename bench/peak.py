"""The machine's practical fp32 ceiling: the best of ten 2048^3 matrix
products (torch.mm on OpenBLAS) on N threads.  prints: gflops=..."""
import os, sys
threads = sys.argv[1] if len(sys.argv) > 1 else str(os.cpu_count())
os.environ["OPENBLAS_NUM_THREADS"] = threads
import time
import torch
torch.set_num_threads(int(threads))
n = 2048
a, b = torch.randn(n, n), torch.randn(n, n)
for _ in range(3):
    a @ b
best = min((lambda t0: (a @ b, time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range(10))
print(f"gflops={2 * n ** 3 / best / 1e9:.1f}")
