"""The code samples in the README and in docs/ run and print what they show."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_code_samples_run(page: Path) -> None:
    """Every ``>>>`` sample of the page gives the output the page shows."""
    result = doctest.testfile(
        str(page),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        raise_on_error=False,
        verbose=False,
    )
    assert result.failed == 0


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run runs the README's test command verbatim, so the README stays true."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    match = re.search(r"python -m pip install -e '\.\[test\]' && (python -m pytest[^\n]*)", readme)
    assert match is not None
    assert match.group(1) in ci.splitlines()
