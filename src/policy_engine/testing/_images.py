"""Strategies for image policies."""

from __future__ import annotations

from hypothesis import strategies as st

from policy_engine._images import ImagePolicy
from policy_engine.testing._models import ATTRIBUTE_CODES

__all__ = ["image_policies"]

_TITLES = ("Default", "AliExpress images", "Five images")
_DEFAULT_IMAGES = (
    "/placeholder/default.jpg",
    "/m/a/img.jpg",
    "https://cdn.example.com/media/no-image.png",
)


def _optional(choose: bool | None, values: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    if choose is None:
        return st.none() | values
    return values if choose else st.none()


def image_policies(
    *,
    with_attribute: bool | None = None,
    with_default: bool | None = None,
    max_gallery: int = 100,
) -> st.SearchStrategy[ImagePolicy]:
    """Image policies; ``with_attribute=True`` always names a main image attribute, ``False`` never.

    ``with_default`` narrows ``default_image`` the same way. ``gallery_limit`` is drawn from
    ``1..max_gallery`` (``max_gallery`` itself must lie in 1-100). The attribute is one of the
    codes :func:`products` fills (mostly ``marketplace_image``), and one default image is also a
    file the product strategies draw, so that selections meet repeated files.

    Raises:
        ValueError: at once, when ``max_gallery`` is outside 1-100.
    """
    if type(max_gallery) is not int or not 1 <= max_gallery <= 100:
        msg = f"max_gallery must be between 1 and 100 (got {max_gallery!r})"
        raise ValueError(msg)
    attribute = st.just("marketplace_image") | st.sampled_from(ATTRIBUTE_CODES)
    return st.builds(
        ImagePolicy,
        title=st.sampled_from(_TITLES),
        main_image_attribute=_optional(with_attribute, attribute),
        default_image=_optional(with_default, st.sampled_from(_DEFAULT_IMAGES)),
        gallery_limit=st.integers(min_value=1, max_value=max_gallery),
    )
