"""kinds_torch.py: PyTorch's side of spec/bench/kinds.lua, on one thread.

    /usr/bin/python3 spec/bench/kinds_torch.py EPOCHS

The networks of kinds.lua, built the same way (keep the two in step):
  ln_gelu   784-256-128-10, each hidden Linear followed by LayerNorm, GELU
  residual  784-256, ReLU, x + Linear(ReLU(Linear(x))) at 256, ReLU, 256-10
  bag       EmbeddingBag(1000, 32, mode="mean") of 8 ids a row, 32-64, ReLU, 64-10
For each it prints "torch.kinds.<net>.single V ns" (one sample, a 1-row
tensor), ".batch256 V ns" (a batch of 256 rows, per row), both the median of
7 runs of process CPU time under torch.inference_mode, and ".epoch V s":
the median over EPOCHS epochs of Adam lr 1e-3, batch 64, cross-entropy on
16384 rows of random inputs and classes (process CPU time).
Not a spec and not part of nn: make bench runs it with python3-torch.
"""
import sys
import time

import torch

RUNS = 7
ROWS = 16384


def median(xs):
    xs = sorted(xs)
    return xs[(len(xs) - 1) // 2]


def median_ns(f, n):
    times = []
    for _ in range(RUNS):
        t0 = time.process_time()
        for _ in range(n):
            f()
        times.append((time.process_time() - t0) / n * 1e9)
    return median(times)


class Residual(torch.nn.Module):
    def __init__(self, block):
        super().__init__()
        self.block = block

    def forward(self, x):
        return x + self.block(x)


def ln_gelu():
    nn = torch.nn
    return nn.Sequential(nn.Linear(784, 256), nn.LayerNorm(256), nn.GELU(),
                         nn.Linear(256, 128), nn.LayerNorm(128), nn.GELU(),
                         nn.Linear(128, 10))


def residual():
    nn = torch.nn
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(),
                         Residual(nn.Sequential(nn.Linear(256, 256), nn.ReLU(),
                                                nn.Linear(256, 256))),
                         nn.ReLU(), nn.Linear(256, 10))


def bag():
    nn = torch.nn
    return nn.Sequential(nn.EmbeddingBag(1000, 32, mode="mean"),
                         nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10))


def inputs(name, rows):
    if name == "bag":
        return torch.randint(0, 1000, (rows, 8))
    return torch.rand(rows, 784)


def measure(name, build, epochs):
    torch.manual_seed(42)
    model = build()
    x, X = inputs(name, 1), inputs(name, 256)
    with torch.inference_mode():
        print("torch.kinds.%s.single %.1f ns" % (name, median_ns(lambda: model(x), 2000)))
        print("torch.kinds.%s.batch256 %.1f ns" % (name, median_ns(lambda: model(X), 20) / 256))
    Xt, T = inputs(name, ROWS), torch.randint(0, 10, (ROWS,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    seconds = []
    for _ in range(epochs):
        t0 = time.process_time()
        perm = torch.randperm(ROWS)
        for i in range(0, ROWS, 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss_fn(model(Xt[idx]), T[idx]).backward()
            opt.step()
        seconds.append(time.process_time() - t0)
    print("torch.kinds.%s.epoch %.4f s" % (name, median(seconds)), flush=True)


def main():
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    torch.set_num_threads(1)
    assert torch.get_num_threads() == 1
    for name, build in (("ln_gelu", ln_gelu), ("residual", residual), ("bag", bag)):
        measure(name, build, epochs)


main()
