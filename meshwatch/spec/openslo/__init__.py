"""OpenSLO `openslo/v1`: SLO, SLI, AlertPolicy, AlertCondition, Service, DataSource documents.

References (`indicatorRef`, `alertPolicyRef`, `conditionRef`, `metricSourceRef`) resolve
across every loaded file, so documents are first registered, then SLOs are mapped.
What maps, and how (anything else is an error, never dropped):

- `spec.service` -> service, `metadata.name` -> SLO name, `metadata.labels` -> labels
  (a list value is joined with ","), `spec.description`.
- One objective with `target` (0..1) or `targetPercent` (0..100) -> objective percent.
  Timeslices (`timeSliceTarget`/`timeSliceWindow`), composite objectives and several
  objectives are not supported; `budgetingMethod` must be `Occurrences`.
- `timeWindow`: `{duration: 28d, isRolling: true}` -> rolling; `{duration: 1M|1w,
  calendar: {timeZone: UTC}}` -> calendar-month / calendar-week (UTC only).
- `ratioMetric` with `good` or `bad` and `total`, each a Prometheus `metricSource.spec.query`:
  counter selectors (`metric{...}` or `sum(metric{...})`, with `counter: true`) -> a ratio
  of counters; PromQL templates with `{{.window}}` -> query SLI (a ratio of counters when
  both are `sum(rate(COUNTER[{{.window}}]))`). `raw` + `rawType: failure|success` -> error ratio
  (`1 - (query)` for success). `thresholdMetric` is not supported.
- AlertPolicy conditions `{kind: burnrate, op: gt|gte, threshold, lookbackWindow}` -> one
  burn-rate window each: long = lookbackWindow, short = lookbackWindow / 12, factor =
  threshold; severity page|critical|high -> page, ticket|warning|low|info -> ticket.
  No alertPolicies -> the default Workbook windows. meshwatch always alerts on breach and
  on missing data; notification targets must resolve but are not used (route in Alertmanager).
"""
