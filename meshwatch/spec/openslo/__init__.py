"""OpenSLO `openslo/v1`: SLO, SLI, AlertPolicy, AlertCondition, Service, DataSource documents.

Documents come one per YAML document or as a top-level list (how oslo and the Go SDK write
them). References (`indicatorRef`, `alertPolicyRef`, `conditionRef`, `metricSourceRef`,
`targetRef`) resolve across every loaded file, so documents are first registered, then SLOs
are mapped; every reference must resolve, also in policies no SLO uses. OpenSLO's own rules
are enforced on every document, even one with shape errors: names (and `spec.service`) are
DNS labels of at most 63 characters, descriptions at most 1050 characters, an AlertPolicy
has exactly one condition and at least one notification target. Optional lists left empty
(`alertPolicies:`) are empty lists. What maps, and how (anything else is an error, never
dropped):

- `spec.service` -> service, `metadata.name` -> SLO name, `metadata.labels` -> labels
  (a list value is joined with ","), `spec.description`.
- One objective with `target` (0..1) or `targetPercent` (0..100) -> objective percent.
  Composite objectives and several objectives are not supported. `budgetingMethod`
  `Occurrences` budgets requests; `Timeslices` (with the objective's `timeSliceWindow` and
  `timeSliceTarget`, a ratio) and `RatioTimeslices` (`timeSliceWindow`) budget slices, as the
  native `budgeting: timeslices` / `ratio_timeslices` (`meshwatch.slo.timeslices`).
- `timeWindow`: `{duration: 28d, isRolling: true}` -> rolling; `{duration: 1M|1w,
  isRolling: false, calendar: {startTime, timeZone}}` -> calendar-month / calendar-week in
  that IANA time zone (periods start at local midnight; a week starts on startTime's
  weekday, a month on the 1st).
- `ratioMetric` with `good` or `bad` and `total`, each a Prometheus `metricSource.spec.query`:
  counter selectors (`metric{...}` or `sum(metric{...})`, with `counter: true`) -> a ratio
  of counters; PromQL templates with `{{.window}}` -> query SLI (a ratio of counters when
  both are `sum(rate(COUNTER[{{.window}}]))`). `raw` + `rawType: failure|success` -> error ratio
  (`1 - (query)` for success). `thresholdMetric` is not supported. The source's type is
  `metricSource.type`, or the named DataSource's (`connectionDetails` as a mapping or a
  list); an inline type needs no DataSource document.
- AlertPolicy conditions `{kind: burnrate, op, threshold, lookbackWindow, alertAfter}` ->
  one burn-rate window each: long = lookbackWindow, short = lookbackWindow / 12, factor =
  threshold, held for `alertAfter` (the alert's `for:`). `op` may be `gt`/`gte` (when to
  alert) or `lt`/`lte` (what must hold, as in OpenSLO's README): all alert when the burn rate
  exceeds the threshold. Severity page|critical|high -> page, ticket|warning|low|info ->
  ticket. No alertPolicies -> the default Workbook windows. meshwatch always alerts on breach
  and on missing data; notification targets must resolve but are not used (route in
  Alertmanager).
"""
