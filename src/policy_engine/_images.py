"""Image policy, ``select_images`` and ``validate_image_upload`` (spec section 5). Skeleton."""

from __future__ import annotations

import enum

import attrs

from policy_engine._models import Product
from policy_engine._steps import Step

__all__ = ["ImagePolicy", "ImageSelection", "ImageSource", "select_images", "validate_image_upload"]


class ImageSource(enum.StrEnum):
    ATTRIBUTE = "attribute"
    BASE_IMAGE = "base_image"
    FIRST_IMAGE = "first_image"
    DEFAULT = "default"
    NONE = "none"


@attrs.frozen(kw_only=True)
class ImagePolicy:
    title: str


@attrs.frozen(kw_only=True)
class ImageSelection:
    main: str | None
    images: tuple[str, ...]
    source: ImageSource
    steps: tuple[Step, ...] = ()


def select_images(product: Product, image_policy: ImagePolicy) -> ImageSelection:
    raise NotImplementedError


def validate_image_upload(content: bytes, filename: str) -> None:
    raise NotImplementedError
