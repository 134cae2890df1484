"""``asyncgen run --help`` and docs/cli.md cover every option; the README points to the page."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from asyncgen.__main__ import main
from asyncgen._cli import _parser

REPO = Path(__file__).resolve().parents[2]


def _run_options() -> list[argparse.Action]:
    _, run_parser = _parser()
    return [a for a in run_parser._actions if a.option_strings and a.dest != "help"]


def test_every_option_is_documented() -> None:
    page = (REPO / "docs" / "cli.md").read_text()
    options = _run_options()
    assert len(options) >= 20
    for action in options:
        for flag in action.option_strings:
            assert f"`{flag}" in page, f"docs/cli.md does not document {flag}"
        assert action.help, f"{action.option_strings} has no --help text"


def test_help_lists_every_option_and_the_exit_statuses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for action in _run_options():
        assert action.option_strings[-1] in text
    assert "0 VALID, 1 INVALID, 2 error" in text
    assert "130 interrupted by Ctrl-C, 143 by SIGTERM" in text


def test_readme_points_to_the_cli_page() -> None:
    readme = (REPO / "README.md").read_text()
    documentation = readme.split("## Documentation", 1)[1]
    assert "docs/cli.md" in documentation


def test_demo_command_still_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["demo", "--qps", "500", "--duration-ms", "200", "--outdir", str(tmp_path)]
    assert main(argv) in (0, 1)
    assert "MLPerf Results Summary" in capsys.readouterr().out
