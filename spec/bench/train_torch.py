"""PyTorch beside nn on the training bench: Fashion-MNIST, 784-256-128-10
ReLU, cross-entropy, Adam lr 1e-3, batch 64, one thread.

    /usr/bin/python3 spec/bench/train_torch.py DIR EPOCHS SEED [THREADS]

DIR holds the four IDX files (.gz or not).  Prints one line per epoch:
"epoch E seconds S accuracy A" (S: the CPU time of the epoch's training alone; A: test
accuracy after it; with THREADS, torch.set_num_threads(THREADS) and the wall-clock
time instead, which CPU time on several threads would overstate).  Reads IDX itself,
so that it needs only torch.
"""
import gzip
import os
import struct
import sys
import time

import torch


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    t = torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8)
    return t.reshape(shape)


def find(d, name):
    for cand in (name, name + ".gz"):
        if os.path.exists(os.path.join(d, cand)):
            return os.path.join(d, cand)
    raise SystemExit("missing " + name + " in " + d)


def main():
    d, epochs, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    clock = time.perf_counter if len(sys.argv) > 4 else time.process_time
    torch.set_num_threads(threads)
    assert torch.get_num_threads() == threads
    torch.manual_seed(seed)
    X = read_idx(find(d, "train-images-idx3-ubyte")).reshape(-1, 784).float() / 255
    T = read_idx(find(d, "train-labels-idx1-ubyte")).long()
    Xt = read_idx(find(d, "t10k-images-idx3-ubyte")).reshape(-1, 784).float() / 255
    Tt = read_idx(find(d, "t10k-labels-idx1-ubyte")).long()
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = X.shape[0]
    for epoch in range(1, epochs + 1):
        t0 = clock()
        perm = torch.randperm(n)
        for i in range(0, n, 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss = loss_fn(model(X[idx]), T[idx])
            loss.backward()
            opt.step()
        seconds = clock() - t0
        with torch.no_grad():
            acc = (model(Xt).argmax(1) == Tt).float().mean().item()
        print("epoch %d seconds %.4f accuracy %.4f" % (epoch, seconds, acc), flush=True)


if __name__ == "__main__":
    main()
