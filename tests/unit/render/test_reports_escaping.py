"""Untrusted text in Markdown reports and Slack messages is inert (issue 17 item 10).

Descriptions come from specs, alert names from Alertmanager labels and rollback reasons from
the API; before, all of them went verbatim into `.md` reports and Slack summaries.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from meshwatch.notify.bodies import slack_body
from meshwatch.notify.events import Notification
from meshwatch.render.reports_html import render_report
from meshwatch.render.reports_text import md
from tests.unit.render.test_reports_golden import fixed_report

HOSTILE = "<script>alert(1)</script> [click](javascript:alert(1)) | `x` *y*\nnext"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("<script>", "&lt;script&gt;", id="html"),
        pytest.param("[a](javascript:x)", "\\[a\\](javascript:x)", id="link"),
        pytest.param("a | b", "a \\| b", id="table-cell"),
        pytest.param("`code` *em* _em_ ~s~", "\\`code\\` \\*em\\* \\_em\\_ \\~s\\~", id="inline"),
        pytest.param("one\ntwo", "one two", id="newline"),
        pytest.param("a & b", "a &amp; b", id="ampersand"),
        pytest.param("checkout-availability 99.9%", "checkout-availability 99.9%", id="plain"),
    ],
)
def test_md_escapes(text: str, expected: str) -> None:
    assert md(text) == expected


def test_markdown_report_escapes_descriptions_alerts_and_reasons() -> None:
    report = fixed_report()
    first = report.slos[0]
    hostile = first.model_copy(
        update={
            "description": HOSTILE,
            "alerts": [a.model_copy(update={"name": HOSTILE}) for a in first.alerts],
            "actions": [a.model_copy(update={"reason": HOSTILE}) for a in first.actions],
        }
    )
    assert first.alerts and first.actions, "the fixed history has an alert and an action"
    text = render_report(report.model_copy(update={"slos": [hostile, *report.slos[1:]]}), "md")
    assert "<script>" not in text
    assert not re.search(r"(?<!\\)\]\(javascript:", text)  # no live link
    assert text.count("&lt;script&gt;") == 3  # description, alert, action reason
    for line in text.splitlines():
        if line.startswith("| ") and "script" in line:
            assert line.count(" | ") == line.replace("\\|", "").count(" | ")


def test_slack_text_is_escaped() -> None:
    event = Notification(
        key="k",
        kind="remediation.action",
        at=datetime(2026, 11, 25, tzinfo=UTC),
        summary="rollback by <!channel> <http://evil|click>: " + HOSTILE,
        service="<b>checkout</b>",
        state="breached",
    )
    body = slack_body(event)
    assert "<" not in body["text"] and ">" not in body["text"]
    assert "&lt;!channel&gt;" in body["text"]
    texts = [body["blocks"][0]["text"]["text"], *(f["text"] for f in body["blocks"][1]["fields"])]
    assert all("<" not in t and ">" not in t for t in texts)
