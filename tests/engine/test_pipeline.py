from __future__ import annotations

import threading
import time

import pytest

from imgrestore.engine.pipeline import JobResult, run_pipeline


def _fail_on(bad: int, stage: str):
    def stage_fn(job, value=None):
        if job == bad:
            raise ValueError(f"{stage} failed for {job}")
        return job if value is None else value

    return stage_fn


def test_all_jobs_in_order_and_stages_overlap() -> None:
    log: list[tuple[str, int, float]] = []
    lock = threading.Lock()

    def stage(name: str, seconds: float):
        def fn(job, value=None):
            with lock:
                log.append((name + "-start", job, time.perf_counter()))
            time.sleep(seconds)
            with lock:
                log.append((name + "-end", job, time.perf_counter()))
            return (value or []) + [name]

        return fn

    seen: list[JobResult] = []
    results = run_pipeline(
        range(6), read=stage("read", 0.05), process=stage("process", 0.05),
        write=stage("write", 0.05), on_result=seen.append,
    )
    assert [r.job for r in results] == list(range(6)) == [r.job for r in seen]
    assert all(r.ok and r.value == ["read", "process", "write"] for r in results)
    # reading job 1 happened while job 0 was being processed (prefetch)
    t = {(name, job): when for name, job, when in log}
    assert t[("read-start", 1)] < t[("process-end", 0)]
    assert t[("write-start", 0)] < t[("process-end", 1)]


@pytest.mark.parametrize("stage", ["read", "process", "write"])
def test_one_bad_job_does_not_stop_the_others(stage: str) -> None:
    fns = {"read": _fail_on(-1, "read"), "process": _fail_on(-1, "process"),
           "write": _fail_on(-1, "write")}
    fns[stage] = _fail_on(2, stage)
    results = run_pipeline(range(5), **fns)
    assert [r.ok for r in results] == [True, True, False, True, True]
    bad = results[2]
    assert isinstance(bad.error, ValueError) and bad.value is None
    assert str(bad.error) == f"{stage} failed for 2"
    assert [r.value for r in results if r.ok] == [0, 1, 3, 4]


def test_fail_fast_stops_new_jobs() -> None:
    read_jobs: list[int] = []

    def read(job):
        read_jobs.append(job)
        return job

    results = run_pipeline(range(100), read, _fail_on(3, "process"), _fail_on(-1, "write"),
                           fail_fast=True)
    assert [r.ok for r in results] == [True, True, True, False]
    assert len(read_jobs) < 10


def test_keyboard_interrupt_writes_what_is_done_and_joins() -> None:
    written: list[int] = []
    before = threading.active_count()

    def process(job, value):
        if job == 3:
            raise KeyboardInterrupt
        return value

    def write(job, value):
        time.sleep(0.02)
        written.append(job)

    with pytest.raises(KeyboardInterrupt):
        run_pipeline(range(1000), lambda j: j, process, write)
    assert written == [0, 1, 2]
    assert threading.active_count() == before


def test_errors_of_the_job_source_and_callback_are_raised() -> None:
    def jobs():
        yield 1
        raise OSError("folder vanished")

    with pytest.raises(OSError, match="vanished"):
        run_pipeline(jobs(), lambda j: j, lambda j, v: v, lambda j, v: v)

    def on_result(result):
        raise TypeError("bug in the callback")

    with pytest.raises(TypeError, match="callback"):
        run_pipeline(range(3), lambda j: j, lambda j, v: v, lambda j, v: v, on_result)


def test_prefetch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="prefetch"):
        run_pipeline([], lambda j: j, lambda j, v: v, lambda j, v: v, prefetch=0)


def test_the_pipeline_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = ("import sys; from imgrestore.engine import run_pipeline, JobResult; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
