"""The long fuzz run: the loader and condition fuzz checks, on as many inputs as asked for.

Usage (from the repository root, with the ``test`` extra installed)::

    python fuzz/run.py --inputs 1000000            # every target, until 1,000,000 inputs
    python fuzz/run.py --inputs 20000 --targets condition_grammar,loader_json

Each target is a hypothesis test over the strategies of ``policy_engine.testing`` that calls the
same checks as ``tests/test_fuzz_loading.py`` and ``tests/test_fuzz_conditions.py``. Targets take
turns in chunks of ``--chunk`` examples until their share of ``--inputs`` is reached. An *input*
is one generated value given to the code under test; a value given to several loaders (every
model, for ``loader_json``) is one input and several calls, counted apart. The run pauses while
``/tmp/quiet`` exists (the machine is measuring benchmarks). A failure prints hypothesis's
minimal example and exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import attrs  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import policy_engine  # noqa: E402
from policy_engine import dump_config  # noqa: E402
from policy_engine.testing import (  # noqa: E402
    condition_expressions,
    condition_token_texts,
    condition_trees,
    configurations,
    json_values,
    mutated_documents,
)
from test_fuzz_conditions import EDGE_CATALOG, TREE_KEYS, check_text, check_tree  # noqa: E402
from test_fuzz_loading import (  # noqa: E402
    KEYS,
    LEAVES,
    MODELS,
    VALID,
    check_load_config,
    check_load_config_text,
    check_round_trip,
    check_structure,
)

QUIET = Path("/tmp/quiet")  # noqa: S108 - the machine's convention for benchmark runs

_FIELD_VALUES = json_values(keys=KEYS, deep=False)
#: Per model, built once (building strategies while drawing is slow): objects with the model's
#: field names holding arbitrary values, and its valid documents broken.
SHAPED = {
    cls: st.tuples(
        st.just(cls),
        st.dictionaries(
            st.sampled_from([*(f.name for f in attrs.fields(cls) if f.init), "bogus"]),
            _FIELD_VALUES,
            max_size=8,
        ),
    )
    for cls in MODELS
}
MUTATED = {cls: st.tuples(st.just(cls), mutated_documents(VALID[cls], keys=KEYS)) for cls in MODELS}


@dataclass
class Target:
    """One fuzz target: its hypothesis test and its counts."""

    name: str
    share: float
    build: Callable[[Target], Callable[[], None]]
    inputs: int = 0
    calls: int = 0
    seconds: float = 0.0
    slowest: float = 0.0
    slowest_input: str = ""

    @contextmanager
    def timed(self, shown: Callable[[], str]) -> Iterator[None]:
        """Count one call and keep the slowest one (its input shown briefly).

        The time is the process's CPU time: on a shared machine, wall-clock time would count the
        moments the process waited for a processor.
        """
        start = time.process_time()
        yield
        spent = time.process_time() - start
        self.calls += 1
        if spent > self.slowest:
            self.slowest = spent
            self.slowest_input = shown()


def _brief(value: Any) -> str:
    text = value if isinstance(value, str) else type(value).__name__
    return f"{len(text)} chars: {text[:60]!r}" if isinstance(value, str) else text


def _loader_json(target: Target) -> Callable[[], None]:
    @given(json_values(keys=KEYS))
    def test(data: Any) -> None:
        target.inputs += 1
        for cls in MODELS + LEAVES:
            with target.timed(cls.__name__.__str__):
                check_structure(data, cls)

    return test


def _loader_shaped(target: Target) -> Callable[[], None]:
    @given(st.sampled_from(MODELS).flatmap(SHAPED.__getitem__))
    def test(pair: tuple[type[Any], Any]) -> None:
        cls, data = pair
        target.inputs += 1
        with target.timed(lambda: cls.__name__):
            model = check_structure(data, cls)
        if model is not None:
            check_round_trip(model, cls)

    return test


def _loader_mutated(target: Target) -> Callable[[], None]:
    @given(st.sampled_from(MODELS).flatmap(MUTATED.__getitem__))
    def test(pair: tuple[type[Any], Any]) -> None:
        cls, document = pair
        target.inputs += 1
        with target.timed(lambda: cls.__name__):
            model = check_structure(document, cls)
        if model is not None:
            check_round_trip(model, cls)

    return test


def _load_config_mapping(target: Target) -> Callable[[], None]:
    @given(json_values(keys=KEYS) | mutated_documents(configurations(), keys=KEYS))
    def test(data: Any) -> None:
        if isinstance(data, str):  # a text is a file's path
            return
        target.inputs += 1
        with target.timed(lambda: type(data).__name__):
            config = check_load_config(data)
        if config is not None:
            assert policy_engine.load_config(dump_config(config)) == config

    return test


def _load_config_text(target: Target) -> Callable[[], None]:
    directory = Path(tempfile.mkdtemp(prefix="fuzz-config-"))
    texts = st.one_of(
        st.builds(json.dumps, json_values(keys=KEYS, deep=False)),
        st.builds(json.dumps, mutated_documents(configurations(), keys=KEYS)),
        st.text(max_size=300),
    )

    @given(texts, st.sampled_from((".json", ".toml")), st.data())
    def test(text: str, suffix: str, data: st.DataObject) -> None:
        for _ in range(data.draw(st.integers(0, 3))):
            position = data.draw(st.integers(0, len(text)))
            insert = data.draw(st.sampled_from([*"{}[]\"',:=.\n #\\0-", "null", "[["]))
            text = text[:position] + insert + text[position + data.draw(st.integers(0, 2)) :]
        target.inputs += 1
        with target.timed(lambda: _brief(text)):
            check_load_config_text(text, directory, suffix)

    return test


def _text_target(strategy: st.SearchStrategy[str]) -> Callable[[Target], Callable[[], None]]:
    def build(target: Target) -> Callable[[], None]:
        @given(strategy)
        def test(text: str) -> None:
            target.inputs += 1
            with target.timed(lambda: _brief(text)):
                check_text(text, EDGE_CATALOG)

        return test

    return build


def _tree_target(strategy: st.SearchStrategy[Any]) -> Callable[[Target], Callable[[], None]]:
    def build(target: Target) -> Callable[[], None]:
        @given(strategy)
        def test(tree: Any) -> None:
            target.inputs += 1
            with target.timed(lambda: type(tree).__name__):
                check_tree(tree, EDGE_CATALOG)

        return test

    return build


#: Every target and its share of the inputs: the cheap ones get more. The loader targets' shares
#: add up to 0.36, the condition targets' to 0.64 (for a run split in two parts, see the docs).
TARGETS = (
    ("loader_json", 0.25, _loader_json),
    ("loader_shaped", 0.07, _loader_shaped),
    ("loader_mutated", 0.03, _loader_mutated),
    ("load_config_mapping", 0.005, _load_config_mapping),
    ("load_config_text", 0.005, _load_config_text),
    (
        "condition_text",
        0.17,
        _text_target(st.text(st.characters(exclude_categories=()), max_size=300)),
    ),
    ("condition_tokens", 0.15, _text_target(condition_token_texts())),
    ("condition_grammar", 0.17, _text_target(condition_expressions())),
    ("condition_tree_json", 0.09, _tree_target(json_values(keys=TREE_KEYS, max_int_digits=5000))),
    ("condition_tree_mutated", 0.06, _tree_target(mutated_documents(condition_trees()))),
)
LOADERS = "loader_json,loader_shaped,loader_mutated,load_config_mapping,load_config_text"
CONDITIONS = (
    "condition_text,condition_tokens,condition_grammar,condition_tree_json,condition_tree_mutated"
)


def _wait_while_quiet() -> None:
    while QUIET.exists():
        time.sleep(15)


def main(argv: list[str] | None = None) -> int:
    """Run the targets; print one line per chunk and a summary table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", type=int, default=1_000_000, help="inputs in all (1,000,000)")
    parser.add_argument("--chunk", type=int, default=2_000, help="examples per hypothesis run")
    parser.add_argument(
        "--targets", default="", help="comma-separated names, 'loaders' or 'conditions' (all)"
    )
    parser.add_argument("--seed", type=int, default=None, help="a seed, for a repeatable run")
    parser.add_argument("--json", type=Path, default=None, help="also write the summary here")
    options = parser.parse_args(argv)

    named = {"loaders": LOADERS, "conditions": CONDITIONS}.get(options.targets, options.targets)
    chosen = set(named.split(",")) if named else None
    targets = [
        Target(name, share, build)
        for name, share, build in TARGETS
        if chosen is None or name in chosen
    ]
    if not targets:
        parser.error(f"no such target; the targets are {', '.join(t[0] for t in TARGETS)}")
    total_share = sum(target.share for target in targets)
    goals = {t.name: max(1, round(options.inputs * t.share / total_share)) for t in targets}

    def out(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    started = time.perf_counter()

    def summary() -> dict[str, Any]:
        return {
            "inputs": sum(t.inputs for t in targets),
            "calls": sum(t.calls for t in targets),
            "seconds": round(time.perf_counter() - started, 1),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs,"
            f" Python {platform.python_version()}",
            "targets": {
                t.name: {
                    "inputs": t.inputs,
                    "calls": t.calls,
                    "seconds": round(t.seconds, 1),
                    "slowest_ms": round(t.slowest * 1000, 2),
                    "slowest_input": t.slowest_input,
                }
                for t in targets
            },
        }

    def save() -> None:
        if options.json is not None:
            options.json.write_text(json.dumps(summary(), indent=2) + "\n", encoding="utf-8")

    out(f"fuzz: {options.inputs:,} inputs over {len(targets)} targets, chunks of {options.chunk}")
    chunk = 0
    while any(target.inputs < goals[target.name] for target in targets):
        for target in targets:
            left = goals[target.name] - target.inputs
            if left <= 0:
                continue
            _wait_while_quiet()
            examples = min(options.chunk, left)
            run = settings(
                max_examples=examples,
                database=None,
                deadline=None,
                derandomize=False,
                phases=(Phase.generate, Phase.shrink),
                suppress_health_check=list(HealthCheck),
            )(target.build(target))
            if options.seed is not None:
                run = seed(options.seed + chunk)(run)
            before = target.inputs
            start = time.perf_counter()
            try:
                run()
            except Exception:
                out(f"FAILED in {target.name} after {target.inputs:,} inputs:")
                raise
            target.seconds += time.perf_counter() - start
            chunk += 1
            if target.inputs == before:  # pragma: no cover - a strategy that generates nothing
                goals[target.name] = target.inputs
            save()
            out(
                f"  {target.name:<24} {target.inputs:>10,} / {goals[target.name]:,}"
                f"  ({time.perf_counter() - started:,.0f} s)"
            )

    elapsed = time.perf_counter() - started
    inputs = sum(target.inputs for target in targets)
    calls = sum(target.calls for target in targets)
    out("")
    out(f"{'target':<24} {'inputs':>10} {'calls':>11} {'seconds':>9} {'slowest (CPU)':>13}")
    for target in targets:
        out(
            f"{target.name:<24} {target.inputs:>10,} {target.calls:>11,} {target.seconds:>9,.0f}"
            f" {target.slowest * 1000:>10.1f} ms  ({target.slowest_input})"
        )
    out(f"{'total':<24} {inputs:>10,} {calls:>11,} {elapsed:>9,.0f}")
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    out(f"{inputs:,} inputs ({calls:,} loader/parser calls) in {elapsed:,.0f} s on {machine}")
    save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
