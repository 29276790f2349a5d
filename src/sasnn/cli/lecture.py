"""``sasnn lecture ...``: the lecture's demos, printed as the slides show them, plus a figure.

Each command writes only its own PNG(s) into ``--out`` (created if missing).
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from sasnn.cli._app import UserError, err, lecture_app, out
from sasnn.fundamentals.conv import KERNELS  # NumPy only: cheap enough for --help

KernelName = enum.Enum("KernelName", {name: name for name in KERNELS}, type=str)

OutDir = Annotated[
    Path, typer.Option("--out", file_okay=False, help="Folder for the PNG (created if missing).")
]
Seed = Annotated[int, typer.Option(help="Seed for the random data.")]


def _png(out_dir, name):
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir / name


def _matrix(array):
    cells = [[f"{v:.4g}" for v in row] for row in array]
    width = max(len(c) for row in cells for c in row)
    return "\n".join("  ".join(c.rjust(width) for c in row) for row in cells)


def _milestones(n_epochs):
    """0, 1, 2, 5, 10, 20, 50, ... below ``n_epochs``, then ``n_epochs``."""
    steps = [m * 10**e for e in range(9) for m in (1, 2, 5)]
    return [0, *(k for k in steps if k < n_epochs), n_epochs]


@lecture_app.command()
def perceptron(
    n_samples: Annotated[int, typer.Option(min=2, help="Points to classify.")] = 40,
    margin: Annotated[float, typer.Option(min=0.0, help="Gap between the classes / 2.")] = 0.05,
    xor: Annotated[bool, typer.Option(help="Use the XOR points instead (not separable).")] = False,
    max_epochs: Annotated[int, typer.Option(min=1, help="Give up after this many epochs.")] = 1000,
    seed: Seed = 0,
    out_dir: OutDir = Path("lecture_out"),
) -> None:
    """Run the slide's perceptron algorithm: mistakes per epoch, then the final w."""
    import numpy as np

    from sasnn.fundamentals.perceptron import Perceptron
    from sasnn.fundamentals.toy_data import separable_points
    from sasnn.fundamentals.toy_data import xor as xor_points
    from sasnn.plots.lecture import plot_perceptron

    X, y = xor_points() if xor else separable_points(n_samples, np.random.default_rng(seed), margin)
    model = Perceptron(max_epochs=max_epochs).fit(X, y)
    for epoch, mistakes in enumerate(model.mistakes_, start=1):
        out.print(f"epoch {epoch}: {mistakes} mistakes")
    (w1, w2), b = model.coef_, model.intercept_
    out.print(f"final w = ({w1:.4g}, {w2:.4g}, {b:.4g})  (the last entry is the bias)")
    path = _png(out_dir, "perceptron.png")
    plot_perceptron(X, y, model.coef_, b, model.mistakes_, path)
    err.print(f"wrote {path}")


@lecture_app.command()
def descent(
    n_samples: Annotated[int, typer.Option(min=2, help="Points on the noisy line.")] = 20,
    learning_rate: Annotated[float, typer.Option(min=0.0, help="Step size eta.")] = 0.02,
    epochs: Annotated[int, typer.Option(min=1, help="Full-batch steps.")] = 200,
    noise: Annotated[float, typer.Option(min=0.0, help="Std of the noise on y = 2x + 1.")] = 0.1,
    seed: Seed = 0,
    out_dir: OutDir = Path("lecture_out"),
) -> None:
    """Fit one neuron a = w x + b by gradient descent, printing the slide's EPOCH lines."""
    import numpy as np

    from sasnn.fundamentals.descent import gradient_descent
    from sasnn.fundamentals.toy_data import noisy_line
    from sasnn.plots.lecture import plot_descent

    x, y = noisy_line(n_samples, np.random.default_rng(seed), noise=noise)
    history = gradient_descent(x, y, learning_rate=learning_rate, n_epochs=epochs)
    shown = _milestones(epochs)
    lines = [history.line(k) for k in shown]
    out.print("\n".join(lines))
    slope, intercept = np.polyfit(x, y, 1)
    out.print(f"least squares (np.polyfit): w = {slope:.2f}, b = {intercept:.2f}")
    path = _png(out_dir, "descent.png")
    plot_descent(x, y, history.w[shown], history.b[shown], lines, history.cost, path)
    err.print(f"wrote {path}")


@lecture_app.command()
def backprop(
    x: Annotated[float, typer.Option(help="Input.")] = 0.5,
    y: Annotated[float, typer.Option(help="Target, in [0, 1].")] = 1.0,
    w1: Annotated[float, typer.Option(help="First weight.")] = 0.4,
    b1: Annotated[float, typer.Option(help="First bias.")] = 0.1,
    w2: Annotated[float, typer.Option(help="Second weight.")] = -0.3,
    b2: Annotated[float, typer.Option(help="Second bias.")] = 0.2,
    alpha: Annotated[float, typer.Option(min=0.0, help="Learning rate.")] = 0.5,
    steps: Annotated[int, typer.Option(min=1, help="Updates to plot.")] = 50,
    out_dir: OutDir = Path("lecture_out"),
) -> None:
    """Work the slide's 1-1-1 sigmoid network: forward values, four gradients, one update."""
    from sasnn.fundamentals.backprop import slide_backprop, slide_descent, slide_step
    from sasnn.plots.lecture import plot_backprop

    params = (w1, b1, w2, b2)
    g = slide_backprop(x, y, *params)
    for name in ("z1", "a1", "z2", "y_hat", "e", "L", "dL_dw2", "dL_db2", "dL_dw1", "dL_db1"):
        out.print(f"{name.replace('_d', '/d'):>7} = {getattr(g, name):.6f}")
    new = slide_step(x, y, *params, alpha)
    out.print(f"one step, Delta p = -alpha dL/dp with alpha = {alpha:g}:")
    for name, old, value in zip(("w1", "b1", "w2", "b2"), params, new, strict=True):
        out.print(f"  {name}: {old:.6f} -> {value:.6f}")
    out.print(f"  L: {g.L:.6f} -> {slide_backprop(x, y, *new).L:.6f}")
    out.print("(the slide's Delta w1 = +alpha dL/dw1 would climb the loss instead; see the figure)")
    path = _png(out_dir, "backprop.png")
    down, up = (slide_descent(x, y, *params, a, steps) for a in (alpha, -alpha))
    plot_backprop(down, up, alpha, path)
    err.print(f"wrote {path}")


def _read_grayscale(path):
    """An image file as a float array (H, W) in [0, 1], RGB mixed by ITU-R BT.601 luma."""
    import matplotlib.image
    import numpy as np

    try:
        pixels = matplotlib.image.imread(path)
    except (OSError, ValueError, SyntaxError) as exc:
        raise UserError(f"cannot read {path} as a PNG/JPG image ({exc})") from exc
    scale = 255.0 if pixels.dtype == np.uint8 else 1.0  # JPEGs load as 0-255, PNGs as 0-1
    pixels = pixels.astype(float) / scale
    if pixels.ndim == 3:
        channels = pixels.shape[-1]
        pixels = pixels[..., :3] @ [0.299, 0.587, 0.114] if channels >= 3 else pixels[..., 0]
    return pixels


@lecture_app.command()
def conv(
    kernel: Annotated[KernelName, typer.Option(help="Kernel to apply.")] = KernelName["outline"],
    image: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="PNG/JPG to filter (default: a test card)."),
    ] = None,
    stride: Annotated[int, typer.Option(min=1, help="Step between windows.")] = 1,
    padding: Annotated[int, typer.Option(min=0, help="Zeros added around the image.")] = 0,
    pool: Annotated[int, typer.Option(min=1, help="Max-pooling window side.")] = 2,
    out_dir: OutDir = Path("lecture_out"),
) -> None:
    """The slide's 5x5 image with the X-kernel, then a named kernel and max pooling."""
    from sasnn.fundamentals.conv import SLIDE_IMAGE, correlate2d, max_pool2d
    from sasnn.fundamentals.toy_data import demo_image
    from sasnn.plots.lecture import plot_conv

    out.print(f"slide image (*) X-kernel:\n{_matrix(correlate2d(SLIDE_IMAGE, KERNELS['x']))}")
    picture = demo_image() if image is None else _read_grayscale(image)
    weights = KERNELS[kernel.value]
    feature_map = correlate2d(picture, weights, stride=stride, padding=padding)
    pooled = max_pool2d(feature_map, size=pool)
    out.print(f"kernel {kernel.value}:\n{_matrix(weights)}")
    shapes = (picture.shape, feature_map.shape, pooled.shape)
    out.print("image {} -> feature map {} -> max-pooled {}".format(*shapes))
    path = _png(out_dir, "conv.png")
    plot_conv(picture, weights, feature_map, pooled, path, kernel_name=kernel.value)
    err.print(f"wrote {path}")
