"""embed_torch.py: the embedding bag model in PyTorch on one thread, the
reference spec/bench/embed.lua puts beside nn's figures.

The model: EmbeddingBag(1000, 32, mode="mean") of rows of 8 ids (a 2-D
LongTensor), Linear(32, 64), ReLU, Linear(64, 10).  It prints one "name
value unit" line each:
  torch.bag.single      one row of 8 ids as a 1 x 8 tensor, ns (median of 7
                        runs, process CPU time, torch.inference_mode)
  torch.bag.batch256    a batch of 256 rows, ns per row
  torch.bag.epoch       one epoch of training on ROWS rows: cross-entropy,
                        Adam lr 1e-3, batch 64, shuffled; CPU seconds, the
                        median of 3 epochs
Weights from PyTorch's initialisation, ids and classes uniform, from a
fixed seed.  One thread: torch.set_num_threads(1), checked.

    /usr/bin/python3 spec/bench/embed_torch.py

Not a spec and not part of nn: make bench runs it with the system's python3
and python3-torch.
"""
import time

import torch

RUNS = 7
RUN_SECONDS = 0.1
N_IDS, DIM, IDS, HIDDEN, CLASSES = 1000, 32, 8, 64, 10
ROWS, BATCH, EPOCHS = 20000, 64, 3


class BagModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.bag = torch.nn.EmbeddingBag(N_IDS, DIM, mode="mean")
        self.mlp = torch.nn.Sequential(torch.nn.Linear(DIM, HIDDEN), torch.nn.ReLU(),
                                       torch.nn.Linear(HIDDEN, CLASSES))

    def forward(self, x):
        return self.mlp(self.bag(x))


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def median_ns(f, n):
    times = []
    for _ in range(RUNS):
        t0 = time.process_time()
        for _ in range(n):
            f()
        times.append((time.process_time() - t0) / n * 1e9)
    return median(times)


def calls_per_run(f):
    n = 1
    while True:
        t0 = time.process_time()
        for _ in range(n):
            f()
        if time.process_time() - t0 >= RUN_SECONDS / 4:
            return max(1, int(n * RUN_SECONDS / max(time.process_time() - t0, 1e-9)))
        n *= 2


def main():
    torch.set_num_threads(1)
    assert torch.get_num_threads() == 1
    torch.manual_seed(42)
    model = BagModel()
    x = torch.randint(0, N_IDS, (1, IDS))
    X = torch.randint(0, N_IDS, (256, IDS))
    with torch.inference_mode():
        single = lambda: model(x)
        batch = lambda: model(X)
        print("torch.bag.single %.1f ns" % median_ns(single, calls_per_run(single)))
        print("torch.bag.batch256 %.1f ns" % (median_ns(batch, calls_per_run(batch)) / 256))
    data = torch.randint(0, N_IDS, (ROWS, IDS))
    classes = torch.randint(0, CLASSES, (ROWS,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    seconds = []
    for _ in range(EPOCHS):
        t0 = time.process_time()
        perm = torch.randperm(ROWS)
        for i in range(0, ROWS, BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad()
            loss = loss_fn(model(data[idx]), classes[idx])
            loss.backward()
            opt.step()
        seconds.append(time.process_time() - t0)
    print("torch.bag.epoch %.4f s" % median(seconds))


main()
