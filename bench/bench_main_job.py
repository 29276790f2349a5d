"""Wall time of the README's main job, with the machine it ran on.

The main job is ``sasnn predict --fit --report DIR AOT_Microemulsion-Core_Contrast.xml``
(sasdata's bundled AOT microemulsion, core contrast). This script runs it as a user
would, in a fresh process, and prints the machine (CPU count, load average before and
after), the exact command, its wall time and the CPU time it used (user + system, all
its processes), then the first candidates and their BIC from the report's
``report.json``. The fits are bounded by work, not time, so the answer is the same on
any machine; only the times depend on it.

    python bench/bench_main_job.py [--repeat 1] [--workers N] [--sasnn PATH] [--json OUT]

``--sasnn`` runs another installation's CLI (e.g. an older checkout, to time it in the
same session); by default the ``sasnn`` beside this Python.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = "AOT_Microemulsion-Core_Contrast.xml"


def machine() -> dict:
    """What the time depends on: CPUs, load, processor name."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def run_once(sasnn: str, data: str, workers: int | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "aot-report"
        command = [sasnn, "predict", "--fit", "--report", str(report), data]
        if workers is not None:
            command[3:3] = ["--workers", str(workers)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        load = os.getloadavg()[0]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            sys.exit(f"bench_main_job: `{shlex.join(command)}` failed ({done.returncode}):\n{done.stderr}")
        prediction = json.loads((report / "report.json").read_text())["predictions"][0]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    first = [{"name": c["model"] + (f"@{c['structure_factor']}" if c["structure_factor"] else ""),
              "bic": c["bic"], "chi2_red": c["chi2_red"]} for c in prediction["candidates"]]
    return {"command": shlex.join(command).replace(tmp, "$TMP"), "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1), "load_average_1min_before": round(load, 2),
            "load_average_1min_after": round(os.getloadavg()[0], 2),
            "candidates": first, "ties": prediction.get("ties", [])}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs (each one timed)")
    parser.add_argument("--workers", type=int, default=None, help="--workers of sasnn predict")
    parser.add_argument("--sasnn", default=str(Path(sys.executable).with_name("sasnn")),
                        help="the sasnn executable to time")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    from sasnn.io import example_data_path

    data = str(example_data_path(EXAMPLE))
    info = machine()
    print(f"machine: {info['cpus']} CPUs ({info['cpu']}), Python {info['python']}, "
          f"load average {info['load_average']}")
    runs = []
    for _ in range(args.repeat):
        result = run_once(args.sasnn, data, args.workers)
        runs.append(result)
        print(f"{result['command']}\n  wall {result['wall_s']} s, CPU {result['cpu_s']} s, "
              f"1-min load {result['load_average_1min_before']} -> {result['load_average_1min_after']}")
        for c in result["candidates"]:
            print(f"  {c['name']:45s} BIC {c['bic']:.2f}  chi2_red {c['chi2_red']:.3f}")
        if result["ties"]:
            print(f"  ties (dBIC <= 2): {', '.join(result['ties'])}")
    if args.json is not None:
        args.json.write_text(json.dumps({"machine": info, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
