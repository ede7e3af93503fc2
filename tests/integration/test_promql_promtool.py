"""meshwatch's PromQL checks agree with the real `promtool check rules` (Prometheus 2).

Templates are rendered with a window and checked by promtool as recording rules; selectors
that meshwatch writes (any metric, matchers and values) are accepted by promtool and read
back to the same selector.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from meshwatch.errors import PromQLError
from meshwatch.model import Matcher, Selector
from meshwatch.sli import render_template
from meshwatch.spec.promql import check_template, parse_selector
from tests.integration.promtool_run import check_rules
from tests.support.binaries import require_binary

pytestmark = pytest.mark.integration

TEMPLATES = [
    "sum(rate(x[{{.window}}]))",
    'sum(rate(http_requests_total{job="a",code=~"5.."}[{{.window}}]))',
    "sum(rate(x[{{.window}}] offset 1h))",
    "sum(max_over_time(x[{{.window}}:1m]))",
    "histogram_quantile(0.99, sum by (le) (rate(x_bucket[{{.window}}])))",
    "1 - (sum(rate(a[{{.window}}])) / sum(rate(b[{{.window}}])))",
    "sum(rate(a[{{.window}}])) / ignoring(x) group_left sum(rate(b[{{.window}}]))",
    'sum(label_replace(rate(a[{{.window}}]), "w", "$1", "job", "(.*)"))',
    "sum(rate(x[{{.window}}])) # a ')' in a comment",
    "sum(increase(x[{{.window}}])) or vector(0)",
    "count(x[{{.window}}])",
    "sum(rat(x[{{.window}}]))",
    "sum(rate(x[{{.window}}])",
    "sum(rate(x[{{.window}}])))",
    "sum(rate(x{a=~'('}[{{.window}}]))",
    'sum(rate(x{a="1"}[{{.window}}])) +',
    "sum(rate(x[{{.window}}])) > {{.window}}",
    "sum(rate(x{a=1}[{{.window}}]))",
    "rate(sum(x)[{{.window}}])",
]


def _rules(exprs: list[str]) -> str:
    rules = [{"record": f"r{i}", "expr": e} for i, e in enumerate(exprs)]
    return yaml.safe_dump({"groups": [{"name": "g", "rules": rules}]}, allow_unicode=True)


def _promtool_accepts(promtool: str, paths: list[Path]) -> dict[Path, bool]:
    proc = check_rules(promtool, paths)
    # stdout has a "Checking FILE" block per file, with SUCCESS only when the file passed (the
    # reasons of a failure go to stderr, so they cannot be attributed by order).
    verdicts: dict[Path, bool] = {}
    current: Path | None = None
    for line in proc.stdout.splitlines():
        if line.startswith("Checking "):
            current = Path(line.removeprefix("Checking ").strip())
            verdicts[current] = False
        elif current is not None and line.strip().startswith("SUCCESS"):
            verdicts[current] = True
    assert set(verdicts) == set(paths), proc.stdout + proc.stderr
    return verdicts


def _meshwatch_accepts(template: str) -> bool:
    try:
        check_template(template)
    except PromQLError:
        return False
    return True


def test_template_checks_agree_with_promtool(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    paths = []
    for i, template in enumerate(TEMPLATES):
        path = tmp_path / f"t{i}.yaml"
        path.write_text(_rules([render_template(template, timedelta(minutes=5))]), "utf-8")
        paths.append(path)
    promtool_says = _promtool_accepts(promtool, paths)
    disagree = [
        (template, promtool_says[path])
        for template, path in zip(TEMPLATES, paths, strict=True)
        if _meshwatch_accepts(template) != promtool_says[path]
    ]
    assert disagree == [], "(template, promtool accepts) where meshwatch says otherwise"
    assert 0 < sum(promtool_says.values()) < len(TEMPLATES)  # both verdicts are exercised


_label = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True)
_value = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_regex = st.sampled_from(["5..", "a|b", ".*", "[0-9]+", r"\d+", "(GET|POST)", "x.y"])
_matcher = st.one_of(
    st.builds(Matcher, label=_label, op=st.sampled_from(["=", "!="]), value=_value),
    st.builds(Matcher, label=_label, op=st.sampled_from(["=~", "!~"]), value=_regex),
)
_selector = st.builds(
    Selector,
    metric=st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,12}", fullmatch=True),
    matchers=st.lists(_matcher, max_size=4).map(tuple),
)


@settings(max_examples=15, deadline=None)  # one promtool run per example, on a loaded machine
@given(selectors=st.lists(_selector, min_size=1, max_size=20))
def test_written_selectors_pass_promtool_and_read_back(selectors: list[Selector]) -> None:
    promtool = require_binary("promtool")
    for selector in selectors:
        assert parse_selector(selector.promql()) == selector
    exprs = [f"sum(rate({s.promql()}[5m]))" for s in selectors]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "selectors.yaml"
        path.write_text(_rules(exprs), "utf-8")
        assert _promtool_accepts(promtool, [path]) == {path: True}, exprs
