#!/usr/bin/env python3
"""Tessera against PyTorch training an MLP on a generated regression table, in the same run.

The table: ROWS rows of FEATURES uniform features in [-2, 2] and a target that is a fixed nonlinear
function of them (bench_tabular generates it; the PyTorch worker generates one of the same law with
numpy). The network: standardised inputs, Linear(F, 64), ReLU, Linear(64, 32), ReLU, Linear(32, 1),
MSE, Adam (lr 1e-3), batch BATCH. Rounds interleave Tessera (bench_tabular) and PyTorch, each a run of
EPOCHS epochs whose median examples/s counts; printed: each round's figures, the medians, and the
median of the per-round ratios. PyTorch is written as it runs fastest: float tensors prepared once,
batches by index_select from a permutation, zero_grad(set_to_none=True), OMP/MKL thread variables
set, one interop thread; OMP_WAIT_POLICY=passive at more than one thread. On N threads Tessera is
compared with the better of PyTorch's runs at up to N threads.

  benchmarks/compare_tabular.py [--bench build/release/benchmarks/bench_tabular] [--rows 1000000]
                                [--features 20] [--batch 128] [--threads 1,2] [--epochs 3] [--rounds 3]

Runs where `import torch` works (Debian: python3-torch); elsewhere it says so and exits 0.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from torch_here import cpu_model, openblas_environment, torch_or_exit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def worker(args):
    import numpy as np
    import torch
    torch.set_num_threads(args.nthreads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(1)
    rng = np.random.default_rng(3)
    x = rng.uniform(-2, 2, size=(args.rows, args.features)).astype(np.float32)
    w = (0.5 - 0.05 * np.arange(args.features)).astype(np.float32)
    y = x @ w + np.sin(x[:, 0] * x[:, 1]) + 0.5 * x[:, 2] ** 2 + rng.uniform(-0.1, 0.1, size=args.rows)
    x = (x - x.mean(0)) / x.std(0)  # standardised once, as Tessera's Standardize layer does per batch
    xs = torch.from_numpy(x)
    ys = torch.from_numpy(y.astype(np.float32)).unsqueeze(1)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(args.features, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()
    rates = []
    for _ in range(args.epochs):
        order = torch.randperm(args.rows)
        start = time.perf_counter()
        for first in range(0, args.rows, args.batch):
            idx = order[first:first + args.batch]
            xb = xs.index_select(0, idx)
            yb = ys.index_select(0, idx)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        rates.append(args.rows / (time.perf_counter() - start))
    print(json.dumps({"rates": rates, "loss": float(loss)}))


def run_pytorch(args, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads), **openblas_environment()[0])
    if threads > 1:
        env["OMP_WAIT_POLICY"] = "passive"
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--rows", str(args.rows), "--features",
           str(args.features), "--batch", str(args.batch), "--nthreads", str(threads), "--epochs", str(args.epochs)]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return statistics.median(json.loads(out.strip().splitlines()[-1])["rates"])


def run_tessera(args, threads):
    cmd = [args.bench, "--json", "--rows", str(args.rows), "--features", str(args.features), "--batch",
           str(args.batch), "--threads", str(threads), "--epochs", str(args.epochs)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")][0]["examples_per_second"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", default=os.path.join(ROOT, "build", "release", "benchmarks", "bench_tabular"))
    p.add_argument("--rows", type=int, default=1000000)
    p.add_argument("--features", type=int, default=20)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", default=f"1,{os.cpu_count() or 1}")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--nthreads", type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args()
    torch = torch_or_exit("compare_tabular")
    if args.worker:
        worker(args)
        return 0
    if not os.path.exists(args.bench):
        raise SystemExit(f"compare_tabular: {args.bench} not found; build with cmake --preset release && "
                         "cmake --build --preset release")
    threads = sorted({int(t) for t in args.threads.split(",")})
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical cores; {openblas_environment()[1]}")
    print(f"Tessera vs PyTorch {torch.__version__}: a {args.rows}-row, {args.features}-feature regression table, "
          f"MLP 64-32-1, Adam, MSE, batch {args.batch}; examples/s, median of {args.epochs} epochs per run")
    tessera = {t: [] for t in threads}
    pytorch = {t: [] for t in threads}
    for r in range(args.rounds):
        for t in threads:
            a = run_tessera(args, t)
            b = run_pytorch(args, t)
            tessera[t].append(a)
            pytorch[t].append(b)
            print(f"round {r + 1}, {t} thread{'s' if t > 1 else ' '}: Tessera {a:>10.0f}  PyTorch {b:>9.0f}  "
                  f"{a / b:.2f}x", flush=True)
    print("\nMedians, and the median of the per-round ratios against PyTorch's better run at up to t threads:")
    for t in threads:
        ratios = [tessera[t][r] / max(pytorch[u][r] for u in threads if u <= t) for r in range(args.rounds)]
        print(f"  {t} thread{'s' if t > 1 else ' '}: Tessera {statistics.median(tessera[t]):>10.0f}, PyTorch "
              f"{statistics.median(pytorch[t]):>9.0f} (best up to {t}: "
              f"{statistics.median([max(pytorch[u][r] for u in threads if u <= t) for r in range(args.rounds)]):.0f}); "
              f"ratio {statistics.median(ratios):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
