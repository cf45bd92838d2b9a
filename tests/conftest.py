"""Shared fixtures: a local HTTP server so that the real download code runs without internet."""

import functools
import http.server
import threading
from pathlib import Path

import pytest


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder, plus test paths that misbehave like real servers do.

    ``/flaky/<file>``: 503 on the first request for each file, then the file.
    ``/truncated/<file>``: announces the full length but sends half and closes.
    ``/cut-once/<file>``: like ``/truncated/`` on the first request for each file, then the file.
    ``/html/<file>``: an HTML error page with status 200.
    """

    seen: set = set()

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        parts = self.path.strip("/").split("/", 1)
        if len(parts) == 2 and parts[0] == "flaky":
            if self.path not in Handler.seen:
                Handler.seen.add(self.path)
                self.send_error(503, "try again")
                return
            self.path = "/" + parts[1]
        elif len(parts) == 2 and parts[0] == "cut-once" and self.path in Handler.seen:
            self.path = "/" + parts[1]
        elif len(parts) == 2 and parts[0] in ("truncated", "cut-once"):
            Handler.seen.add(self.path)
            data = (Path(self.directory) / parts[1]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        elif len(parts) == 2 and parts[0] == "html":
            body = b"<!DOCTYPE html><html><body>Service unavailable</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """``(folder, base_url)``: files written to ``folder`` are served at ``base_url/<name>``."""
    folder = tmp_path_factory.mktemp("served")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
