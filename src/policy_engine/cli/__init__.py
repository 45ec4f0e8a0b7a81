"""The ``policy-engine`` command line.

``policy-engine demo`` runs the library on a small sample store bundled with the package and prints
what each channel would receive, and why. The other commands (``check``, ``evaluate``, ``explain``,
``preview``, ``schema``, ``quantity-curve``, ``stock-sync``) need the ``cli`` extra (click and
rich): ``pip install 'policy-engine[cli]'``. Without it, ``demo`` still runs, so a plain
``pip install policy-engine`` can try the library at once.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from policy_engine._version import __version__
from policy_engine.cli._demo import run_demo

__all__ = ["main"]

COMMANDS = (
    "demo",
    "check",
    "evaluate",
    "explain",
    "preview",
    "schema",
    "quantity-curve",
    "serve",
    "stock-sync",
    "replay",
    "why",
    "test",
)
CLI_EXTRA_HINT = "install the cli extra: pip install 'policy-engine[cli]'"

_MINIMAL_USAGE = f"""\
usage: policy-engine [--version] COMMAND ...

Exact, explainable marketplace policies for store connectors.

commands: {", ".join(COMMANDS)}
Without the cli extra only 'demo [--json]' runs; for the others, {CLI_EXTRA_HINT}
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failures, 2 usage errors)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        try:
            # Probing for the cli extra: without click, only the demo runs.
            import click  # noqa: F401, PLC0415
        except ImportError:
            return _minimal(arguments)
        from policy_engine.cli._app import run  # noqa: PLC0415 - needs click

        return run(arguments)
    except BrokenPipeError:  # pragma: no cover - tested in a subprocess (test_closed_pipe)
        # The reader (``| head``) went away: stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130


def _minimal(arguments: list[str]) -> int:
    """The command line without click: ``demo``, ``--version`` and ``--help`` only."""
    if arguments in (["demo"], ["demo", "--json"]):
        run_demo(sys.stdout, as_json=len(arguments) == 2)
        sys.stdout.flush()
        return 0
    if arguments == ["--version"]:
        sys.stdout.write(f"policy-engine {__version__}\n")
        return 0
    if arguments and arguments[0] in ("-h", "--help"):
        sys.stdout.write(_MINIMAL_USAGE)
        return 0
    if arguments and arguments[0] in COMMANDS:
        sys.stderr.write(f"policy-engine {arguments[0]}: {CLI_EXTRA_HINT}\n")
        return 2
    sys.stderr.write(_MINIMAL_USAGE)
    return 2
