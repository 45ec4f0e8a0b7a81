"""Image policy, ``select_images`` and ``validate_image_upload`` (spec section 5).

:func:`select_images` reads top to bottom in the spec's order: the candidates (enabled images by
position), the main image (the policy's attribute, the base image, the first image, the default
image, or none), then the gallery (main first, no file twice, cut to the limit).
:func:`validate_image_upload` is the rule for an uploaded default image: a JPEG or PNG of at most
2 MiB.
"""

from __future__ import annotations

import enum
from operator import attrgetter

import attrs

from policy_engine._errors import ImageUploadError
from policy_engine._models import Product
from policy_engine._steps import Step, define_messages
from policy_engine._validation import (
    Checked,
    check,
    describe,
    fast_constructor,
    in_range,
    is_int,
    is_str,
    is_str_or_none,
    non_empty,
)

__all__ = ["ImagePolicy", "ImageSelection", "ImageSource", "select_images", "validate_image_upload"]


class ImageSource(enum.StrEnum):
    """Where the main image of a selection came from."""

    ATTRIBUTE = "attribute"
    BASE_IMAGE = "base_image"
    FIRST_IMAGE = "first_image"
    DEFAULT = "default"
    NONE = "none"


define_messages(
    {
        "image_disabled_skipped": "{0} disabled image(s) skipped",
        "image_attribute_missing": "the product has no value for the main image attribute {0!r}",
        "image_attribute_unusable": (
            "the main image attribute {0!r} holds {1}, not an image path: ignored"
        ),
        "image_main_attribute": "main image {1!r} from the attribute {0!r}",
        "image_main_base_image": "main image {0!r}: the first enabled image with the role 'image'",
        "image_main_first_image": (
            "main image {0!r}: the first enabled image (none has the role 'image')"
        ),
        "image_main_default": (
            "no enabled image: the policy's default image {0!r} is the main image"
        ),
        "image_main_none": "no enabled image and no default image: no image is sent",
        "image_duplicates_dropped": "{0} repeated file(s) left out of the gallery",
        "image_gallery_cut": "gallery cut to the limit of {0} image(s): {1} left out",
    }
)


@attrs.frozen(kw_only=True)
class ImageSelection:
    """The images a channel gets for a product, with where the main image came from.

    Attributes:
        main: The main (base) image's file, or ``None`` when the product has none to send.
        images: The files to send, main first, no file twice, at most the policy's
            ``gallery_limit``; empty exactly when ``main`` is ``None``.
        source: Where ``main`` came from.
        steps: Each step that decided it, in order (codes and values; messages on reading).
    """

    main: str | None
    images: tuple[str, ...]
    source: ImageSource
    steps: tuple[Step, ...] = ()


def _attribute_missing(policy: ImagePolicy) -> Step | None:
    attribute = policy.main_image_attribute
    return None if attribute is None else Step(("image_attribute_missing", attribute))


def _fallback_step(policy: ImagePolicy) -> Step:
    default = policy.default_image
    if default is None:
        return Step(("image_main_none",))
    return Step(("image_main_default", default))


def _no_image(policy: ImagePolicy) -> ImageSelection:
    """The selection for a product with no image and no usable attribute value."""
    missing = policy._attribute_missing
    steps = (policy._fallback,) if missing is None else (missing, policy._fallback)
    return _fallback_selection(policy, steps)


@attrs.frozen(kw_only=True)
class ImagePolicy(Checked):
    """Which images a channel gets for a product (spec section 5).

    Attributes:
        title: The policy's name (non-empty).
        main_image_attribute: A product attribute holding the file to use as the main image
            (e.g. ``marketplace_image``), or ``None``.
        default_image: The file used when the product has no enabled image, or ``None``.
        gallery_limit: The most images sent (1-100), the main image included.
    """

    title: str = attrs.field(metadata=check(is_str, non_empty))
    main_image_attribute: str | None = attrs.field(
        default=None, metadata=check(is_str_or_none, non_empty)
    )
    default_image: str | None = attrs.field(default=None, metadata=check(is_str_or_none, non_empty))
    gallery_limit: int = attrs.field(default=10, metadata=check(is_int, in_range(1, 100)))

    # Steps and results that depend on the policy alone, built once (not part of the JSON or
    # equality).
    _attribute_missing: Step | None = attrs.field(
        init=False, eq=False, repr=False, default=attrs.Factory(_attribute_missing, takes_self=True)
    )
    _fallback: Step = attrs.field(
        init=False, eq=False, repr=False, default=attrs.Factory(_fallback_step, takes_self=True)
    )
    _no_image: ImageSelection = attrs.field(
        init=False, eq=False, repr=False, default=attrs.Factory(_no_image, takes_self=True)
    )


def _fallback_selection(policy: ImagePolicy, steps: tuple[Step, ...]) -> ImageSelection:
    """The selection when no attribute value and no enabled image gives a main image."""
    default = policy.default_image
    if default is None:
        return ImageSelection(main=None, images=(), source=ImageSource.NONE, steps=steps)
    return ImageSelection(main=default, images=(default,), source=ImageSource.DEFAULT, steps=steps)


#: Builds an :class:`ImageSelection` in the hot path without attrs' frozen ``__init__``.
_selection = fast_constructor(ImageSelection)


def _unusable(value: object) -> str:
    """Name what a main image attribute holds instead of an image path."""
    return "a blank string" if isinstance(value, str) else describe(value)


_POSITION = attrgetter("position")
_FILE = attrgetter("file")
_ATTRIBUTE = ImageSource.ATTRIBUTE
_BASE_IMAGE = ImageSource.BASE_IMAGE
_FIRST_IMAGE = ImageSource.FIRST_IMAGE


def select_images(product: Product, image_policy: ImagePolicy) -> ImageSelection:
    """Choose the main image and the gallery a channel gets for a product.

    The steps, in order (spec section 5): the candidates are the images that are not disabled,
    ordered by ``position`` (equal positions keep their order); the main image is the value of the
    policy's ``main_image_attribute`` when it is a non-blank string (``attribute``), else the first
    candidate with the role ``image`` (``base_image``), else the first candidate
    (``first_image``), else the policy's ``default_image`` (``default``), else none (``none``);
    the gallery is the main image followed by the other candidates' files, no file twice, cut to
    ``gallery_limit``.

    >>> from policy_engine import Image, ImagePolicy, Product, select_images
    >>> product = Product(sku="S", images=[
    ...     Image(file="/b.jpg", position=2, roles={"image"}),
    ...     Image(file="/a.jpg", position=1),
    ...     Image(file="/c.jpg", position=3, disabled=True),
    ... ])
    >>> selection = select_images(product, ImagePolicy(title="AliExpress"))
    >>> selection.main, selection.images, selection.source.value
    ('/b.jpg', ('/b.jpg', '/a.jpg'), 'base_image')
    """
    policy = image_policy
    images = product.images
    main: str | None = None
    steps: list[Step] = []

    attribute = policy.main_image_attribute
    if attribute is not None:
        value = product.attributes.get(attribute)
        if type(value) is str and value.strip():
            main = value
        elif value is None:
            if not images:
                return policy._no_image
            steps.append(policy._attribute_missing)  # type: ignore[arg-type]
        else:
            steps.append(Step(("image_attribute_unusable", attribute, _unusable(value))))
    elif not images:
        return policy._no_image

    # 1. Candidates: the enabled images, by position. ``list.sort`` is stable, and on a gallery
    # already in order it only makes one pass of comparisons: cheaper than checking the order
    # first (measured: a check costs 1.5 times the sort of an ordered 8-image gallery).
    candidates = [image for image in images if not image.disabled]
    skipped = len(images) - len(candidates)
    if skipped:
        steps.insert(0, Step(("image_disabled_skipped", skipped)))
    candidates.sort(key=_POSITION)

    # 2. Main image; ``files`` becomes the main file followed by the other candidates' files.
    if main is not None:
        source = _ATTRIBUTE
        steps.append(Step(("image_main_attribute", attribute, main)))
        files = [main, *map(_FILE, candidates)]
    elif candidates:
        files = list(map(_FILE, candidates))
        for index, image in enumerate(candidates):
            if "image" in image.roles:
                source = _BASE_IMAGE
                main = files.pop(index)
                files.insert(0, main)
                steps.append(Step(("image_main_base_image", main)))
                break
        else:
            source = _FIRST_IMAGE
            main = files[0]
            steps.append(Step(("image_main_first_image", main)))
    else:
        steps.append(policy._fallback)
        return _fallback_selection(policy, tuple(steps))

    # 3. Gallery: main first, then the other candidates' files in order, no file twice, cut.
    # A set tells cheaply whether any file repeats; only then is the order-keeping pass needed.
    count = len(files)
    if len(set(files)) == count:
        gallery = tuple(files)
    else:
        gallery = tuple(dict.fromkeys(files))
        steps.append(Step(("image_duplicates_dropped", count - len(gallery))))
    limit = policy.gallery_limit
    if len(gallery) > limit:
        steps.append(Step(("image_gallery_cut", limit, len(gallery) - limit)))
        gallery = gallery[:limit]
    return _selection(main, gallery, source, tuple(steps))


# ----------------------------------------------------------------------------- image uploads

#: The largest accepted upload: 2 MiB (exactly 2 MiB is accepted).
MAX_UPLOAD_BYTES = 2 * 1024 * 1024

_KIND_OF_EXTENSION = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}
_SIGNATURES = {"JPEG": b"\xff\xd8\xff", "PNG": b"\x89PNG\r\n\x1a\n"}


def _extension(filename: str) -> str:
    """The lower-cased extension of the file's base name (``""`` when it has none)."""
    name = filename.replace("\\", "/").rpartition("/")[2]
    dot = name.rfind(".")
    # A leading dot starts a hidden file's name, not an extension (as os.path.splitext reads it).
    return name[dot:].lower() if dot > 0 and name[:dot].strip(".") else ""


def _kind_of_content(content: bytes) -> str | None:
    for kind, signature in _SIGNATURES.items():
        if content.startswith(signature):
            return kind
    return None


def validate_image_upload(content: bytes, filename: str) -> None:
    """Accept an uploaded image file only when it is a JPEG or PNG of at most 2 MiB.

    The checks, in order, each with its :attr:`ImageUploadError.code`:

    - ``bad_extension``: the name does not end in ``.jpg``, ``.jpeg`` or ``.png`` (any case);
    - ``empty``: the file has no bytes;
    - ``too_large``: the file is larger than 2 MiB (2,097,152 bytes; exactly 2 MiB is accepted);
    - ``bad_signature``: the content does not start with the signature of the kind the extension
      names (JPEG ``FF D8 FF``, PNG ``89 50 4E 47 0D 0A 1A 0A``), so a PNG named ``.jpg`` is
      refused, and so is content that is not bytes (a ``str``, for example).

    ``content`` may be ``bytes``, ``bytearray`` or ``memoryview``.

    >>> from policy_engine import validate_image_upload
    >>> validate_image_upload(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(100), "default.PNG")

    Raises:
        ImageUploadError: with ``filename`` and ``code`` set, on the first check that fails.
    """
    # The annotations say what callers should pass; the checks below also hold for anything else.
    given_name: object = filename
    data: object = content
    if not isinstance(given_name, str):
        message = f"expected the file name as a string, got {describe(given_name)}"
        raise ImageUploadError(message, filename=repr(given_name), code="bad_extension")
    expected = _KIND_OF_EXTENSION.get(_extension(given_name))
    if expected is None:
        message = f"{given_name!r} is not a JPEG or PNG file name (.jpg, .jpeg or .png)"
        raise ImageUploadError(message, filename=given_name, code="bad_extension")
    if isinstance(data, memoryview):
        data = data.tobytes()
    if not isinstance(data, bytes | bytearray):
        message = f"{given_name!r}: expected the file's bytes, got {describe(data)}"
        raise ImageUploadError(message, filename=given_name, code="bad_signature")
    size = len(data)
    if not size:
        raise ImageUploadError(f"{given_name!r} is empty", filename=given_name, code="empty")
    if size > MAX_UPLOAD_BYTES:
        message = (
            f"{given_name!r} has {size:,} bytes; an image may have at most {MAX_UPLOAD_BYTES:,}"
            " (2 MiB)"
        )
        raise ImageUploadError(message, filename=given_name, code="too_large")
    actual = _kind_of_content(bytes(data[:8]))
    if actual != expected:
        found = "no JPEG or PNG signature" if actual is None else f"a {actual} signature"
        message = f"{given_name!r} is named as a {expected} image but its content has {found}"
        raise ImageUploadError(message, filename=given_name, code="bad_signature")
