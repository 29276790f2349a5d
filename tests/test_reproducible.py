"""Reproducible answers (issue 23): a fit is bounded by work, not by time, so the same
curve, candidates, seed and options give the same numbers, bit for bit, in another
process, with any number of workers, and beside a process that hogs a CPU."""

import hashlib
import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sasnn.fit.candidates import candidate_rng, fit_candidate, fit_candidates
from sasnn.io.curve import Curve

# a small curve that a sphere fit takes about a second on: 40 points, pinhole dQ
CURVE_SCRIPT = """
import numpy as np
from sasmodels.core import load_model
from sasmodels.data import Data1D
from sasmodels.direct_model import DirectModel
from sasnn.io.curve import Curve

q = np.geomspace(0.01, 0.3, 40)
truth = DirectModel(Data1D(x=q, y=np.ones_like(q), dx=0.05 * q, dy=np.ones_like(q)),
                    load_model("sphere"))(radius=45.0, radius_pd=0.1, radius_pd_n=35,
                                          radius_pd_nsigma=3.0, sld=1.0, sld_solvent=6.36,
                                          scale=0.01, background=0.01)
sigma = 0.03 * truth + 1e-3
curve = Curve(q, truth + np.random.default_rng(3).normal(0, sigma), sigma, 0.05 * q,
              source="simulated")
"""

FINGERPRINT_SCRIPT = """
import hashlib, json
import numpy as np

def fingerprint(fit):
    # every number of a FitResult but its wall time, exactly (JSON floats round-trip)
    record = {k: v for k, v in fit.to_dict().items() if k != "seconds"}
    record |= {"chi2": fit.chi2.hex(), "bic": fit.bic.hex(), "chi2_red": fit.chi2_red.hex(),
               "errors": {k: [v.hex(), e.hex()] for k, (v, e) in fit.parameters.items()},
               "fixed": {k: (v.hex() if isinstance(v, float) else v) for k, v in fit.fixed.items()},
               "intensity": hashlib.blake2b(np.ascontiguousarray(fit.intensity).tobytes()).hexdigest(),
               "q": hashlib.blake2b(np.ascontiguousarray(fit.q).tobytes()).hexdigest()}
    return json.dumps(record, sort_keys=True)
"""

namespace: dict = {}
exec(CURVE_SCRIPT + FINGERPRINT_SCRIPT, namespace)
fingerprint = namespace["fingerprint"]


@pytest.fixture(scope="module")
def curve() -> Curve:
    return namespace["curve"]


def fit_sphere(curve, **options):
    return fit_candidate(curve, "sphere", None, rng=candidate_rng(0, "sphere", None), **options)


def test_a_repeated_fit_gives_every_number_bit_identical(curve):
    first, second = fit_sphere(curve), fit_sphere(curve)
    assert fingerprint(first) == fingerprint(second)
    assert math.isfinite(first.bic) and first.converged and not first.stopped_by_time
    assert first.parameters["radius"][0] == pytest.approx(45.0, rel=0.05)


def test_a_fit_in_another_process_gives_every_number_bit_identical(curve):
    script = CURVE_SCRIPT + FINGERPRINT_SCRIPT + textwrap.dedent("""
        from sasnn.fit.candidates import candidate_rng, fit_candidate
        print(fingerprint(fit_candidate(curve, "sphere", None, rng=candidate_rng(0, "sphere", None))))
    """)
    env = dict(os.environ, SAS_OPENCL="none")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          timeout=300, check=True)
    assert done.stdout.strip() == fingerprint(fit_sphere(curve))


def test_the_message_states_the_budget_and_the_work_done(curve):
    fit = fit_sphere(curve, n_draws=32, n_starts=2)
    assert "budget 32 draws, 2 starts x 12 LM steps, the best 2 to 100" in fit.message
    used = int(fit.message.split("used ")[1].split(" evaluations")[0])
    assert used >= 32 + 2  # every draw, and at least one LM step per start


def test_the_time_limit_is_off_by_default_and_marks_the_fits_it_stops(curve):
    free = fit_sphere(curve, n_draws=16)
    assert not free.stopped_by_time
    # a limit that does not fire changes nothing
    assert fingerprint(fit_sphere(curve, n_draws=16, time_limit=3600.0)) == fingerprint(free)
    stopped = fit_sphere(curve, n_draws=16, time_limit=1e-9)
    assert stopped.stopped_by_time and stopped.to_dict()["stopped_by_time"] is True
    assert "provisional" in stopped.message


def test_two_workers_give_the_fits_of_one(curve):
    pairs = [("sphere", None), ("power_law", None)]
    here = fit_candidates(curve, pairs, seed=4, n_draws=24)
    there = fit_candidates(curve, pairs, seed=4, n_draws=24, workers=2)
    assert [fingerprint(r) for r in here] == [fingerprint(r) for r in there]


# ------------------------------------------------ the README's main job, end to end
def main_job_json(*extra: str) -> str:
    """``sasnn predict --fit --json`` on AOT's core contrast (the README's main job with
    --json), timing fields removed; the exact text, for a byte-for-byte comparison."""
    from sasnn.io import example_data_path

    data = str(example_data_path("AOT_Microemulsion-Core_Contrast.xml"))
    env = dict(os.environ, SAS_OPENCL="none")
    done = subprocess.run([sys.executable, "-m", "sasnn", "predict", "--fit", "--json", *extra, data],
                          capture_output=True, text=True, env=env, timeout=1800, check=True)
    return json.dumps(_without_timing(json.loads(done.stdout)), indent=1)


def _without_timing(value):
    if isinstance(value, dict):
        return {k: _without_timing(v) for k, v in value.items() if k not in ("seconds", "wall_s")}
    if isinstance(value, list):
        return [_without_timing(v) for v in value]
    return value


@pytest.fixture(scope="module")
def one_worker() -> str:
    return main_job_json("--workers", "1")


@pytest.mark.slow
def test_main_job_json_is_identical_for_one_and_two_workers(one_worker):
    assert json.loads(one_worker)[0]["candidates"][0]["bic"] is not None
    assert "stopped_by_time" in one_worker and '"stopped_by_time": true' not in one_worker
    assert main_job_json("--workers", "2") == one_worker


@pytest.mark.slow
def test_main_job_json_is_identical_beside_a_cpu_hog(one_worker):
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        beside = main_job_json("--workers", "2")
    finally:
        hog.kill()
        hog.wait()
    assert beside == one_worker


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sasnn.io.read.DataRepairWarning")  # the CLI prints it too
def test_the_python_api_gives_the_cli_answer(one_worker):
    from sasnn.identify.api import identify
    from sasnn.io import example_data_path

    predictions = identify([example_data_path("AOT_Microemulsion-Core_Contrast.xml")], fit=True, workers=2)
    api = json.dumps(_without_timing([p.to_dict() for p in predictions]), indent=1)
    assert api == one_worker
    digest = hashlib.blake2b(api.encode()).hexdigest()
    assert digest == hashlib.blake2b(one_worker.encode()).hexdigest()
    assert np.isfinite(predictions[0].fits[0].bic)


def test_table_summary_and_json_mark_a_fit_the_time_limit_stopped(curve):
    import dataclasses

    from rich.console import Console

    from sasnn.cli.predict import _table
    from sasnn.identify.predictor import Candidate, Prediction
    from sasnn.plots.report_folder import STOPPED_BY_TIME, summary

    fit = fit_sphere(curve, n_draws=16)
    for late in (False, True):
        shown = dataclasses.replace(fit, stopped_by_time=late)
        prediction = Prediction("x.xml", "", (Candidate("sphere", None, 0.9),), False, None, fits=(shown,))
        console = Console(record=True, width=250)
        console.print(_table([prediction]))
        table = console.export_text()
        assert ("1?" in table) is late and ("rank provisional" in table) is late
        assert (STOPPED_BY_TIME in summary([prediction], ["x.png"])) is late
        assert prediction.to_dict()["candidates"][0]["stopped_by_time"] is late
