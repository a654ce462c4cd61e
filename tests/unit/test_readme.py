"""The README documents every setting and both commands."""

from __future__ import annotations

from pathlib import Path

from engine.config import VARIABLES

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_commands():
    head = README[:1200]
    assert "make run" in head and "make test" in head


def test_every_environment_variable_is_in_the_configuration_table():
    missing = [v.name for v in VARIABLES if f"| `{v.name}` |" not in README]
    assert missing == []
