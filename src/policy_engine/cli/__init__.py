"""The ``policy-engine`` command line.

``policy-engine demo`` runs the library on a small sample store bundled with the package and prints
what each channel would receive, and why.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from policy_engine._version import __version__
from policy_engine.cli._demo import run_demo

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policy-engine",
        description="Exact, explainable marketplace policies for store connectors.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="run the policies on the bundled sample store and explain each decision"
    )
    demo.add_argument(
        "--json", action="store_true", help="print the outcomes as JSON instead of text"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failures, 2 usage errors)."""
    parser = _parser()
    arguments = parser.parse_args(argv)
    if arguments.command == "demo":
        try:
            run_demo(sys.stdout, as_json=arguments.json)
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader (``| head``) went away: stop quietly, as Unix tools do.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        return 0
    parser.print_help(sys.stderr)
    return 2
