"""Load on ``sasnn serve``: concurrent predictions while fits run, on loopback.

    python bench/bench_web.py [--predictions 20] [--fits 2] [--fit-top 3] [--fit-time 60] [--json OUT]

Starts ``python -m sasnn serve`` on a free loopback port (the real uvicorn server, one
process, the classifier loaded once), then

1. times ``--predictions`` predictions of AOT_Microemulsion-Core_Contrast.xml one after
   another, with nothing else running (the unloaded latency);
2. starts ``--fits`` fits at once (each the ``--fit --fit-top N`` of that file, in the
   server's bounded pool of fit processes) and, while they run, sends ``--predictions``
   predictions all at once from as many client threads;
3. waits for the fits to finish.

Every request must succeed (HTTP 200, fits "done"); the script exits 1 otherwise.
It prints the median and max prediction latency under load; nothing is asserted about
them. Bounded: about a minute of server time per fit on a free core, and the
predictions take seconds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from sasnn.io import example_data_path

AOT = example_data_path("AOT_Microemulsion-Core_Contrast.xml")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, body: bytes | None = None, headers=None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def multipart(name: str, data: bytes) -> tuple[bytes, dict]:
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n")
    tail = f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"top\"\r\n\r\n3\r\n--{boundary}--\r\n"
    body = head.encode() + data + tail.encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def predict(port: int, payload) -> tuple[float, int, dict]:
    begin = time.perf_counter()
    status, answer = request(port, "POST", "/api/predict", *payload)
    return time.perf_counter() - begin, status, answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--predictions", type=int, default=20)
    parser.add_argument("--fits", type=int, default=2)
    parser.add_argument("--fit-top", type=int, default=3)
    parser.add_argument("--fit-time", type=float, default=60.0)
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()

    port = free_port()
    env = dict(os.environ, SAS_OPENCL="none", MPLBACKEND="Agg")
    server = subprocess.Popen([sys.executable, "-m", "sasnn", "serve", "--port", str(port),
                               "--fit-processes", str(max(1, args.fits))], env=env)
    failures = []
    try:
        deadline = time.time() + 120
        while True:
            try:
                if request(port, "GET", "/api/info")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or server.poll() is not None:
                print("the server did not start", file=sys.stderr)
                return 1
            time.sleep(0.3)
        payload = multipart(AOT.name, AOT.read_bytes())

        unloaded = []
        for _ in range(args.predictions):
            seconds, status, _answer = predict(port, payload)
            unloaded.append(seconds)
            if status != 200:
                failures.append(f"unloaded prediction: HTTP {status}")

        jobs = []
        for _ in range(args.fits):
            _s, status, answer = predict(port, payload)
            code, job = request(port, "POST", f"/api/analyses/{answer['id']}/items/0/fit"
                                f"?fit_top={args.fit_top}&fit_time={args.fit_time}")
            if code != 200:
                failures.append(f"fit start: HTTP {code} {job}")
            else:
                jobs.append(job["id"])
        while jobs and any(request(port, "GET", f"/api/jobs/{j}")[1]["state"] != "running" for j in jobs):
            time.sleep(0.5)  # the fits are fitting before the load starts
        fit_begin = time.perf_counter()
        with ThreadPoolExecutor(args.predictions) as pool:
            loaded = list(pool.map(lambda _: predict(port, payload), range(args.predictions)))
        failures += [f"loaded prediction: HTTP {code} {answer}" for _s, code, answer in loaded if code != 200]
        states = {}
        for j in jobs:
            while (status := request(port, "GET", f"/api/jobs/{j}")[1])["state"] in ("queued", "running"):
                time.sleep(1)
            states[j] = status
            if status["state"] != "done":
                failures.append(f"fit {j}: {status}")
        fit_wall = time.perf_counter() - fit_begin
    finally:
        server.terminate()
        server.wait(30)

    latencies = [s for s, _status, _answer in loaded]
    result = {
        "predictions": args.predictions, "fits": args.fits, "fit_top": args.fit_top,
        "unloaded_median_s": statistics.median(unloaded),
        "loaded_median_s": statistics.median(latencies), "loaded_max_s": max(latencies),
        "fit_seconds": [s["seconds"] for s in states.values()], "fits_wall_s": fit_wall,
        "failures": failures, "cpus": os.cpu_count(),
    }
    print("| predictions | fits (fit-top) | median unloaded | median under load | max under load "
          "| fits took (s) | errors |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {args.predictions} at once | {args.fits} ({args.fit_top}) "
          f"| {result['unloaded_median_s']:.2f} s | {result['loaded_median_s']:.2f} s "
          f"| {result['loaded_max_s']:.2f} s "
          f"| {', '.join(f'{s:.0f}' for s in result['fit_seconds'])} | {len(failures)} |")
    if args.json_out:
        with open(args.json_out, "w") as handle:
            json.dump(result, handle, indent=1)
    for failure in failures:
        print("FAILED:", failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
