#!/usr/bin/env python3
"""Tessera against PyTorch on the same MNIST training, in the same run.

Trains the app's presets (seed: 784-100-50-10 sigmoid/MSE/SGD, mlp: 784-512-256-10 ReLU/CE/Adam,
cnn: two 5×5 convolutions with 2×2 max pooling, then 1024-128-10, ReLU/CE/Adam; resnet: three
residual stages with batch norm, He initialisation, CE/Adam) with Tessera (bench_train) and with PyTorch, same data, batch size and thread count, each for a few
epochs, in --rounds interleaved rounds (Tessera, then PyTorch, again), and prints the median examples/s
of each over the rounds, the median ratio and each round's. PyTorch's
multi-thread runs use OMP_WAIT_POLICY=passive, its best setting here, and its cnn runs channels-last
(NHWC) tensors, its faster layout here. On N cores, Tessera is compared
with the better of PyTorch's 1- and N-thread runs. Also batch-1 inference latency (--inference).

  benchmarks/compare_pytorch.py [--bench build/release/benchmarks/bench_train] [--data DIR]
                                [--models seed,mlp,cnn,resnet] [--batch 128] [--threads 1,2] [--epochs 3]
                                [--rounds 3]
                                [--inference] [--accuracy]

Runs where `import torch` works (Debian: python3-torch); elsewhere it says so and exits 0.
"""
import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import time

from torch_here import openblas_environment, torch_or_exit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def read_idx(folder, name):
    """The IDX file `name` in `folder` (raw or .gz, either usual spelling) as (dims, bytes)."""
    stem, kind = name.rsplit("-idx", 1)
    for candidate in (name, f"{stem}.idx{kind}"):
        for suffix in ("", ".gz"):
            path = os.path.join(folder, candidate + suffix)
            if os.path.exists(path):
                with (gzip.open if suffix else open)(path, "rb") as f:
                    data = f.read()
                rank = data[3]
                dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
                return dims, data[4 + 4 * rank:]
    raise SystemExit(f"compare_pytorch: no {name} in {folder}; run scripts/fetch-mnist")


def worker(args):
    """One PyTorch measurement, in its own process so the thread settings apply from the start."""
    import numpy as np
    import torch
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(1)
    dims, pixels = read_idx(args.data, "train-images-idx3-ubyte")
    _, labels = read_idx(args.data, "train-labels-idx1-ubyte")
    n = dims[0]
    images = torch.from_numpy(np.frombuffer(pixels, dtype=np.uint8).reshape(n, -1).copy())
    targets = torch.from_numpy(np.frombuffer(labels, dtype=np.uint8).astype(np.int64))
    nn = torch.nn
    if args.model == "seed":
        model = nn.Sequential(nn.Linear(784, 100), nn.Sigmoid(), nn.Linear(100, 50), nn.Sigmoid(),
                              nn.Linear(50, 10), nn.Sigmoid())
        loss_fn = nn.MSELoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=20.0)
        one_hot = torch.eye(10)
    elif args.model == "mlp":
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
        loss_fn = nn.CrossEntropyLoss()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    elif args.model == "resnet":
        model = resnet(nn)
        loss_fn = nn.CrossEntropyLoss()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    else:
        model = nn.Sequential(nn.Conv2d(1, 32, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 5), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1024, 128), nn.ReLU(), nn.Linear(128, 10))
        loss_fn = nn.CrossEntropyLoss()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    image_model = args.model in ("cnn", "resnet")
    if image_model:
        model = model.to(memory_format=torch.channels_last)
    if args.model == "resnet" or args.accuracy:
        he_init(nn, model)
    # Images as the model takes them, prepared once (as a user's training loop would): floats in
    # [0, 1], flat rows, or channels-last 1×28×28 for the convolutions.
    shape = (-1, 1, dims[1], dims[2]) if image_model else None

    def as_input(batch):
        x = batch.float().div_(255)
        return x.reshape(shape).contiguous(memory_format=torch.channels_last) if shape else x
    images = as_input(images)
    result = {"rates": []}
    if args.inference:
        tdims, tpixels = read_idx(args.data, "t10k-images-idx3-ubyte")
        test = torch.from_numpy(np.frombuffer(tpixels, dtype=np.uint8).reshape(tdims[0], -1).copy())
        model.eval()
        latencies = []
        with torch.no_grad():
            for i in range(min(2000, tdims[0])):
                x = as_input(test[i:i + 1])
                start = time.perf_counter()
                model(x)
                latencies.append((time.perf_counter() - start) * 1e6)
        result["latency_us"] = statistics.median(latencies)
        print(json.dumps(result))
        return
    steps_per_epoch = (n + args.batch - 1) // args.batch
    # --accuracy: the preset's recipe (the learning rate along a half cosine to 0 over the run), with
    # the test accuracy after each epoch.
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps_per_epoch * args.epochs) \
        if args.accuracy else None
    if args.accuracy:
        tdims, tpixels = read_idx(args.data, "t10k-images-idx3-ubyte")
        _, tlabels = read_idx(args.data, "t10k-labels-idx1-ubyte")
        test = as_input(torch.from_numpy(np.frombuffer(tpixels, dtype=np.uint8).reshape(tdims[0], -1).copy()))
        test_targets = torch.from_numpy(np.frombuffer(tlabels, dtype=np.uint8).astype(np.int64))
        result["accuracy"] = []
    for _ in range(args.epochs):
        model.train()
        order = torch.randperm(n)
        start = time.perf_counter()
        for first in range(0, n, args.batch):
            idx = order[first:first + args.batch]
            x = images[idx]
            y = targets[idx]
            optimizer.zero_grad(set_to_none=True)
            out = model(x)
            loss = loss_fn(out, one_hot[y]) if args.model == "seed" else loss_fn(out, y)
            loss.backward()
            optimizer.step()
            if schedule:
                schedule.step()
        result["rates"].append(n / (time.perf_counter() - start))
        if args.accuracy:
            model.eval()
            with torch.no_grad():
                correct = sum(int((model(test[i:i + 1000]).argmax(1) == test_targets[i:i + 1000]).sum())
                              for i in range(0, tdims[0], 1000))
            result["accuracy"].append(100.0 * correct / tdims[0])
    result["max_rss_mib"] = max_rss_mib()
    print(json.dumps(result))


def max_rss_mib():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def resnet(nn):
    """The app's resnet preset: conv 3×3×16 → BN → ReLU, one basic block per stage (16, 32, 64
    channels at 28², 14², 7²; a strided 1×1 conv → BN on the skip where the shape changes), global
    average pooling, Linear(64, 10). Convolutions keep their biases, as Tessera's do."""
    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.skip = nn.Sequential() if stride == 1 and cin == cout else \
                nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0), nn.BatchNorm2d(cout))

        def forward(self, x):
            r = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
            return self.relu(r + self.skip(x))
    return nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1), nn.BatchNorm2d(16), nn.ReLU(), Block(16, 16, 1),
                         Block(16, 32, 2), Block(32, 64, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(64, 10))


def he_init(nn, model):
    """He (Kaiming) normal weights, zero biases, as Tessera's Init::He."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)


def run_pytorch(args, model, batch, threads, inference=False, accuracy=False):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads), **openblas_environment()[0])
    if threads > 1:
        env["OMP_WAIT_POLICY"] = "passive"
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--data", args.data, "--model", model,
           "--batch-size", str(batch), "--nthreads", str(threads), "--epochs", str(args.epochs)]
    if inference:
        cmd.append("--inference")
    if accuracy:
        cmd.append("--accuracy")
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_tessera(args, model, batch, threads, inference=False):
    cmd = [args.bench, "--json", "--data", args.data, "--models", model, "--batch", str(batch),
           "--threads", str(threads), "--epochs", str(args.epochs)]
    if not inference:
        cmd.append("--no-inference")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return rows


def compare_accuracy(args, models, batch, threads, version):
    """Each model's recipe for --epochs epochs: Tessera's app and PyTorch, test accuracy per epoch."""
    import tempfile
    print(f"Tessera vs PyTorch {version}: test accuracy (%) after each epoch, {threads} threads, batch {batch}")
    for model in models:
        with tempfile.TemporaryDirectory() as tmp:
            metrics = os.path.join(tmp, "metrics.jsonl")
            subprocess.run([args.app, "train", "--data", args.data, "--model", model, "--epochs", str(args.epochs),
                            "--batch-size", str(batch), "--threads", str(threads), "--metrics", metrics],
                           check=True, capture_output=True, text=True)
            with open(metrics) as f:
                ours = [json.loads(line) for line in f if line.strip()]
        theirs = run_pytorch(args, model, batch, threads, accuracy=True)
        tessera_acc = [100.0 * r["test_accuracy"] for r in ours]
        print(f"  {model:<6} Tessera  " + " ".join(f"{a:6.2f}" for a in tessera_acc))
        print(f"  {model:<6} PyTorch  " + " ".join(f"{a:6.2f}" for a in theirs["accuracy"]))
        print(f"  {model:<6} difference after the last epoch: {tessera_acc[-1] - theirs['accuracy'][-1]:+.2f} points")
    return 0


def main():
    default_data = os.environ.get("TESSERA_DATA") or os.path.expanduser("~/.cache/tessera/mnist")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", default=os.path.join(ROOT, "build", "release", "benchmarks", "bench_train"))
    p.add_argument("--data", default=default_data)
    p.add_argument("--models", default="seed,mlp,cnn")
    p.add_argument("--batch", default="128")
    p.add_argument("--threads", default=f"1,{os.cpu_count() or 1}")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3,
                   help="interleaved rounds (Tessera, then PyTorch) per configuration; medians over them")
    p.add_argument("--inference", action="store_true", help="also batch-1 inference latency")
    p.add_argument("--accuracy", action="store_true",
                   help="instead: each model's full recipe (cosine decay) with the test accuracy after each "
                        "epoch, Tessera through the app (--app), at the largest --threads")
    p.add_argument("--app", default=os.path.join(ROOT, "build", "release", "apps", "tessera"))
    # The worker's own options.
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--nthreads", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()

    torch_or_exit("compare_pytorch")
    if args.worker:
        args.threads = args.nthreads
        args.batch = args.batch_size
        worker(args)
        return 0
    if not os.path.exists(args.bench):
        raise SystemExit(f"compare_pytorch: {args.bench} not found; build with cmake --preset release && "
                         "cmake --build --preset release")

    import torch
    models = args.models.split(",")
    batches = [int(b) for b in args.batch.split(",")]
    threads = sorted({int(t) for t in args.threads.split(",")})
    # Where it ran: CPU model, caches, the GEMM's ISA and block sizes, and the FMA peak measured now.
    print(subprocess.run([args.bench, "--machine", "--threads", ",".join(map(str, threads))], check=True,
                         capture_output=True, text=True).stdout, end="")
    print(openblas_environment()[1])
    if args.accuracy:
        return compare_accuracy(args, models, batches[0], threads[-1], torch.__version__)
    print(f"Tessera vs PyTorch {torch.__version__}: examples/s over an epoch of MNIST (median of {args.epochs} "
          f"epochs), median over {args.rounds} interleaved rounds, and the ratio of each round; peak resident "
          "memory of the training processes (MiB, the MNIST arrays included)")
    print(f"{'model':<6} {'batch':>5} {'threads':>7} {'Tessera':>10} {'PyTorch':>10} {'ratio':>7} "
          f"{'MiB T':>7} {'MiB P':>7}")
    summary = []
    for model in models:
        for batch in batches:
            pytorch_by_threads = {}
            tessera_by_threads = {}
            for t in threads:
                # Rounds alternate the two, so a drift of the shared machine falls on both: the ratio
                # of each round, and the medians over the rounds.
                ours, theirs, ratios, rss = [], [], [], (0.0, 0.0)
                for _ in range(args.rounds):
                    row = run_tessera(args, model, batch, t)[0]
                    other = run_pytorch(args, model, batch, t)
                    ours.append(row["examples_per_second"])
                    theirs.append(statistics.median(other["rates"]))
                    ratios.append(ours[-1] / theirs[-1])
                    rss = (max(rss[0], row["max_rss_mib"]), max(rss[1], other["max_rss_mib"]))
                tessera, pytorch = statistics.median(ours), statistics.median(theirs)
                tessera_by_threads[t], pytorch_by_threads[t] = tessera, pytorch
                rounds = " ".join(f"{r:.2f}" for r in ratios)
                print(f"{model:<6} {batch:>5} {t:>7} {tessera:>10.0f} {pytorch:>10.0f} "
                      f"{statistics.median(ratios):>6.2f}x {rss[0]:>7.0f} {rss[1]:>7.0f}   rounds: {rounds}", flush=True)
            for t in threads:
                best = max(pytorch_by_threads[u] for u in threads if u <= t)
                summary.append((model, batch, t, tessera_by_threads[t], best))
    print("\nOn t threads, against the better PyTorch run at up to t threads:")
    for model, batch, t, tessera, best in summary:
        print(f"  {model:<6} batch {batch:<4} {t} thread{'s' if t > 1 else ' '}: Tessera {tessera:>8.0f}, "
              f"best PyTorch {best:>8.0f}: {tessera / best:.2f}x")
    if args.inference:
        print(f"\nInference at batch 1, one thread (median microseconds per image; median over {args.rounds} "
              "interleaved rounds, and each round's ratio):")
        for model in models:
            ours, theirs = [], []
            for _ in range(args.rounds):
                rows = run_tessera(args, model, 128, 1, inference=True)
                ours.append([r for r in rows if r["kind"] == "inference"][0]["latency_us"])
                theirs.append(run_pytorch(args, model, 1, 1, inference=True)["latency_us"])
            ratios = [p / t for t, p in zip(ours, theirs)]
            print(f"  {model:<6} Tessera {statistics.median(ours):8.1f}   PyTorch {statistics.median(theirs):8.1f}   "
                  f"{statistics.median(ratios):.2f}x faster   rounds: " + " ".join(f"{r:.2f}" for r in ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
