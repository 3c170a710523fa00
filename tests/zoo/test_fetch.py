"""The real download path (gdown, requests) against servers on 127.0.0.1: plain URLs, and
Google Drive's id mapping, confirmation form, quota page and folders (``drive``)."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest

from imgrestore.errors import DownloadError
from imgrestore.zoo.fetch import download

from .conftest import Server
from .drive import FakeDrive

BODY = bytes(range(256)) * 4096  # 1 MiB
SHA = hashlib.sha256(BODY).hexdigest()
FILE_ID = "1QwQUVbk6YVOJViCsOKYNykCsdJSVGRtb"  # mprnet_deblurring's, as its card links it
DRIVE_URL = f"https://drive.google.com/file/d/{FILE_ID}/view"
FOLDER_ID = "1yMtXbk6RXoFfmeRRGu1XfNFSHH6bSUoR"
FOLDER_URL = f"https://drive.google.com/drive/folders/{FOLDER_ID}"


def _staging(tmp_path: Path) -> Path:
    folder = tmp_path / "staging"
    folder.mkdir(parents=True)
    return folder


def test_good_download(server: Server, home: Path, tmp_path: Path) -> None:
    server.files["/w.pth"] = BODY
    seen: list[tuple[int, int | None]] = []
    folder = _staging(tmp_path)
    got = download(f"{server.url}/w.pth", folder, "w.pth", sha256=SHA, size=len(BODY),
                   progress=lambda done, total: seen.append((done, total)))
    assert got.path.read_bytes() == BODY
    assert (got.sha256, got.size, got.pinned) == (SHA, len(BODY), True)
    assert [p.name for p in folder.iterdir()] == ["w.pth"]  # no .part left
    assert seen and seen[-1] == (len(BODY), len(BODY))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_unpinned_download_reports_the_hash(server: Server, home: Path, tmp_path: Path) -> None:
    server.files["/w.pth"] = BODY
    got = download(f"{server.url}/w.pth", tmp_path, "w.pth")
    assert (got.sha256, got.size, got.pinned) == (SHA, len(BODY), False)


@pytest.mark.parametrize("case", ["hash", "size", "truncated"])
def test_bad_hash_size_or_truncated_transfer_keeps_nothing(
    server: Server, home: Path, tmp_path: Path, case: str
) -> None:
    folder = _staging(tmp_path)
    server.files["/w.pth"] = BODY
    if case == "truncated":
        server.truncate.add("/w.pth")
    with pytest.raises(DownloadError) as err:
        download(f"{server.url}/w.pth", folder, "w.pth",
                 sha256="0" * 64 if case == "hash" else SHA,
                 size=len(BODY) + 1 if case == "size" else len(BODY))
    message = str(err.value)
    assert message.startswith(f"{server.url}/w.pth: ") and "\n" not in message
    if case == "truncated":  # gdown notices the short body before any hash is taken
        assert err.value.reason == f"transfer cut short: received {len(BODY) // 2} of " \
                                   f"{len(BODY)} bytes"
    else:
        assert err.value.reason.startswith("corrupt or truncated download")
        assert "nothing was kept" in message
    assert err.value.source == f"{server.url}/w.pth" and not err.value.refused
    assert list(folder.iterdir()) == []  # neither the file nor gdown's .part


def test_http_error(server: Server, home: Path, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"download failed \(HTTP 404 Not Found\)$"):
        download(f"{server.url}/missing.pth", tmp_path, "w.pth")
    assert not (tmp_path / "w.pth").exists()


def test_connection_refused_fails_at_once(home: Path, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DownloadError) as err:
        download(f"http://127.0.0.1:{port}/w.pth", tmp_path, "w.pth")
    assert err.value.reason == "connection refused"
    assert str(err.value) == f"http://127.0.0.1:{port}/w.pth: download failed (connection refused)"


def test_offline_never_connects(server: Server, home: Path, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGRESTORE_OFFLINE", "1")
    server.files["/w.pth"] = BODY
    with pytest.raises(DownloadError, match="offline"):
        download(f"{server.url}/w.pth", tmp_path, "w.pth", sha256=SHA)
    assert server.requests == []


def test_proxy_from_environment(server: Server, home: Path, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    # The server plays the proxy: requests sends it the absolute URL of the real host.
    for variable in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(variable, server.url)
    server.files["/w.pth"] = BODY
    got = download("http://weights.invalid/w.pth", tmp_path, "w.pth", sha256=SHA)
    assert got.sha256 == SHA
    assert server.requests == ["http://weights.invalid/w.pth"]


# --- Google Drive ---------------------------------------------------------------------------


def test_drive_link_goes_through_gdowns_id_mapping(drive: FakeDrive, home: Path,
                                                   tmp_path: Path) -> None:
    drive.add(FILE_ID, "model_deblurring.pth", BODY)
    got = download(DRIVE_URL, _staging(tmp_path), "model_deblurring.pth", sha256=SHA)
    assert got.path.read_bytes() == BODY
    assert drive.requests == [
        f"drive.google.com/uc?id={FILE_ID}",
        f"drive.usercontent.google.com/download?id={FILE_ID}&export=download",
    ]


def test_drive_virus_scan_confirmation_is_passed(drive: FakeDrive, home: Path,
                                                 tmp_path: Path) -> None:
    drive.add(FILE_ID, "model_deblurring.pth", BODY)
    drive.confirm.add(FILE_ID)
    got = download(DRIVE_URL, _staging(tmp_path), "model_deblurring.pth", sha256=SHA)
    assert got.sha256 == SHA
    confirmed = drive.requests[-1]
    assert confirmed.startswith(f"drive.usercontent.google.com/download?id={FILE_ID}"
                                "&export=download&confirm=t&uuid=")
    assert len(drive.requests) == 3  # uc?id=, the warning page, the confirmed download


def test_drive_quota_page_is_a_refusal_in_one_line(drive: FakeDrive, home: Path,
                                                   tmp_path: Path) -> None:
    drive.add(FILE_ID, "model_deblurring.pth", BODY)
    drive.quota.add(FILE_ID)
    folder = _staging(tmp_path)
    with pytest.raises(DownloadError) as err:
        download(DRIVE_URL, folder, "model_deblurring.pth")
    assert err.value.refused
    assert err.value.reason == ("Google Drive refused the download: Too many users have "
                                "viewed or downloaded this file recently")
    assert str(err.value) == f"{DRIVE_URL}: download failed ({err.value.reason})"
    assert list(folder.iterdir()) == []


def test_drive_truncated_transfer_keeps_nothing(drive: FakeDrive, home: Path,
                                                tmp_path: Path) -> None:
    drive.add(FILE_ID, "model_deblurring.pth", BODY)
    drive.truncate.add(FILE_ID)
    folder = _staging(tmp_path)
    with pytest.raises(DownloadError, match="transfer cut short: received") as err:
        download(DRIVE_URL, folder, "model_deblurring.pth")
    assert not err.value.refused
    assert list(folder.iterdir()) == []


def test_drive_folder_file_is_picked_by_name(drive: FakeDrive, home: Path,
                                             tmp_path: Path) -> None:
    x3, x4 = "1" + "a" * 32, "1" + "b" * 32
    drive.add(x3, "model_SR_x3.pth", b"x3" * 100)
    drive.add(x4, "model_SR_x4.pth", BODY)
    drive.folders[FOLDER_ID] = ("MIRNet super-resolution", [x3, x4])
    folder = _staging(tmp_path)
    got = download(FOLDER_URL, folder, "model_SR_x4.pth", sha256=SHA)
    assert got.path == folder / "model_SR_x4.pth" and got.sha256 == SHA
    assert drive.requests[0] == f"drive.google.com/embeddedfolderview?id={FOLDER_ID}"
    assert drive.requests[1] == f"drive.google.com/uc?id={x4}"
    assert [p.name for p in folder.iterdir()] == ["model_SR_x4.pth"]

    with pytest.raises(DownloadError) as err:
        download(FOLDER_URL, _staging(tmp_path / "again"), "model_SR_x2.pth")
    assert err.value.reason == ("the Drive folder holds no model_SR_x2.pth (it holds "
                                "model_SR_x3.pth, model_SR_x4.pth)")


def test_drive_gets_the_users_cookies(drive: FakeDrive, home: Path, tmp_path: Path) -> None:
    cookies = Path(drive_cookies := str(tmp_path / "fake-drive" / "cookies.txt"))
    cookies.write_text(
        "# Netscape HTTP Cookie File\n"
        ".google.com\tTRUE\t/\tTRUE\t4102444800\tSID\tsigned-in-session\n"
    )
    drive.add(FILE_ID, "model_deblurring.pth", BODY)
    download(DRIVE_URL, _staging(tmp_path), "model_deblurring.pth")
    assert drive.cookies and all(c and "SID=signed-in-session" in c for c in drive.cookies)
    assert "SID" in Path(drive_cookies).read_text()  # gdown keeps the file up to date
