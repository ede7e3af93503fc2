"""Rule generation: names, labels, windows, guards, formats and determinism (no I/O)."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import pytest
import yaml

from meshwatch import conventions as c
from meshwatch.model import SLO, Alerting, Matcher, RatioSLI, Selector, Window
from meshwatch.render.rule_types import AlertingRule, RecordingRule, Rule
from meshwatch.render.rules import file_name, k8s_name, render_service, rule_files, slo_groups
from meshwatch.render.rules_common import min_failures_expr, min_requests, ratio_windows
from meshwatch.slo.windows import default_burn_windows
from tests.unit.render.rule_fixtures import (
    all_slos,
    berlin_week,
    envoy_good_form,
    istio_availability,
    istio_latency,
    linkerd_calendar,
    raw_probe,
    sloth_query,
)


def _rules(slo: SLO) -> list[Rule]:
    return [rule for group in slo_groups(slo) for rule in group.rules]


def _records(slo: SLO) -> dict[str, RecordingRule]:
    return {r.record: r for group in slo_groups(slo) for r in group.recorded()}


def _alerts(slo: SLO) -> list[AlertingRule]:
    return [r for group in slo_groups(slo) for r in group.alerts()]


def test_every_series_and_alert_carries_service_and_slo_labels() -> None:
    for slo in all_slos():
        for rule in _rules(slo):
            assert rule.labels[c.LABEL_SERVICE] == slo.service
            assert rule.labels[c.LABEL_SLO] == slo.name


def test_names_follow_the_contract_for_a_30d_slo() -> None:
    records = _records(istio_availability())
    for window in ("5m", "30m", "1h", "2h", "6h", "1d", "3d"):
        assert f"meshwatch:sli_error:ratio_rate{window}" in records
        assert f"meshwatch:sli_requests:increase{window}" in records
        assert f"meshwatch:sli_errors:increase{window}" in records
    for generic in (c.RULE_OBJECTIVE, c.RULE_PERIOD_ERROR, c.RULE_BUDGET_REMAINING):
        assert generic in records
    assert records[c.RULE_OBJECTIVE].expr == "vector(0.999)"
    assert all(name.startswith("meshwatch:") and name.count(":") == 2 for name in records)


def test_only_5m_reads_raw_counters_and_longer_windows_chain_shorter_recordings() -> None:
    records = _records(istio_availability())
    sel = '{meshwatch_service="checkout",meshwatch_slo="availability"}'
    assert records["meshwatch:sli_requests:increase5m"].expr.startswith(
        "sum(increase(istio_requests_total{"
    )
    assert records["meshwatch:sli_requests:increase1h"].expr == (
        f"meshwatch:sli_requests:increase30m{sel}"
        f" + on() (meshwatch:sli_requests:increase30m{sel} offset 30m or on() vector(0))"
    )
    day = records["meshwatch:sli_errors:increase1d"].expr
    assert day.count("meshwatch:sli_errors:increase6h") == 4
    assert day.endswith("offset 18h or on() vector(0))")
    assert "sum(" not in day  # no aggregation per term (rule cost)
    period = records["meshwatch:sli_errors:increase30d"].expr
    assert period.count("meshwatch:sli_errors:increase3d") == 10 and "offset 27d or" in period
    chained = [r for n, r in records.items() if n.startswith("meshwatch:sli_") and n[-2:] != "5m"]
    assert not any("[" in r.expr for r in chained)


def test_every_window_and_the_period_are_in_one_group_before_they_are_read() -> None:
    groups = slo_groups(istio_availability())
    sli = [r.record for r in groups[0].recorded()]
    for i, rule in enumerate(groups[0].rules):
        assert not any(f"{later}{{" in rule.expr for later in sli[i:]), rule
    assert sli[-2:] == [c.RULE_PERIOD_ERROR, c.RULE_BUDGET_REMAINING]


def test_period_ratio_is_errors_over_requests_not_an_average() -> None:
    period = _records(istio_availability())[c.RULE_PERIOD_ERROR].expr
    assert "increase30d" in period and "avg" not in period
    remaining = _records(istio_availability())[c.RULE_BUDGET_REMAINING].expr
    assert remaining.startswith("1 - meshwatch:slo_period_error:ratio{") and remaining.endswith(
        "/ 0.001"
    )


def test_errors_counted_among_requests_are_recorded_with_them_and_need_no_ratio_guard() -> None:
    slo = istio_availability()  # bad = the request counter narrowed to 5xx
    records = _records(slo)
    sel = '{meshwatch_service="checkout",meshwatch_slo="availability"}'
    errors = records["meshwatch:sli_errors:increase5m"].expr
    assert errors.endswith(f" or on() (meshwatch:sli_requests:increase5m{sel} * 0))")
    assert "vector(0)" not in errors  # no errors without requests, even in older terms
    for window in ("5m", "1h", "6h"):
        ratio = records[f"meshwatch:sli_error:ratio_rate{window}"].expr
        assert ratio == (
            f"clamp_max(meshwatch:sli_errors:increase{window}{sel}"
            f" / meshwatch:sli_requests:increase{window}{sel}, 1)"
        )
    period = records[c.RULE_PERIOD_ERROR].expr
    assert period.count("meshwatch:sli_requests:increase") == 1  # two reads, not four


def test_errors_of_another_counter_keep_the_guard_against_errors_without_requests() -> None:
    requests = Selector("app_requests_total", (Matcher("job", "=", "odd"),))
    errors = Selector("app_errors_total", (Matcher("job", "=", "odd"),))
    slo = SLO(
        "odd",
        "availability",
        99.9,
        Window.rolling(timedelta(days=30)),
        RatioSLI(total=requests, bad=errors),
    )
    records = _records(slo)
    assert records["meshwatch:sli_errors:increase5m"].expr.endswith(" or vector(0))")
    for name in (
        "meshwatch:sli_error:ratio_rate5m",
        "meshwatch:sli_error:ratio_rate1h",
        c.RULE_PERIOD_ERROR,
    ):
        requests_read = records[name].expr.count("meshwatch:sli_requests:increase")
        assert requests_read == 3, name  # `* (r / r)`: NaN, not 1, when errors move alone
    templated = _records(sloth_query())[c.RULE_PERIOD_ERROR].expr
    assert templated.count("meshwatch:sli_requests:increase") == 3


def test_raw_sli_period_is_time_weighted_and_has_no_counts() -> None:
    records = _records(raw_probe())
    assert not any("increase" in name for name in records)
    assert records[c.RULE_PERIOD_ERROR].expr == (
        "avg(avg_over_time(meshwatch:sli_error:ratio_rate5m"
        '{meshwatch_service="catalog",meshwatch_slo="probe"}[30d]))'
    )
    absent = next(r for r in _alerts(raw_probe()) if r.alert == c.ALERT_ABSENT)
    assert "meshwatch:sli_error:ratio_rate5m" in absent.expr and absent.for_ == "30m"


def test_one_alert_per_severity_with_every_condition_ored() -> None:
    alerts = _alerts(istio_availability())
    assert [(a.alert, a.labels[c.LABEL_SEVERITY]) for a in alerts] == [
        (c.ALERT_BURN, "page"),
        (c.ALERT_BURN, "ticket"),
        (c.ALERT_ABSENT, "ticket"),
    ]
    page = alerts[0].expr
    assert page.count("\nor\n") == 1 and page.count("and") == 4
    assert "ratio_rate1h" in page and "ratio_rate5m" in page and "/ 0.001 > 14.4" in page
    assert "ratio_rate6h" in page and "ratio_rate30m" in page and "/ 0.001 > 6" in page
    assert alerts[0].for_ is None


def test_alert_labels_and_annotations() -> None:
    page, ticket, absent = _alerts(istio_availability())
    assert page.labels == {
        "meshwatch_service": "checkout",
        "meshwatch_severity": "page",
        "meshwatch_slo": "availability",
        "route": "pagerduty",
        "severity": "page",
        "team": "payments",
    }
    assert "route" not in ticket.labels and ticket.labels["severity"] == "ticket"
    annotations = page.annotations
    assert annotations["burn_windows"] == "1h/5m>14.4x 6h/30m>6x"
    assert annotations["burn_rate"] == '{{ printf "%.2f" $value }}'
    assert annotations["runbook_url"] == "https://runbooks.example/checkout"
    assert annotations["dashboard_url"].endswith("meshwatch-svc-checkout")
    assert annotations["owner"] == "payments-oncall"
    assert "needs 2 failed requests" in annotations["description"]
    assert absent.annotations["runbook_url"] == annotations["runbook_url"]


def test_a_severity_label_from_the_spec_wins_but_meshwatch_severity_stays() -> None:
    page = _alerts(istio_latency())[0]
    assert page.labels["severity"] == "critical"
    assert page.labels["meshwatch_severity"] == "page"


@pytest.mark.parametrize(
    ("objective", "factor", "expected"),
    [
        pytest.param(99.9, 14.4, 70, id="1h-page-99.9"),
        pytest.param(99.9, 6, 167, id="6h-page-99.9"),
        pytest.param(99.9, 3, 334, id="1d-ticket-99.9"),
        pytest.param(99.9, 1, 1000, id="3d-ticket-99.9"),
        pytest.param(99.0, 10, 10, id="exact-integer-stays"),
    ],
)
def test_default_guard_needs_failed_requests_that_spend_the_budget_share(
    objective: float, factor: float, expected: int
) -> None:
    slo = dataclasses.replace(istio_availability(), objective=objective)
    window = dataclasses.replace(default_burn_windows(timedelta(days=30))[0], factor=factor)
    assert min_requests(slo) is None
    guard = min_failures_expr(slo, window, "P")
    share = factor * (1 / 720) * slo.error_budget  # 1h of 30d
    assert guard == f"clamp_max({share:.10g} * P, 1.5)"
    assert expected > 0  # the parameters of the former traffic guard still describe the cases


def test_spec_min_requests_overrides_the_default() -> None:
    page = _alerts(istio_latency())[0]
    assert ">= 500" in page.expr and ">= 70" not in page.expr


def test_disabled_ticket_leaves_only_page_windows() -> None:
    slo = linkerd_calendar()
    assert [a.labels[c.LABEL_SEVERITY] for a in _alerts(slo)] == ["page", "ticket"]
    assert _alerts(slo)[1].alert == c.ALERT_ABSENT
    assert ratio_windows(slo) == tuple(timedelta(minutes=m) for m in (5, 30, 60, 360))


def test_28d_period_scales_the_factors() -> None:
    page = _alerts(envoy_good_form())[0].expr
    assert "> 13.44" in page and "> 5.6" in page


def test_sloth_alert_name_is_kept() -> None:
    assert {a.alert for a in _alerts(sloth_query())} == {
        "CatalogHighErrorRate",
        c.ALERT_ABSENT,
    }


def test_backend_series_have_their_own_names_group_and_interval() -> None:
    groups = {g.name: g for g in slo_groups(istio_availability())}
    backends = groups["meshwatch-checkout-availability-backends"]
    assert backends.interval == "5s"
    records = [(r.record, r.labels[c.LABEL_BACKEND]) for r in backends.recorded()]
    assert records[:3] == [
        ("meshwatch:backend_requests:increase1m", "v1"),
        ("meshwatch:backend_errors:increase1m", "v1"),
        ("meshwatch:backend_error:ratio_rate1m", "v1"),
    ]
    assert {b for _, b in records} == {"v1", "v2"}
    assert 'destination_version="v2"' in backends.rules[-1 - 5].expr
    assert "meshwatch-checkout-latency-backends" not in {
        g.name for g in slo_groups(istio_latency())
    }


def test_raw_counters_are_read_over_at_most_5m_except_backends_and_raw_templates() -> None:
    for slo in all_slos():
        for group in slo_groups(slo):
            if group.name.endswith("-backends"):
                continue
            for rule in group.rules:
                # a calendar period's accumulation reads its own recording back (not raw)
                expr = re.sub(r"last_over_time\(meshwatch:[^\[]*\[\w+\]", "", rule.expr)
                for window in ("[30m]", "[1h]", "[2h]", "[6h]", "[1d]", "[3d]", "[28d]"):
                    assert window not in expr or "probe_success" in expr, (rule, window)


def test_group_order_and_intervals() -> None:
    groups = slo_groups(istio_availability())
    assert [(g.name, g.interval) for g in groups] == [
        ("meshwatch-checkout-availability-sli", None),
        ("meshwatch-checkout-availability-backends", "5s"),
        ("meshwatch-checkout-availability-alerts", None),
    ]


def test_files_are_per_service_sorted_and_independent_of_input_order() -> None:
    slos = all_slos()
    files = rule_files(slos)
    assert list(files) == ["catalog.yaml", "checkout.yaml", "inventory.yaml", "web.yaml"]
    assert rule_files(list(reversed(slos))) == files
    for text in files.values():
        assert text.startswith(c.GENERATED_HEADER + "\n")
        assert "DO NOT EDIT" in text.splitlines()[0]


def test_prometheus_operator_wraps_the_same_groups() -> None:
    slos = [s for s in all_slos() if s.service == "checkout"]
    plain = yaml.safe_load(render_service("checkout", slos))
    operator = yaml.safe_load(render_service("checkout", slos, "prometheus-operator"))
    assert operator["apiVersion"] == "monitoring.coreos.com/v1"
    assert operator["kind"] == "PrometheusRule"
    assert operator["metadata"]["name"] == "meshwatch-checkout"
    assert operator["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "meshwatch"
    assert operator["spec"]["groups"] == plain["groups"]


def test_written_yaml_is_what_was_built() -> None:
    slo = istio_availability()
    parsed = yaml.safe_load(render_service(slo.service, [slo]))
    assert parsed["groups"] == [g.document() for g in slo_groups(slo)]


@pytest.mark.parametrize(
    ("service", "file", "k8s"),
    [
        pytest.param("checkout", "checkout.yaml", "meshwatch-checkout", id="plain"),
        pytest.param("Shop/Cart v2", "Shop_Cart_v2.yaml", "meshwatch-shop-cart-v2", id="odd"),
        pytest.param("x" * 80, "x" * 80 + ".yaml", "meshwatch-" + "x" * 53, id="long"),
    ],
)
def test_file_and_object_names(service: str, file: str, k8s: str) -> None:
    assert file_name(service) == file
    assert k8s_name(service) == k8s


def test_two_services_mapping_to_one_file_is_an_error() -> None:
    a = dataclasses.replace(envoy_good_form(), service="shop/cart")
    b = dataclasses.replace(envoy_good_form(), service="shop_cart")
    with pytest.raises(ValueError, match=r"both map to shop_cart\.yaml"):
        rule_files([a, b])


def test_labels_with_quotes_are_escaped_in_selectors() -> None:
    slo = dataclasses.replace(envoy_good_form(), name='odd"name', alerting=Alerting())
    expr = _records(slo)["meshwatch:sli_error:ratio_rate5m"].expr
    assert 'meshwatch_slo="odd\\"name"' in expr


def test_calendar_month_accumulates_its_period_instead_of_a_rolling_30d() -> None:
    slo = linkerd_calendar()
    assert slo.window == Window.calendar(slo.window.unit)  # type: ignore[arg-type]
    records = _records(slo)
    assert "meshwatch:sli_errors:increase30d" not in records
    assert "meshwatch:sli_errors:increase_period" in records
    assert c.RULE_PERIOD_START in records
    assert c.RULE_UTC_OFFSET not in records  # UTC has no DST: no offset series


def test_zone_with_dst_records_its_offset_before_the_start() -> None:
    records = list(_records(berlin_week()))  # in evaluation order
    order = [c.RULE_UTC_OFFSET, c.RULE_PERIOD_START_LOCAL, c.RULE_PERIOD_START]
    assert [r for r in records if r in order] == order
    assert records.index(c.RULE_PERIOD_START) < records.index(
        "meshwatch:sli_requests:increase_period"
    )


def test_every_alert_off_means_no_absent_alert_either() -> None:
    """Sloth's page and ticket both disabled, Pyrra's `disabled`: no alert rule at all."""
    slo = istio_availability()
    off = dataclasses.replace(
        slo, alerting=dataclasses.replace(slo.alerting, page=False, ticket=False, absent=False)
    )
    assert _alerts(off) == []
    assert c.RULE_PERIOD_ERROR in _records(off)  # the SLI is still recorded


def test_alert_after_holds_the_burn_alert_for_that_long() -> None:
    """OpenSLO `alertAfter` is the burn alert's `for:`; without it the alert fires at once."""
    slo = istio_availability()
    assert all(a.for_ is None for a in _alerts(slo) if a.alert == c.ALERT_BURN)
    windows = tuple(
        dataclasses.replace(w, alert_after=timedelta(minutes=5))
        for w in default_burn_windows(slo.window.length)
    )
    held = dataclasses.replace(slo, alerting=dataclasses.replace(slo.alerting, windows=windows))
    burns = [a for a in _alerts(held) if a.alert == c.ALERT_BURN]
    assert [a.for_ for a in burns] == ["5m", "5m"]
