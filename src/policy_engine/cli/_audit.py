"""The audit commands: ``replay``, ``why`` and ``test``.

``replay LOG --config NEW`` decides a log's inputs again under another configuration;
``why SKU --log DB`` prints one product's timeline; ``test DIR`` runs scenario files. They are
registered on the ``policy-engine`` group when the application is imported.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from policy_engine._audit import ReplayChange, replay, timeline
from policy_engine._errors import PolicyConfigError
from policy_engine._logs import BadLogLineWarning, LogDatabaseError
from policy_engine._scenarios import (
    ScenarioResult,
    load_scenario,
    run_scenario,
    scenario_coverage,
    write_expectations,
)
from policy_engine._serialization import unstructure
from policy_engine.cli._app import _FORMAT, _OUTPUT, _output, cli
from policy_engine.cli._io import FAILED, USAGE, CliError, load_configuration, os_problem
from policy_engine.cli._output import make_writer, rich_console

__all__ = ["REPLAY_COLUMNS", "WHY_COLUMNS"]

REPLAY_COLUMNS = ("at", "sku", "account", "what", "before", "after", "decision_id")
WHY_COLUMNS = ("at", "kind", "account", "what", "reasons", "revision", "decision_id")
#: The characters of a configuration revision shown in a table (``sha256:`` and 12 digits).
_SHORT_REVISION = 19


def _open_log(name: str) -> Path:
    path = Path(name)
    if not path.exists():
        raise CliError([f"{name}: no such file"], USAGE)
    if path.is_dir():
        raise CliError([f"{name}: is a directory, not a file"], USAGE)
    return path


def _brief(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{key} {item}" for key, item in value.items())
    return str(value)


def _replay_row(change: ReplayChange) -> dict[str, Any]:
    return {
        "at": change.at.isoformat(),
        "sku": change.sku,
        "account": change.account,
        "what": change.what,
        "before": change.before,
        "after": change.after,
        "decision_id": change.decision_id,
    }


def _replay_text(row: Mapping[str, Any]) -> Mapping[str, Any]:
    return {**row, "before": _brief(row["before"]), "after": _brief(row["after"])}


@cli.command(name="replay")
@click.argument("log", metavar="LOG")
@click.option(
    "--config",
    "config",
    required=True,
    metavar="NEW",
    help="The configuration to decide the logged inputs with.",
)
@_FORMAT
@_OUTPUT
@click.option(
    "--fail-on-change",
    is_flag=True,
    help="Exit with status 1 when any decision would change (for CI).",
)
def replay_command(*, log: str, config: str, fmt: str, output: str, fail_on_change: bool) -> int:
    """Decide the inputs logged in LOG again under configuration NEW: what would change.

    LOG is an SQLite log or a JSON Lines log. One row per difference (action, template, list of
    reason codes, a stock push); then, on stderr, the count of each reason code before and
    after, and a summary. Decisions logged without their input are counted, not replayed.
    """
    loaded = load_configuration(config)
    path = _open_log(log)
    skipped: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", BadLogLineWarning)
            report = replay(path, loaded)
        skipped.extend(str(warning.message) for warning in caught)
    except PolicyConfigError as error:
        raise CliError([f"{log}: {message}" for message in error.errors], FAILED) from None
    except LogDatabaseError as error:
        raise CliError([f"{log}: not a readable log: {error}"], FAILED) from None
    except sqlite3.DatabaseError as error:
        raise CliError([f"{log}: not a readable log ({error})"], FAILED) from None
    except OSError as error:
        raise os_problem(log, error) from None
    for message in skipped:
        click.echo(message, err=True)
    with _output(output) as out:
        if fmt == "json":
            out.write(json.dumps(unstructure(report), indent=2, ensure_ascii=False) + "\n")
        else:
            to_terminal = output == "-" and sys.stdout.isatty()
            writer = make_writer(
                fmt,
                out,
                REPLAY_COLUMNS,
                text=_replay_text,
                console=rich_console(out) if to_terminal and fmt == "table" else None,
            )
            try:
                for change in report.changes:
                    writer.write(_replay_row(change))
            finally:
                writer.close()
    if report.reasons:
        width = max(len(count.code) for count in report.reasons)
        click.echo(f"{'reason':<{width}}  {'before':>7}  {'after':>7}", err=True)
        for count in report.reasons:
            marker = "" if count.before == count.after else f"  {count.after - count.before:+d}"
            click.echo(
                f"{count.code:<{width}}  {count.before:>7}  {count.after:>7}{marker}", err=True
            )
    revisions = ", ".join(f"{name} ({count})" for name, count in report.revisions.items())
    click.echo(
        f"{log}: {report.decisions} decisions replayed, {report.changed} would change,"
        f" {report.not_replayable} records not replayable"
        + (f"; logged under {revisions}" if revisions else ""),
        err=True,
    )
    return FAILED if fail_on_change and report.changed else 0


# ------------------------------------------------------------------------------------------- why


@cli.command(name="why")
@click.argument("sku", metavar="SKU")
@click.option("--log", "log", required=True, metavar="DB", help="The SQLite log.")
@click.option("--account", "-a", default=None, metavar="ID", help="This account's entries only.")
@_FORMAT
def why(*, sku: str, log: str, account: str | None, fmt: str) -> int:
    """One product's timeline: sync decisions, what was sent and stock pushes, oldest first.

    Each entry with its reason codes and the configuration revision (and decision id) that
    decided it. Exit status 1 when the log holds nothing for the product.
    """
    path = _open_log(log)
    try:
        entries = timeline(path, sku, account=account)
    except PolicyConfigError as error:
        raise CliError([f"{log}: {message}" for message in error.errors], FAILED) from None
    except LogDatabaseError as error:
        raise CliError([f"{log}: not an SQLite log: {error}"], FAILED) from None
    except sqlite3.DatabaseError as error:
        raise CliError([f"{log}: not an SQLite log ({error})"], FAILED) from None
    if not entries:
        where = "" if account is None else f" on account {account!r}"
        raise CliError([f"{log}: nothing logged for SKU {sku!r}{where}"], FAILED)
    out = sys.stdout
    if fmt == "json":
        out.write(json.dumps(unstructure(entries), indent=2, ensure_ascii=False) + "\n")
        return 0
    writer = make_writer(
        fmt,
        out,
        WHY_COLUMNS,
        console=rich_console(out) if fmt == "table" else None,
    )
    try:
        for entry in entries:
            revision = entry.config_revision
            writer.write(
                {
                    "at": entry.at.isoformat(),
                    "kind": entry.kind,
                    "account": entry.account,
                    "what": entry.what,
                    "reasons": ", ".join(step.code for step in entry.reasons) or None,
                    "revision": None if revision is None else revision[:_SHORT_REVISION],
                    "decision_id": entry.decision_id,
                }
            )
    finally:
        writer.close()
    if fmt == "table":
        explained = [entry for entry in entries if entry.reasons]
        if explained:
            out.write("\nwhy:\n")
        for entry in explained:
            for step in entry.reasons:
                out.write(
                    f"  {entry.at.isoformat()}  {entry.kind} {entry.account}: {step.message}\n"
                )
    return 0


# ------------------------------------------------------------------------------------------ test

_SCENARIO_SUFFIXES = (".json", ".toml")


def _scenario_files(directory: str) -> list[Path]:
    path = Path(directory)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise CliError([f"{directory}: no such directory"], USAGE)
    files = sorted(
        item for item in path.rglob("*") if item.suffix in _SCENARIO_SUFFIXES and item.is_file()
    )
    if not files:
        raise CliError([f"{directory}: no scenario files (*.json, *.toml)"], FAILED)
    return files


@cli.command(name="test")
@click.argument("directory", metavar="DIR")
@click.option(
    "--update", is_flag=True, help="Write the observed results as the scenarios' expectations."
)
@click.option(
    "--coverage/--no-coverage",
    default=True,
    show_default=True,
    help="List the reason and step codes no scenario reached.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def test_command(*, directory: str, update: bool, coverage: bool, as_json: bool) -> int:
    """Run the scenario files of DIR (JSON or TOML): GIVEN a configuration, EXPECT decisions.

    Prints each scenario's result, each failed expectation with the field that differs, and the
    rule coverage. Exit status 0 when every scenario passes, 1 when one fails or cannot be
    loaded; with --update, the expectations are rewritten and the status is 0.
    """
    files = _scenario_files(directory)
    results: list[ScenarioResult] = []
    broken = 0
    lines: list[str] = []
    report: list[dict[str, Any]] = []
    for path in files:
        try:
            scenario = load_scenario(path)
        except PolicyConfigError as error:
            broken += 1
            lines.extend(f"{path}: {message}" for message in error.errors)
            report.append({"path": str(path), "passed": False, "failures": list(error.errors)})
            continue
        except OSError as error:
            broken += 1
            lines.append(f"{path}: {error.strerror or error}")
            report.append({"path": str(path), "passed": False, "failures": [str(error)]})
            continue
        result = run_scenario(scenario)
        results.append(result)
        checks = len(scenario.expect)
        if update and result.observed:
            write_expectations(scenario, result)
            lines.append(f"{path}: updated ({len(result.observed)} expectations)")
        elif result.passed:
            lines.append(f"{path}: ok ({checks} expectations)")
        else:
            lines.append(f"{path}: FAILED")
            lines.extend(f"  {failure}" for failure in result.failures)
        report.append(
            {"path": str(path), "passed": result.passed, "failures": list(result.failures)}
        )
    failed = broken + sum(not result.passed for result in results)
    reached, unreached = scenario_coverage(results)
    if as_json:
        data: dict[str, Any] = {"scenarios": report, "failed": failed}
        if coverage:
            data["coverage"] = {"reached": reached, "not_reached": unreached}
        click.echo(json.dumps(data, indent=2))
    else:
        for line in lines:
            click.echo(line)
        passed = len(files) - failed
        click.echo(f"{len(files)} scenarios: {passed} passed, {failed} failed")
        if coverage:
            total = len(reached) + len(unreached)
            click.echo(f"coverage: {len(reached)} of {total} reason and step codes reached")
            if unreached:
                click.echo("not reached: " + ", ".join(unreached))
    if update:
        return FAILED if broken else 0
    return FAILED if failed else 0
