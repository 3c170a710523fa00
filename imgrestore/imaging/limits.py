"""The decompression-bomb guard: one pixel limit for every decoder."""

from __future__ import annotations


def default_max_pixels() -> int | None:
    """Pillow's own refusal threshold (2 x ``Image.MAX_IMAGE_PIXELS``, about 179 MP).

    Read at call time, so an application that changed Pillow's limit is followed.
    None means Pillow's guard was switched off by the application.
    """
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    return None if limit is None else 2 * int(limit)


def bomb_reason(width: int, height: int, limit: int) -> str:
    """One-line reason for refusing an image whose header claims too many pixels."""
    return (
        f"{width}x{height} = {width * height / 1e6:.0f} megapixels is above the "
        f"{limit / 1e6:.0f}-megapixel safety limit (possible decompression bomb); "
        "if this is a genuine photo, raise the limit with --max-pixels"
    )


def check_pixels(name: str, width: int, height: int, limit: int | None) -> None:
    """Raise ImageError when ``width * height`` is above ``limit`` (None: no limit)."""
    from imgrestore.errors import ImageError

    if limit is not None and width * height > limit:
        raise ImageError(name, bomb_reason(width, height, limit))
