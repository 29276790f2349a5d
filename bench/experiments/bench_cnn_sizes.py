"""Throughput of a few CNN sizes (and the SASNets baseline) on random inputs, this CPU.

    python bench/experiments/bench_cnn_sizes.py [--threads 2] [--seconds 4]

Prints a markdown table: parameters, forward MACs per curve, training curves/s
(forward + backward + AdamW step, batch 256) and inference curves/s (batch 256,
inference mode: the batch size of sasnn.learn.networks.logits_in_batches, ~2x faster per
curve than 1024 because the activations stay in cache). Rates come from the median
step time, so a job briefly sharing the cores does not spoil them.

The default CNNConfig is the largest size that still trains at >= ~1,500 curves/s
on one core and infers well above 5,000 curves/s: 76 classes x 2,000 curves
(137k training curves) then take ~1-1.5 min per epoch, and 40 epochs fit inside
the 2 h budget. "medium" was no better than "default" on a 250-curves/class,
12-epoch trial (52.1 % vs 52.0 % validation top-1), so the extra cost buys nothing there.
"global" and "global-wide" pool their last feature map over q (CNNConfig.pooling); the
shipped network is "global-wide" (docs/benchmarks.md, Identification: 70.9 % validation top-1 after
8 epochs against 64.8 % for "default", so its higher cost buys accuracy).

Measured 2026-12-01, torch 2.13.0+cpu, --threads 2, nothing else running (the
2026-11-27 run, 1 thread with the second core busy, gave about a third of these rates):

| size | channels / kernels / hidden | parameters | MACs/curve | train curves/s | infer curves/s |
|---|---|---|---|---|---|
| tiny | (16, 32, 48, 64) / (7, 5, 5, 3) / 128 | 161,649 | 1.31 M | 9,219 | 63,730 |
| small | (24, 32, 48, 64) / (7, 5, 5, 3) / 192 | 233,841 | 1.58 M | 6,766 | 50,047 |
| default | (32, 48, 64, 96) / (7, 5, 5, 3) / 256 | 456,689 | 3.08 M | 5,123 | 33,437 |
| medium | (32, 64, 96, 128) / (7, 5, 5, 3) / 256 | 624,273 | 5.12 M | 3,540 | 22,088 |
| large | (48, 96, 128, 192) / (9, 7, 5, 3) / 384 | 1,380,433 | 11.85 M | 1,860 | 11,364 |
| global | (32, 48, 64, 96, 128, 192) / (7, 5, 5, 3, 3, 3) / 256 | 273,009 | 3.97 M | 4,994 | 24,458 |
| global-wide | (48, 64, 96, 128, 192, 256) / (7, 5, 5, 5, 3, 3) / 256 | 483,089 | 8.58 M | 2,692 | 15,437 |
| SASNets | (256, 128) / k6 pool 4 / 64 tanh | 318,545 | 11.71 M | 1,010 | 3,365 |
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from sasnn.learn.networks import CNNConfig, SASNetsConfig, build_model, count_parameters

N_CLASSES, N_SF = 76, 5
SIZES = {
    "tiny": CNNConfig(channels=(16, 32, 48, 64), hidden=128),
    "small": CNNConfig(channels=(24, 32, 48, 64), hidden=192),
    "default": CNNConfig(),
    "medium": CNNConfig(channels=(32, 64, 96, 128), hidden=256),
    "large": CNNConfig(channels=(48, 96, 128, 192), kernel_sizes=(9, 7, 5, 3), hidden=384),
    # six stages, then the mean and maximum over q instead of the flattened map
    "global": CNNConfig(channels=(32, 48, 64, 96, 128, 192), kernel_sizes=(7, 5, 5, 3, 3, 3),
                        pooling="global"),
    "global-wide": CNNConfig(channels=(48, 64, 96, 128, 192, 256), kernel_sizes=(7, 5, 5, 5, 3, 3),
                             pooling="global"),
}


def forward_macs(model: nn.Module, n_q: int) -> int:
    """Multiply-accumulates of one forward pass (conv + linear layers), per curve."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv1d):
            total += output.shape[-1] * module.out_channels * module.in_channels * module.kernel_size[0]
        elif isinstance(module, nn.Linear):
            total += module.in_features * module.out_features

    handles = [
        m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Linear))
    ]
    with torch.inference_mode():
        model(torch.zeros(1, 2, n_q))
    for h in handles:
        h.remove()
    return total


def rate(step, batch: int, seconds: float) -> float:
    """Curves/s from the median step time: robust to other jobs sharing the 2 cores."""
    step()  # warm-up (oneDNN picks its kernels on the first call)
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 5:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return batch / statistics.median(times)


def measure(model: nn.Module, seconds: float) -> tuple[float, float]:
    x_train = torch.randn(256, 2, 256)
    ff, sf = torch.randint(N_CLASSES, (256,)), torch.randint(N_SF, (256,))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def train_step():
        model.train()
        a, b = model(x_train)
        loss = nn.functional.cross_entropy(a, ff) + nn.functional.cross_entropy(b, sf)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    x_infer = torch.randn(256, 2, 256)

    def infer_step():
        model.eval()
        with torch.inference_mode():
            model(x_infer)

    return rate(train_step, 256, seconds), rate(infer_step, 256, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = [(name, build_model("cnn", cfg, N_CLASSES, N_SF), cfg) for name, cfg in SIZES.items()]
    rows.append(("SASNets", build_model("sasnets", SASNetsConfig(), N_CLASSES, N_SF), SASNetsConfig()))
    print(f"torch {torch.__version__}, {args.threads} threads, {N_CLASSES} classes\n")
    print(
        "| size | channels / kernels / hidden | parameters | MACs/curve | train curves/s | infer curves/s |"
    )
    print("|---|---|---|---|---|---|")
    for name, model, cfg in rows:
        train, infer = measure(model, args.seconds)
        shape = (
            f"{cfg.channels} / {cfg.kernel_sizes} / {cfg.hidden}"
            + (", global pooling" if cfg.pooling == "global" else "")
            if isinstance(cfg, CNNConfig)
            else f"({cfg.n_q}, {cfg.n_q // 2}) / k{cfg.kernel_size} pool {cfg.pool} / {cfg.n_q // 4} tanh"
        )
        print(
            f"| {name} | {shape} | {count_parameters(model):,} | {forward_macs(model, 256) / 1e6:.2f} M "
            f"| {train:,.0f} | {infer:,.0f} |"
        )


if __name__ == "__main__":
    main()
