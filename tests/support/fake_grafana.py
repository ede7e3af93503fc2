"""A recording fake of the part of Grafana's HTTP API that `meshwatch dashboards push` uses.

This is a fake because no Grafana server can run on this machine (not in Debian, PyPI or npm,
and no container registry is reachable). It serves the documented endpoints and answers as
Grafana's HTTP API reference says, and it refuses what Grafana would refuse:

    GET  /api/folders/:uid   200 folder | 404 {"message": "folder not found"}
    POST /api/folders        {uid?, title, parentUid?, description?} -> 200 folder | 409 exists
    POST /api/dashboards/db  {dashboard, folderUid | folderId, overwrite, message}
                             -> 200 {id, uid, url, status: "success", version, slug}
                             | 412 {status: "name-exists"} without overwrite | 400 bad body

Every call needs `Authorization: Bearer <token>` (401 otherwise) and JSON bodies need
`Content-Type: application/json`. Requests are recorded for the tests to inspect, and every
received dashboard is checked against Grafana's dashboard model (grafana-foundation-sdk).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.grafana_model import check_dashboard

UID = re.compile(r"^[a-zA-Z0-9\-_]{1,40}$")
DASHBOARD_BODY_KEYS = {"dashboard", "folderId", "folderUid", "message", "overwrite"}
FOLDER_BODY_KEYS = {"uid", "title", "parentUid", "description"}


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeGrafana:
    token: str
    requests: list[Recorded] = field(default_factory=list)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    structural_problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any]:
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                return 400, {"message": "bad request data"}
        with self.lock:
            self.requests.append(Recorded(method, path, headers, body))
            if headers.get("authorization") != f"Bearer {self.token}":
                return 401, {"message": "Unauthorized"}
            if method == "POST" and not headers.get("content-type", "").startswith(
                "application/json"
            ):
                return 400, {"message": "bad request data: expected application/json"}
            if method == "GET" and path.startswith("/api/folders/"):
                return self._get_folder(path.removeprefix("/api/folders/"))
            if method == "POST" and path == "/api/folders":
                return self._create_folder(body)
            if method == "POST" and path == "/api/dashboards/db":
                return self._save_dashboard(body)
        return 404, {"message": "Not found"}

    def _get_folder(self, uid: str) -> tuple[int, Any]:
        if uid in self.folders:
            return 200, self.folders[uid]
        return 404, {"message": "folder not found", "status": "not-found"}

    def _create_folder(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or set(body) - FOLDER_BODY_KEYS:
            return 400, {"message": "bad request data: unknown fields"}
        title, uid = body.get("title"), body.get("uid", f"f{len(self.folders)}")
        if not isinstance(title, str) or not title.strip():
            return 400, {"message": "folder title cannot be empty"}
        if not UID.match(uid):
            return 400, {"message": "uid contains illegal characters or is longer than 40"}
        if uid in self.folders:
            return 409, {"message": "a folder with the same uid already exists"}
        folder = {
            "id": len(self.folders) + 1,
            "uid": uid,
            "title": title,
            "url": f"/dashboards/f/{uid}/",
            "version": 1,
        }
        self.folders[uid] = folder
        return 200, folder

    def _save_dashboard(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or set(body) - DASHBOARD_BODY_KEYS:
            return 400, {"message": "bad request data"}
        dashboard = body.get("dashboard")
        if not isinstance(dashboard, dict) or not isinstance(dashboard.get("title"), str):
            return 400, {"message": "Dashboard title cannot be empty", "status": "empty-name"}
        uid = dashboard.get("uid")
        if not isinstance(uid, str) or not UID.match(uid):
            return 400, {"message": "uid contains illegal characters or is longer than 40"}
        if dashboard.get("id") is not None and uid not in self.dashboards:
            return 404, {"message": "Dashboard not found", "status": "not-found"}
        folder = body.get("folderUid")
        if folder is not None and folder not in self.folders:
            return 400, {"message": "folder not found"}
        if uid in self.dashboards and not body.get("overwrite", False):
            return 412, {
                "message": "A dashboard with the same uid already exists",
                "status": "name-exists",
            }
        self.structural_problems += [f"{uid}: {p}" for p in check_dashboard(dashboard)]
        version = self.versions.get(uid, 0) + 1
        self.versions[uid] = version
        self.dashboards[uid] = {"dashboard": dashboard, "folderUid": folder}
        slug = re.sub(r"[^a-z0-9]+", "-", dashboard["title"].lower()).strip("-")
        return 200, {
            "id": list(self.dashboards).index(uid) + 1,
            "uid": uid,
            "url": f"/d/{uid}/{slug}",
            "status": "success",
            "version": version,
            "slug": slug,
        }


def _handler(fake: FakeGrafana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer = fake.handle(self.command, self.path, headers, raw)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


@contextlib.contextmanager
def serving_fake_grafana(token: str) -> Iterator[tuple[str, FakeGrafana]]:
    """Run the fake on a free 127.0.0.1 port; yield its base URL and its recorded state."""
    fake = FakeGrafana(token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}", fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
