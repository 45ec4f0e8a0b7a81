"""Mutation testing of the rule modules with mutmut, and a score table per module.

Run from the repository root (mutmut 3.8 must be installed: ``pip install mutmut==3.8.1``)::

    python benchmarks/mutation.py                      # all six modules, from scratch
    python benchmarks/mutation.py inventory pricing    # some modules
    python benchmarks/mutation.py --keep sync          # reuse mutants/ (only changed code reruns)
    python benchmarks/mutation.py --survivors-only sync  # after new tests: rerun the survivors
    python benchmarks/mutation.py --report             # the table of the last run, no run
    python benchmarks/mutation.py --report --survivors # ... with the diff of each survivor

mutmut copies the project into ``mutants/`` (git-ignored), mutates the module's functions and, for
each mutant, runs the tests of ``[tool.mutmut]`` in ``pyproject.toml`` that call the mutated
function, under the derandomized hypothesis profile ``mutation`` (``tests/conftest.py``).

The score of a module is ``(killed + timeout) / (total - equivalent - unreachable)``: a mutant
is killed when a test fails, timed out when the tests stop ending (also detected), equivalent
when it is listed in :data:`EQUIVALENT` (with the reason, and the mutated line it must still
show; an entry whose mutant no longer shows that line is reported as stale and counts as a
survivor) or survives in a function of :data:`ORDER_ONLY`, unreachable when it survives and only
changes a block of :data:`UNREACHABLE`. Survivors, "no tests" and suspicious mutants count
against the score. See ``docs/mutation-testing.md``.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
MODULES = ("inventory", "pricing", "images", "conditions", "sync", "stock_sync")

# mutmut's exit codes per mutant (mutmut/__main__.py: status_by_exit_code).
STATUS = {
    None: "not checked",
    0: "survived",
    1: "killed",
    3: "killed",
    -24: "timeout",
    24: "timeout",
    36: "timeout",
    152: "timeout",
    255: "timeout",
    33: "no tests",
    34: "skipped",
    35: "suspicious",
    37: "caught by type check",
    -11: "segfault",
    -9: "segfault",
}

# Mutants that cannot change any result, each with (a part of) the line the mutation writes and
# the reason. Keyed by mutmut's name; the line guards against renumbering when the function
# changes.
EQUIVALENT: dict[str, tuple[str, str]] = {
    "policy_engine._inventory.x_compute_quantity__mutmut_54": (
        "sellable = base - buffer if base >= buffer else 0",
        "at base == buffer both branches give 0",
    ),
    "policy_engine._images.x__extension__mutmut_20": (
        'return name[dot:].lower() if dot >= 0 and name[:dot].strip(".") else ""',
        'at dot == 0 the part before the dot is "", so the second test is false anyway',
    ),
    "policy_engine._sync.x__blocked__mutmut_14": (
        "not_synced = other",
        "not_synced is still empty here: |= and = give the same fields",
    ),
    "policy_engine._sync.x__blocked__mutmut_18": (
        "price_managed = None",
        "the flag is only tested for truth: None and False are both false",
    ),
    "policy_engine._sync.x__decide__mutmut_87": (
        "changed_fields: frozenset[SyncField] = None",
        "the initial value is read only for a created change, whose full update returns before",
    ),
    "policy_engine._sync.x__decide__mutmut_90": (
        "changed = None",
        "a created change always triggers a full update, which never reads changed",
    ),
    "policy_engine._sync.x__code_set__mutmut_3": (
        "if type(None) is frozenset or",
        "a frozenset converted again gives an equal frozenset (the test only saves the copy)",
    ),
    "policy_engine._sync.x_decide_sync__mutmut_19": (
        "enabled = policy._enabled if (channel_fields is None) and False else",
        "_enabled_for(None) returns policy._enabled: the test only saves a call",
    ),
    "policy_engine._sync.x_decide_sync__mutmut_32": (
        "True,",
        "the repricer slot of the key of a product not on the channel: rule 3 never reads it",
    ),
    "policy_engine._sync.x_decide_sync__mutmut_39": (
        "key = (kind, template, True, True, listing.price_managed_externally, changed)",
        "the assignable slot of the key of a listed product: rule 4 never reads it",
    ),
    "policy_engine._sync.x_decide_sync__mutmut_41": (
        "decision = None",
        "a remembered decision is skipped: the same decision is computed again",
    ),
    "policy_engine._sync.x_decide_sync__mutmut_42": (
        "decision = decisions.get(None)",
        "a remembered decision is never found: the same decision is computed again",
    ),
    "policy_engine._sync.x_decide_sync__mutmut_52": (
        "decisions[key] = None",
        "None is remembered, read as not remembered: the same decision is computed again",
    ),
    "policy_engine._sync.x__names__mutmut_5": (
        '"XX(none)XX"',
        "no decision names an empty set of codes or fields: every caller passes a non-empty one",
    ),
    "policy_engine._sync.x__names__mutmut_6": ('"(NONE)"', "as above: the fallback is never shown"),
    "policy_engine._sync.x__optional_field_set__mutmut_1": (
        "(values is None) and False",
        "the field-set converter also returns None for None",
    ),
    "policy_engine._sync.x__optional_tuple__mutmut_2": (
        "if values is None and type(values) is tuple",
        "None and a tuple both come back unchanged from the iterable branch",
    ),
    "policy_engine._sync.x__optional_tuple__mutmut_4": (
        "type(None) is tuple",
        "tuple() of a tuple is the same tuple",
    ),
    "policy_engine._sync.xǁSyncPolicyǁ__attrs_post_init____mutmut_27": (
        "(self.channel is not None) or True",
        "BUILTIN_CHANNELS.get(None) is None: the test only saves a look-up",
    ),
    "policy_engine._sync.xǁSyncPolicyǁ_cross_checks__mutmut_12": (
        "(self.channel is not None) or True",
        "BUILTIN_CHANNELS.get(None) is None: the test only saves a look-up",
    ),
    "policy_engine._sync.xǁSyncPolicyǁ_enabled_for__mutmut_4": (
        "(type(channel_fields) is frozenset) and False",
        "frozenset() of a frozenset is an equal frozenset: the same cache key",
    ),
    "policy_engine._sync.xǁSyncPolicyǁ_enabled_for__mutmut_6": (
        "type(None) is frozenset",
        "frozenset() of a frozenset is an equal frozenset: the same cache key",
    ),
    "policy_engine._sync.xǁSyncPolicyǁ_enabled_for__mutmut_10": (
        "enabled = None",
        "the remembered fields of a channel are computed again, the same",
    ),
    "policy_engine._sync.xǁSyncPolicyǁ_enabled_for__mutmut_11": (
        "enabled = cache.get(None)",
        "the remembered fields of a channel are computed again, the same",
    ),
    "policy_engine._stock_sync.x_plan_stock_sync__mutmut_13": (
        "count = 1",
        (
            "count only decides whether the listings are searched for problems; a search that"
            " finds none raises nothing"
        ),
    ),
    "policy_engine._stock_sync.x_plan_stock_sync__mutmut_17": (
        "count -= 1",
        "as above: a wrong count only makes the problem search run and find nothing",
    ),
    "policy_engine._stock_sync.x_plan_stock_sync__mutmut_18": (
        "count += 2",
        "as above: a wrong count only makes the problem search run and find nothing",
    ),
    "policy_engine._stock_sync.x_plan_stock_sync__mutmut_96": (
        "if count != len(sent) - len(skipped_codes)",
        "as above: a wrong sum only makes the problem search run and find nothing",
    ),
    "policy_engine._stock_sync.x_plan_stock_sync__mutmut_20": (
        "rules = None",
        "the account's rules are never found remembered: they are computed again, the same",
    ),
    "policy_engine._stock_sync.x_plan_stock_sync__mutmut_21": (
        "rules = rules_of.get(None)",
        "the account's rules are never found remembered: they are computed again, the same",
    ),
    "policy_engine._stock_sync.x_plan_stock_sync__mutmut_43": (
        "result = None",
        "a template's quantity is never found remembered: it is computed again, the same",
    ),
    "policy_engine._stock_sync.x_plan_stock_sync__mutmut_44": (
        "result = quantities.get(None)",
        "a template's quantity is never found remembered: it is computed again, the same",
    ),
    "policy_engine._pricing.x__adjustment_tuple__mutmut_1": (
        "if type(None) is tuple:",
        "a tuple then falls through the list test and is returned unchanged all the same",
    ),
    "policy_engine._pricing.x_compute_price__mutmut_15": (
        "if type(None) is Decimal and",
        "the common-case shortcut: _base_price gives the same price and step",
    ),
    "policy_engine._pricing.x_compute_price__mutmut_100": (
        "to_integral_value(policy._ending_mode, None)",
        "to_integral_value with an explicit rounding is exact and signals nothing: any context",
    ),
    "policy_engine._pricing.x_compute_price__mutmut_102": (
        "to_integral_value(policy._ending_mode, )",
        "to_integral_value with an explicit rounding is exact and signals nothing: any context",
    ),
    "policy_engine._pricing.xǁPricingPolicyǁ__attrs_post_init____mutmut_6": (
        "quantum = _ONE.scaleb(-places, None)",
        "1E-0 to 1E-3 are exact in any context: scaleb cannot round them",
    ),
    "policy_engine._pricing.xǁPricingPolicyǁ__attrs_post_init____mutmut_8": (
        "quantum = _ONE.scaleb(-places, )",
        "1E-0 to 1E-3 are exact in any context: scaleb cannot round them",
    ),
    "policy_engine._pricing.xǁPricingPolicyǁ_cross_checks__mutmut_23": (
        "quantum = _ONE.scaleb(-places, None)",
        "1E-0 to 1E-3 are exact in any context: scaleb cannot round them",
    ),
    "policy_engine._pricing.xǁPricingPolicyǁ_cross_checks__mutmut_25": (
        "quantum = _ONE.scaleb(-places, )",
        "1E-0 to 1E-3 are exact in any context: scaleb cannot round them",
    ),
    "policy_engine._pricing.x_decimal_places__mutmut_7": (
        "exponent <= 0",
        "at exponent 0 both branches give 0 (-0 == 0)",
    ),
    "policy_engine._pricing.x_decimal_places__mutmut_8": (
        "exponent < 1",
        "at exponent 0 both branches give 0 (-0 == 0)",
    ),
    "policy_engine._pricing.xǁPricingPolicyǁ__attrs_post_init____mutmut_74": (
        "_ending_mode=None",
        "without an ending the ending constants are never read (the shift None skips step 7)",
    ),
    "policy_engine._pricing.xǁPricingPolicyǁ__attrs_post_init____mutmut_75": (
        "_ending_value=None",
        "without an ending the ending constants are never read (the shift None skips step 7)",
    ),
    "policy_engine._pricing.xǁPricingPolicyǁ__attrs_post_init____mutmut_76": (
        "_ending_args=None",
        "without an ending the ending constants are never read (the shift None skips step 7)",
    ),
    "policy_engine._pricing.xǁPricingPolicyǁ__attrs_post_init____mutmut_78": (
        "_ending_shift=None, _ending_value=quantum, _ending_args=()",
        "without an ending the ending constants are never read (the shift None skips step 7)",
    ),
    "policy_engine._pricing.xǁPricingPolicyǁ__attrs_post_init____mutmut_79": (
        "_ending_mode=ROUND_FLOOR, _ending_args=()",
        "without an ending the ending constants are never read (the shift None skips step 7)",
    ),
    "policy_engine._pricing.xǁPricingPolicyǁ__attrs_post_init____mutmut_80": (
        "_ending_value=quantum, )",
        "without an ending the ending constants are never read (the shift None skips step 7)",
    ),
    "policy_engine._images.x_validate_image_upload__mutmut_66": (
        "actual = _kind_of_content(bytes(data[:9]))",
        "the longest signature has 8 bytes: a 9th byte cannot change startswith()",
    ),
}


#: Functions whose result only orders work: every surviving mutant in them is equivalent.
ORDER_ONLY: dict[str, dict[str, str]] = {
    "conditions": {
        "_cost": (
            "the cost only orders the parts of an and/or (cheapest first); the parts are pure"
            " tests that never raise, so every order gives the same result"
        ),
        "_subject_cost": "as _cost: a cost only orders the parts of an and/or",
    },
}

#: Branches no input reaches (the scanner rejects the text before the parser gets there), as
#: (function, first line of the block, number of lines, reason); a surviving mutant that changes
#: only such lines counts as unreachable. Found with branch coverage of the tests and the fuzzers.
_SCANNED = "the scanner rejects every such text first"
UNREACHABLE: dict[str, list[tuple[str, str, int, str]]] = {
    "conditions": [
        (
            "_TextParser.error",
            "start = self.span(node.value)[1]",
            1,
            f"attribute access: {_SCANNED}",
        ),
        ("_TextParser.link", "raise _rejected(\"'is' operator\"", 1, f"'is': {_SCANNED}"),
        ("_TextParser.function_name", "raise self.error(", 3, f"calls: {_SCANNED}"),
        ("_TextParser.function_name", 'construct = f"call to', 1, f"calls: {_SCANNED}"),
        ("_TextParser.operand", 'raise self.error(node, _Problem("a sign', 1, f"signs: {_SCANNED}"),
        (
            "_TextParser.name",
            'raise self.error(node, _rejected(f"dunder',
            1,
            f"dunders: {_SCANNED}",
        ),
        ("_TextParser.foreign", "construct = \"'**' operator\"", 1, f"operators: {_SCANNED}"),
        ("_TextParser.foreign", "construct = _NODE_CONSTRUCTS.get(", 2, f"constructs: {_SCANNED}"),
        (
            "_parse_text",
            "except (ValueError, MemoryError, RecursionError, OverflowError)",
            2,
            "the scanner's character, length and depth limits keep ast.parse to SyntaxError",
        ),
    ],
}


def _meta(module: str) -> Path:
    return MUTANTS / "src" / "policy_engine" / f"_{module}.py.meta"


def _results(module: str) -> dict[str, int | None]:
    path = _meta(module)
    if not path.exists():
        return {}
    data = json.loads(path.read_text("utf-8"))
    results: dict[str, int | None] = data["exit_code_by_key"]
    return results


def _functions(module: str) -> dict[str, str]:
    """Every function of the mutated copy of a module, by name, as source text."""
    path = MUTANTS / "src" / "policy_engine" / f"_{module}.py"
    source = path.read_text("utf-8")
    lines = source.splitlines()
    found: dict[str, str] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found[node.name] = "\n".join(lines[node.lineno - 1 : node.end_lineno])
    return found


def diff(name: str, functions: dict[str, str]) -> list[str]:
    """The lines a mutant changes, as ``-``/``+`` lines."""
    function = name.rsplit(".", 1)[-1]
    original = function.rsplit("__mutmut_", 1)[0] + "__mutmut_orig"
    before = functions.get(original, "").replace(original, function, 1).splitlines()
    after = functions.get(function, "").splitlines()
    return [
        line
        for line in difflib.unified_diff(before, after, lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def _qualname(name: str) -> str:
    """``policy_engine._m.xǁClsǁmeth__mutmut_3`` → ``Cls.meth``; ``x_f__mutmut_3`` → ``f``."""
    function = name.rsplit(".", 1)[-1].rsplit("__mutmut_", 1)[0]
    if function.startswith("xǁ"):
        return ".".join(part for part in function[1:].split("ǁ") if part)
    return function[2:]


def _changed_lines(name: str, functions: dict[str, str]) -> set[int]:
    """The indices, in the original function, of the lines a mutant changes."""
    function = name.rsplit(".", 1)[-1]
    original = function.rsplit("__mutmut_", 1)[0] + "__mutmut_orig"
    before = functions.get(original, "").replace(original, function, 1).splitlines()
    after = functions.get(function, "").splitlines()
    changed: set[int] = set()
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, low, high, _, _ in matcher.get_opcodes():
        if tag != "equal":
            changed.update(range(low, max(high, low + 1)))
    return changed


def unreachable(module: str, name: str, functions: dict[str, str]) -> str | None:
    """Why a mutant cannot be reached, when it only changes a listed unreachable block."""
    qualname = _qualname(name)
    blocks = [block for block in UNREACHABLE.get(module, []) if block[0] == qualname]
    if not blocks:
        return None
    function = name.rsplit(".", 1)[-1]
    lines = functions.get(function.rsplit("__mutmut_", 1)[0] + "__mutmut_orig", "").splitlines()
    dead: dict[int, str] = {}
    for _, first, count, reason in blocks:
        for index, line in enumerate(lines):
            if line.strip().startswith(first):
                dead.update(dict.fromkeys(range(index, index + count), reason))
    changed = _changed_lines(name, functions)
    if changed and changed <= dead.keys():
        return dead[min(changed)]
    return None


def _changed_to(lines: list[str], expected: str) -> bool:
    return any(line.startswith("+") and expected in line for line in lines)


@dataclasses.dataclass
class Score:
    """The mutants of one module by status, and the score."""

    module: str
    total: int
    killed: int
    timeout: int
    survived: int
    equivalent: int
    unreachable: int
    other: int
    score: float
    survivors: list[str]
    stale: list[str]


def score(module: str) -> Score:
    """The counts and score of one module, from mutmut's results in ``mutants/``."""
    results = _results(module)
    functions = _functions(module) if results else {}
    counts: Counter[str] = Counter()
    survivors: list[str] = []
    stale: list[str] = []
    for name, code in sorted(results.items()):
        status = STATUS.get(code, "suspicious")
        if name in EQUIVALENT:
            if _changed_to(diff(name, functions), EQUIVALENT[name][0]):
                # A timeout of a mutant that behaves the same is slowness, not a detection.
                if status in ("survived", "timeout"):
                    status = "equivalent"
            else:
                stale.append(name)
        elif status == "survived" and _qualname(name) in ORDER_ONLY.get(module, {}):
            status = "equivalent"
        elif status == "survived" and unreachable(module, name, functions):
            status = "unreachable"
        counts[status] += 1
        if status == "survived":
            survivors.append(name)
    total = sum(counts.values())
    detected = counts["killed"] + counts["timeout"]
    excluded = counts["equivalent"] + counts["unreachable"]
    effective = total - excluded
    return Score(
        module=module,
        total=total,
        killed=counts["killed"],
        timeout=counts["timeout"],
        survived=counts["survived"],
        equivalent=counts["equivalent"],
        unreachable=counts["unreachable"],
        other=total - detected - counts["survived"] - excluded,
        score=100.0 * detected / effective if effective else 0.0,
        survivors=survivors,
        stale=stale,
    )


def run(modules: list[str], *, keep: bool, survivors_only: bool, max_children: int | None) -> None:
    """Run mutmut on the modules (from scratch unless ``keep``), its output in mutants/run.log.

    With ``survivors_only`` only the mutants that survived or were not checked in the last run
    are run again (after new tests): the others keep their result.
    """
    if not keep and MUTANTS.exists():
        shutil.rmtree(MUTANTS)
    MUTANTS.mkdir(exist_ok=True)
    if survivors_only:
        names = [
            name
            for module in modules
            for name, code in _results(module).items()
            if STATUS.get(code, "suspicious") not in ("killed", "timeout")
        ]
        if not names:
            return
    else:
        names = [f"policy_engine._{module}.*" for module in modules]
    command = [str(Path(sys.executable).with_name("mutmut")), "run", *names]
    if max_children:
        command[2:2] = ["--max-children", str(max_children)]
    env = {**os.environ, "HYPOTHESIS_PROFILE": "mutation"}
    with (MUTANTS / "run.log").open("w") as log:
        completed = subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=log, check=False)
    if completed.returncode != 0:
        sys.exit(f"mutmut failed (exit {completed.returncode}): see {MUTANTS / 'run.log'}")


def print_equivalents() -> None:
    """The equivalent and unreachable mutants with their reasons, as Markdown tables."""
    print("| mutant | mutated line | why it cannot change a result |")
    print("|---|---|---|")
    for name, (line, reason) in EQUIVALENT.items():
        print(f"| `{name.split('.', 1)[1]}` | `{line}` | {reason} |")
    for module, functions in ORDER_ONLY.items():
        for function, reason in functions.items():
            print(f"| `_{module}.{function}`: every survivor | (any) | {reason} |")
    print()
    print("| module | function | block | why no input reaches it |")
    print("|---|---|---|---|")
    for module, blocks in UNREACHABLE.items():
        for function, first, count, reason in blocks:
            print(f"| `_{module}` | `{function}` | `{first}` ({count} line(s)) | {reason} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"any of {', '.join(MODULES)} (default: all)")
    parser.add_argument("--keep", action="store_true", help="reuse the results in mutants/")
    parser.add_argument(
        "--survivors-only",
        action="store_true",
        help="with --keep: run again only the mutants that survived (after new tests)",
    )
    parser.add_argument("--report", action="store_true", help="print the last results only")
    parser.add_argument(
        "--equivalents", action="store_true", help="print the equivalent and unreachable lists"
    )
    parser.add_argument("--survivors", action="store_true", help="print each survivor's diff")
    parser.add_argument("--max-children", type=int, help="parallel mutants (default: cores)")
    arguments = parser.parse_args()
    modules = list(arguments.modules) or list(MODULES)
    unknown = sorted(set(modules) - set(MODULES))
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(MODULES)}")

    if arguments.equivalents:
        print_equivalents()
        return
    started = time.monotonic()
    if not arguments.report:
        run(
            modules,
            keep=arguments.keep or arguments.survivors_only,
            survivors_only=arguments.survivors_only,
            max_children=arguments.max_children,
        )
        print(f"mutmut ran in {time.monotonic() - started:.0f} s")

    header = (
        "module",
        "total",
        "killed",
        "timeout",
        "survived",
        "equivalent",
        "unreachable",
        "other",
        "score",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for module in modules:
        row = score(module)
        cells = [row.module, row.total, row.killed, row.timeout, row.survived, row.equivalent]
        cells += [row.unreachable, row.other, f"{row.score:.1f} %"]
        print("| " + " | ".join(map(str, cells)) + " |")
        if arguments.survivors:
            functions = _functions(module) if row.total else {}
            for name in [*row.survivors, *row.stale]:
                mark = "stale equivalent entry" if name in row.stale else "survived"
                print(f"    {name} ({mark})")
                for line in diff(name, functions):
                    print(f"        {line.strip()[:110]}")


if __name__ == "__main__":
    main()
