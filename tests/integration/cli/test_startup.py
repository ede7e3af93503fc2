"""The CLI answers at once: `--version`, completion, one flag spelling, lazy imports.

Each check runs a fresh interpreter, as a shell, an editor or a pre-commit hook does.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from meshwatch import __version__

ROOT = Path(__file__).resolve().parents[3]
SPEC = ROOT / "rules" / "slos" / "shop-checkout.yaml"
HEAVY = ("fastapi", "sqlalchemy", "uvicorn", "grafanalib", "alembic", "apscheduler", "httpx")
_PROBE = """
import json, sys
from meshwatch.cli import app
try:
    app(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
heavy = sorted({m.split('.')[0] for m in sys.modules} & set(json.loads(HEAVY)))
demo = sorted(m for m in sys.modules if m.startswith(('meshwatch.demo', 'meshwatch.service')))
print(json.dumps({'heavy': heavy, 'demo': demo}), file=sys.stderr)
"""


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meshwatch", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


def test_version() -> None:
    result = _run("--version")
    assert (result.returncode, result.stdout) == (0, f"meshwatch {__version__}\n")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--help"], id="help"),
        pytest.param(["--version"], id="version"),
        pytest.param(["validate", str(SPEC)], id="validate"),
        pytest.param(["generate", "rules", str(SPEC), "-o", "{tmp}", "--check"], id="rules"),
        pytest.param(["report", "--help"], id="report-help"),
    ],
)
def test_light_commands_import_no_framework(args: list[str], tmp_path: Path) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code = "HEAVY = " + repr(json.dumps(HEAVY)) + "\n" + _PROBE
    result = subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    loaded = json.loads(result.stderr.strip().splitlines()[-1])
    assert loaded == {"heavy": [], "demo": []}, result.stderr


def test_shell_completion_is_offered() -> None:
    """Through the installed console script, as a user's shell calls it."""
    script_path = str(Path(sys.executable).with_name("meshwatch"))
    help_text = _run("--help").stdout
    assert "--install-completion" in help_text
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    script = subprocess.run(
        [script_path, "--show-completion", "bash"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert script.returncode == 0, script.stderr
    assert "_MESHWATCH_COMPLETE=complete_bash" in script.stdout
    words = subprocess.run(
        [script_path],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={
            **os.environ,
            "_MESHWATCH_COMPLETE": "complete_bash",
            "COMP_WORDS": "meshwatch gen",
            "COMP_CWORD": "1",
        },
        timeout=120,
        check=False,
    )
    assert "generate" in words.stdout.split()


def test_output_flag_has_one_spelling_and_the_old_one_still_works(tmp_path: Path) -> None:
    new = _run("generate", "rules", str(SPEC), "--output", str(tmp_path / "new"))
    assert new.returncode == 0, new.stderr
    old = _run("generate", "rules", str(SPEC), "--out", str(tmp_path / "old"))
    assert old.returncode == 0, old.stderr
    assert "note: --out is deprecated; use --output" in old.stderr
    assert sorted(p.name for p in (tmp_path / "old").iterdir()) == sorted(
        p.name for p in (tmp_path / "new").iterdir()
    )
    both = _run("generate", "rules", str(SPEC), "-o", str(tmp_path), "--out", str(tmp_path))
    assert both.returncode == 2
    neither = _run("generate", "rules", str(SPEC))
    assert neither.returncode == 2
    assert "--output" in neither.stderr


def _tree(folder: Path, services: int) -> Path:
    folder.mkdir()
    for i in range(services):
        (folder / f"svc{i}.yaml").write_text(
            "apiVersion: meshwatch/v1\nkind: ServiceLevels\n"
            f"service: svc{i}\nslos:\n  - name: availability\n    objective: 99.9\n"
            f"    sli: {{mesh: {{kind: istio, service: svc{i}}}}}\n",
            encoding="utf-8",
        )
    return folder


def test_progress_bar_on_a_terminal_and_nothing_in_a_pipe(tmp_path: Path) -> None:
    specs = _tree(tmp_path / "specs", 40)
    piped = _run("generate", "rules", str(specs), "-o", str(tmp_path / "piped"))
    assert (piped.returncode, piped.stderr) == (0, "")
    main, replica = pty.openpty()
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "meshwatch",
                "generate",
                "rules",
                str(specs),
                "-o",
                str(tmp_path / "tty"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=replica,
            cwd=ROOT,
        )
        os.close(replica)
        seen = b""
        while True:
            ready, _, _ = select.select([main], [], [], 120)
            if not ready:
                break
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        assert proc.wait(timeout=120) == 0
    finally:
        os.close(main)
    assert b"rules" in seen and b"/40" in seen, seen[-400:]


def test_the_cli_spells_the_sloth_default_period_as_the_loader_does() -> None:
    from meshwatch.cli.spec_options import DEFAULT_SLOTH_PERIOD as CLI_DEFAULT
    from meshwatch.spec.options import DEFAULT_SLOTH_PERIOD

    assert CLI_DEFAULT == DEFAULT_SLOTH_PERIOD


def test_quick_exit_keeps_output_and_exit_codes(tmp_path: Path) -> None:
    """`validate` and `generate` end without the interpreter's teardown (cli.entry.quick_exit):
    what they print, the files they write and their exit codes are those of a normal exit."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: meshwatch/v1\nkind: ServiceLevels\nservice: x\nslos: [{name: a}]\n")
    failed = _run("validate", str(bad))
    assert failed.returncode == 1
    assert failed.stderr.startswith(f"{bad}:4: ") and failed.stderr.endswith("\n")
    ok = _run("validate", str(SPEC))
    assert (ok.returncode, ok.stdout) == (0, "1 SLO in 1 file: ok\n")
    out = tmp_path / "rules"
    written = _run("generate", "rules", str(SPEC), "-o", str(out))
    assert written.returncode == 0, written.stderr
    again = _run("generate", "rules", str(SPEC), "-o", str(out), "--check")
    assert again.returncode == 0, again.stdout + again.stderr  # every file complete on disk
    usage = _run("validate")
    assert usage.returncode == 2 and "Missing argument" in usage.stderr


def test_a_plain_call_imports_neither_typer_nor_click() -> None:
    probe = (
        "import sys\n"
        "from meshwatch.cli import plain\n"
        "code = plain.run(sys.argv[1:])\n"
        "print(code, sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'click'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, "validate", str(SPEC)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    assert result.stdout.splitlines()[-1] == "0 []"
