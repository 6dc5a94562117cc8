"""lenet_torch.py: PyTorch's side of spec/bench/lenet.lua, on one thread.

    /usr/bin/python3 spec/bench/lenet_torch.py ROWS EPOCHS

The LeNet-5 of lenet.lua (keep the two in step).  Prints
"torch.lenet.single V ns" (one image, a 1-row batch) and
"torch.lenet.batch256 V ns" (a batch of 256, per image), each the median of
7 runs of process CPU time under torch.inference_mode, and
"torch.lenet.epoch V s": the median over EPOCHS epochs of Adam lr 1e-3,
batch 64, cross-entropy on ROWS random images and classes.

    /usr/bin/python3 spec/bench/lenet_torch.py ROWS EPOCHS DIR FM_EPOCHS

trains instead a new LeNet-5 (PyTorch's default initialisation) for
FM_EPOCHS epochs of Fashion-MNIST's 60,000 training images (the IDX files
in DIR, pixels scaled to [0, 1]) with the same options, and prints
"torch.lenet.fashion_epochE V s" (epoch E's process CPU time) and
"torch.lenet.fashion_accuracyE V" (the test accuracy after it, 10,000
images, from 0 to 1).
Not a spec and not part of nn: make bench runs it with python3-torch.
"""
import gzip
import os
import struct
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


def read_idx(path):
    """An IDX file (gzipped or not) as a uint8 tensor of its dimensions."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    flat = torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8)
    return flat.reshape(dims)


def idx_path(folder, name):
    for p in (os.path.join(folder, name + ".gz"), os.path.join(folder, name)):
        if os.path.exists(p):
            return p
    raise SystemExit("no %s in %s" % (name, folder))


def fashion_epochs(folder, epochs, seed=1):
    """Fashion-MNIST epochs of a new LeNet-5 drawn from seed: each one's time
    and the test accuracy after it."""
    def images(name):
        x = read_idx(idx_path(folder, name)).to(torch.float32) / 255
        return x.reshape(-1, 1, 28, 28)

    def labels(name):
        return read_idx(idx_path(folder, name)).to(torch.int64)

    X, T = images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte")
    Xt, Tt = images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte")
    torch.manual_seed(seed)
    model = lenet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    rows = X.shape[0]
    for e in range(1, epochs + 1):
        model.train()
        t0 = time.process_time()
        perm = torch.randperm(rows)
        for i in range(0, rows, 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss_fn(model(X[idx]), T[idx]).backward()
            opt.step()
        print("torch.lenet.fashion_epoch%d %.4f s" % (e, time.process_time() - t0))
        model.eval()
        with torch.inference_mode():
            right = (model(Xt).argmax(1) == Tt).sum().item()
        print("torch.lenet.fashion_accuracy%d %.6f" % (e, right / Tt.shape[0]))
        sys.stdout.flush()


def main():
    torch.set_num_threads(1)
    if len(sys.argv) > 5:    # the training alone, from another seed
        fashion_epochs(sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        return
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
    if len(sys.argv) > 4:
        fashion_epochs(sys.argv[3], int(sys.argv[4]))
        return
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
