"""docs/cli.md describes every command the parser has, and the exit statuses the code uses."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from edgesdk import cli

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_every_command_and_status_is_documented():
    text = DOC.read_text()
    parser = cli.build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    headings = set(re.findall(r"^### (.+)$", text, re.M))
    documented = {name for heading in headings for name in re.findall(r"`(\w[\w-]*)", heading)}
    assert set(commands.choices) <= documented, set(commands.choices) - documented
    for status in (0, 1, 2, cli.EXIT_DAMAGED, cli.EXIT_INTERRUPTED):
        assert f"\n| {status} |" in text
