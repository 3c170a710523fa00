"""Ray for imgrestore: joining a cluster, an actor pool that streams items, models sent once.

Shared by batches (:mod:`imgrestore.batch.cluster`: files restored by a pool of workers)
and evaluation (:mod:`imgrestore.evaluation.cluster`: image pairs measured by one):

- :class:`RayOptions` says where (``--ray [ADDRESS]``) and how wide; :func:`pool_shape`
  turns it and the cluster's resources into an actor pool: one GPU per actor where the
  cluster has GPUs, else ``cpus_per_worker`` CPU threads each.
- :func:`open_pool` starts or joins Ray for one run (:func:`connected`, Ray Data
  quiet) and sends the driver's resolved, verified models once
  (:mod:`imgrestore.zoo.portable`): the weights go into Ray's object store (fetched once
  per node) unless a worker sees the very file they were loaded from.
- :meth:`Pool.map` streams items to a pool of :class:`PoolActor` s with Ray Data
  (``ActorPoolStrategy``, :func:`map_on_ray`) and yields each result once, as it
  finishes. A worker that dies is restarted and its items tried again, up to
  ``max_retries`` times.

Ray is imported only when a run uses it (``imgrestore[ray]``); this module is torch-free.
``torchrun`` stays the road for training (:mod:`imgrestore.distributed`).
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from imgrestore.errors import ImgRestoreError, UsageError

if TYPE_CHECKING:
    from imgrestore.zoo.loading import LoadedModel
    from imgrestore.zoo.portable import PackedModel

#: ``--ray`` without an address: start a Ray instance on this machine for this run.
LOCAL = "local"
_ADDRESS = re.compile(r"^(auto|local|ray://[^\s/]+(:\d+)?|[\w.-]+:\d+)$")
#: CPU threads of one CPU worker when neither the workers nor their CPUs are given.
DEFAULT_CPUS_PER_WORKER = 4
#: At most this many jobs per Ray Data block: the work a lost worker redoes at most.
MAX_BLOCK = 16
#: At least this many blocks per worker, so the pool keeps busy until the end.
BLOCKS_PER_WORKER = 8


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide a batch (or an evaluation) runs on Ray."""

    #: ``local`` (start Ray here), ``auto`` (the cluster this machine belongs to),
    #: ``ray://HOST:PORT`` (Ray Client) or ``HOST:PORT`` (the head's GCS).
    address: str = LOCAL
    #: Actors in the pool; None: as many as the cluster's GPUs (or CPUs) allow.
    workers: int | None = None
    #: CPU threads per actor on CPU workers (and CPUs reserved per GPU worker).
    cpus_per_worker: int | None = None
    #: Times a file is tried again after its worker was lost.
    max_retries: int = 3
    #: CPUs of a Ray instance started here (default: all of this machine's).
    num_cpus: int | None = None

    def __post_init__(self) -> None:
        if not _ADDRESS.match(self.address):
            raise UsageError(
                f"--ray {self.address}: not a Ray address (use auto, ray://HOST:PORT or "
                "HOST:PORT; plain --ray, written after the inputs, starts Ray here)"
            )
        for name in ("workers", "cpus_per_worker", "num_cpus"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UsageError(f"--ray: {name.replace('_', ' ')} must be at least 1")
        if self.max_retries < 0:
            raise UsageError("--ray: max retries must be 0 or more")


@dataclass(frozen=True)
class PoolShape:
    """The actor pool: how many actors, and what each one reserves."""

    workers: int | None  # None: autoscale from 1 up to what the cluster holds
    cpus: float
    gpus: float
    threads: int | None

    def describe(self) -> str:
        count = "autoscaling" if self.workers is None else str(self.workers)
        kind = "GPU" if self.gpus else f"{self.cpus:g}-CPU"
        return f"ray, {count} {kind} workers"


def parse_ray_options(
    address: str | None, *, workers: int | None = None, cpus_per_worker: int | None = None,
    max_retries: int = 3,
) -> RayOptions | None:
    """The options ``--ray``, ``--ray-workers``, ``--ray-cpus`` and ``--ray-retries`` give
    (None: no ``--ray``), checked once."""
    if address is None:
        if workers is not None or cpus_per_worker is not None:
            raise UsageError("--ray-workers and --ray-cpus go with --ray")
        return None
    return RayOptions(address, workers=workers, cpus_per_worker=cpus_per_worker,
                      max_retries=max_retries)


@dataclass(frozen=True)
class Pool:
    """Ray connected for one run, the driver's models sent to it once, and the shape of
    the actor pool the cluster holds."""

    ray: Any
    options: RayOptions
    shape: PoolShape
    models: list[PackedModel]
    weights: list[Any]

    def map(self, items: Sequence[Any], actor: type[PoolActor],
            **kwargs: Any) -> Iterator[tuple[int, Any]]:
        """``(index, result)`` of every item as it finishes (:func:`map_on_ray`); each
        actor is built with the models and its threads, and ``kwargs``."""
        kwargs = {"models": self.models, "weights": self.weights,
                  "threads": self.shape.threads, **kwargs}
        return map_on_ray(self.ray, items, actor, kwargs, self.shape, self.options.max_retries)


@contextmanager
def open_pool(options: RayOptions, models: list[LoadedModel], device: str) -> Iterator[Pool]:
    """Ray started or joined for the block (:func:`connected`), ``models`` (resolved and
    verified by the driver) sent once, the pool shaped for ``device`` (``--device``)."""
    ray = import_ray()
    with connected(ray, options):
        packed, weights = send_models(ray, models)
        shape = pool_shape(ray.cluster_resources(), options, device)
        yield Pool(ray, options, shape, packed, weights)


def send_models(ray: Any, loaded: list[LoadedModel]) -> tuple[list[PackedModel], list[Any]]:
    """The models packed for the workers, and their weights put into the object store."""
    from imgrestore.zoo.portable import pack

    packed = [pack(m) for m in loaded]
    return [p for p, _ in packed], [ray.put(data) for _, data in packed]


def map_on_ray(
    ray: Any, items: Sequence[Any], actor: type[PoolActor], kwargs: dict[str, Any],
    shape: PoolShape, max_retries: int,
) -> Iterator[tuple[int, Any]]:
    """``(index, actor.handle(item))`` for every item, as they finish, each index once.

    Items whose worker was lost more than ``max_retries`` times are left out (Ray Data
    drops their block); the caller reports them.
    """
    rows = [{"index": i, "item": pickle.dumps(item)} for i, item in enumerate(items)]
    pool = shape.workers or 1
    blocks = max(-(-len(rows) // MAX_BLOCK), min(len(rows), pool * BLOCKS_PER_WORKER))
    compute = (
        ray.data.ActorPoolStrategy(size=shape.workers) if shape.workers
        else ray.data.ActorPoolStrategy(min_size=1, max_size=None)
    )
    with warnings.catch_warnings():
        # Ray 2.60 takes the retry limits only as "ray_remote_args" (deprecated for 2.64;
        # its default retries a file forever, even one that crashes every worker).
        warnings.simplefilter("ignore", DeprecationWarning)
        ds = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            actor, fn_constructor_kwargs=kwargs, batch_size=1, compute=compute,
            num_cpus=shape.cpus, num_gpus=shape.gpus, max_restarts=-1,
            max_task_retries=max_retries,
        )
    seen: set[int] = set()
    rows_out = ds.iter_rows()
    try:
        for row in rows_out:
            index = int(row["index"])
            if index not in seen:  # a retried block's rows may come twice
                seen.add(index)
                yield index, pickle.loads(row["result"])
    except Exception as error:
        raise _cause(error) from None
    finally:
        close = getattr(rows_out, "close", None)
        if close is not None:
            close()


class PoolActor:
    """A Ray Data actor of the pool: the driver's models received once (``self.loaded``),
    then :meth:`handle` one item at a time."""

    def __init__(self, models: list[PackedModel], weights: list[Any],
                 threads: int | None) -> None:
        set_threads(threads)
        self.loaded = receive_models(models, weights)

    def handle(self, item: Any) -> Any:
        raise NotImplementedError

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"index": [], "result": []}
        for index, blob in zip(batch["index"], batch["item"], strict=True):
            out["index"].append(int(index))
            out["result"].append(pickle.dumps(self.handle(pickle.loads(blob))))
        return out


def receive_models(models: list[PackedModel], weights: list[Any]) -> list[LoadedModel]:
    """In a worker: the driver's models, from a shared file or the object store."""
    import ray

    from imgrestore.zoo.portable import unpack

    return [unpack(m, lambda ref=ref: ray.get(ref)) for m, ref in zip(models, weights,
                                                                      strict=True)]


def set_threads(threads: int | None) -> None:
    """A CPU worker's torch threads: the CPUs Ray reserved for it."""
    if threads:
        import torch

        torch.set_num_threads(threads)


def pool_shape(resources: dict[str, float], options: RayOptions, device: str) -> PoolShape:
    """The pool for a cluster holding ``resources`` (Ray's totals: ``CPU``, ``GPU``)."""
    cpus, gpus = resources.get("CPU", 1.0), resources.get("GPU", 0.0)
    use_gpu = gpus >= 1 and (device == "auto" or device.startswith("cuda"))
    if use_gpu:
        return PoolShape(options.workers, float(options.cpus_per_worker or 1), 1.0,
                         options.cpus_per_worker)
    if options.cpus_per_worker is not None:
        per = options.cpus_per_worker
    elif options.workers is not None:
        per = max(1, int(cpus // options.workers))
    else:
        per = min(DEFAULT_CPUS_PER_WORKER, max(1, int(cpus)))
    return PoolShape(options.workers, float(per), 0.0, per)


@contextmanager
def connected(ray: Any, options: RayOptions) -> Iterator[None]:
    """Ray connected and Ray Data set up for the block (see :func:`_quiet_data`); a
    running connection is reused and left running."""
    if ray.is_initialized():
        with _quiet_data(ray):
            yield
        return
    # Ray's own notices (token authentication, object-store arguments of restartable
    # actors) are not the user's business; its logs keep them.
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    try:
        if options.address == LOCAL:
            ray.init(num_cpus=options.num_cpus, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.ERROR)
        else:
            ray.init(address=options.address, log_to_driver=False, logging_level=logging.ERROR)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UsageError(f"--ray {options.address}: cannot connect ({exc})") from None
    try:
        with _quiet_data(ray):
            yield
    finally:
        ray.shutdown()


@contextmanager
def _quiet_data(ray: Any) -> Iterator[None]:
    """Ray Data settings for one run: no progress output of its own, errored blocks
    dropped (their files are reported as failed) rather than stopping the batch."""
    ctx = ray.data.DataContext.get_current()
    saved = {name: getattr(ctx, name) for name in _DATA_SETTINGS}
    for name, value in _DATA_SETTINGS.items():
        setattr(ctx, name, value)
    logger = logging.getLogger("ray.data")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(ctx, name, value)
        logger.setLevel(level)


_DATA_SETTINGS = {
    "enable_progress_bars": False,
    "enable_operator_progress_bars": False,
    "print_on_execution_start": False,
    "max_errored_blocks": -1,
}


def _cause(error: Exception) -> Exception:
    """The project error behind a Ray error (e.g. a device a worker could not use)."""
    seen: Exception | None = error
    while seen is not None:
        if isinstance(seen, ImgRestoreError):
            return seen
        cause = getattr(seen, "cause", None) or seen.__cause__
        seen = cause if isinstance(cause, Exception) and cause is not seen else None
    return error


def import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise UsageError("--ray needs Ray: pip install 'imgrestore[ray]'") from None
    return ray
