"""PyTorch peer for the benchmarks: MONAI 1.5's DiceLoss formula, forward and
backward, on the CPU, for the same volume the JavaScript side times.

MONAI's DiceLoss(softmax=True, to_onehot_y=True) computes, on channels-first
[B, C, ...spatial] logits: softmax over C, a one-hot target by scatter, sums
over the spatial axes, and the mean of 1 - (2 tp + 1e-5) / (sum p + sum g + 1e-5).
This script writes that formula in plain torch (MONAI is not needed), so the
comparison is the same arithmetic on the same data.

Protocol (one JSON line per command on stdout, so the caller can interleave
rounds with its own):
  argv: logits.f32 labels.u8 B D H W C   (channels-last float32, uint8 labels)
  stdin "check"            -> {"loss": float, "grad": path of the float32 gradient, channels-last}
  stdin "time THREADS N"   -> {"ms": [N step times in milliseconds]}
Run it with LD_PRELOAD of a caching allocator (libtcmalloc_minimal): page
faults on these machines make glibc's fresh tensors ~25x slower.
"""
import json
import sys
import tempfile
import time

import numpy as np
import torch


def load(argv):
    logits_path, labels_path = argv[1], argv[2]
    B, D, H, W, C = (int(a) for a in argv[3:8])
    x = np.fromfile(logits_path, dtype=np.float32).reshape(B, D, H, W, C)
    y = np.fromfile(labels_path, dtype=np.uint8).reshape(B, D, H, W)
    # channels-first, as MONAI takes it; contiguous so the timed step does no layout work
    logits = torch.from_numpy(x).permute(0, 4, 1, 2, 3).contiguous()
    labels = torch.from_numpy(y.astype(np.int64)).unsqueeze(1)
    return logits, labels


def step(logits, labels):
    x = logits.detach().requires_grad_(True)
    p = torch.softmax(x, dim=1)
    g = torch.zeros_like(p).scatter_(1, labels, 1.0)
    axes = list(range(2, p.dim()))
    tp = torch.sum(p * g, dim=axes)
    denominator = torch.sum(p, dim=axes) + torch.sum(g, dim=axes)
    loss = torch.mean(1.0 - (2.0 * tp + 1e-5) / (denominator + 1e-5))
    loss.backward()
    return loss, x.grad


def main():
    logits, labels = load(sys.argv)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "check":
            loss, grad = step(logits, labels)
            out = tempfile.NamedTemporaryFile(suffix=".f32", delete=False)
            grad.permute(0, 2, 3, 4, 1).contiguous().numpy().tofile(out)
            reply = {"loss": float(loss), "grad": out.name, "torch": torch.__version__}
        elif words[0] == "time":
            torch.set_num_threads(int(words[1]))
            step(logits, labels)  # warm-up at this thread count
            ms = []
            for _ in range(int(words[2])):
                start = time.perf_counter()
                step(logits, labels)
                ms.append((time.perf_counter() - start) * 1e3)
            reply = {"ms": ms}
        else:
            reply = {"error": f"unknown command {words[0]}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
