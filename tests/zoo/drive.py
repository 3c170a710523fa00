"""A stand-in for Google Drive on 127.0.0.1, reached the way a user behind a proxy reaches it.

gdown maps a Drive file id to ``https://drive.google.com/uc?id=...`` itself, so the real
mapping can only be exercised by answering for ``drive.google.com``. The server below is
an HTTPS proxy on 127.0.0.1: clients find it through ``HTTPS_PROXY`` (as requests,
urllib and httpx do for any user behind a proxy), and it answers every tunnel itself
with a certificate for Google's hosts from a throw-away test authority, trusted through
``REQUESTS_CA_BUNDLE``. Nothing leaves the machine; a request for any other host gets a
502, so a test that strays to the network fails instead of reaching it.

What it imitates (as Drive answered in 2024-2026):

- ``drive.google.com/uc?id=ID`` redirects to ``drive.usercontent.google.com/download``;
- small files come back with ``Content-Disposition: attachment``;
- files listed in ``confirm`` first get the "can't scan this file for viruses" page, whose
  ``download-form`` carries ``confirm`` and ``uuid``; only that exact query gets the file;
- files listed in ``quota`` get the "Too many users have viewed or downloaded this file
  recently" page;
- ``drive.google.com/embeddedfolderview?id=FOLDER`` lists a folder (``folders``);
- files listed in ``truncate`` announce their full length and send half.
"""

from __future__ import annotations

import html
import http.server
import ssl
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import trustme

HOSTS = ("drive.google.com", "docs.google.com", "drive.usercontent.google.com")
USERCONTENT = "https://drive.usercontent.google.com/download"

# Drive sends each page as one long line (gdown parses it line by line), so do we.
QUOTA_PAGE = (
    '<!DOCTYPE html><html><head><title>Google Drive - Quota exceeded</title></head><body>'
    '<div class="uc-main"><div id="uc-text"><p class="uc-error-caption">Sorry, you can\'t '
    'view or download this file at this time.</p><p class="uc-error-subcaption">Too many '
    'users have viewed or downloaded this file recently. Please try accessing the file again '
    'later. If the file you are trying to access is particularly large or is shared with many '
    'people, it may take up to 24 hours to be able to view or download the file.</p></div>'
    '</div></body></html>'
)
CONFIRM_PAGE = (
    '<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title><meta '
    'http-equiv="content-type" content="text/html; charset=utf-8"/></head><body><div '
    'class="uc-main"><div id="uc-text"><p class="uc-warning-caption">Google Drive can\'t scan '
    'this file for viruses.</p><p class="uc-warning-subcaption"><span class="uc-name-size">'
    '<a href="/open?id={id}">{name}</a> ({size})</span> is too large for Google to scan for '
    'viruses. Would you still like to download this file?</p><form id="download-form" '
    'action="{action}" method="get"><input type="submit" id="uc-download-link" '
    'class="goog-inline-block jfk-button jfk-button-action" value="Download anyway"/><input '
    'type="hidden" name="id" value="{id}"><input type="hidden" name="export" '
    'value="download"><input type="hidden" name="confirm" value="t"><input type="hidden" '
    'name="uuid" value="{uuid}"></form></div></div></body></html>'
)
FOLDER_PAGE = (
    '<!DOCTYPE html><html><head><title>{title}</title></head><body><div '
    'class="flip-entries">{entries}</div></body></html>'
)
FOLDER_ENTRY = (
    '<div class="flip-entry" id="entry-{id}"><a href="https://drive.google.com/file/d/{id}/'
    'view?usp=drive_web" target="_blank"><div class="flip-entry-info"><div '
    'class="flip-entry-title">{name}</div></div></a></div>'
)


@dataclass
class FakeDrive:
    """The state the test sets up, and what the server saw."""

    proxy: str
    ca_bundle: Path
    #: Drive file id -> (published file name, content).
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    #: Drive folder id -> (folder title, file ids in it).
    folders: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    confirm: set[str] = field(default_factory=set)
    quota: set[str] = field(default_factory=set)
    truncate: set[str] = field(default_factory=set)
    #: ``host/path?query`` of every request, in order, and the Cookie header each sent.
    requests: list[str] = field(default_factory=list)
    cookies: list[str | None] = field(default_factory=list)
    _tokens: dict[str, str] = field(default_factory=dict)

    def add(self, file_id: str, name: str, body: bytes) -> None:
        self.files[file_id] = (name, body)

    def downloads(self) -> list[str]:
        """The requests that returned a file body."""
        return [r for r in self.requests if r.startswith("drive.usercontent.google.com/")
                and "export=download" in r]


def _handler(state: FakeDrive, context: ssl.SSLContext) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        host = ""

        def do_CONNECT(self) -> None:  # noqa: N802 (http.server's naming)
            host = self.path.rsplit(":", 1)[0]
            if host not in HOSTS:
                self.send_error(502, f"the fake Drive does not reach {host}")
                self.close_connection = True
                return
            self.send_response(200, "Connection established")
            self.end_headers()
            self.connection = context.wrap_socket(self.connection, server_side=True)
            self.rfile = self.connection.makefile("rb", self.rbufsize)
            self.wfile = self.connection.makefile("wb", 0)
            self.host = host
            self.close_connection = False  # http.client tunnels with CONNECT ... HTTP/1.0

        def do_GET(self) -> None:  # noqa: N802
            url = urllib.parse.urlsplit(self.path)
            if not self.host:  # a plain-HTTP proxy request, or one outside a tunnel
                self.send_error(502, "the fake Drive answers HTTPS tunnels only")
                return
            state.requests.append(f"{self.host}{self.path}")
            state.cookies.append(self.headers.get("Cookie"))
            query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
            route = (self.host, url.path)
            if route == ("drive.google.com", "/uc"):
                target = f"{USERCONTENT}?id={query.get('id', '')}&export=download"
                self._send(303, b"", {"Location": target})
            elif route == ("drive.usercontent.google.com", "/download"):
                self._file(query)
            elif route == ("drive.google.com", "/embeddedfolderview"):
                self._folder(query.get("id", ""))
            else:
                self._send(404, b"Not Found", {"Content-Type": "text/html"})

        def _file(self, query: dict[str, str]) -> None:
            file_id = query.get("id", "")
            if file_id not in state.files:
                self._send(404, b"<html><title>Not Found</title></html>",
                           {"Content-Type": "text/html; charset=utf-8"})
                return
            name, body = state.files[file_id]
            if file_id in state.quota:
                self._page(QUOTA_PAGE)
                return
            if file_id in state.confirm and (
                query.get("confirm") != "t" or query.get("uuid") != state._tokens.get(file_id)
            ):
                token = state._tokens.setdefault(file_id, str(uuid.uuid4()))
                self._page(CONFIRM_PAGE.format(id=file_id, name=html.escape(name), uuid=token,
                                               size=f"{len(body) / 1e6:.1f}M",
                                               action=USERCONTENT))
                return
            headers = {"Content-Type": "application/octet-stream",
                       "Content-Disposition": f'attachment; filename="{name}"'}
            if file_id in state.truncate:
                self._send(200, body, headers, send=len(body) // 2)
                self.close_connection = True
                return
            self._send(200, body, headers)

        def _folder(self, folder_id: str) -> None:
            if folder_id not in state.folders:
                self._send(404, b"Not Found", {"Content-Type": "text/html"})
                return
            title, ids = state.folders[folder_id]
            entries = "".join(FOLDER_ENTRY.format(id=i, name=html.escape(state.files[i][0]))
                              for i in ids)
            self._page(FOLDER_PAGE.format(title=html.escape(title), entries=entries))

        def _page(self, text: str) -> None:
            self._send(200, text.encode(), {"Content-Type": "text/html; charset=utf-8"})

        def _send(self, code: int, body: bytes, headers: dict[str, str],
                  send: int | None = None) -> None:
            self.send_response(code)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:send] if send is not None else body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def fake_drive(folder: Path) -> Iterator[FakeDrive]:
    """Start the fake Drive; ``folder`` receives the test authority's certificate."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(*HOSTS).configure_cert(context)
    ca_bundle = folder / "fake-drive-ca.pem"
    authority.cert_pem.write_to_path(str(ca_bundle))
    state = FakeDrive(proxy="", ca_bundle=ca_bundle)
    with serving(_handler(state, context)) as url:
        state.proxy = url
        yield state


@contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def drive_environment(drive: FakeDrive, cookies: Path) -> dict[str, str]:
    """The environment that sends Drive traffic to ``drive`` and nothing else anywhere."""
    return {
        "HTTPS_PROXY": drive.proxy, "https_proxy": drive.proxy,
        "REQUESTS_CA_BUNDLE": str(drive.ca_bundle),
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        "IMGRESTORE_GDOWN_COOKIES": str(cookies),
    }
