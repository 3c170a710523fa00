from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from imgrestore.errors import ImageError, UsageError
from imgrestore.training.data import (
    EpochSampler,
    TrainSet,
    ValSet,
    center_crop,
    choose_augment,
    detail,
    dihedral,
    find_layout,
    mixup,
    random_crop,
    read_image,
)

from ._tiny import photo, write_clean, write_paired


@pytest.mark.parametrize("target, suffix", [("target", ""), ("groundtruth", ""),
                                            ("target", "_crops")])
def test_paired_layouts(tmp_path: Path, target: str, suffix: str) -> None:
    write_paired(tmp_path, 3, target=target, suffix=suffix)
    layout = find_layout(tmp_path)
    assert layout.paired and not layout.dual_pixel and len(layout) == 3
    for (inp,), tgt in zip(layout.inputs, layout.targets, strict=True):
        assert inp.name == tgt.name and inp.parent.name == f"input{suffix}"


def test_pairs_match_by_name_not_order(tmp_path: Path) -> None:
    write_paired(tmp_path, 2)
    (tmp_path / "input" / "1.png").rename(tmp_path / "input" / "1.jpg.png")
    with pytest.raises(UsageError, match=r"1.png: no input named 1.png"):
        find_layout(tmp_path)
    (tmp_path / "input" / "1.jpg.png").rename(tmp_path / "input" / "1.jpg")  # stem match
    layout = find_layout(tmp_path)
    assert [p.name for (p,) in layout.inputs] == ["0.png", "1.jpg"]


def test_dual_pixel_16_bit(tmp_path: Path) -> None:
    import imagecodecs

    for name in ("inputL_crops", "inputR_crops", "target_crops"):
        (tmp_path / name).mkdir()
    values = {"inputL_crops": 1000, "inputR_crops": 2001, "target_crops": 65535}
    for name, v in values.items():
        samples = np.full((24, 24, 3), v, np.uint16)
        samples[0, 0, 0] = v - 1  # a difference 8 bits would lose
        (tmp_path / name / "a.png").write_bytes(imagecodecs.png_encode(samples))
    layout = find_layout(tmp_path)
    assert layout.dual_pixel
    sample = ValSet(layout)[0]
    assert sample["input"].shape == (6, 24, 24) and sample["target"].shape == (3, 24, 24)
    assert float(sample["input"][0, 1, 1]) == pytest.approx(1000 / 65535, abs=1e-7)
    assert float(sample["input"][0, 0, 0]) == pytest.approx(999 / 65535, abs=1e-7)
    assert float(sample["input"][3, 1, 1]) == pytest.approx(2001 / 65535, abs=1e-7)
    # Both views and the target get the same crop and the same flip/rotation.
    train = TrainSet(layout, patch=8, seed=0)
    for index in range(4):
        item = train[(index, 0)]
        marker = item["input"][0] == float(np.float32(999 / 65535))
        assert torch.equal(marker, item["input"][3] == float(np.float32(2000 / 65535)))


def test_clean_layout_needs_a_degradation(tmp_path: Path) -> None:
    write_clean(tmp_path, 2)
    layout = find_layout(tmp_path)
    assert not layout.paired and len(layout) == 2
    with pytest.raises(UsageError, match="needs data.degradation"):
        TrainSet(layout, patch=8, seed=0)
    with pytest.raises(UsageError, match="expected input/ and target/"):
        find_layout(tmp_path, "paired")
    with pytest.raises(UsageError, match="no such data folder"):
        find_layout(tmp_path / "nope")


def test_unreadable_image_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk" * 10)
    with pytest.raises(ImageError, match="bad.png: truncated PNG file"):
        read_image(bad)


def test_read_8_bit_and_gray(tmp_path: Path) -> None:
    Image.fromarray(photo(0)).save(tmp_path / "rgb.png")
    Image.fromarray(photo(0)[..., 0]).save(tmp_path / "gray.png")
    rgb, gray = read_image(tmp_path / "rgb.png"), read_image(tmp_path / "gray.png")
    assert rgb.dtype == np.float32 and rgb.shape == (40, 40, 3)
    assert np.array_equal(rgb, photo(0) / np.float32(255))
    assert np.array_equal(gray[..., 1], gray[..., 0])


def test_random_crop_same_window_and_padding() -> None:
    rng = np.random.default_rng(0)
    a = np.arange(10 * 12 * 3, dtype=np.float32).reshape(10, 12, 3)
    big = np.repeat(np.repeat(a, 2, axis=0), 2, axis=1)  # a 2x "super-resolution target"
    ca, cb = random_crop([a, a + 1, big], 6, rng)[0], random_crop([a, a + 1], 6, rng)[1]
    assert ca.shape == (6, 6, 3) and cb.shape == (6, 6, 3)
    crops = random_crop([a, big], 4, np.random.default_rng(3))
    assert crops[1].shape == (8, 8, 3)
    assert np.array_equal(crops[1][::2, ::2], crops[0])
    padded = random_crop([a], 16, rng)[0]  # smaller than the patch: reflect-padded
    assert padded.shape == (16, 16, 3)
    assert center_crop(a, 4).shape == (4, 4, 3) and center_crop(a, 0) is a


def test_random_crop_min_detail_prefers_textured_windows() -> None:
    """Left half flat, right half noise: with ``min_detail`` nearly every window has
    detail; without it, about half are flat (and the draws are those of before)."""
    rng = np.random.default_rng(1)
    image = np.full((64, 256, 3), 0.5, np.float32)
    image[:, 128:] = rng.random((64, 128, 3), dtype=np.float32)
    assert detail(image[:, :128]) == 0 and detail(image[:, 128:]) > 0.2

    def textured(min_detail: float, seed: int) -> bool:
        crop = random_crop([image], 32, np.random.default_rng(seed), min_detail=min_detail)[0]
        return detail(crop) > 0.02

    plain = np.mean([textured(0.0, seed) for seed in range(200)])
    chosen = np.mean([textured(0.02, seed) for seed in range(200)])
    assert 0.3 < plain < 0.7 and chosen > 0.95
    draws = np.random.default_rng(5)
    y, x = int(draws.integers(0, 64 - 32 + 1)), int(draws.integers(0, 256 - 32 + 1))
    same = random_crop([image], 32, np.random.default_rng(5), min_detail=0.0, tries=8)[0]
    assert np.array_equal(same, image[y : y + 32, x : x + 32])


def test_dihedral_group() -> None:
    a = np.arange(12, dtype=np.float32).reshape(3, 4, 1)
    views = {dihedral(a, k).tobytes() + bytes(dihedral(a, k).shape) for k in range(8)}
    assert len(views) == 8
    assert np.array_equal(dihedral(a, 0), a)
    counts = Counter(choose_augment("mprnet9", np.random.default_rng(s)) for s in range(9000))
    assert set(counts) == set(range(8))
    assert counts[0] == pytest.approx(2000, rel=0.1) and counts[5] == pytest.approx(1000, rel=0.1)
    assert choose_augment("none", np.random.default_rng(0)) == 0


def test_train_samples_are_keyed_by_epoch_and_index(tmp_path: Path) -> None:
    write_clean(tmp_path, 3)
    spec = {"kind": "gaussian_noise", "sigma": 10}
    a = TrainSet(find_layout(tmp_path), patch=16, seed=5, degradation=spec)
    b = TrainSet(find_layout(tmp_path), patch=16, seed=5, degradation=spec, cache=True)
    for key in [(0, 1), (3, 2)]:
        assert all(torch.equal(a[key][k], b[key][k]) for k in ("input", "target"))
    assert not torch.equal(a[(0, 1)]["target"], a[(1, 1)]["target"])
    item = a[(0, 0)]
    assert item["input"].shape == item["target"].shape == (3, 16, 16)
    assert float((item["input"] - item["target"]).std()) == pytest.approx(10 / 255, rel=0.3)


def test_val_set_is_fixed(tmp_path: Path) -> None:
    write_clean(tmp_path, 3)
    spec = {"kind": "gaussian_noise", "sigma": [0, 50]}
    first = ValSet(find_layout(tmp_path), crop=32, degradation=spec, limit=2)
    again = ValSet(find_layout(tmp_path), crop=32, degradation=spec)
    assert len(first) == 2 and len(again) == 3
    assert torch.equal(first[1]["input"], again[1]["input"])
    assert first[0]["input"].shape == (3, 32, 32)


def test_epoch_sampler_resumes_and_shards() -> None:
    full = EpochSampler(10, seed=1, batch=3)
    stream = [key for _, key in zip(range(30), iter(full), strict=False)]
    assert [i for _, i in stream[:9]] == full.epoch_indices(0)
    assert len(full.epoch_indices(0)) == 9 and sorted(full.epoch_indices(0)) != list(range(9))
    assert all(e == 0 for e, _ in stream[:9]) and stream[9][0] == 1  # whole batches only
    assert full.epoch_indices(0) != full.epoch_indices(1)
    resumed = EpochSampler(10, seed=1, batch=3, start_epoch=1, start=3)
    assert [key for _, key in zip(range(18), iter(resumed), strict=False)] == stream[12:30]
    shards = [EpochSampler(10, seed=1, rank=r, world=2).epoch_indices(4) for r in (0, 1)]
    assert sorted(shards[0] + shards[1]) == list(range(10))


def test_mixup_variants() -> None:
    rng = np.random.default_rng(0)
    inp = torch.rand(4, 3, 5, 5)
    target = inp * 2
    for kind in ("per_sample", "per_batch"):
        mixed_inp, mixed_target = mixup(inp, target, kind=kind, alpha=1.2, prob=1.0, rng=rng)
        assert torch.allclose(mixed_target, mixed_inp * 2, atol=1e-6)  # same lambda both
        assert not torch.equal(mixed_inp, inp)
        low, high = inp.min(dim=0).values, inp.max(dim=0).values
        assert ((mixed_inp >= low - 1e-6) & (mixed_inp <= high + 1e-6)).all()
    # per_batch with prob 1/2 leaves about half the batches alone.
    same = sum(
        torch.equal(mixup(inp, target, kind="per_batch", alpha=1.2, prob=0.5, rng=rng)[0], inp)
        for _ in range(200)
    )
    assert 70 < same < 130
    assert mixup(inp, target, kind="none", alpha=1, prob=1, rng=rng)[0] is inp


def test_mixup_and_progressive_select_stay_on_the_batch_device() -> None:
    """Item 2: MixUp's per-sample weights were a CPU tensor multiplied into the GPU batch
    (a crash at the first step of epoch 6 on CUDA). The meta device stands in for CUDA."""
    from imgrestore.training.progressive import Stage, select

    device = "cuda" if torch.cuda.is_available() else "meta"
    inp = torch.zeros(4, 3, 8, 8, device=device)
    rng = np.random.default_rng(0)
    for kind in ("per_sample", "per_batch"):
        mixed, target = mixup(inp, inp, kind=kind, alpha=0.6, prob=1.0, rng=rng)
        assert mixed.device.type == target.device.type == device
        assert mixed.shape == inp.shape
    small, _ = select(inp, inp, Stage(0, 4, 2), rng)
    assert small.device.type == device and small.shape == (2, 3, 4, 4)


def test_repeats_are_distinct_samples(tmp_path: Path) -> None:
    """Item 4: with data.repeat, every visit of an image used to get the same crop, flip
    and noise (keys were image % size), and two ranks got identical patches."""
    write_clean(tmp_path, 2)
    spec = {"kind": "gaussian_noise", "sigma": 10}
    data = TrainSet(find_layout(tmp_path), patch=8, seed=3, degradation=spec)
    one = EpochSampler(2, seed=1, repeat=4, batch=1)
    keys = one.epoch_indices(0)
    assert sorted(keys) == list(range(8))  # each repeat is its own key
    items = [data[(0, k)] for k in keys]
    pairs = {(k % 2, items[i]["target"].numpy().tobytes()) for i, k in enumerate(keys)}
    assert len(pairs) == 8  # eight different patches of two images
    noise = {items[i]["input"].sub(items[i]["target"]).numpy().tobytes() for i in range(8)}
    assert len(noise) == 8
    shards = [EpochSampler(2, seed=1, rank=r, world=2, repeat=4).epoch_indices(0)
              for r in (0, 1)]
    assert not set(shards[0]) & set(shards[1])  # the ranks never share a sample


def test_drop_last_false_keeps_the_last_partial_batch() -> None:
    """Item 9: MPRNet/MIRNet's loaders keep the last, smaller batch (drop_last=False)."""
    from imgrestore.training.data import batches_per_epoch, samples_per_epoch

    keep = EpochSampler(5, seed=0, batch=2, drop_last=False)
    stream = keep.batches()
    sizes = [len(next(stream)) for _ in range(6)]
    assert sizes == [2, 2, 1, 2, 2, 1]  # batches never straddle epochs
    assert batches_per_epoch(samples_per_epoch(5, drop_last=False), 2, drop_last=False) == 3
    drop = EpochSampler(5, seed=0, batch=2).batches()
    assert [len(next(drop)) for _ in range(3)] == [2, 2, 2]
    assert batches_per_epoch(samples_per_epoch(5), 2) == 2
