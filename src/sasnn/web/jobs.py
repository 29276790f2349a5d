"""Fits for the web page: a bounded pool of worker processes, with progress and cancel.

A fit is the ``sasnn predict --fit`` step (:func:`sasnn.identify.confirm.confirm`) for
one prediction. Each job runs in its own spawned process, at most ``max_running`` at
once, so fits use their own cores and never hold up a prediction in the server; cancel
ends the job's process. Jobs wait in a short queue; a full queue refuses new ones.
"""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing
import queue
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

POLL_SECONDS = 0.2  # how often a job's manager thread looks at its process and cancel flag


class PoolBusy(RuntimeError):
    """The queue of waiting fits is full."""


@dataclass
class Job:
    """One fit's state, as the page polls it. ``result`` is the re-ranked Prediction."""

    id: str
    total: int  # candidates to fit
    state: str = "queued"  # queued → running → done | failed | cancelled
    done: int = 0
    current: str = ""  # the last candidate finished
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    result: object = None
    error: str | None = None
    note: str | None = None  # e.g. "not fitted: ..." as the CLI warns
    cancel_requested: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")

    def status(self) -> dict:
        now = self.finished or time.time()
        return {"id": self.id, "state": self.state, "done": self.done, "total": self.total,
                "current": self.current, "error": self.error, "note": self.note,
                "seconds": round(now - (self.started or now), 1)}


def fit_worker(messages, prediction, curves, options: dict) -> None:
    """In the job's process: confirm ``prediction`` as ``sasnn predict --fit`` does and send
    ("progress", name) per candidate, then ("done", (prediction, note)) or ("error", text)."""
    try:
        from sasnn.identify.confirm import confirm

        try:
            result = confirm(prediction, curves, on_candidate=lambda name: messages.put(("progress", name)),
                             **options)
            note = None
        except ValueError as exc:  # a curve the fit cannot use: the CLI's warning and unsure reason
            note = f"not fitted: {exc}"
            reason = "; ".join(filter(None, [prediction.reason, note]))
            result = dataclasses.replace(prediction, unsure=True, reason=reason)
        messages.put(("done", (result, note)))
    except Exception as exc:  # noqa: BLE001  (reported to the page, not raised in a dead process)
        messages.put(("error", f"{type(exc).__name__}: {exc}"))


class FitPool:
    """At most ``max_running`` fit processes at once, ``max_waiting`` more queued; the
    last ``keep`` jobs are remembered for polling."""

    def __init__(self, max_running: int = 2, max_waiting: int = 8, keep: int = 64) -> None:
        if max_running < 1:
            raise ValueError(f"max_running must be a positive number of processes, got {max_running}")
        self.max_running, self.max_waiting, self.keep = max_running, max_waiting, keep
        self._slots = threading.Semaphore(max_running)
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._counter = itertools.count()

    def submit(self, prediction, curves, options: dict,
               on_done: Callable[[object], None] | None = None) -> Job:
        """Queue the fit of ``prediction`` to ``curves`` with ``confirm(**options)``."""
        with self._lock:
            waiting = sum(job.state == "queued" for job in self._jobs.values())
            if waiting >= self.max_waiting:
                raise PoolBusy(f"{waiting} fits are already waiting; try again when one has finished")
            job = Job(f"{next(self._counter)}-{secrets.token_hex(6)}", total=len(prediction.candidates))
            self._jobs[job.id] = job
            finished = [k for k, j in self._jobs.items() if not j.active]
            for k in finished[: max(0, len(self._jobs) - self.keep)]:
                del self._jobs[k]
            self._threads = [t for t in self._threads if t.is_alive()]
            thread = threading.Thread(target=self._run, args=(job, prediction, curves, options, on_done),
                                      name=f"sasnn-fit-{job.id}", daemon=True)
            self._threads.append(thread)
        thread.start()
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            return self._jobs[job_id]  # KeyError: unknown or forgotten

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        job.cancel_requested.set()
        return job

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel every job and wait for their processes to end."""
        with self._lock:
            jobs, threads = list(self._jobs.values()), list(self._threads)
        for job in jobs:
            job.cancel_requested.set()
        for thread in threads:
            thread.join(timeout)

    def _run(self, job: Job, prediction, curves, options, on_done) -> None:
        while not self._slots.acquire(timeout=POLL_SECONDS):
            if job.cancel_requested.is_set():
                self._finish(job, "cancelled")
                return
        try:
            if job.cancel_requested.is_set():
                self._finish(job, "cancelled")
                return
            self._watch(job, prediction, curves, options, on_done)
        except Exception as exc:  # noqa: BLE001  (a job that cannot start fails alone)
            self._finish(job, "failed", f"{type(exc).__name__}: {exc}")
        finally:
            self._slots.release()

    def _watch(self, job: Job, prediction, curves, options, on_done) -> None:
        # spawn, not fork: the server holds torch's and uvicorn's threads
        context = multiprocessing.get_context("spawn")
        messages = context.Queue()
        process = context.Process(target=fit_worker, args=(messages, prediction, curves, options),
                                  name=f"sasnn-fit-{job.id}", daemon=True)
        process.start()
        job.started, job.state = time.time(), "running"
        try:
            while True:
                try:
                    kind, value = messages.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    if job.cancel_requested.is_set():
                        self._finish(job, "cancelled")
                        return
                    if not process.is_alive() and messages.empty():
                        self._finish(job, "failed", f"the fit process stopped (exit code {process.exitcode})")
                        return
                    continue
                if kind == "progress":
                    job.done, job.current = job.done + 1, value
                elif kind == "done":
                    job.result, job.note = value
                    if on_done is not None:
                        on_done(job.result)
                    self._finish(job, "done")
                    return
                else:
                    self._finish(job, "failed", value)
                    return
        finally:
            if process.is_alive():
                process.terminate()
            process.join(5)
            messages.close()

    @staticmethod
    def _finish(job: Job, state: str, error: str | None = None) -> None:
        job.error, job.finished, job.state = error, time.time(), state


__all__ = ["FitPool", "Job", "PoolBusy", "fit_worker"]
