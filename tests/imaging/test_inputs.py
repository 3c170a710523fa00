"""Inputs are regular files or streams, read within a byte cap, never without end."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgrestore.errors import ImageError
from imgrestore.files import open_regular
from imgrestore.imaging.inputs import (
    BYTES_PER_PIXEL,
    METADATA_BYTES,
    byte_cap,
    read_head,
    read_input,
    read_stream,
)

from ..specialfiles import ZERO, broken_link, fifo, link_loop, returns, unix_socket


def _png(size: tuple[int, int] = (16, 12)) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((*size[::-1], 3), 90, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def test_a_fifo_is_refused_without_being_opened(tmp_path: Path) -> None:
    pipe = fifo(tmp_path / "pipe.jpg")
    with pytest.raises(ImageError, match=r"pipe\.jpg: is a FIFO \(named pipe\), not a regular "
                                         r"file; refused; to read a stream, pipe it to '-'"):
        returns(read_input, pipe, max_bytes=None, unblock=pipe)
    assert returns(read_head, pipe, unblock=pipe) is None


def test_devices_folders_sockets_and_links_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="/dev/zero: is a character device, not a regular file"):
        read_input(ZERO, max_bytes=None)  # never read: it would not end
    with pytest.raises(ImageError, match="is a folder, not an image"):
        read_input(tmp_path, max_bytes=None)
    with pytest.raises(ImageError, match="symbolic link loop"):
        open_regular(link_loop(tmp_path / "loop.jpg"))
    with pytest.raises(ImageError, match=r"broken symbolic link \(its target "):
        open_regular(broken_link(tmp_path / "gone.jpg"))
    with pytest.raises(ImageError, match="file not found"):
        open_regular(tmp_path / "nothing.jpg")
    sock = unix_socket(tmp_path / "s.png")
    if sock is not None:
        with pytest.raises(ImageError, match="is a socket, not a regular file"):
            read_input(sock, max_bytes=None)


def test_a_link_to_a_regular_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(_png())
    os.symlink("a.png", tmp_path / "link.png")
    assert read_input(tmp_path / "link.png", max_bytes=None) == _png()


def test_the_byte_cap_follows_the_pixel_limit(tmp_path: Path) -> None:
    assert byte_cap(1_000_000) == 1_000_000 * BYTES_PER_PIXEL + METADATA_BYTES
    assert byte_cap(None) is not None  # the default limit, never unbounded by default
    big = tmp_path / "big.tif"
    with open(big, "wb") as f:  # sparse: nothing is written, the size is what counts
        f.truncate(byte_cap(1_000) + 1)
    with pytest.raises(ImageError, match=r"big\.tif: 67\.1 MB is more than any image within "
                                         r"the 0-megapixel limit needs .* --max-pixels"):
        read_input(big, max_bytes=byte_cap(1_000))
    assert len(read_input(big, max_bytes=None)) == byte_cap(1_000) + 1


class _Endless(io.RawIOBase):
    """A stream that never ends, starting with ``head``; counts what was read."""

    def __init__(self, head: bytes) -> None:
        self.head, self.given = head, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001
        size = len(buffer)
        chunk = self.head[self.given : self.given + size]
        buffer[:size] = chunk + bytes(size - len(chunk))
        self.given += size
        return size


def test_a_stream_that_is_not_an_image_is_refused_after_64_bytes() -> None:
    zeros = _Endless(b"")
    with pytest.raises(ImageError, match="<stdin>: not an image"):
        read_stream(zeros, max_bytes=None, name="<stdin>")
    assert zeros.given == 64
    with open(ZERO, "rb") as dev, pytest.raises(ImageError, match="not an image"):
        read_stream(dev, max_bytes=None, name="<stdin>")  # /dev/zero itself on stdin


def test_an_endless_image_stream_stops_at_the_cap() -> None:
    endless = _Endless(_png()[:33])  # a real PNG header, then zeros for ever
    cap = 3_000_000
    with pytest.raises(ImageError, match=r"<stdin>: .* \(stopped reading\)"):
        read_stream(endless, max_bytes=cap, name="<stdin>")
    assert cap < endless.given <= cap + (1 << 20)


def test_a_stream_within_the_cap_is_read_whole() -> None:
    data = _png()
    assert read_stream(io.BytesIO(data), max_bytes=len(data), name="<stdin>") == data
    assert read_stream(io.BytesIO(b""), max_bytes=10, name="<stdin>") == b""
