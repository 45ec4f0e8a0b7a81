"""The exceptions policy_engine raises.

Every exception derives from :class:`PolicyEngineError`, so a connector can catch the library's
errors in one ``except`` clause and let everything else (a bug) propagate.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ImageUploadError",
    "PolicyConfigError",
    "PolicyEngineError",
    "PricingError",
]


class PolicyEngineError(Exception):
    """Root of every error policy_engine raises on purpose."""


class PolicyConfigError(PolicyEngineError, ValueError):
    """Input data (a policy, a product, a configuration document) is invalid.

    Attributes:
        errors: Every problem found, each ``"<message> @ $.path.to[3].field"``, in document order.
            All problems of one input are reported at once; nothing is silently dropped.
    """

    errors: list[str]

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors = list(errors)
        self._problems: list[tuple[str, str]] | None = None
        super().__init__("\n".join(self.errors))

    @classmethod
    def from_problems(cls, problems: Iterable[tuple[str, str]]) -> PolicyConfigError:
        """Build the error from ``(path, message)`` pairs; paths start with ``$``."""
        listed = list(problems)
        error = cls(f"{message} @ {path}" for path, message in listed)
        error._problems = listed
        return error

    @property
    def problems(self) -> list[tuple[str, str]]:
        """Every problem as a ``(path, message)`` pair, e.g. ``("$.buffer", "must be >= 0")``."""
        if self._problems is not None:
            return list(self._problems)
        pairs = []
        for line in self.errors:
            message, sep, path = line.rpartition(" @ $")
            pairs.append(("$" + path, message) if sep else ("$", line))
        return pairs

    def __str__(self) -> str:
        return "\n".join(self.errors)

    def __reduce__(self) -> tuple[type[PolicyConfigError], tuple[list[str]]]:
        return (type(self), (self.errors,))


class PricingError(PolicyEngineError):
    """A price cannot be computed for a product under a pricing policy.

    Raised when neither the policy's price attribute nor the fallback regular price is usable,
    when the final amount is zero or negative (a marketplace must never get such a price), or
    when it grows beyond what money can hold.

    Attributes:
        sku: The product's SKU.
        attribute: The price attribute that was looked up.
        code: A stable machine-readable code: ``missing_price``, ``non_positive_price``, or
            ``price_out_of_range`` (more than 12 integer digits, which money cannot hold).
    """

    sku: str
    attribute: str
    code: str

    def __init__(self, message: str, *, sku: str, attribute: str, code: str) -> None:
        self.sku = sku
        self.attribute = attribute
        self.code = code
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_pricing_error, (str(self), self.sku, self.attribute, self.code))


def _rebuild_pricing_error(message: str, sku: str, attribute: str, code: str) -> PricingError:
    return PricingError(message, sku=sku, attribute=attribute, code=code)


class ImageUploadError(PolicyEngineError, ValueError):
    """An uploaded image file is not acceptable (type, signature, emptiness or size).

    Attributes:
        filename: The name the file was uploaded under.
        code: ``bad_extension``, ``bad_signature`` (also for content that is not bytes),
            ``empty`` or ``too_large``.
    """

    filename: str
    code: str

    def __init__(self, message: str, *, filename: str, code: str) -> None:
        self.filename = filename
        self.code = code
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_image_error, (str(self), self.filename, self.code))


def _rebuild_image_error(message: str, filename: str, code: str) -> ImageUploadError:
    return ImageUploadError(message, filename=filename, code=code)
