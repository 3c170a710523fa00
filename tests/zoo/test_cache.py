"""Cache location, offline switches, and all-or-nothing folder writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from platformdirs import user_cache_dir

from imgrestore.zoo import cache


def test_home_from_environment(home: Path) -> None:
    assert cache.home() == home
    assert cache.model_dir("mprnet_deraining") == home / "models" / "mprnet_deraining"


def test_home_defaults_to_user_cache_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMGRESTORE_HOME", raising=False)
    assert cache.home() == Path(user_cache_dir("imgrestore", appauthor=False))


@pytest.mark.parametrize("bad", ["", ".staging-x", "../x", "a/b"])
def test_model_dir_refuses_non_names(home: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        cache.model_dir(bad)


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, False), ({"IMGRESTORE_OFFLINE": "1"}, True), ({"HF_HUB_OFFLINE": "1"}, True),
     ({"HF_HUB_OFFLINE": "true"}, True), ({"IMGRESTORE_OFFLINE": "0"}, False)],
)
def test_offline(home: Path, monkeypatch: pytest.MonkeyPatch, env: dict, expected: bool) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert cache.offline() is expected


def test_staging_dir_replaces_target_only_on_success(home: Path) -> None:
    target = cache.model_dir("m")
    with cache.staging_dir(target) as staging:
        (staging / "a").write_text("one")
    assert (target / "a").read_text() == "one"

    with pytest.raises(RuntimeError), cache.staging_dir(target) as staging:
        (staging / "a").write_text("half-written")
        raise RuntimeError("interrupted")
    assert (target / "a").read_text() == "one"
    assert [p.name for p in cache.models_dir().iterdir()] == ["m"]

    with cache.staging_dir(target) as staging:
        (staging / "b").write_text("two")
    assert [p.name for p in target.iterdir()] == ["b"]
    assert cache.cached_dirs() == [target]


def test_remove(home: Path) -> None:
    assert cache.remove("m") is False
    cache.model_dir("m").mkdir(parents=True)
    assert cache.remove("m") is True
    assert list(cache.models_dir().iterdir()) == []


def test_sha256_file(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    assert cache.sha256_file(p) == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_failed_download_is_remembered_for_a_while(home: Path) -> None:
    import os
    import time

    assert cache.recent_failure("mprnet_deblurring") is None
    cache.note_failure("mprnet_deblurring", "https://x/y.pth: download failed (refused)\nmore")
    ago, reason = cache.recent_failure("mprnet_deblurring")
    assert 0 <= ago < 60 and reason == "https://x/y.pth: download failed (refused)"
    assert cache.recent_failure("mprnet_denoising") is None  # per model
    old = time.time() - cache.RETRY_AFTER - 1
    os.utime(home / "failed-downloads" / "mprnet_deblurring", (old, old))
    assert cache.recent_failure("mprnet_deblurring") is None  # too old to count
    cache.forget_failure("mprnet_deblurring")
    cache.forget_failure("mprnet_deblurring")  # forgetting twice is fine
    assert not (home / "failed-downloads" / "mprnet_deblurring").exists()
    assert cache.cached_dirs() == []  # not a model folder


def test_a_verified_file_is_remembered_until_it_changes(home: Path) -> None:
    import hashlib
    import json
    import os

    weights = home / "w.bin"
    home.mkdir()
    weights.write_bytes(b"weights" * 1000)
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert cache.matches_sha256(weights, digest)
    (entry,) = json.loads(cache.verified_file().read_text()).values()
    st = weights.stat()
    assert entry == {"sha256": digest,
                     "stamp": [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]}
    assert cache.matches_sha256(weights, digest)  # from memory
    assert not cache.matches_sha256(weights, "0" * 64)  # another hash is never taken as it
    # Three bytes flipped in place, size and modification time put back as they were:
    # the change time still differs, so the file is hashed again and found corrupt.
    data = bytearray(weights.read_bytes())
    data[100:103] = b"XYZ"
    with open(weights, "r+b") as f:
        f.write(data)
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert weights.stat().st_size == st.st_size and weights.stat().st_mtime_ns == st.st_mtime_ns
    assert not cache.matches_sha256(weights, digest)
    assert json.loads(cache.verified_file().read_text()) == {}  # forgotten


def test_the_memory_forgets_files_that_are_gone(home: Path) -> None:
    import hashlib
    import json

    home.mkdir()
    for name in ("a", "b"):
        (home / name).write_bytes(name.encode())
        assert cache.matches_sha256(home / name, hashlib.sha256(name.encode()).hexdigest())
    (home / "a").unlink()
    (home / "c").write_bytes(b"c")
    assert cache.matches_sha256(home / "c", hashlib.sha256(b"c").hexdigest())
    assert sorted(Path(k).name for k in json.loads(cache.verified_file().read_text())) == [
        "b", "c"]
