"""lenet_torch.py: PyTorch's side of spec/bench/lenet.lua, on one thread.

    /usr/bin/python3 spec/bench/lenet_torch.py ROWS EPOCHS

The LeNet-5 of lenet.lua (keep the two in step).  Prints
"torch.lenet.single V ns" (one image, a 1-row batch) and
"torch.lenet.batch256 V ns" (a batch of 256, per image), each the median of
7 runs of process CPU time under torch.inference_mode, and
"torch.lenet.epoch V s": the median over EPOCHS epochs of Adam lr 1e-3,
batch 64, cross-entropy on ROWS random images and classes.
Not a spec and not part of nn: make bench runs it with python3-torch.
"""
import sys
import time

import torch

RUNS = 7


def median_ns(f, n):
    times = []
    for _ in range(RUNS):
        t0 = time.process_time()
        for _ in range(n):
            f()
        times.append((time.process_time() - t0) / n * 1e9)
    times.sort()
    return times[(RUNS - 1) // 2]


def lenet():
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def main():
    torch.set_num_threads(1)
    torch.manual_seed(42)
    model = lenet().eval()
    x, X = torch.rand(1, 1, 28, 28), torch.rand(256, 1, 28, 28)
    with torch.inference_mode():
        single = median_ns(lambda: model(x), 200)
        batch = median_ns(lambda: model(X), 4) / 256
    print("torch.lenet.single %.1f ns" % single)
    print("torch.lenet.batch256 %.1f ns" % batch)
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 4096
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    model.train()
    Xt, T = torch.rand(rows, 1, 28, 28), torch.randint(0, 10, (rows,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    seconds = []
    for _ in range(epochs):
        t0 = time.process_time()
        perm = torch.randperm(rows)
        for i in range(0, rows, 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss_fn(model(Xt[idx]), T[idx]).backward()
            opt.step()
        seconds.append(time.process_time() - t0)
    seconds.sort()
    print("torch.lenet.epoch %.4f s" % seconds[(epochs - 1) // 2])


if __name__ == "__main__":
    main()
