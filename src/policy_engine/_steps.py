"""Explanations: the ``Step`` record every result carries, and the table of messages.

Decisions run in hot loops, so a step is recorded as cheaply as possible: a stable code and the
numbers that explain it, stored in a tuple. The human message is formatted only when somebody
reads :attr:`Step.message`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

__all__ = ["Step", "define_messages", "message_templates"]

_TEMPLATES: dict[str, str] = {}


def define_messages(templates: Mapping[str, str]) -> None:
    """Register the message templates of a module's step and reason codes (at import time).

    A template is a :meth:`str.format` string over the step's arguments (``{0}``, ``{1}``…).
    Registering the same code twice with a different template is a programming error.
    """
    for code, template in templates.items():
        known = _TEMPLATES.setdefault(code, template)
        if known != template:  # pragma: no cover - guards against a coding mistake
            msg = f"step code {code!r} is defined twice with different messages"
            raise RuntimeError(msg)


def message_templates() -> Mapping[str, str]:
    """Every known step or reason code with its message template (read-only)."""
    return MappingProxyType(_TEMPLATES)


class Step(tuple[Any, ...]):
    """One explained step of a decision: a stable ``code`` and the values behind it.

    A step is a tuple ``(code, *args)``; build one with ``Step(("buffer", 5, 13))``. Arguments are
    ints, strings or ``None`` so that a step survives a JSON round trip unchanged (money is
    recorded as its decimal string).

    Attributes:
        code: The stable machine-readable code (see the reason-code reference in the docs).
        args: The values the step was decided from, in the order the message uses them.
        message: A short human sentence, formatted from the code's template when read.
    """

    __slots__ = ()

    if TYPE_CHECKING:  # pragma: no cover

        def __new__(cls, items: tuple[Any, ...]) -> Step: ...

    @property
    def code(self) -> str:
        """The stable machine-readable code of this step."""
        code: str = self[0]
        return code

    @property
    def args(self) -> tuple[Any, ...]:
        """The values the step was decided from."""
        return tuple(self[1:])

    @property
    def message(self) -> str:
        """The human-readable sentence for this step."""
        template = _TEMPLATES.get(self[0])
        if template is None:
            return " ".join(str(part) for part in self)
        try:
            return template.format(*self[1:])
        except (IndexError, KeyError, ValueError):
            return " ".join(str(part) for part in self)

    def __repr__(self) -> str:
        return f"Step(code={self[0]!r}, args={tuple(self[1:])!r})"
