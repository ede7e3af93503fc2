"""Every PromQL expression of every generated dashboard, run against a real Prometheus.

For each SLO source (SLO objects of every shape built in code, and the committed examples in
rules/slos/ that dashboards/ is generated from) a Prometheus (Debian package, 127.0.0.1,
random port, tmp storage) scrapes synthetic mesh traffic every second and evaluates meshwatch's
generated recording and alert rules (group intervals shortened to 1 s). Then every panel
target, template-variable query and annotation query of every dashboard is sent to
`/api/v1/query` with the template variables bound to concrete values. Each must

* parse (Prometheus answers `success`),
* name only series that exist: recording rules of the generated rule files, series the
  Prometheus has scraped, or ALERTS (a typo in a metric name fails even if it would be empty),
* return series: everything has data once the rules ran, except queries that read firing
  alerts (no alert fires within the test's seconds; their names are still checked).

The SLO-period series are chained from the 5m recordings in the same group, so they exist
from the first evaluations with traffic: the fixture still waits for every SLO's budget.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshwatch import conventions as c
from meshwatch.meshes import istio
from meshwatch.model import SLO
from meshwatch.render import dashboards, rules
from meshwatch.spec import load_paths
from tests.support.example_slos import example_slos
from tests.support.exporter import serving_metrics
from tests.support.prometheus_run import PrometheusError, PrometheusProcess, prometheus_factory
from tests.support.synthetic_traffic import Series, exposition, traffic_series

pytestmark = [pytest.mark.integration, pytest.mark.slow]
__all__ = ["prometheus_factory"]  # the session fixture, imported so pytest finds it

ROOT = Path(__file__).resolve().parents[2]
# Grafana's built-in variables, bound the way Grafana would for a 1 s scrape interval.
BUILTINS = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h", "__range_s": "3600"}
# The synthetic exporter cannot derive series from free-PromQL SLIs; these feed them.
FREE_PROMQL_SERIES = [
    Series("search_requests_total", (("code", "200"), ("job", "search")), 98.0),
    Series("search_requests_total", (("code", "503"), ("job", "search")), 2.0),
    Series("catalog_searches_total", (), 50.0),
    Series("catalog_search_errors_total", (), 0.5),
]
READY_TIMEOUT_S = 420.0  # a 5-minute boundary, plus the rules' first evaluations
PROMQL_WORDS = {
    "by", "on", "ignoring", "without", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "inf", "nan", "le",
}  # fmt: skip


def _repo_slos() -> list[SLO]:
    return list(load_paths([ROOT / "rules" / "slos"]).slos)


SOURCES: dict[str, Callable[[], list[SLO]]] = {
    "examples": example_slos,  # every SLI shape, built in code
    "rules-slos": _repo_slos,  # the committed examples dashboards/ is generated from
}


def _rule_files(slos: Sequence[SLO]) -> dict[str, str]:
    """meshwatch's generated rule files, every group evaluated each second."""
    out: dict[str, str] = {}
    for name, text in rules.rule_files(slos).items():
        document = yaml.safe_load(text)
        for group in document["groups"]:
            group["interval"] = "1s"
        out[name] = yaml.safe_dump(document, sort_keys=False)
    return out


def _recorded_names(files: dict[str, str]) -> set[str]:
    return {
        rule["record"]
        for text in files.values()
        for group in yaml.safe_load(text)["groups"]
        for rule in group["rules"]
        if "record" in rule
    }


def _config(target: str, rule_glob: str) -> str:
    return yaml.safe_dump(
        {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [rule_glob] if rule_glob else [],
            "scrape_configs": [
                {
                    "job_name": "synthetic",
                    "honor_labels": True,  # keep the exporter's `job` labels (app SLIs use them)
                    "static_configs": [{"targets": [target]}],
                }
            ],
        },
        sort_keys=False,
    )


@dataclass
class Stack:
    prom: PrometheusProcess
    slos: list[SLO]
    boards: list[dashboards.Rendered]
    recorded: set[str]


@pytest.fixture(scope="module")
def stacks(
    prometheus_factory: Callable[[str], PrometheusProcess], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Stack]]:
    """Both sources' Prometheus servers, started together, ready once every SLO has a budget."""
    with contextlib.ExitStack() as exits:
        started: dict[str, Stack] = {}
        for name, source in SOURCES.items():
            slos = source()
            series = traffic_series(slos) + FREE_PROMQL_SERIES
            files = _rule_files(slos)
            folder = tmp_path_factory.mktemp(f"rules-{name}")
            for filename, text in files.items():
                (folder / filename).write_text(text, encoding="utf-8")
            target = exits.enter_context(
                serving_metrics(lambda elapsed, s=series: exposition(s, elapsed))  # type: ignore[misc]
            )
            prom = prometheus_factory(_config(target, str(folder / "*")))
            recorded = _recorded_names(files)
            started[name] = Stack(prom, slos, dashboards.build(slos), recorded)
        for stack in started.values():
            stack.prom.wait_for('up{job="synthetic"} == 1')
            stack.prom.wait_for(f"rate({istio.REQUESTS}[1m]) > 0")
            stack.prom.wait_for(
                f"{c.RULE_BUDGET_REMAINING} >= -1e9", timeout=READY_TIMEOUT_S, count=len(stack.slos)
            )
        yield started


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
            values[variable["name"]] = variable.get("allValue") or ".+"
        else:
            values[variable["name"]] = "prometheus"
    return values


LABEL_VALUES = re.compile(r"^label_values\((?P<expr>.+),\s*(?P<label>\w+)\)$")
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACES = re.compile(r"\{[^{}]*\}")
_GROUPING = re.compile(r"\b(?:by|on|ignoring|without|group_left|group_right)\s*\([^()]*\)")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_NAME = re.compile(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()")


def metric_names(expr: str) -> set[str]:
    """Series names an expression selects (functions, keywords and labels left out)."""
    text = _STRINGS.sub('""', expr)
    text = _BRACES.sub("", text)
    text = _GROUPING.sub("", text)
    text = _RANGES.sub("", text)
    return {name for name in _NAME.findall(text) if name not in PROMQL_WORDS}


def must_have_data(expr: str) -> bool:
    """Alerts only exist while one fires (`for:` keeps them pending for minutes)."""
    return not expr.startswith("ALERTS{")


def check(prom: PrometheusProcess, where: str, expr: str, known: set[str]) -> str | None:
    """None when the query is good, else what is wrong with it."""
    label = None
    match = LABEL_VALUES.match(expr)
    if match:  # a Grafana variable query, not PromQL: run its selector
        expr, label = match["expr"], match["label"]
    names = metric_names(expr) - known - {"ALERTS"}
    unknown = sorted(names)
    if unknown:
        return f"{where}: unknown series {', '.join(unknown)}\n    {expr}"
    try:
        result = prom.query(expr)
    except PrometheusError as exc:
        return f"{where}: {exc}\n    {expr}"
    if not result and must_have_data(expr):
        return f"{where}: no series\n    {expr}"
    if label and result and not any(label in r["metric"] for r in result):
        return f"{where}: no series has label {label}\n    {expr}"
    return None


def _known(stack: Stack) -> set[str]:
    scraped = set(stack.prom.api("label/__name__/values"))
    return scraped | stack.recorded


@pytest.mark.parametrize("source", list(SOURCES))
def test_every_dashboard_query_parses_names_real_series_and_returns_data(
    stacks: dict[str, Stack], source: str
) -> None:
    stack = stacks[source]
    known = _known(stack)
    problems: list[str] = []
    checked = 0
    for board in stack.boards:
        values = variable_values(board.model)
        for where, expr in dashboards.queries(board.model):
            checked += 1
            problem = check(stack.prom, f"{board.uid}: {where}", bind(expr, values), known)
            if problem:
                problems.append(problem)
    assert checked > 150
    assert not problems, f"{len(problems)} of {checked} queries failed:\n" + "\n".join(problems)


@pytest.mark.parametrize("source", list(SOURCES))
def test_the_slo_table_bound_to_one_slo_shows_exactly_that_slo(
    stacks: dict[str, Stack], source: str
) -> None:
    """`$slo` bound to one SLO (not `All`) selects that SLO's row in every column."""
    stack = stacks[source]
    for board in stack.boards:
        values = variable_values(board.model)
        table = [expr for where, expr in dashboards.queries(board.model) if "'SLOs'" in where]
        for slo in stack.slos:
            if board.uid != c.dashboard_uid_service(slo.service):
                continue
            for expr in table:
                result = stack.prom.query(bind(expr, {**values, "slo": slo.name}))
                got = {
                    (r["metric"].get(c.LABEL_SERVICE), r["metric"].get(c.LABEL_SLO)) for r in result
                }
                if "ratio_rate" in expr:  # a burn window this SLO may not alert on: empty
                    assert got <= {(slo.service, slo.name)}, expr
                else:
                    assert got == {(slo.service, slo.name)}, expr


def test_the_budget_column_matches_the_rules_and_the_state_reads_ok(
    stacks: dict[str, Stack],
) -> None:
    """With 2 % errors against 99.9 % the budget is overspent: the table must say so."""
    stack = stacks["examples"]
    overview = next(b for b in stack.boards if b.uid == c.DASHBOARD_UID_OVERVIEW)
    values = variable_values(overview.model)
    table = {
        where.rsplit(" ", 1)[-1]: expr
        for where, expr in dashboards.queries(overview.model)
        if where.startswith("panel 'SLOs' ")
    }
    renames = next(p for p in overview.model["panels"] if p["title"] == "SLOs")["transformations"][
        1
    ]["options"]["renameByName"]
    ref = {name: key.removeprefix("Value #") for key, name in renames.items()}
    budget = stack.prom.query(bind(table[ref["Budget remaining"]], values))
    state = stack.prom.query(bind(table[ref["State"]], values))
    by_slo = {
        (r["metric"][c.LABEL_SERVICE], r["metric"][c.LABEL_SLO]): float(r["value"][1])
        for r in budget
    }
    states = {
        (r["metric"][c.LABEL_SERVICE], r["metric"][c.LABEL_SLO]): r["value"][1] for r in state
    }
    checkout = ("checkout", "availability")  # ~2.4 % errors vs a 0.1 % budget: spent
    assert by_slo[checkout] < 0
    assert states[checkout] == "2"  # breached


@pytest.mark.parametrize(
    ("expr", "error"),
    [
        pytest.param("sum(rate(istio_requests_total[1m])", "parse error", id="unbalanced-paren"),
        pytest.param("rate(istio_requests_total)", "expected type range vector", id="no-range"),
        pytest.param("sum(rate(istio_requests_totl[1m]))", "unknown series", id="metric-typo"),
        pytest.param(
            "meshwatch:sli_error:ratio_rate1hh", "unknown series", id="recorded-name-typo"
        ),
        pytest.param(
            'sum(rate(istio_requests_total{reporter="destinaton"}[1m]))',
            "no series",
            id="label-value-typo",
        ),
    ],
)
def test_the_harness_catches_typos(stacks: dict[str, Stack], expr: str, error: str) -> None:
    """A broken expression is reported: the checks above cannot pass vacuously."""
    stack = stacks["examples"]
    problem = check(stack.prom, "typo", expr, _known(stack))
    assert problem is not None
    assert error in problem


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        pytest.param(
            'sum by (le) (rate(x_bucket{a="b:c"}[5m])) / on(k) group_left() y:z:w',
            {"x_bucket", "y:z:w"},
            id="grouping-and-labels-dropped",
        ),
        pytest.param("histogram_quantile(0.9, sum(rate(h[1m])))", {"h"}, id="functions-dropped"),
        pytest.param("count(a <= bool 0) or vector(0)", {"a"}, id="keywords-dropped"),
    ],
)
def test_metric_names(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names
