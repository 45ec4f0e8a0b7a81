"""A Griffe extension for the API reference: doctest examples and Sphinx roles in docstrings.

policy_engine's docstrings carry runnable ``>>>`` examples in their free text (the doctest
convention) and name other objects with Sphinx roles (``:func:`~policy_engine.decide_sync```).
Markdown would read the examples as nested quotes and the roles as plain text, so, when the API
reference is built, this extension

- fences every free-standing ``>>>`` block (up to the next blank line) as a ``pycon`` code block;
- turns a role naming a ``policy_engine`` object into a code span linking to its entry in the
  reference (no link, and no warning, when the object has no entry), and any other role into a
  plain code span;
- ends a paragraph that introduces a literal block (reStructuredText's ``::``) with one colon;
  the indented block after it is a code block in Markdown too.

The docstrings themselves stay plain, so ``help()`` and doctest read them unchanged.
mkdocs.yml loads this file through the mkdocstrings ``extensions`` option.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension

_LITERAL_BLOCK = re.compile(r"(?<=[^:\s])::\n(?=\n {4})")
_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|mod|data|exc|obj|const):`(~?)([^`]+)`")


def _role(match: re.Match[str]) -> str:
    short, target = match.group(1), match.group(2).strip()
    shown = target.rsplit(".", 1)[-1] if short else target
    if target.startswith("policy_engine"):
        return f'<autoref identifier="{target}" optional><code>{shown}</code></autoref>'
    return f"`{shown}`"


def fence_doctests(text: str) -> str:
    """Wrap each free-standing doctest block of a docstring in a ``pycon`` fence."""
    lines = text.split("\n")
    out: list[str] = []
    in_fence = False
    in_example = False
    for line in lines:
        if in_example:
            if line.strip():
                out.append(line)
                continue
            out.append("```")
            in_example = False
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        elif not in_fence and line.startswith(">>>"):
            out.append("```pycon")
            in_example = True
        out.append(line)
    if in_example:
        out.append("```")
    return "\n".join(out)


def rewrite(text: str) -> str:
    """The docstring text as the reference shows it: fenced examples, roles as code."""
    fenced = fence_doctests(text) if ">>>" in text else text
    parts = re.split(r"(```.*?```)", fenced, flags=re.DOTALL)
    return "".join(
        part if part.startswith("```") else _LITERAL_BLOCK.sub(":\n", _ROLE.sub(_role, part))
        for part in parts
    )


class DoctestBlocks(Extension):
    """Rewrite each docstring of the loaded packages for Markdown (see the module docstring)."""

    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        """Rewrite the docstring of every object as it is loaded."""
        docstring = getattr(obj, "docstring", None)
        if docstring is not None and docstring.value:
            docstring.value = rewrite(docstring.value)
