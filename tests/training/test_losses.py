from __future__ import annotations

import numpy as np
import torch

from imgrestore.training.losses import (
    RestorationLoss,
    brightness_loss,
    charbonnier,
    chroma,
    color_loss,
    edge_loss,
    laplacian,
    stage_sum,
)


def _laplacian_by_hand(img: np.ndarray) -> np.ndarray:
    """training.md 1.2 step by step, in numpy (H x W, one channel)."""
    g1 = np.array([0.05, 0.25, 0.4, 0.25, 0.05])
    g = np.outer(g1, g1)

    def blur(x: np.ndarray) -> np.ndarray:
        p = np.pad(x, 2, mode="edge")  # replicate padding of 2
        out = np.zeros_like(x)
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                out[i, j] = (p[i : i + 5, j : j + 5] * g).sum()
        return out

    blurred = blur(img)
    zeros = np.zeros_like(img)
    zeros[::2, ::2] = blurred[::2, ::2] * 4
    return img - blur(zeros)


def test_charbonnier_by_hand() -> None:
    x = torch.tensor([0.0, 0.5, 1.0])
    y = torch.tensor([0.0, 0.2, 0.0])
    expected = (np.sqrt(1e-6) + np.sqrt(0.09 + 1e-6) + np.sqrt(1 + 1e-6)) / 3
    assert float(charbonnier(x, y)) == np.float32(expected)


def test_laplacian_of_a_known_image_matches_hand_computation() -> None:
    img = np.zeros((8, 9))
    img[3, 4] = 1.0
    img[5:, :3] = 0.5
    ours = laplacian(torch.from_numpy(img)[None, None].repeat(1, 3, 1, 1))
    for c in range(3):
        np.testing.assert_allclose(ours[0, c].numpy(), _laplacian_by_hand(img), atol=1e-12)
    # The kernel sums to 1 and the up-sampling gain restores the mean: a constant image has
    # no interior response.
    flat = laplacian(torch.full((1, 3, 12, 12), 0.7, dtype=torch.float64))
    assert torch.allclose(flat[..., 2:-2, 2:-2], torch.zeros(1, dtype=torch.float64), atol=1e-12)


def test_edge_loss_by_hand() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random((6, 6)), rng.random((6, 6))
    la, lb = _laplacian_by_hand(a), _laplacian_by_hand(b)
    expected = np.sqrt((la - lb) ** 2 + 1e-6).mean()
    ours = edge_loss(torch.from_numpy(a)[None, None], torch.from_numpy(b)[None, None])
    assert float(ours) == np.float64(expected) or abs(float(ours) - expected) < 1e-12


def test_stage_sum_keeps_the_graph() -> None:
    params = [torch.nn.Parameter(torch.rand(1, 3, 8, 8)) for _ in range(3)]
    target = torch.rand(1, 3, 8, 8)
    loss = stage_sum(params, target, charbonnier)
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in params)
    expected = sum(float(charbonnier(p.detach(), target)) for p in params)
    assert abs(loss.item() - expected) < 1e-6
    # The common "fix" from the MPRNet issues loses every gradient:
    detached = torch.tensor([charbonnier(p, target).item() for p in params]).sum()
    assert not detached.requires_grad


def test_restoration_loss_variants() -> None:
    target = torch.rand(2, 3, 8, 8)
    out = target + 0.3
    stages = [out, out.clone(), out.clone()]
    plain = RestorationLoss("charbonnier")
    assert torch.isclose(plain(stages, target), 3 * plain(out, target))
    assert torch.isclose(RestorationLoss(stages="final")(stages, target), plain(out, target))
    edge = RestorationLoss(edge_weight=0.05)
    assert torch.isclose(edge(out, target), plain(out, target) + 0.05 * edge_loss(out, target))
    # Clamping: outputs above 1 count as 1 and get no gradient.
    high = torch.full((1, 3, 4, 4), 1.5, requires_grad=True)
    clamped = RestorationLoss(clamp=True)(high, torch.ones(1, 3, 4, 4))
    clamped.backward()
    assert clamped.item() < 1.1e-3 and high.grad.abs().sum() == 0
    assert torch.isclose(RestorationLoss("l1")(out, target), torch.tensor(0.3))


def test_chroma_is_zero_for_grey_and_bt601_for_colours() -> None:
    grey = torch.full((1, 3, 2, 2), 0.4)
    assert chroma(grey).abs().max() < 1e-6
    red = torch.zeros(1, 3, 1, 1)
    red[:, 0] = 1
    assert torch.allclose(chroma(red).flatten(), torch.tensor([-0.168736, 0.5]))


def test_color_loss_charges_a_washed_out_answer() -> None:
    # Same RGB error, one darker (same colour), one greyer: only the colour term tells.
    target = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    grey = target.mean(1, keepdim=True)
    washed = 0.5 * target + 0.5 * grey
    darker = target - (target - washed).abs().mean()
    assert torch.isclose(charbonnier(washed, target), charbonnier(darker, target), rtol=0.2)
    assert color_loss(washed, target) > 3 * color_loss(darker, target)
    assert color_loss(target, target) < 1e-2
    weighted = RestorationLoss(color_weight=0.5)
    plain = RestorationLoss()
    assert torch.isclose(weighted(washed, target),
                         plain(washed, target) + 0.5 * color_loss(washed, target))



def test_color_loss_without_the_image_mean_is_per_pixel() -> None:
    """Without its per-image mean term the colour loss is a mean of per-pixel terms: two
    images scored together score the mean of their scores apart."""
    target = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    washed = 0.5 * target + 0.5 * target.mean(1, keepdim=True)
    halves = torch.cat([target[:, :, :, :4], washed[:, :, :, 4:]], 3)
    whole = color_loss(halves, target, image_mean=False)
    left = color_loss(halves[..., :4], target[..., :4], image_mean=False)
    right = color_loss(halves[..., 4:], target[..., 4:], image_mean=False)
    assert torch.isclose(whole, (left + right) / 2)
    assert color_loss(washed, target, image_mean=False) < color_loss(washed, target)
    assert color_loss(washed, target, image_mean=False) > 3 * color_loss(target, target)
    pixel = RestorationLoss(color_weight=0.5, color_image_mean=False)
    assert torch.isclose(pixel(washed, target), RestorationLoss()(washed, target)
                         + 0.5 * color_loss(washed, target, image_mean=False))

def test_brightness_loss_charges_a_darker_answer_not_a_noisier_one() -> None:
    target = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    noise = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(2)) * 0.05
    noise -= noise.mean((2, 3), keepdim=True)  # zero mean in every image and channel
    darker = target - 0.05
    assert brightness_loss(target + noise, target) < 0.05 * brightness_loss(darker, target)
    assert torch.isclose(brightness_loss(darker, target), torch.tensor(0.05), rtol=1e-3)
    weighted = RestorationLoss(brightness_weight=2.0)
    assert torch.isclose(weighted(darker, target),
                         RestorationLoss()(darker, target) + 2 * brightness_loss(darker, target))
