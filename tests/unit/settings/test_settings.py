"""Settings: durations in the specs' syntax everywhere, errors at the real line of the file.

The README's `meshwatch serve` config example is loaded verbatim (extracted from README.md),
so the documented example cannot drift from what `load_settings` accepts.
"""

from __future__ import annotations

import re
import types
import typing
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel

from meshwatch.errors import SpecError
from meshwatch.settings import Settings, load_settings

README = Path(__file__).resolve().parents[3] / "README.md"


def readme_serve_example() -> str:
    """The first ```yaml block of the README's "Running the service" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Running the service", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert match, "no yaml example in the README's 'Running the service' section"
    return match.group(1)


def problems(config: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_settings(config, environ=environ)
    return [str(p) for p in caught.value.problems]


@pytest.fixture(autouse=True)
def _no_meshwatch_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.upper().startswith("MESHWATCH_"):
            monkeypatch.delenv(name)


def test_readme_serve_example_loads_verbatim(tmp_path: Path) -> None:
    config = tmp_path / "meshwatch.yaml"
    config.write_text(readme_serve_example(), encoding="utf-8")
    settings = load_settings(config)
    assert settings.evaluate_interval == timedelta(seconds=30)
    assert settings.specs == [tmp_path / "slos"]
    assert settings.prometheus_url == "http://prometheus:9090"
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.envoy is not None and settings.envoy.admin_url == "http://127.0.0.1:9901"
    assert [w.name for w in settings.webhooks] == ["oncall"]
    assert settings.remediation_enabled is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("30s", timedelta(seconds=30), id="seconds-suffix"),
        pytest.param("5m", timedelta(minutes=5), id="minutes"),
        pytest.param("1h", timedelta(hours=1), id="hours"),
        pytest.param("1d", timedelta(days=1), id="days"),
        pytest.param("1h30m", timedelta(minutes=90), id="compound"),
        pytest.param("45", timedelta(seconds=45), id="plain-seconds-text"),
        pytest.param("2.5", timedelta(seconds=2.5), id="fractional-seconds"),
        pytest.param("PT1M30S", timedelta(seconds=90), id="iso-8601"),
    ],
)
def test_every_duration_accepts_the_spec_syntax(
    tmp_path: Path, text: str, expected: timedelta
) -> None:
    config = tmp_path / "meshwatch.yaml"
    fields = ("evaluate_interval", "scrape_interval", "retention_interval")
    config.write_text("".join(f"{name}: '{text}'\n" for name in fields))
    settings = load_settings(config, environ={})
    assert [getattr(settings, name) for name in fields] == [expected] * 3
    assert load_settings(None, environ={}).leader_check_interval == timedelta(seconds=2)


def test_numbers_in_yaml_are_seconds(tmp_path: Path) -> None:
    config = tmp_path / "meshwatch.yaml"
    config.write_text("evaluate_interval: 6\nleader_check_interval: 0.5\n")
    settings = load_settings(config)
    assert settings.evaluate_interval == timedelta(seconds=6)
    assert settings.leader_check_interval == timedelta(seconds=0.5)


def test_environment_durations_use_the_spec_syntax(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "meshwatch.yaml"
    config.write_text("evaluate_interval: 1m\nretention_interval: 2h\n")
    monkeypatch.setenv("MESHWATCH_EVALUATE_INTERVAL", "30s")
    monkeypatch.setenv("MESHWATCH_LEADER_CHECK_INTERVAL", "1h30m")
    settings = load_settings(config)
    assert settings.evaluate_interval == timedelta(seconds=30)  # the environment wins
    assert settings.retention_interval == timedelta(hours=2)
    assert settings.leader_check_interval == timedelta(minutes=90)


def test_nested_durations_in_seconds_fields(tmp_path: Path) -> None:
    config = tmp_path / "meshwatch.yaml"
    config.write_text(
        "webhooks:\n"
        "  - {name: oncall, url: 'https://hooks.example.com', timeout_seconds: 1m}\n"
        "  - {name: slack, url: 'https://hooks.example.com/s', timeout_seconds: 2.5}\n"
        "envoy: {rds_path: /tmp/rds.yaml, admin_url: 'http://127.0.0.1:9901',\n"
        "        confirm_timeout_seconds: 10s}\n"
        "reports: [{name: weekly, cron: '0 8 * * MON'}]\n"
        "webhooks_timeout: 1\n"
    )
    with pytest.raises(SpecError) as caught:
        load_settings(config)
    assert [str(p) for p in caught.value.problems] == [
        f"{config}:7: webhooks_timeout: Extra inputs are not permitted"
    ]
    config.write_text(config.read_text().replace("webhooks_timeout: 1\n", ""))
    settings = load_settings(config)
    assert [w.timeout_seconds for w in settings.webhooks] == [60.0, 2.5]
    assert settings.envoy is not None and settings.envoy.confirm_timeout_seconds == 10.0
    config.write_text("webhooks:\n  - name: oncall\n    url: u\n    timeout_seconds: 5 s\n")
    assert problems(config) == [
        f"{config}:4: webhooks[0].timeout_seconds: invalid duration '5 s'; "
        "use e.g. 30s, 5m, 1h30m, 1d, plain seconds or ISO 8601"
    ]


def test_every_problem_at_its_own_line(tmp_path: Path) -> None:
    config = tmp_path / "meshwatch.yaml"
    config.write_text(
        "# meshwatch serve --config meshwatch.yaml\n"
        "specs: [slos/]\n"
        "\n"
        "evaluate_interval: 30x\n"
        "retention_interval: 0s\n"
        "webhooks:\n"
        "  - name: oncall\n"
        "    url: https://hooks.example.com\n"
        "    format: xml\n"
        "envoy: {rds_path: /tmp/rds.yaml}\n"
        "evaluate_intervall: 30s\n"
    )
    assert problems(config) == [
        f"{config}:4: evaluate_interval: invalid duration '30x'; "
        "use e.g. 30s, 5m, 1h30m, 1d, plain seconds or ISO 8601",
        f"{config}:5: retention_interval: duration '0s' must be positive",
        f"{config}:9: webhooks[0].format: Input should be 'json' or 'slack'",
        f"{config}:10: envoy.admin_url: Field required",
        f"{config}:11: evaluate_intervall: Extra inputs are not permitted",
    ]


def test_a_bad_environment_variable_is_named(tmp_path: Path) -> None:
    config = tmp_path / "meshwatch.yaml"
    config.write_text("evaluate_interval: 30s\nscrape_interval: -5\n")
    environ = {"MESHWATCH_EVALUATE_INTERVAL": "soon", "MESHWATCH_ENVOY__ADMIN_URL": "x"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environ.items():
            patch.setenv(name, value)
        assert problems(config, environ) == [  # the file's in line order, then the variables
            f"{config}:2: scrape_interval: duration -5 must be positive",
            "environment: MESHWATCH_EVALUATE_INTERVAL: invalid duration 'soon'; "
            "use e.g. 30s, 5m, 1h30m, 1d, plain seconds or ISO 8601",
            "environment: MESHWATCH_ENVOY__RDS_PATH: Field required",
        ]


def test_yaml_problems_keep_their_line(tmp_path: Path) -> None:
    config = tmp_path / "meshwatch.yaml"
    config.write_text("evaluate_interval: 30s\nevaluate_interval: 1m\nscrape_interval: x\n")
    assert problems(config) == [
        f"{config}:2: evaluate_interval: duplicate key 'evaluate_interval' (first at line 1)",
        f"{config}:3: scrape_interval: invalid duration 'x'; "
        "use e.g. 30s, 5m, 1h30m, 1d, plain seconds or ISO 8601",
    ]
    config.write_text("evaluate_interval: 30s\nevaluate_interval: 1m\n")
    assert problems(config) == [
        f"{config}:2: evaluate_interval: duplicate key 'evaluate_interval' (first at line 1)"
    ]
    config.write_text("evaluate_interval: [30s\n")
    assert [p.split(": ")[0] for p in problems(config)] == [f"{config}:2"]
    config.write_text("a: 1\n---\nb: 2\n")
    assert problems(config) == [f"{config}:3: config must be one document"]
    config.write_text("- a\n- b\n")
    assert problems(config) == [f"{config}:1: config must be a mapping, not a list"]
    config.write_text("- evaluate_interval: 30s\n")
    assert problems(config) == [f"{config}:1: config must be a mapping, not a list"]


def _timedelta_fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        candidates = [annotation]
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) in (
            typing.Union,
            list,
            tuple,
            dict,
        ):
            candidates = list(typing.get_args(annotation))
        for candidate in candidates:
            if candidate is timedelta:
                found.append((prefix + name, info))
            elif isinstance(candidate, type) and issubclass(candidate, BaseModel):
                found.extend(_timedelta_fields(candidate, f"{prefix}{name}."))
    return found


def test_no_timedelta_setting_misses_the_duration_syntax() -> None:
    """Every timedelta field, nested models included, is a `Duration` (future ones too)."""
    fields = _timedelta_fields(Settings)
    assert {name for name, _ in fields} >= {"evaluate_interval", "retention_interval"}
    for name, info in fields:
        validators = [getattr(m, "func", None) for m in getattr(info, "metadata", [])]
        assert any(getattr(v, "__name__", "") == "_duration" for v in validators), (
            f"{name} is a timedelta without the Duration type"
        )
