"""PyTorch peer for the benchmarks: MONAI 1.5's DiceLoss formula on the CPU,
the loss alone or forward + backward, for the volume the JavaScript side times;
or (TARGET_KIND "metric") MONAI's DiceMetric of two label maps.

MONAI's DiceLoss(softmax=True, to_onehot_y=True) computes, on channels-first
[B, C, ...spatial] logits: softmax over C (or sigmoid with one class), the
one-hot target by scatter (or the mask as given), sums over the spatial axes,
and the mean of 1 - (2 tp + 1e-5) / (sum p + sum g + 1e-5). This script writes
that formula in plain torch (MONAI is not needed), so the comparison is the
same arithmetic on the same data.

Protocol, one JSON line per command on stdout, so that the caller can
interleave rounds with its own:
  argv: logits.f32 target TARGET_KIND B D H W C
        logits channels-last float32; TARGET_KIND "labels" (uint8 [B, D, H, W])
        or "mask" (float32, the logits' shape); or "metric": the first file is a
        uint8 predicted label map [B, D, H, W], the second the truth, and the
        step is DiceMetric's (one-hot both by scatter, sums over space,
        2 tp / (|y| + |y_pred|), NaN for an empty truth, MONAI's 'mean')
  env DICE_LOSS "dicefocal": MONAI 1.5's DiceFocalLoss instead (the Dice above
        plus its sigmoid focal loss, gamma 2, mean), as the library's
        diceFocalLoss(softmax: true)
  stdin "check"                  -> {"loss": float, "torch": version}
  stdin "time THREADS N GRAD"    -> {"ms": [N step times in milliseconds]}, GRAD 1 for
                                    loss + gradient, 0 for the loss alone (no autograd)
Run it with LD_PRELOAD of a caching allocator (libtcmalloc_minimal): page
faults on these machines make glibc's fresh tensors ~25x slower.
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def load(argv):
    logits_path, target_path, kind = argv[1], argv[2], argv[3]
    B, D, H, W, C = (int(a) for a in argv[4:9])
    x = np.fromfile(logits_path, dtype=np.float32).reshape(B, D, H, W, C)
    # channels-first, as MONAI takes it; contiguous so that the timed step does no layout work
    logits = torch.from_numpy(x).permute(0, 4, 1, 2, 3).contiguous()
    if kind == "labels":
        y = np.fromfile(target_path, dtype=np.uint8).reshape(B, 1, D, H, W)
        target = torch.from_numpy(y.astype(np.int64))
    else:
        y = np.fromfile(target_path, dtype=np.float32).reshape(B, D, H, W, C)
        target = torch.from_numpy(y).permute(0, 4, 1, 2, 3).contiguous()
    return logits, target, kind == "labels"


def dice_metric(pred, truth, C):
    onehot = lambda m: torch.zeros((m.shape[0], C, *m.shape[2:]), dtype=torch.float32).scatter_(1, m, 1.0)
    p, g = onehot(pred), onehot(truth)
    axes = list(range(2, p.dim()))
    tp = torch.sum(p * g, dim=axes)
    y_o = torch.sum(g, dim=axes)
    score = torch.where(y_o > 0, 2.0 * tp / (y_o + torch.sum(p, dim=axes)), torch.tensor(float("nan")))
    # MONAI's do_metric_reduction 'mean': classes per item (NaN left out), then the items
    per_item = torch.nanmean(score, dim=1)
    return torch.nanmean(per_item)


def dice(logits, target, labels):
    C = logits.shape[1]
    p = torch.sigmoid(logits) if C == 1 else torch.softmax(logits, dim=1)
    g = torch.zeros_like(p).scatter_(1, target, 1.0) if labels else target
    axes = list(range(2, p.dim()))
    tp = torch.sum(p * g, dim=axes)
    denominator = torch.sum(p, dim=axes) + torch.sum(g, dim=axes)
    return torch.mean(1.0 - (2.0 * tp + 1e-5) / (denominator + 1e-5))


def dice_focal(logits, target, labels):
    """MONAI 1.5's DiceFocalLoss: its focal term is sigmoid_focal_loss on the logits, gamma 2, mean."""
    g = torch.zeros_like(logits).scatter_(1, target, 1.0) if labels else target
    loss = logits - logits * g - F.logsigmoid(logits)
    invprobs = F.logsigmoid(-logits * (g * 2 - 1))
    focal = torch.mean(torch.exp(invprobs * 2.0) * loss)
    return dice(logits, target, labels) + focal


LOSS = dice_focal if os.environ.get("DICE_LOSS") == "dicefocal" else dice


def step(logits, target, labels, grad):
    if not grad:
        with torch.no_grad():
            return LOSS(logits, target, labels)
    x = logits.detach().requires_grad_(True)
    loss = LOSS(x, target, labels)
    loss.backward()
    return loss


def load_metric(argv):
    B, D, H, W, C = (int(a) for a in argv[4:9])
    read = lambda path: torch.from_numpy(np.fromfile(path, dtype=np.uint8).reshape(B, 1, D, H, W).astype(np.int64))
    return read(argv[1]), read(argv[2]), C


def main():
    if sys.argv[3] == "metric":
        pred, truth, C = load_metric(sys.argv)
        step_of = lambda grad: dice_metric(pred, truth, C)
    else:
        logits, target, labels = load(sys.argv)
        step_of = lambda grad: step(logits, target, labels, grad)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "check":
            reply = {"loss": float(step_of(False)), "torch": torch.__version__}
        elif words[0] == "time":
            torch.set_num_threads(int(words[1]))
            grad = words[3] == "1"
            step_of(grad)  # warm-up at this thread count
            ms = []
            for _ in range(int(words[2])):
                start = time.perf_counter()
                step_of(grad)
                ms.append((time.perf_counter() - start) * 1e3)
            reply = {"ms": ms}
        else:
            reply = {"error": f"unknown command {words[0]}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
