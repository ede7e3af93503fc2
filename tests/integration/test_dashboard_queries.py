"""Every PromQL expression of every generated dashboard, run against a real Prometheus.

A Prometheus (Debian package, 127.0.0.1, random port, tmp storage) scrapes synthetic mesh
traffic every second and, when meshwatch's rule generator is available, evaluates the
generated recording and alert rules (group intervals shortened to 1 s for the test). Then every
panel target, template-variable query and annotation query of every dashboard is sent to
`/api/v1/query` with the template variables bound to concrete values: it must parse, and where
the data exists it must return series. A typo in a metric, label or function cannot ship.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshwatch import conventions as c
from meshwatch.model import SLO
from meshwatch.render import dashboards
from tests.support.example_slos import example_slos
from tests.support.exporter import serving_metrics
from tests.support.prometheus import Prometheus, PrometheusError, prometheus_factory
from tests.support.synthetic_traffic import Series, exposition, traffic_series

pytestmark = pytest.mark.integration
__all__ = ["prometheus_factory"]  # the session fixture, imported so pytest finds it

ROOT = Path(__file__).resolve().parents[2]
# Grafana's built-in variables, bound the way Grafana would for a 1 s scrape interval.
BUILTINS = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h", "__range_s": "3600"}
# The synthetic exporter cannot derive series from free-PromQL SLIs; these feed `search`.
EXTRA_SERIES = [
    Series("search_requests_total", (("code", "200"), ("job", "search")), 98.0),
    Series("search_requests_total", (("code", "503"), ("job", "search")), 2.0),
]


def _repo_slos() -> list[SLO]:
    """The committed examples in rules/slos/, when the spec loader is available."""
    try:
        from meshwatch.spec import load_paths
    except ImportError:
        return []
    folder = ROOT / "rules" / "slos"
    return list(load_paths([folder]).slos) if folder.is_dir() else []


def _rule_files(slos: Sequence[SLO]) -> dict[str, str] | None:
    """meshwatch's generated rule files with every group evaluated each second; None when the
    rule generator is not available."""
    try:
        from meshwatch.render import rules  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return None
    out: dict[str, str] = {}
    for name, text in rules.rule_files(slos).items():
        document = yaml.safe_load(text)
        for group in document["groups"]:
            group["interval"] = "1s"
        out[name] = yaml.safe_dump(document, sort_keys=False)
    return out


@dataclass
class Stack:
    prom: Prometheus
    slos: list[SLO]
    boards: list[dashboards.Rendered]
    rules_loaded: bool


def _config(target: str, rule_glob: str | None) -> str:
    config: dict[str, Any] = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "synthetic",
                "honor_labels": True,  # keep the exporter's `job` labels (app SLIs select them)
                "static_configs": [{"targets": [target]}],
            }
        ],
    }
    if rule_glob:
        config["rule_files"] = [rule_glob]
    return yaml.safe_dump(config, sort_keys=False)


SOURCES = {
    "examples": example_slos,  # every SLI shape, built in code
    "rules-slos": _repo_slos,  # the committed examples the dashboards/ folder is built from
}


@pytest.fixture(scope="module", params=list(SOURCES))
def stack(
    request: pytest.FixtureRequest,
    prometheus_factory: Callable[[str], Prometheus],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    slos = SOURCES[request.param]()
    if not slos:
        pytest.skip(f"no SLOs from {request.param}")
    series = traffic_series(slos) + EXTRA_SERIES
    rules = _rule_files(slos)
    rule_glob: str | None = None
    if rules is not None:
        folder = tmp_path_factory.mktemp("rules")
        for name, text in rules.items():
            (folder / name).write_text(text, encoding="utf-8")
        rule_glob = str(folder / "*")
    with serving_metrics(lambda elapsed: exposition(series, elapsed)) as target:
        prom = prometheus_factory(_config(target, rule_glob))
        prom.wait_for('up{job="synthetic"} == 1')
        prom.wait_for(f"rate({c.ISTIO_REQUESTS}[1m]) > 0")
        if rules is not None:
            ids = {(s.service, s.name) for s in slos}
            prom.wait_for(f"{c.RULE_BUDGET_REMAINING} >= -1e9", timeout=60, count=len(ids))
        yield Stack(prom, slos, dashboards.build(slos), rules is not None)


def bind(expr: str, values: dict[str, str]) -> str:
    """Substitute `$name` and `${name}` the way Grafana interpolates template variables."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"unbound variable ${name} in {expr}")
        return values[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, expr)


def variable_values(model: dict[str, Any]) -> dict[str, str]:
    """Concrete values: constants as set, multi-value variables as their `All` regex."""
    values = dict(BUILTINS)
    for variable in model["templating"]["list"]:
        if variable["type"] == "constant":
            values[variable["name"]] = variable["query"]
        elif variable["type"] == "query":
            values[variable["name"]] = variable["allValue"] or ".+"
        else:
            values[variable["name"]] = "prometheus"
    return values


LABEL_VALUES = re.compile(r"^label_values\((?P<expr>.+),\s*(?P<label>\w+)\)$")


def must_have_data(expr: str, rules_loaded: bool) -> bool:
    """Whether an expression must return series once the stack runs.

    Alerts only exist when one fires (`for:` keeps them pending for minutes), so a query that
    reads ALERTS alone may be empty; everything else has data, recorded series once the rules
    are loaded.
    """
    if expr.startswith("ALERTS{"):
        return False
    return rules_loaded or "meshwatch:" not in expr


def check(prom: Prometheus, where: str, expr: str, rules_loaded: bool) -> str | None:
    """None when the query is good, else what is wrong with it."""
    label = None
    match = LABEL_VALUES.match(expr)
    if match:  # a Grafana variable query, not PromQL: run its selector
        expr, label = match["expr"], match["label"]
    try:
        result = prom.query(expr)
    except PrometheusError as exc:
        return f"{where}: {exc}\n    {expr}"
    if not result and must_have_data(expr, rules_loaded):
        return f"{where}: no series\n    {expr}"
    if label and result and not any(label in r["metric"] for r in result):
        return f"{where}: no series has label {label}\n    {expr}"
    return None


def test_every_dashboard_query_parses_and_returns_data(stack: Stack) -> None:
    problems: list[str] = []
    checked = 0
    for board in stack.boards:
        values = variable_values(board.model)
        for where, expr in dashboards.queries(board.model):
            checked += 1
            problem = check(
                stack.prom, f"{board.uid}: {where}", bind(expr, values), stack.rules_loaded
            )
            if problem:
                problems.append(problem)
    assert checked > 100
    assert not problems, f"{len(problems)} of {checked} queries failed:\n" + "\n".join(problems)


def test_service_dashboards_bound_to_each_slo_return_that_slos_data(stack: Stack) -> None:
    """The `$slo` variable bound to one SLO (not `All`) selects exactly that SLO's rows."""
    if not stack.rules_loaded:
        pytest.skip("meshwatch's rule generator is not available: recorded series do not exist")
    for board in stack.boards:
        if not board.uid.startswith(c.dashboard_uid_service("")):
            continue
        values = variable_values(board.model)
        for slo in (s for s in stack.slos if c.dashboard_uid_service(s.service) == board.uid):
            table_exprs = [
                expr for where, expr in dashboards.queries(board.model) if "'SLOs'" in where
            ]
            for expr in table_exprs:
                result = stack.prom.query(bind(expr, {**values, "slo": slo.name}))
                assert {r["metric"].get(c.LABEL_SLO) for r in result} == {slo.name}, expr


@pytest.mark.parametrize(
    ("expr", "error"),
    [
        pytest.param("sum(rate(istio_requests_total[1m])", "parse error", id="unbalanced-paren"),
        pytest.param("rate(istio_requests_total)", "", id="range-vector-missing"),
        pytest.param("sum by (le) (rate(istio_requests_totl[1m]))", "no series", id="metric-typo"),
    ],
)
def test_the_harness_catches_typos(stack: Stack, expr: str, error: str) -> None:
    """A broken expression is reported (the check above cannot pass vacuously)."""
    problem = check(stack.prom, "typo", expr, stack.rules_loaded)
    assert problem is not None
    assert error in problem
