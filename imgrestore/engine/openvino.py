"""OpenVINO on the CPU: the network converted once, each tile shape compiled once, both cached.

Why OpenVINO: on the CPU it runs these networks 1.5-2x faster than eager PyTorch at fp32
(within 2e-6), and 4-9x faster in bf16 on CPUs with AMX (docs/performance.md). Its PyTorch
frontend converts the module directly (TorchScript trace; no ONNX file, no extra package).

How:

1. The network is traced once (TorchScript, as OpenVINO does for modules; ``torch.export``
   where tracing fails) with free height and width and converted to OpenVINO's model
   format, kept as ``model.xml``/``model.bin``.
2. The tiler cuts equal tiles, so each tile shape is compiled statically
   (``reshape`` to ``1 x C x H x W``, then ``compile_model`` with the precision set
   explicitly: OpenVINO would otherwise pick bf16 by itself on AMX CPUs). The compiled
   model is exported next to it and imported by later runs; in one process each shape is
   compiled once, so the second photo of a batch pays nothing.
3. In bf16, the operation types the family keeps in fp32 (``fp32_ops``: ``Add`` for
   MPRNet, its residual stream) are marked with the IR attribute
   ``DisablePrecisionConversion``, which the CPU plugin honours per operation. OpenVINO's
   Python API cannot set that attribute, so it is written into the model's IR
   (:func:`keep_in_fp32`).

Cache (``$IMGRESTORE_HOME/compiled/``)::

    openvino-<runtime version>/<model digest>/model.xml, model.bin
    openvino-<runtime version>/<model digest>/<1x3x528x528>-<f32|bf16[+f32Add]>-<cpu>.blob

The model digest is the sha256 of the network's class, source file, structure and
weights (:func:`model_digest`), so fine-tuned weights and code changes get their own
entries. At most :data:`KEEP_SHAPES` compiled shapes are kept per model (least recently
used are removed).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import logging
import os
import platform
import tempfile
import threading
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from torch import nn

#: OpenVINO's name of each precision.
OV_PRECISIONS = {"fp32": "f32", "bf16": "bf16"}
#: Compiled tile shapes kept on disk per model and runtime version.
KEEP_SHAPES = 12
_EXAMPLE_SIDE = 64


class BackendUnavailableError(RuntimeError):
    """OpenVINO is not installed, or could not convert or compile this network."""


def runtime_version() -> str | None:
    """The installed OpenVINO version (``2026.4.1``), or None when it is not installed."""
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover - Python < 3.8
        return None
    try:
        return version("openvino")
    except PackageNotFoundError:
        return None


def model_digest(net: nn.Module) -> str:
    """sha256 of what the converted model depends on: class, its source, structure, weights."""
    h = hashlib.sha256()
    cls = type(net)
    h.update(f"{cls.__module__}.{cls.__qualname__}\n".encode())
    with contextlib.suppress(OSError, TypeError):
        h.update(Path(inspect.getfile(cls)).read_bytes())
    h.update(repr(net).encode())
    for name, tensor in net.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}\n".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


@functools.cache
def cpu_signature() -> str:
    """A short name for this CPU's kind (compiled models are specific to it)."""
    from imgrestore.engine.devices import cpu_bf16

    name = platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="ascii",
                                             errors="replace") as f:
        for line in f:
            if line.lower().startswith("model name"):
                name = line.partition(":")[2].strip()
                break
    text = f"{platform.machine()}|{name}|{cpu_bf16()}"
    return hashlib.sha256(text.encode()).hexdigest()[:10]


class _FinalImage(torch.nn.Module):
    """The network with its final image as the only output (MPRNet returns its stages)."""

    def __init__(self, net: nn.Module, returns_stages: bool) -> None:
        super().__init__()
        self.net = net
        self.returns_stages = returns_stages

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        return out[0] if self.returns_stages else out


class OpenVINOForward:
    """``fn(batch) -> batch`` running ``net`` through OpenVINO on the CPU, tile by tile.

    ``batch`` is ``(N, C, H, W)`` float32 on the CPU (padded to ``multiple`` like
    :func:`imgrestore.archs.restore` does; the tiler's tiles already are); the result is the
    network's final image, float32, cropped back to ``H x W``.

    Raises :class:`BackendUnavailableError` when OpenVINO is missing or cannot convert ``net``.
    """

    def __init__(
        self,
        net: nn.Module,
        *,
        in_channels: int,
        returns_stages: bool,
        multiple: int = 1,
        precision: str,
        cache_dir: Path,
        threads: int | None = None,
        notify: Callable[[str], None] | None = None,
        name: str = "network",
        keep_shapes: int = KEEP_SHAPES,
        fp32_ops: Sequence[str] = (),
    ) -> None:
        version = runtime_version()
        if version is None:
            raise BackendUnavailableError("the openvino package is not installed")
        if precision not in OV_PRECISIONS:
            raise BackendUnavailableError(f"precision {precision} is not available with OpenVINO")
        import openvino as ov

        self._ov = ov
        self._core = ov.Core()
        self.net = _FinalImage(net, returns_stages).eval()
        self.in_channels = in_channels
        self.multiple = multiple
        self.precision = precision
        self.name = name
        self.keep_shapes = keep_shapes
        self.notify = notify or (lambda message: None)
        #: OpenVINO operation types kept in fp32 in a low precision (none at fp32).
        self.fp32_ops = tuple(sorted(fp32_ops)) if precision != "fp32" else ()
        self.config: dict[str, Any] = {
            "INFERENCE_PRECISION_HINT": OV_PRECISIONS[precision],
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": 1,
            "INFERENCE_NUM_THREADS": int(threads or torch.get_num_threads()),
        }
        self.folder = Path(cache_dir) / f"openvino-{version}" / model_digest(net)[:32]
        self._model: Any = None
        self._marked: Any = None
        self._compiled: dict[tuple[int, ...], Any] = {}
        self._lock = threading.Lock()

    # --- the forward ------------------------------------------------------------------------

    def prepare(self) -> None:
        """Convert the network now (or read it from the cache), not at the first tile."""
        with self._lock:
            self._network()

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        from imgrestore.archs.sizing import pad_to_multiple

        h, w = batch.shape[-2:]
        padded = pad_to_multiple(batch.float(), self.multiple)
        outs = []
        for tile in padded.unbind(0):
            compiled = self.compiled_for((1, *tile.shape))
            result = compiled(tile[None].contiguous().numpy())
            outs.append(torch.from_numpy(next(iter(result.values())).copy()))
        return torch.cat(outs, 0)[..., :h, :w]

    def compiled_for(self, shape: tuple[int, ...]) -> Any:
        """The compiled model for input ``shape`` (from memory, the disk cache, or compiled)."""
        shape = tuple(int(s) for s in shape)
        with self._lock:
            found = self._compiled.get(shape)
            if found is None:
                found = self._compiled[shape] = self._load_or_compile(shape)
            return found

    # --- the cache ----------------------------------------------------------------------------

    def blob_path(self, shape: tuple[int, ...]) -> Path:
        dims = "x".join(str(s) for s in shape)
        kept = "".join(f"+f32{op}" for op in self.fp32_ops)
        precision = OV_PRECISIONS[self.precision] + kept
        return self.folder / f"{dims}-{precision}-{cpu_signature()}.blob"

    def _load_or_compile(self, shape: tuple[int, ...]) -> Any:
        blob = self.blob_path(shape)
        if blob.is_file():
            try:
                compiled = self._core.import_model(blob.read_bytes(), "CPU", self.config)
                blob.touch()
                return compiled
            except Exception:  # a damaged or foreign blob: compile again
                blob.unlink(missing_ok=True)
        model = self._precision_marked().clone()
        model.reshape({model.inputs[0]: self._ov.PartialShape(list(shape))})
        try:
            compiled = self._core.compile_model(model, "CPU", self.config)
        except Exception as error:
            message = f"could not compile a {'x'.join(map(str, shape))} tile: {one_line(error)}"
            raise BackendUnavailableError(message) from error
        with contextlib.suppress(OSError):
            _atomic_write(blob, _blob_bytes(compiled.export_model()))
            self._evict()
        return compiled

    def _precision_marked(self) -> Any:
        """The converted network with :attr:`fp32_ops` marked to stay in fp32."""
        if not self.fp32_ops:
            return self._network()
        if self._marked is None:
            self._marked = keep_in_fp32(self._core, self._network(), self.fp32_ops)
        return self._marked

    def _network(self) -> Any:
        """The converted network (free height and width): from the cache or converted now."""
        if self._model is not None:
            return self._model
        xml = self.folder / "model.xml"
        if xml.is_file() and xml.with_suffix(".bin").is_file():
            try:
                self._model = self._core.read_model(str(xml))
                return self._model
            except Exception:
                pass
        self.notify(f"{self.name}: converting for OpenVINO (once; kept in {self.folder})")
        self._model = self._convert()
        with contextlib.suppress(OSError):
            self._save(self._model, xml)
        return self._model

    def _convert(self) -> Any:
        """Trace the network (OpenVINO's own way for modules; several times faster than
        ``torch.export``, which is the fallback where TorchScript tracing fails)."""
        ov = self._ov
        side = max(_EXAMPLE_SIDE, 8 * self.multiple)
        example = torch.rand(1, self.in_channels, side, side)
        free = ov.PartialShape([1, self.in_channels, -1, -1])
        with torch.no_grad(), _quiet_tracer(), _root_log_level_kept():
            try:
                captured = _trace(self.net, example)
                if captured is not None:
                    return ov.convert_model(captured, example_input=example, input=[free])
                return ov.convert_model(self._export(example))
            except Exception as error:
                message = f"could not convert the network: {one_line(error)}"
                raise BackendUnavailableError(message) from error

    def _export(self, example: torch.Tensor) -> Any:
        """``torch.export`` with height and width free in multiples of the size multiple."""
        dims = {
            axis: torch.export.Dim(name, min=1, max=4096) * self.multiple
            for axis, name in ((2, "height"), (3, "width"))
        }
        return torch.export.export(self.net, (example,), dynamic_shapes={"x": dims})

    def _save(self, model: Any, xml: Path) -> None:
        """Write ``model.xml``/``.bin`` atomically (a temporary folder, then renames)."""
        xml.parent.mkdir(parents=True, exist_ok=True)
        tmp = xml.parent / f".tmp-{uuid.uuid4().hex}"
        try:
            self._ov.save_model(model, str(tmp / "model.xml"), compress_to_fp16=False)
            os.replace(tmp / "model.bin", xml.with_suffix(".bin"))
            os.replace(tmp / "model.xml", xml)
        finally:
            for leftover in tmp.glob("*") if tmp.exists() else ():
                leftover.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                tmp.rmdir()

    def _evict(self) -> None:
        blobs = sorted(self.folder.glob("*.blob"), key=lambda p: p.stat().st_mtime,
                       reverse=True)
        for old in blobs[self.keep_shapes:]:
            old.unlink(missing_ok=True)


#: The IR attribute that keeps an operation in its original precision (``from:to`` pairs;
#: ``dynamic`` means any): OpenVINO's ``ov::disable_conversion``, honoured by the CPU plugin.
KEEP_PRECISION = {"name": "DisablePrecisionConversion", "version": "0",
                  "value": "dynamic:dynamic"}


def keep_in_fp32(core: Any, model: Any, op_types: Sequence[str]) -> Any:
    """A copy of ``model`` whose operations of ``op_types`` (``Add``) the CPU plugin runs in
    fp32 whatever the inference precision: the attribute is added to their layers in the
    model's IR (the Python API has no setter for it), then the IR is read back."""
    import openvino as ov

    with tempfile.TemporaryDirectory(prefix="imgrestore-ov-") as tmp:
        xml = Path(tmp) / "model.xml"
        ov.save_model(model, str(xml), compress_to_fp16=False)
        tree = ElementTree.parse(xml)
        weights = xml.with_suffix(".bin").read_bytes()
    for layer in tree.getroot().iter("layer"):
        if layer.get("type") in op_types:
            info = layer.find("rt_info")
            if info is None:
                info = ElementTree.SubElement(layer, "rt_info")
            ElementTree.SubElement(info, "attribute", KEEP_PRECISION)
    return core.read_model(ElementTree.tostring(tree.getroot()), weights)


def _trace(net: torch.nn.Module, example: torch.Tensor) -> Any:
    """The TorchScript trace of ``net``, or None where tracing fails (or is gone)."""
    trace = getattr(getattr(torch, "jit", None), "trace", None)
    if trace is None:
        return None
    try:
        return trace(net, example, check_trace=False)
    except Exception:
        return None


def one_line(error: BaseException) -> str:
    """The informative line of an OpenVINO error (its messages start with a source location)."""
    lines = [line.strip(" -") for line in str(error).splitlines() if line.strip(" -")]
    for line in lines:
        if "aten::" in line or "operation" in line.lower():
            return line[:200]
    useful = [line for line in lines if not line.startswith("Check ")]
    return (useful or lines or [type(error).__name__])[-1][:200]


def _blob_bytes(exported: Any) -> bytes:
    """``export_model()`` returns bytes in recent OpenVINO, a stream in older ones."""
    if isinstance(exported, bytes):
        return exported
    getvalue = getattr(exported, "getvalue", None)
    return getvalue() if getvalue is not None else bytes(exported)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _quiet_tracer():
    """Tracing warns about Python ints taken from shapes; the conversion keeps them dynamic."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield



@contextlib.contextmanager
def _root_log_level_kept() -> Any:
    """OpenVINO's PyTorch front end sets the root logger to ERROR when a conversion fails,
    which would silence every later warning (the image libraries' notes among them)."""
    level = logging.root.level
    try:
        yield
    finally:
        logging.root.setLevel(level)


__all__ = ["BackendUnavailableError", "OpenVINOForward", "keep_in_fp32", "model_digest",
           "runtime_version"]
