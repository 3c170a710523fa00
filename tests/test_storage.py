"""Local paths and fsspec URLs: naming, listing, complete writes (through
:func:`imgrestore.files.atomic_write`), and a batch round trip."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from imgrestore import storage
from imgrestore.errors import UsageError
from imgrestore.files import atomic_write

PHOTOS = Path(__file__).parent / "data" / "photos"

upath = pytest.importorskip("upath", reason="needs the fsspec extra (universal-pathlib)")


@pytest.fixture
def bucket() -> str:
    """A fresh folder in fsspec's in-memory object store."""
    return f"memory://bucket-{uuid.uuid4().hex[:8]}"


def test_paths_and_file_urls_stay_local_paths(tmp_path: Path) -> None:
    assert storage.location("photos/a.jpg") == Path("photos/a.jpg")
    assert storage.location(f"file://{tmp_path}/a.jpg") == tmp_path / "a.jpg"
    assert not storage.is_url("C:/photos") and storage.is_url("s3://bucket/a.jpg")
    remote = storage.location("memory://bucket/in/a.jpg")
    assert storage.is_remote(remote) and str(remote) == "memory://bucket/in/a.jpg"
    assert remote.stem == "a" and str(remote.parent / "b.png") == "memory://bucket/in/b.png"


def test_unknown_protocol_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="nosuchfs://x"):
        storage.location("nosuchfs://x/a.jpg")


def test_listing_existence_and_complete_uploads(bucket: str) -> None:
    folder = storage.location(f"{bucket}/in")
    for name in ("b.jpg", "a.jpg", "sub/c.jpg"):
        atomic_write(folder / name, name.encode())
    names = ["a.jpg", "b.jpg"]
    assert [p.name for p in storage.files_in(folder, recursive=False)] == names
    assert str(storage.files_in(folder, recursive=True)[-1]) == f"{bucket}/in/sub/c.jpg"
    assert [p.name for p in storage.glob(f"{bucket}/in/*.jpg", recursive=False)] == names
    exists = storage.Existing()
    assert exists(folder / "a.jpg") and not exists(folder / "z.jpg")
    assert not exists(storage.location(f"{bucket}/nothing/a.jpg"))
    assert (folder / "sub" / "c.jpg").read_bytes() == b"sub/c.jpg"


def test_batch_round_trip_through_fsspec_matches_the_local_run(bucket: str, tmp_path: Path) -> None:
    """memory:// in and out (fsspec's object store) gives the local run's bytes and report."""
    from imgrestore.batch.run import Request, Step, run

    local_in = tmp_path / "in"
    shutil.copytree(PHOTOS, local_in)
    (local_in / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    (local_in / "notes.txt").write_text("sidecar")
    for path in sorted(local_in.iterdir()):
        atomic_write(storage.location(f"{bucket}/in/{path.name}"), path.read_bytes())

    def request(inputs: str, output: str) -> Request:
        return Request(steps=(Step("denoise", model="builtin"),), inputs=(inputs,), output=output)

    local = run(request(str(local_in), str(tmp_path / "out")))
    remote = run(request(f"{bucket}/in", f"{bucket}/out"))

    def entries(report, root: str) -> list[tuple]:
        return [(r.input.replace(root, ""), (r.output or "").replace(root, ""), r.status,
                 (r.error or "").replace(root, ""), r.notes) for r in report.results]

    assert entries(remote, bucket) == entries(local, str(tmp_path))
    assert remote.counts()["done"] == len(list(PHOTOS.iterdir()))
    assert remote.ignored == [f"{bucket}/in/notes.txt"]
    for result in local.results:
        if result.status == "done":
            name = Path(result.output).name
            assert storage.location(f"{bucket}/out/{name}").read_bytes() == Path(
                result.output).read_bytes()
    again = run(request(f"{bucket}/in", f"{bucket}/out"))  # resumes: finished outputs skipped
    assert again.counts() == {"skipped": len(list(PHOTOS.iterdir())), "failed": 1}
