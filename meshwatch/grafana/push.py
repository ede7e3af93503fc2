"""Push dashboards to Grafana over its HTTP API (service-account token, bearer auth).

Uses the documented endpoints that every Grafana since 8 serves:

* `GET /api/folders/:uid`, then `POST /api/folders {uid, title}` when it is missing;
* `POST /api/dashboards/db {dashboard, folderUid, overwrite, message}` per dashboard, with
  `dashboard.id` null so Grafana matches on `uid`.

The token is a SecretStr: it goes into the Authorization header and nowhere else.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from meshwatch import conventions as c
from meshwatch.errors import ProvisionError

log = logging.getLogger(__name__)

TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Pushed:
    """What Grafana answered for one dashboard."""

    uid: str
    url: str
    version: int


def _error(response: httpx.Response, what: str) -> ProvisionError:
    try:
        body = response.json()
        detail = body.get("message", "") if isinstance(body, dict) else str(body)
        status = body.get("status", "") if isinstance(body, dict) else ""
    except ValueError:
        detail, status = response.text[:200], ""
    hint = {401: " (check MESHWATCH_GRAFANA_TOKEN)", 403: " (the token lacks permission)"}
    status_part = f" [{status}]" if status else ""
    return ProvisionError(
        f"{what}: Grafana answered {response.status_code}{status_part}: {detail}"
        f"{hint.get(response.status_code, '')}"
    )


class GrafanaClient:
    """A thin client over the folder and dashboard endpoints; `transport` for tests."""

    def __init__(
        self,
        base_url: str,
        token: SecretStr | None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = TIMEOUT_S,
    ) -> None:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, transport=transport, timeout=timeout
        )

    def __enter__(self) -> GrafanaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def _send(self, method: str, path: str, what: str, body: Any = None) -> httpx.Response:
        try:
            return self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise ProvisionError(f"{what}: {exc}") from exc

    def ensure_folder(self, uid: str, title: str) -> str:
        """The folder's uid, creating the folder when it does not exist."""
        what = f"folder {uid!r}"
        response = self._send("GET", f"/api/folders/{uid}", what)
        if response.status_code == 200:
            return str(response.json()["uid"])
        if response.status_code != 404:
            raise _error(response, what)
        response = self._send("POST", "/api/folders", what, {"uid": uid, "title": title})
        if response.status_code == 409:  # created concurrently: it exists now
            return uid
        if response.status_code != 200:
            raise _error(response, what)
        log.info("created Grafana folder %s", uid)
        return str(response.json()["uid"])

    def push_dashboard(
        self, model: Mapping[str, Any], folder_uid: str, *, overwrite: bool, message: str
    ) -> Pushed:
        dashboard = {**model, "id": None}
        what = f"dashboard {dashboard.get('uid')!r}"
        body = {
            "dashboard": dashboard,
            "folderUid": folder_uid,
            "overwrite": overwrite,
            "message": message,
        }
        response = self._send("POST", "/api/dashboards/db", what, body)
        if response.status_code != 200:
            raise _error(response, what)
        answer = response.json()
        log.info("pushed dashboard %s version %s", answer.get("uid"), answer.get("version"))
        return Pushed(str(answer["uid"]), str(answer.get("url", "")), int(answer.get("version", 0)))


def push_all(
    client: GrafanaClient,
    models: Sequence[Mapping[str, Any]],
    *,
    folder_uid: str = c.DASHBOARD_FOLDER,
    folder_title: str = c.DASHBOARD_FOLDER,
    overwrite: bool = True,
    message: str = "meshwatch dashboards push",
) -> list[Pushed]:
    """Create the folder if needed and push every dashboard into it; stop at the first refusal."""
    folder = client.ensure_folder(folder_uid, folder_title)
    return [
        client.push_dashboard(model, folder, overwrite=overwrite, message=message)
        for model in models
    ]
