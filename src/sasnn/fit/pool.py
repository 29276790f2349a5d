"""Fits of several candidates to one curve in worker processes.

Each worker receives the curves once (and builds their resolutions once), then fits
the pairs it is given. The slowest pairs go first, so that no worker is left alone
with a long fit at the end. Neither the order nor the worker changes any fit: a fit
depends only on the curves, its pair, the seed and the options
(:func:`sasnn.fit.candidates.candidate_rng`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np

from sasnn.fit.start import resolution_for_curve, safe_intensity
from sasnn.io.curve import Curve
from sasnn.simulate.catalog import CATALOG
from sasnn.simulate.sampling import sample_parameters

__all__ = ["fit_in_processes"]

_WORKER: dict = {}  # a worker process's curves and their resolutions, shared by its fits


def _start_worker(curves: list[Curve]) -> None:
    """Pool initializer: every fit in this process reuses the curves and resolutions."""
    _WORKER.update(curves=curves, resolutions=[resolution_for_curve(c) for c in curves])


def _fit_one(fit: Callable, pair: tuple[str, str | None], seed: int, options: dict):
    """One pair's fit in a worker process (module level, so that it pickles)."""
    return fit(_WORKER["curves"], pair, seed, _WORKER["resolutions"], options)


def fit_in_processes(fit: Callable, curves: list[Curve], pairs: list[tuple[str, str | None]],
                     seed: int, options: dict, workers: int,
                     on_result: Callable | None) -> list:
    """``fit(curves, pair, seed, resolutions, options)`` (a module-level function, so that
    it pickles) for every pair in ``workers`` processes: the results in the pairs' order,
    ``on_result`` called with each in finishing order."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from sasnn.simulate.kernels import compile_kernels

    compile_kernels(pairs)  # here, once: concurrent first compiles of one kernel race
    # the slowest first, so that no worker is left with a long fit at the end; the
    # order changes no fit (each depends on its pair and the seed only), only the wait
    order = sorted(range(len(pairs)), key=lambda i: -_seconds_per_curve(curves, pairs[i]))
    # spawn, not fork: the parent holds torch's and rich's threads, and fork + threads can deadlock
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(curves,)) as pool:
        futures = {pool.submit(_fit_one, fit, pairs[i], seed, options): i for i in order}
        results: list = [None] * len(pairs)
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if on_result is not None:
                on_result(results[futures[future]])
    return results


def _seconds_per_curve(curves: Sequence[Curve], pair: tuple[str, str | None]) -> float:
    """Wall time of one model curve of ``pair`` on these curves' q points, at a prior draw
    (a tabulated class's table may take minutes to build: rated slowest, not timed).
    Only for scheduling: no fit depends on it."""
    model, structure_factor = pair
    if structure_factor is None and CATALOG[model].tabulate is not None:
        return math.inf
    params = sample_parameters(CATALOG[model], np.random.default_rng(0),
                               structure_factor=structure_factor)
    begin = time.perf_counter()
    for curve in curves:
        safe_intensity(model, structure_factor, params, resolution_for_curve(curve))
    return time.perf_counter() - begin
