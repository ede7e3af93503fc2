"""Every metric, label, rule-group and dashboard-uid name meshwatch writes or reads.

The one exception: a mesh's own metric and label names live in its module in
`meshwatch.meshes`, the mesh registry.

Nothing else in the code base spells these strings: they are a public contract
(DESIGN.md, "Contracts"), relied on by users' dashboards, routes and tools.
"""

from __future__ import annotations

from datetime import timedelta

# --- labels on every generated series and alert --------------------------------
LABEL_SERVICE = "meshwatch_service"
LABEL_SLO = "meshwatch_slo"
LABEL_WINDOW = "meshwatch_window"
LABEL_SEVERITY = "meshwatch_severity"
LABEL_BACKEND = "meshwatch_backend"
USER_SEVERITY = "severity"

SEVERITY_PAGE = "page"
SEVERITY_TICKET = "ticket"

# --- recording rules: meshwatch:<what>:<how> -----------------------------------
BASE_INTERVAL = timedelta(minutes=5)
RULE_ERRORS_INCREASE = "meshwatch:sli_errors:increase5m"
RULE_REQUESTS_INCREASE = "meshwatch:sli_requests:increase5m"
RULE_OBJECTIVE = "meshwatch:slo_objective:ratio"
RULE_PERIOD_ERROR = "meshwatch:slo_period_error:ratio"
RULE_BUDGET_REMAINING = "meshwatch:slo_error_budget_remaining:ratio"
# calendar SLO periods (docs/rules.md, "Calendar periods")
RULE_UTC_OFFSET = "meshwatch:slo_utc_offset:seconds"
RULE_PERIOD_START = "meshwatch:slo_period_start:timestamp"
RULE_PERIOD_START_LOCAL = "meshwatch:slo_period_start:local_timestamp"
PERIOD_SUFFIX = "_period"  # meshwatch:sli_{requests,errors}:increase_period


def rule_error_ratio(window: str) -> str:
    """Recording rule of the error ratio over `window` (a Prometheus duration like `1h`)."""
    return f"meshwatch:sli_error:ratio_rate{window}"


def rule_errors_increase(window: str) -> str:
    """Recording rule of the bad events in `window` (summed over the SLO's series)."""
    return f"meshwatch:sli_errors:increase{window}"


def rule_requests_increase(window: str) -> str:
    """Recording rule of the requests in `window`."""
    return f"meshwatch:sli_requests:increase{window}"


# Per-backend (version/subset) series for the remediation loop; a name of their own so that
# nothing aggregating `meshwatch:sli_*` by SLO picks them up by accident.
def rule_backend_errors_increase(window: str) -> str:
    return f"meshwatch:backend_errors:increase{window}"


def rule_backend_requests_increase(window: str) -> str:
    return f"meshwatch:backend_requests:increase{window}"


def rule_backend_error_ratio(window: str) -> str:
    return f"meshwatch:backend_error:ratio_rate{window}"


# Timeslices budgeting (one sample per slice, in the SLO's `-slices` group whose interval is
# the slice): the slice's error ratio, its badness (0/1, or the error ratio for
# RatioTimeslices), whether it had traffic, and the bad-slice share over a window.
def rule_slice_error_ratio(slice_length: str) -> str:
    return f"meshwatch:slice_error:ratio{slice_length}"


def rule_slice_bad(slice_length: str) -> str:
    return f"meshwatch:slice_bad:ratio{slice_length}"


def rule_slice_traffic(slice_length: str) -> str:
    return f"meshwatch:slice_traffic:bool{slice_length}"


def rule_slice_bad_share(window: str) -> str:
    return f"meshwatch:slice_bad:share{window}"


def rule_group(service: str, what: str) -> str:
    """Rule-group name, e.g. `meshwatch-checkout-sli`."""
    return f"meshwatch-{service}-{what}"


# --- alerts ----------------------------------------------------------------------
ALERT_BURN = "MeshwatchErrorBudgetBurn"
ALERT_ABSENT = "MeshwatchSLIAbsent"
ANNOTATION_SUMMARY = "summary"
ANNOTATION_DESCRIPTION = "description"
ANNOTATION_BURN_RATE = "burn_rate"  # burn rate over the long window of the firing condition
ANNOTATION_BURN_WINDOWS = "burn_windows"  # e.g. "1h/5m>14.4x 6h/30m>6x"
ANNOTATION_RUNBOOK = "runbook_url"
ANNOTATION_DASHBOARD = "dashboard_url"

# --- Kubernetes objects (prometheus-operator) -------------------------------------
K8S_MANAGED_BY = "app.kubernetes.io/managed-by"
K8S_NAME = "app.kubernetes.io/name"
MANAGER = "meshwatch"

# --- meshwatch's own /metrics ----------------------------------------------------
METRIC_OBJECTIVE = "meshwatch_slo_objective_ratio"
METRIC_SLI = "meshwatch_slo_sli_ratio"
METRIC_BUDGET_REMAINING = "meshwatch_slo_error_budget_remaining_ratio"
METRIC_BURN_RATE = "meshwatch_slo_burn_rate"
METRIC_STATUS = "meshwatch_slo_status"
METRIC_ACTIONS = "meshwatch_remediation_actions_total"
# Gauge meshwatch exports for every route it manages: the weight (percent of the route's
# traffic) it last set on each backend. Labels: LABEL_ROUTE, LABEL_ROUTE_BACKEND.
METRIC_ROUTE_WEIGHT = "meshwatch_route_weight"
LABEL_ROUTE = "route"
LABEL_ROUTE_BACKEND = "backend"

# --- names remediation writes into users' data-plane objects -------------------------
ANNOTATION_PREFIX = "meshwatch.io/"  # Kubernetes annotations keeping the user's originals
ENVOY_METADATA_KEY = "meshwatch"  # Envoy route metadata.filter_metadata key, same purpose

# --- dashboards -------------------------------------------------------------------
DASHBOARD_UID_OVERVIEW = "meshwatch-overview"
DASHBOARD_UID_MESH = "meshwatch-mesh"


DASHBOARD_TAG = "meshwatch"
DASHBOARD_FOLDER = "meshwatch"
# Label the Grafana Helm chart's dashboard sidecar watches ConfigMaps for.
DASHBOARD_CONFIGMAP_LABEL = "grafana_dashboard"
DASHBOARD_MARKER = "Generated by meshwatch. DO NOT EDIT."


def dashboard_uid_service(service: str) -> str:
    """Stable uid of a service dashboard (Grafana allows 40 characters)."""
    return f"meshwatch-svc-{service}"[:40]


GENERATED_HEADER = "# Code generated by meshwatch. DO NOT EDIT."

# Mesh metrics and labels (Istio, Envoy, Linkerd) are spelt in their mesh module,
# `meshwatch.meshes.<kind>`, with the presets and dashboards that read them.

# labels of meshwatch's own /metrics (DESIGN.md: `meshwatch_slo_sli_ratio{window}`, `{state}`)
EXPORT_LABEL_WINDOW = "window"
EXPORT_LABEL_STATE = "state"
EXPORT_LABEL_PERCENTILE = "percentile"
EXPORT_LABEL_COLLECTOR = "collector"
EXPORT_LABEL_TARGET = "target"
EXPORT_LABEL_ACTUATOR = "actuator"
EXPORT_LABEL_OUTCOME = "outcome"

METRIC_THROUGHPUT = "meshwatch_slo_requests_per_second"
METRIC_LATENCY = "meshwatch_slo_latency"
METRIC_REQUESTS = "meshwatch_slo_requests"
METRIC_BUDGET_REMAINING_SECONDS = "meshwatch_slo_error_budget_remaining_seconds"
METRIC_STATUS_TIMESTAMP = "meshwatch_slo_status_timestamp_seconds"
METRIC_LAST_EVALUATION = "meshwatch_last_successful_evaluation_timestamp_seconds"
METRIC_EVALUATION_DURATION = "meshwatch_evaluation_duration_seconds"
METRIC_LEADER = "meshwatch_leader"  # 1 on the replica that runs the acting jobs, 0 on others
METRIC_COLLECTOR_ERRORS = "meshwatch_collector_errors_total"
METRIC_COLLECTOR_UP = "meshwatch_collector_up"  # 1 when the last cycle read its source
METRIC_SCRAPE_FAILURES = "meshwatch_scrape_failures_total"
