"""Institutions' websites on loopback, for the demo: the pages its evidence links lead to.

The demo's institutions link their evidence to ``http://127.0.0.1:<port>/<institution>/…``; this
server answers each such page with a short page of the institution's, so the evidence check
fetches, archives and verifies them as it would a ministry's site. The institutions in ``gone``
answer 404 to everything, as a site does after a redesign: the board says «no respondió».
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from tasks.rendering import render

HOST = "127.0.0.1"


def site_address(port: int) -> str:
    """The sites' common address: each institution's pages live under ``/<institution>/``."""
    return f"http://{HOST}:{port}"


@contextmanager
def local_websites(
    port: int, institutions: Collection[str], gone: Collection[str] = (), language: str = "es"
) -> Iterator[str]:
    """Serve the ``institutions``' pages on ``HOST:port`` for the block; yields the address."""
    known = {code.lower(): code for code in institutions}
    missing = {code.lower() for code in gone}

    class Pages(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = [unquote(p) for p in urlsplit(self.path).path.split("/") if p]
            code = known.get(parts[0].lower()) if parts else None
            if code is None or code.lower() in missing or len(parts) < 2:
                self.send_error(HTTPStatus.NOT_FOUND)
                return
            page = render(
                "demo/evidence_page.html", language, institution=code, milestone=parts[-1]
            ).encode("utf-8")
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the demo's output is the cycle, not the sites' access log."""

    server = ThreadingHTTPServer((HOST, port), Pages)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="hitos-demo-sites", daemon=True)
    thread.start()
    try:
        yield site_address(port)
    finally:
        server.shutdown()
        server.server_close()
