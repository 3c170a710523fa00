"""A Hugging Face cache laid out by hand, for tests that run huggingface_hub offline."""

from __future__ import annotations

import hashlib
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def hf_cache_files(root: Path, repo_id: str, files: dict[str, bytes], *,
                   commit: str = COMMIT) -> None:
    """Lay out ``files`` as huggingface_hub caches a downloaded repository at ``commit``
    (``refs/main`` points at it)."""
    repo = root / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir(exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    for name, data in files.items():
        blob = hashlib.sha256(data).hexdigest()
        (repo / "blobs" / blob).write_bytes(data)
        (snapshot / name).symlink_to(Path("..", "..", "blobs", blob))
