"""The documentation site builds strictly, and its references keep up with the code."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import policy_engine

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
API_PAGES = sorted((DOCS / "api").glob("*.md"))
#: The public subpackages a user imports directly; each has its own API page.
SUBPACKAGES = (
    "policy_engine.testing",
    "policy_engine.adapters.magento",
    "policy_engine.cli",
    "policy_engine.dask",
    "policy_engine.service",
)
#: ``::: identifier`` lines: what mkdocstrings renders.
DIRECTIVE = re.compile(r"^::: *(\S+)\s*$", re.MULTILINE)
#: The first cell of a table row: `` | `code` | ``.
ROW_CODE = re.compile(r"^\| `([a-z0-9_]+)` \|", re.MULTILINE)
#: A fenced Python block of a page: its opening line's number is found from its offset.
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)
#: Python blocks that are not samples to run here, by page: a block holding one of these texts is
#: skipped. Signature listings (better fenced as ``text``) and code that needs a cluster.
NOT_SAMPLES = {
    "logs.md": ("class LogSink(Protocol):",),
    "scale.md": (
        "evaluate_many(config, products, *,",
        "evaluate_partitions(config, partitions, *,",
        'Client("tcp://',
    ),
}
#: A property test named on the invariants page: ``test_x.py::TestClass::test_name``.
TEST_REFERENCE = re.compile(r"`(test_[a-z0-9_]+\.py)::(\w+)::(test_\w+)`")


def _registered_codes() -> set[str]:
    """Every step or reason code registered by the library and its public subpackages."""
    for module in ("policy_engine.adapters.magento",):
        importlib.import_module(module)
    return set(policy_engine.message_templates())


def _api_identifiers() -> set[str]:
    return {
        identifier
        for page in API_PAGES
        for identifier in DIRECTIVE.findall(page.read_text(encoding="utf-8"))
    }


def _docs_extra_installed() -> bool:
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")
    )


class TestSite:
    """``mkdocs build --strict``, as ``.ci/run`` runs it."""

    @pytest.mark.skipif(not _docs_extra_installed(), reason="the docs extra is not installed")
    def test_builds_strictly(self, tmp_path: Path) -> None:
        """The site builds with no broken link, anchor, nav entry or API reference."""
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "mkdocs",
                "build",
                "--strict",
                "--config-file",
                str(ROOT / "mkdocs.yml"),
                "--site-dir",
                str(tmp_path / "site"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
            check=False,
        )
        assert result.returncode == 0, result.stderr + result.stdout
        assert (tmp_path / "site" / "api" / "inventory" / "index.html").is_file()


def _script_samples() -> list[tuple[Path, list[tuple[int, str]]]]:
    """Per page, the Python blocks written as scripts (no ``>>>``), with their line numbers."""
    pages = []
    for page in sorted(DOCS.glob("**/*.md")):
        text = page.read_text(encoding="utf-8")
        blocks = [
            (text.count("\n", 0, match.start()) + 2, match.group(1))
            for match in PYTHON_BLOCK.finditer(text)
            if ">>>" not in match.group(1)
            and not any(text in match.group(1) for text in NOT_SAMPLES.get(page.name, ()))
        ]
        if blocks:
            pages.append((page, blocks))
    return pages


class TestScriptSamples:
    """Python samples written as scripts, which the doctest run of tests/test_docs.py skips."""

    @pytest.mark.parametrize(
        ("page", "blocks"),
        _script_samples(),
        ids=lambda value: str(value.relative_to(ROOT)) if isinstance(value, Path) else "",
    )
    def test_runs(
        self,
        page: Path,
        blocks: list[tuple[int, str]],
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The page's script blocks run in order, in one namespace, without an exception."""
        monkeypatch.chdir(tmp_path)
        namespace: dict[str, object] = {"__name__": "__docs__"}
        for line, source in blocks:
            code = compile(source, f"{page.relative_to(ROOT)}:{line}", "exec")
            exec(code, namespace)


class TestReasonCodes:
    """docs/reasons.md, the reason-code reference."""

    page = (DOCS / "reasons.md").read_text(encoding="utf-8")

    def test_every_registered_code_has_an_entry(self) -> None:
        """Each code in ``message_templates()`` has a row on the reference page."""
        missing = sorted(_registered_codes() - set(ROW_CODE.findall(self.page)))
        assert missing == [], f"codes without an entry in docs/reasons.md: {missing}"

    def test_every_entry_is_a_registered_code(self) -> None:
        """The page documents no code the library does not record (a renamed or removed one)."""
        unknown = sorted(set(ROW_CODE.findall(self.page)) - _registered_codes())
        assert unknown == [], f"docs/reasons.md documents unknown codes: {unknown}"


class TestApiReference:
    """docs/api/*.md, the API reference generated from the docstrings."""

    def test_every_public_name_is_documented(self) -> None:
        """Each name in ``policy_engine.__all__`` has a ``::: policy_engine.<name>`` entry."""
        documented = _api_identifiers()
        missing = [
            name for name in policy_engine.__all__ if f"policy_engine.{name}" not in documented
        ]
        assert missing == [], f"public names missing from docs/api/: {missing}"

    def test_every_public_subpackage_is_documented(self) -> None:
        """The testing strategies, the Magento adapter, the command line and Dask have pages."""
        documented = _api_identifiers()
        assert [name for name in SUBPACKAGES if name not in documented] == []

    def test_only_public_names_are_documented(self) -> None:
        """Every top-level entry names a public object, so the reference shows no private one."""
        public = {f"policy_engine.{name}" for name in policy_engine.__all__} | set(SUBPACKAGES)
        assert sorted(_api_identifiers() - public) == []


class TestInvariantsPage:
    """docs/invariants.md names the property tests that guarantee each invariant."""

    page = (DOCS / "invariants.md").read_text(encoding="utf-8")

    def test_names_only_existing_tests(self) -> None:
        """Every ``test_file.py::TestClass::test_name`` on the page is a test in ``tests/``."""
        references = TEST_REFERENCE.findall(self.page)
        assert references, "the invariants page names no test"
        missing = [
            "::".join(reference)
            for reference in references
            if "::".join(reference[1:]) not in _test_names(reference[0])
        ]
        assert missing == [], f"docs/invariants.md names tests that do not exist: {missing}"


def _test_names(filename: str) -> set[str]:
    """``TestClass::test_name`` for every test method of a test file (empty when it is missing)."""
    path = ROOT / "tests" / filename
    if not path.is_file():
        return set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        f"{node.name}::{item.name}"
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        for item in node.body
        if isinstance(item, ast.FunctionDef)
    }
