"""ref_torch.py: what the game net costs in PyTorch on one thread, the
reference make bench puts beside nn's game-net figures.

It prints, in ns per sample (median of 7 runs, process CPU time, as the C
reference programs time theirs), one "name value unit" line each:
  torch.game.single     64-64-64-8 (Linear, Tanh, Linear, Tanh, Linear,
                        SoftMax), one sample of 64 as a 1 x 64 tensor
  torch.game.batch256   the same net, a batch of 256 rows, divided by 256
Weights and inputs are uniform, from a fixed seed; gradients off
(torch.inference_mode).  One thread: torch.set_num_threads(1), checked.

With an argument N: the MLP 784-256-128-10 (ReLU) on a batch of 256 rows
on N threads (torch.set_num_threads(N), checked), "torch.mlp.batch256.tN"
in ns per row, timed on the wall clock (CPU time would add the threads'
times up): what spec/bench/threads.lua puts beside nn's threads.

Not a spec and not part of nn: make bench runs it with the system's python3
and python3-torch (BENCH_DEPS), through spec/bench/refs.lua.
"""
import sys
import time

import torch

RUNS = 7
RUN_SECONDS = 0.1


CLOCK = time.perf_counter if len(sys.argv) > 1 else time.process_time


def median_ns(f, n):
    """Median time (CLOCK) of one call of f, in ns, over runs of n calls."""
    times = []
    for _ in range(RUNS):
        t0 = CLOCK()
        for _ in range(n):
            f()
        times.append((CLOCK() - t0) / n * 1e9)
    times.sort()
    return times[RUNS // 2]


def calls_per_run(f):
    """Enough calls of f for a run of about RUN_SECONDS."""
    n = 1
    while True:
        t0 = time.process_time()
        for _ in range(n):
            f()
        if time.process_time() - t0 >= RUN_SECONDS / 4:
            return max(1, int(n * RUN_SECONDS / max(time.process_time() - t0, 1e-9)))
        n *= 2


def mlp(threads):
    torch.set_num_threads(threads)
    assert torch.get_num_threads() == threads
    torch.manual_seed(42)
    net = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10))
    X = torch.rand(256, 784)
    with torch.inference_mode():
        batch = lambda: net(X)
        print("torch.mlp.batch256.t%d %.1f ns"
              % (threads, median_ns(batch, calls_per_run(batch)) / 256))


def main():
    if len(sys.argv) > 1:
        mlp(int(sys.argv[1]))
        return
    torch.set_num_threads(1)
    assert torch.get_num_threads() == 1
    torch.manual_seed(42)
    net = torch.nn.Sequential(
        torch.nn.Linear(64, 64), torch.nn.Tanh(),
        torch.nn.Linear(64, 64), torch.nn.Tanh(),
        torch.nn.Linear(64, 8), torch.nn.Softmax(dim=1))
    x = torch.rand(1, 64)
    X = torch.rand(256, 64)
    with torch.inference_mode():
        y = net(X)
        assert abs(float(y.sum()) - 256.0) < 1e-3       # each row a distribution
        single = lambda: net(x)
        batch = lambda: net(X)
        print("torch.game.single %.1f ns" % median_ns(single, calls_per_run(single)))
        print("torch.game.batch256 %.1f ns" % (median_ns(batch, calls_per_run(batch)) / 256))


main()
