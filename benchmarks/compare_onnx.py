#!/usr/bin/python3
"""A PyTorch-trained model in Tessera through ONNX: trains the resnet preset's network in PyTorch on
MNIST, exports it with torch.onnx.export as a user would (eval mode, batch extent dynamic), then
compares, in the same run:
  - test-set accuracy: PyTorch's model against `tessera eval --load model.onnx`;
  - batch-1 inference latency at one thread (median microseconds per image over the test set):
    PyTorch eager against bench_train --load model.onnx, in interleaved rounds; the ratio reported
    is the median of the per-round ratios.

  /usr/bin/python3 benchmarks/compare_onnx.py [--data DIR] [--epochs 1] [--rounds 3] [--output FILE.onnx]
                                              [--build build/release]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

from compare_pytorch import he_init, read_idx, resnet
from torch_here import cpu_model, openblas_environment, torch_or_exit


def pytorch_env(threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads), **openblas_environment()[0])
    if threads > 1:
        env["OMP_WAIT_POLICY"] = "passive"
    return env


def load_split(torch, np, folder, split):
    dims, pixels = read_idx(folder, f"{split}-images-idx3-ubyte")
    _, labels = read_idx(folder, f"{split}-labels-idx1-ubyte")
    x = torch.from_numpy(np.frombuffer(pixels, dtype=np.uint8).reshape(dims[0], 1, dims[1], dims[2]).copy())
    return x.float().div_(255), torch.from_numpy(np.frombuffer(labels, dtype=np.uint8).astype(np.int64))


def train_and_export(args):
    """Worker: trains, prints the test accuracy, exports to args.output."""
    import numpy as np
    import torch
    torch.set_num_threads(args.nthreads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(1)
    nn = torch.nn
    model = resnet(nn)
    he_init(nn, model)
    images, targets = load_split(torch, np, args.data, "train")
    test, test_targets = load_split(torch, np, args.data, "t10k")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    steps = (len(images) + 127) // 128 * args.epochs
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for _ in range(args.epochs):
        model.train()
        order = torch.randperm(len(images))
        for first in range(0, len(images), 128):
            idx = order[first:first + 128]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(images[idx]), targets[idx]).backward()
            optimizer.step()
            schedule.step()
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        correct = sum(int((model(test[i:i + 1000]).argmax(1) == test_targets[i:i + 1000]).sum())
                      for i in range(0, len(test), 1000))
    torch.onnx.export(model, test[:1], args.output, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}})
    torch.save(model.state_dict(), args.output + ".pt")
    print(json.dumps({"accuracy": 100.0 * correct / len(test), "train_seconds": seconds}))


def pytorch_latency(args):
    """Worker: batch-1 latency of the trained PyTorch model (eager, eval mode, no_grad)."""
    import numpy as np
    import torch
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    model = resnet(torch.nn)
    model.load_state_dict(torch.load(args.output + ".pt"))
    model.eval()
    test, _ = load_split(torch, np, args.data, "t10k")
    latencies = []
    with torch.no_grad():
        for i in range(len(test)):
            x = test[i:i + 1]
            start = time.perf_counter()
            model(x)
            latencies.append((time.perf_counter() - start) * 1e6)
    print(json.dumps({"latency_us": statistics.median(latencies)}))


def worker(args, mode, threads):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", mode, "--data", args.data, "--output", args.output,
           "--epochs", str(args.epochs), "--nthreads", str(threads)]
    out = subprocess.run(cmd, env=pytorch_env(threads), check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("TESSERA_DATA", os.path.expanduser("~/.cache/tessera/mnist")))
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--output", default="build/compare_onnx/resnet.onnx")
    p.add_argument("--build", default="build/release")
    p.add_argument("--worker", choices=["train", "latency"], help=argparse.SUPPRESS)
    p.add_argument("--nthreads", type=int, default=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker == "train":
        return train_and_export(args)
    if args.worker == "latency":
        return pytorch_latency(args)
    torch_or_exit("compare_onnx")
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    app = os.path.join(args.build, "apps", "tessera")
    bench = os.path.join(args.build, "benchmarks", "bench_train")
    print(subprocess.run([bench, "--machine", "--threads", "1"], check=True, capture_output=True, text=True).stdout,
          end="")
    print(f"CPU: {cpu_model()}")
    trained = worker(args, "train", 2)
    print(f"PyTorch: resnet preset's network trained {args.epochs} epoch(s) in {trained['train_seconds']:.0f} s "
          f"(2 threads), test accuracy {trained['accuracy']:.2f}%; exported to {args.output}")
    out = subprocess.run([app, "eval", "--load", args.output, "--data", args.data], check=True, capture_output=True,
                         text=True).stdout
    accuracy = float(re.search(r"accuracy ([0-9.]+)%", out).group(1))
    print(f"Tessera: {out.splitlines()[0]}\nTessera: test accuracy {accuracy:.2f}% "
          f"({accuracy - trained['accuracy']:+.2f} points against PyTorch)")
    ratios, ours, theirs = [], [], []
    for r in range(args.rounds):
        # Alternate which goes first, so that drift favours neither.
        order = ["tessera", "pytorch"] if r % 2 == 0 else ["pytorch", "tessera"]
        got = {}
        for who in order:
            if who == "pytorch":
                got[who] = worker(args, "latency", 1)["latency_us"]
            else:
                line = subprocess.run([bench, "--load", args.output, "--threads", "1", "--data", args.data],
                                      check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
                got[who] = json.loads(line)["latency_us"]
        ours.append(got["tessera"])
        theirs.append(got["pytorch"])
        ratios.append(got["pytorch"] / got["tessera"])
        print(f"round {r + 1}: batch 1, 1 thread: Tessera {got['tessera']:.1f} us, PyTorch eager "
              f"{got['pytorch']:.1f} us: {ratios[-1]:.2f}x")
    print(f"Batch-1 latency, 1 thread, medians of {args.rounds} rounds: Tessera {statistics.median(ours):.1f} us, "
          f"PyTorch {statistics.median(theirs):.1f} us; median of per-round ratios {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
