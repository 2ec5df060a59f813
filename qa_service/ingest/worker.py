"""The ingestion worker: runs queued jobs outside the API process, one child process per job.

``qa worker`` runs :class:`Worker` in the foreground; ``qa serve`` starts one in a subprocess
(:class:`WorkerProcess`) unless ``--no-worker``. The worker claims a job (see ingest.jobs), starts
a fresh process that runs ``run_ingest`` on it, and while it runs renews the job's lease and
watches for a cancel request and the run-time deadline. The job process stops itself between
sources when it sees either; if it is stuck inside a parser the worker sends SIGTERM and, after
``worker_kill_grace_seconds``, SIGKILL, then discards the draft and records why the job ended.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing import forkserver
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from typing import Any

from qa_service.db.models import IngestJob, utcnow
from qa_service.ingest import jobs
from qa_service.services import Services
from qa_service.settings import Settings

log = logging.getLogger(__name__)
_SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited locks, threads or sessions
# Job processes fork from a fork server that has imported the heavy modules once (it runs no model,
# no thread and no database session, so a fork of it is clean); each job then starts in about a second.
_JOBS = multiprocessing.get_context("forkserver")
_JOBS.set_forkserver_preload(["qa_service.ingest.pipeline", "qa_service.kb.embed"])  # the engine loads in the job
SHUTDOWN = "the worker was stopped while the job ran (shutdown); upload again"


class Worker:
    """Claims and runs queued jobs until stopped."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limits = settings.ingest
        self.services = Services(settings)
        self.id = jobs.worker_id()
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self, once: bool = False) -> int:
        """Run jobs until stopped (or, with ``once``, until the queue is empty); returns jobs run."""
        ran = 0
        log.info("worker start id=%s", self.id)
        forkserver.ensure_running()  # imports the heavy modules now, not when the first upload arrives
        while not self._stop.is_set():
            jobs.recover_lost(self.services.db, self.services.store, self.limits)
            job_id = jobs.claim(self.services.db, self.id, self.limits)
            if job_id is None:
                if once:
                    break
                self._stop.wait(self.limits.worker_poll_seconds)
                continue
            self.run_job(job_id)
            ran += 1
        log.info("worker stop id=%s jobs=%d", self.id, ran)
        return ran

    def run_job(self, job_id: str) -> str:
        """Run one claimed job in a child process; returns the job's final state."""
        proc = _JOBS.Process(target=_job_main, args=(self.settings, job_id), name=f"ingest-{job_id}")
        proc.start()
        log.info("worker job start job=%s pid=%s", job_id, proc.pid)
        reason: tuple[str, str] | None = None
        kill_at: float | None = None
        while True:
            proc.join(self.limits.worker_heartbeat_seconds)
            if not proc.is_alive():
                break
            ctl = jobs.heartbeat(self.services.db, job_id, self.limits.worker_lease_seconds)
            if reason is None:
                reason = self._why_stop(job_id, ctl)
                if reason is not None:
                    grace = 0.0 if reason[0] == "failed" else self.limits.worker_kill_grace_seconds
                    kill_at = time.monotonic() + grace
                    log.warning("worker stopping job=%s reason=%s grace_s=%.0f", job_id, reason[0], grace)
            if kill_at is not None and time.monotonic() >= kill_at:
                _kill(proc)
                break
        proc.join()
        return self._outcome(job_id, proc, reason)

    def _why_stop(self, job_id: str, ctl: jobs.Control) -> tuple[str, str] | None:
        if self._stop.is_set():
            return "failed", SHUTDOWN
        if ctl.cancel_requested:
            with self.services.db.session() as s:
                return "cancelled", jobs.cancel_message(s, job_id)
        if ctl.deadline_at is not None and utcnow() >= ctl.deadline_at:
            return "timed_out", (f"stopped: the job ran past its run-time limit of "
                                 f"{self.limits.max_job_seconds:g} s (ingest.max_job_seconds); its process was killed")
        return None

    def _outcome(self, job_id: str, proc: BaseProcess, reason: tuple[str, str] | None) -> str:
        with self.services.db.session() as s:
            job = s.get(IngestJob, job_id)
            state = job.state if job is not None else "missing"
        if state in jobs.FINISHED:  # the job process recorded its own end (also a cooperative stop)
            log.info("worker job done job=%s state=%s exit=%s", job_id, state, proc.exitcode)
            return state
        final, message = reason or ("failed", f"the job process died (exit code {proc.exitcode})")
        jobs.record_stop(self.services.db, self.services.store, job_id, final, message)
        return final

    def close(self) -> None:
        self.services.close()


def _kill(proc: BaseProcess) -> None:
    """SIGTERM, then SIGKILL if the process is still there a moment later."""
    proc.terminate()
    proc.join(2.0)
    if proc.is_alive():
        proc.kill()


def _job_main(settings: Settings, job_id: str) -> None:
    """The job process: run one claimed job and record how it ended."""
    from qa_service.cli.common import setup_logging
    from qa_service.ingest.pipeline import JobStopped, run_ingest

    setup_logging(settings.log_level)
    with contextlib.suppress(ImportError):
        import torch

        torch.set_num_threads(settings.ingest.worker_threads)
    services = Services(settings, migrate=False)
    try:
        with services.db.session() as s:
            job = s.get(IngestJob, job_id)
            if job is None:
                return
            paths, tenant, mode, publish, actor, parent = ([Path(p) for p in job.paths], job.tenant, job.mode,
                                                           job.publish, job.created_by, job.parent_version)
        watch = _Watch(services, job_id)
        try:
            run_ingest(services, paths, tenant, mode=mode, publish=publish, actor=actor,  # type: ignore[arg-type]
                       progress=watch.progress, job_id=job_id, stop=watch.stop, parent=parent)
        except JobStopped as exc:
            _finish(services, job_id, exc.reason, str(exc))
        except Exception as exc:
            log.exception("ingest job failed job=%s", job_id)
            _finish(services, job_id, "failed", f"{type(exc).__name__}: {exc}")
    finally:
        services.close()


def _finish(services: Services, job_id: str, state: str, message: str) -> None:
    """Record the job's end state (run_ingest has already failed the job and its draft, if it had one)."""
    with services.db.session() as s:
        job = s.get(IngestJob, job_id)
        if job is None:
            return
        if job.state in ("running", "queued", "failed"):
            if not any(e.get("error", "").endswith(message) for e in job.errors or []):
                job.errors = [*list(job.errors or []), {"source": None, "error": message}]
            job.state = state
            job.finished_at = job.finished_at or utcnow()
            job.lease_until = None


class _Watch:
    """The job process's view of its row: progress written at most every second, cancel read twice a second."""

    def __init__(self, services: Services, job_id: str) -> None:
        self.services, self.job_id = services, job_id
        self._saved = 0.0
        self._checked = 0.0

    def progress(self, done: int, total: int, label: str) -> None:
        now = time.monotonic()
        if now - self._saved < 1.0 and done != total:
            return
        self._saved = now
        with self.services.db.session() as s:
            job = s.get(IngestJob, self.job_id)
            if job is not None:
                job.done = done

    def stop(self) -> Any:
        from qa_service.ingest.pipeline import JobStopped

        now = time.monotonic()
        if now - self._checked < 0.5:
            return None
        self._checked = now
        with self.services.db.session() as s:
            job = s.get(IngestJob, self.job_id)
            if job is not None and job.cancel_requested_at is not None:
                return JobStopped(jobs.cancel_message(s, self.job_id), "cancelled")
        return None


def watch_parent(worker: Worker, parent: int, every_s: float = 1.0) -> threading.Thread:
    """Stop ``worker`` when its process's parent is no longer ``parent`` (it died without stopping it: a
    ``qa serve`` killed or ended by its server's own signal handling left its worker running, orphaned)."""

    def watch() -> None:
        while not worker._stop.wait(every_s):
            if os.getppid() != parent:
                log.warning("worker parent gone parent=%s: stopping", parent)
                worker.stop()
                return

    t = threading.Thread(target=watch, name="qa-worker-parent", daemon=True)
    t.start()
    return t


def worker_main(settings: Settings, once: bool = False, parent: int | None = None) -> int:
    """Entry point of a worker process: SIGTERM/SIGINT stop it after the running job is stopped; with ``parent``
    (the ``qa serve`` that started it) it also stops when that process is gone."""
    from qa_service.cli.common import setup_logging

    setup_logging(settings.log_level)
    worker = Worker(settings)
    if parent is not None:
        watch_parent(worker, parent)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("worker signal=%s", signum)
        worker.stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return worker.run(once=once)
    finally:
        worker.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class WorkerProcess:
    """One worker in a subprocess (what ``qa serve`` starts); ``stop`` ends it and its job."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.proc: BaseProcess | None = None

    def start(self) -> WorkerProcess:
        self.proc = _SPAWN.Process(target=worker_main, args=(self.settings, False, os.getpid()), name="qa-worker")
        self.proc.start()
        log.info("worker process started pid=%s", self.proc.pid)
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc is None or not self.proc.is_alive():
            return
        self.proc.terminate()  # SIGTERM: the worker stops its job (if any) and exits
        self.proc.join(timeout)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        log.info("worker process stopped pid=%s exit=%s", self.proc.pid, self.proc.exitcode)

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
