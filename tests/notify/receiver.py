"""A real HTTP receiver on 127.0.0.1 (``http.server`` on a thread): it keeps every POST and
answers with the statuses it is told to, then 200; it can go down and come back on its port."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        #: Statuses (or statuses and headers) of the next answers, first first; 200 once
        #: it is empty.
        self.answers: list[int | tuple[int, dict[str, str]]] = []
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook/T0KEN-IN-THE-PATH"

    def start(self) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                data = self.rfile.read(length)
                with owner._lock:
                    answer = owner.answers.pop(0) if owner.answers else 200
                    status, extra = answer if isinstance(answer, tuple) else (answer, {})
                    if status < 300:
                        owner.received.append(
                            Received(
                                self.path, {k.lower(): v for k, v in self.headers.items()}, data
                            )
                        )
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Go down: the port refuses connections until ``start`` again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def bodies(self) -> list[Any]:
        with self._lock:
            return [r.json for r in self.received]
