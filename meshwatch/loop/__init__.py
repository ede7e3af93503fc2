"""The remediation loop: per-route step, action recorder, alert listener.

    remediation.RemediationLoop   the evaluation hook and the API's RemediationControl
    route.Route, measurement      one target between evaluations; counts -> Measurement
    recorder.ActionRecorder       create -> apply -> complete -> count -> notify, once
    alerts.AlertListener          firing page alerts from the Alertmanager webhook

The planner (`meshwatch.remediate.policy`) decides, the actuators (`meshwatch.remediate`)
act; this layer does the loop's I/O in between. `meshwatch.service` wires it to the
scheduler's evaluation job and to the API; `meshwatch.jobs` only schedules.
"""
