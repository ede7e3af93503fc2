"""Envoy actuator: file-based RDS in a watched directory, confirmed through the admin API.

How a change reaches Envoy (proven with Envoy 1.40, research/traffic-anchors.md §4):
the whole DiscoveryResponse is rewritten with only the owned fields changed and
`version_info` bumped, written to a dotfile in the same directory, fsync'ed and moved over
the RDS file (`os.replace`): the move into the `watched_directory` makes Envoy reload it.
The change counts as applied once `/config_dump?resource=dynamic_route_configs` shows the
new `version_info` with the new weights. A malformed or refused file shows up as a rise of
`rds.<name>.update_rejected` / `update_failure` in `/stats`; Envoy then keeps the previous
config, and meshwatch puts the previous file back so file and data plane agree again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from meshwatch.errors import ActuatorError
from meshwatch.remediate import envoy_rds, rds_yaml
from meshwatch.remediate.base import ApplyResult, ApplyState, Retries, RouteState, check_weights
from meshwatch.remediate.envoy_rds import RouteRef

log = logging.getLogger(__name__)


class EnvoyActuator:
    """Shifts weights of routes in one RDS file (YAML, or JSON when it ends in `.json`).

    `admin` is an httpx client whose base URL is Envoy's admin address. Targets are
    `<route_config>/<virtual_host>/<route name>`; backend names are cluster names.
    """

    def __init__(
        self,
        rds_path: Path,
        admin: httpx.Client,
        *,
        confirm_timeout: float = 5.0,
        poll_interval: float = 0.002,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rds_path = rds_path
        self.admin = admin
        self.confirm_timeout = confirm_timeout
        self.poll_interval = poll_interval
        self.clock = clock
        self.sleep = sleep

    # --- reading ------------------------------------------------------------------

    def current(self, target: str) -> RouteState:
        """The route as Envoy serves it now (the live config, not the file)."""
        ref = RouteRef.parse(target)
        version, config = self._live(ref)
        route = envoy_rds.find_route(config, ref)
        return RouteState(
            envoy_rds.route_weights(route), version, envoy_rds.has_meshwatch_retries(route)
        )

    # --- writing ------------------------------------------------------------------

    def apply(
        self,
        target: str,
        weights: Mapping[str, int] | None,
        *,
        retries: Retries | None = None,
        restore_retries: bool = False,
        dry_run: bool = True,
    ) -> ApplyResult:
        ref = RouteRef.parse(target)
        raw, doc, dump = self._read_file()
        file_version = str(doc.get("version_info", ""))
        config = envoy_rds.find_route_config(doc.get("resources") or [], ref)
        route = envoy_rds.find_route(config, ref)
        before = RouteState(
            envoy_rds.route_weights(route), file_version, envoy_rds.has_meshwatch_retries(route)
        )
        if weights is not None:
            check_weights(target, before.weights, weights)
        new_doc = envoy_rds.edit(
            doc, ref, weights=weights, retries=retries, restore_retries=restore_retries
        )
        new_version = str(new_doc["version_info"])
        after = dict(weights) if weights is not None else dict(before.weights)

        def result(state: ApplyState, version: str, detail: str, **extra: str) -> ApplyResult:
            return ApplyResult(
                state, target, before, after, version, detail, retries, restore_retries, extra
            )

        if {**new_doc, "version_info": None} == {**doc, "version_info": None}:
            state = ApplyState.DRY_RUN if dry_run else ApplyState.APPLIED
            return result(state, file_version, "nothing to change")
        if dry_run:
            return result(
                ApplyState.DRY_RUN,
                file_version,
                f"dry run: would write version {new_version} to {self.rds_path}",
            )
        live_version, _ = self._live(ref)
        counters, texts = self._rds_stats(ref)
        if file_version not in (live_version, *texts) or len(texts) > 1:
            raise ActuatorError(
                f"{target}: {self.rds_path} is at version {file_version!r} but Envoy serves "
                f"{live_version!r}; another change is pending or was refused",
                retryable=True,
            )
        started = self.clock()
        self._write(dump(new_doc))
        state, detail = self._confirm(ref, new_version, after, counters)
        elapsed_ms = f"{(self.clock() - started) * 1000:.1f}"
        if state is not ApplyState.APPLIED:
            self._write(raw)  # Envoy kept the old config; make the file say so again
            log.warning("envoy %s: version %s %s: %s", target, new_version, state.value, detail)
            return result(state, live_version, detail, confirm_ms=elapsed_ms)
        log.info("envoy %s: version %s live after %s ms", target, new_version, elapsed_ms)
        return result(state, new_version, f"live after {elapsed_ms} ms", confirm_ms=elapsed_ms)

    def _confirm(
        self, ref: RouteRef, version: str, weights: Mapping[str, int], before: int
    ) -> tuple[ApplyState, str]:
        """Poll until Envoy serves `version`, refuses it, or the timeout passes.

        `version_text` is checked besides the config dump's `version_info`: when the new
        file leaves the route configuration's content unchanged, Envoy accepts the
        version but does not reload, and the dump keeps the old `version_info`.
        """
        deadline = self.clock() + self.confirm_timeout
        while True:
            live_version, config = self._live(ref)
            refused, texts = self._rds_stats(ref)
            if live_version == version or texts == {version}:
                live = envoy_rds.route_weights(envoy_rds.find_route(config, ref))
                if live != dict(weights):
                    return ApplyState.FAILED, f"version {version} live with weights {live}"
                return ApplyState.APPLIED, ""
            if refused > before:
                return (
                    ApplyState.REJECTED,
                    f"Envoy refused version {version} (rds.{ref.config}.update_rejected/"
                    f"update_failure +{refused - before}) and kept version {live_version}",
                )
            if self.clock() >= deadline:
                return (
                    ApplyState.FAILED,
                    f"version {version} not live after {self.confirm_timeout:g} s "
                    f"(Envoy serves {live_version})",
                )
            self.sleep(self.poll_interval)

    # --- Envoy admin ----------------------------------------------------------------

    def _live(self, ref: RouteRef) -> tuple[str, dict[str, Any]]:
        body = self._get_json("/config_dump", {"resource": "dynamic_route_configs"})
        for entry in body.get("configs") or []:
            config = entry.get("route_config") or {}
            if config.get("name") == ref.config:
                return str(entry.get("version_info", "")), config
        raise ActuatorError(
            f"{ref}: Envoy has no route configuration {ref.config!r} loaded", retryable=True
        )

    def _rds_stats(self, ref: RouteRef) -> tuple[int, set[str]]:
        """update_rejected + update_failure summed over every HTTP connection manager that
        uses this route configuration, and the versions they report (`version_text`)."""
        pattern = rf"\.rds\.{re.escape(ref.config)}\.(update_rejected|update_failure|version_text)$"
        body = self._get_json("/stats", {"filter": pattern, "format": "json"})
        refused, texts = 0, set()
        for stat in body.get("stats") or []:
            name, value = str(stat.get("name", "")), stat.get("value")
            if name.endswith(".version_text"):
                texts.add(str(value))
            elif isinstance(value, int):
                refused += value
        return refused, texts

    def _get_json(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        try:
            response = self.admin.get(path, params=dict(params))
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ActuatorError(f"envoy admin {path}: {exc}", retryable=True) from exc
        if not isinstance(body, dict):
            raise ActuatorError(f"envoy admin {path}: unexpected answer", retryable=True)
        return body

    # --- the file -----------------------------------------------------------------

    def _read_file(self) -> tuple[bytes, dict[str, Any], Callable[[dict[str, Any]], bytes]]:
        """The raw bytes, the document, and how to write an edited copy back in its layout.

        YAML is round-tripped (rds_yaml: comments, key order, quoting and indentation kept),
        so the written file differs from the user's only in the fields meshwatch owns.
        """
        try:
            raw = self.rds_path.read_bytes()
            if self._is_json:
                doc = json.loads(raw)
                dump: Callable[[dict[str, Any]], bytes] = _dump_json
            else:
                document = rds_yaml.load(raw)
                doc, dump = document.data, document.dump
        except (OSError, ValueError, rds_yaml.YAMLError) as exc:
            raise ActuatorError(f"cannot read {self.rds_path}: {exc}", retryable=False) from exc
        if not isinstance(doc, dict):
            raise ActuatorError(f"{self.rds_path} is not an RDS document", retryable=False)
        return raw, doc, dump

    @property
    def _is_json(self) -> bool:
        return self.rds_path.suffix == ".json"

    def _write(self, data: bytes) -> None:
        """Write atomically: a dotfile in the same directory, fsync, then rename over."""
        directory = self.rds_path.parent
        fd, tmp = tempfile.mkstemp(prefix=f".{self.rds_path.name}.", dir=directory)
        try:
            with contextlib.suppress(FileNotFoundError):
                os.chmod(tmp, self.rds_path.stat().st_mode & 0o777)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.rds_path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise ActuatorError(f"cannot write {self.rds_path}: {exc}", retryable=True) from exc


def _dump_json(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=2) + "\n").encode()
