"""Tests of the image policy: select_images and validate_image_upload (spec sections 1 and 5)."""

from __future__ import annotations

import pickle
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_engine import (
    Image,
    ImagePolicy,
    ImageSelection,
    ImageSource,
    ImageUploadError,
    PolicyConfigError,
    PolicyEngineError,
    Product,
    Step,
    message_templates,
    select_images,
    structure,
    unstructure,
    validate_image_upload,
)
from policy_engine._images import MAX_UPLOAD_BYTES, _extension, _selection
from policy_engine.testing import attribute_values, image_policies, images, skus
from policy_engine.testing._models import ATTRIBUTE_CODES

JPEG = b"\xff\xd8\xff\xe0" + bytes(60)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(60)
MIB_2 = 2_097_152

POLICY = ImagePolicy(title="AliExpress images")


def product(*gallery: Image, **attributes: Any) -> Product:
    """A product with the given gallery and custom attributes."""
    return Product(sku="SKU-1", images=gallery, attributes=attributes)


def codes(selection: ImageSelection) -> list[str]:
    """The step codes of a selection, in order."""
    return [step.code for step in selection.steps]


# ---------------------------------------------------------------------------------- the policy


class TestImagePolicy:
    """An image policy is validated when it is built, so an invalid one cannot exist."""

    def test_defaults(self) -> None:
        """Only the title is required; the gallery limit defaults to 10."""
        policy = ImagePolicy(title="T")
        assert (policy.main_image_attribute, policy.default_image, policy.gallery_limit) == (
            None,
            None,
            10,
        )

    @pytest.mark.parametrize(
        ("fields", "errors"),
        [
            ({"title": ""}, ["must not be empty @ $.title"]),
            ({"title": "  "}, ["must not be empty @ $.title"]),
            (
                {"title": "T", "gallery_limit": 0},
                ["must be between 1 and 100 (got 0) @ $.gallery_limit"],
            ),
            (
                {"title": "T", "gallery_limit": 101},
                ["must be between 1 and 100 (got 101) @ $.gallery_limit"],
            ),
            (
                {"title": "T", "gallery_limit": True},
                ["expected an integer, got a boolean @ $.gallery_limit"],
            ),
            (
                {"title": "T", "main_image_attribute": ""},
                ["must not be empty @ $.main_image_attribute"],
            ),
            (
                {"title": "T", "default_image": 5},
                ["expected a string, got an integer @ $.default_image"],
            ),
            (
                {"title": 3, "gallery_limit": 101},
                [
                    "expected a string, got an integer @ $.title",
                    "must be between 1 and 100 (got 101) @ $.gallery_limit",
                ],
            ),
        ],
    )
    def test_invalid_values_are_refused(self, fields: dict[str, Any], errors: list[str]) -> None:
        """Each broken rule is reported with the field's path, all of them at once."""
        with pytest.raises(PolicyConfigError) as caught:
            ImagePolicy(**fields)
        assert caught.value.errors == errors

    @pytest.mark.parametrize("limit", [1, 100])
    def test_gallery_limit_bounds_are_accepted(self, limit: int) -> None:
        """The gallery limit may be 1 or 100, the ends of its range."""
        assert ImagePolicy(title="T", gallery_limit=limit).gallery_limit == limit


class TestLoading:
    """Image policies load from JSON strictly (spec section 1)."""

    def test_full_document(self) -> None:
        """Every field loads to the value given."""
        policy = structure(
            {
                "title": "AliExpress images",
                "main_image_attribute": "marketplace_image",
                "default_image": "/placeholder/default.jpg",
                "gallery_limit": 5,
            },
            ImagePolicy,
        )
        assert policy == ImagePolicy(
            title="AliExpress images",
            main_image_attribute="marketplace_image",
            default_image="/placeholder/default.jpg",
            gallery_limit=5,
        )

    @pytest.mark.parametrize(
        ("limit", "error"),
        [
            (0, "must be between 1 and 100 (got 0) @ $.gallery_limit"),
            (101, "must be between 1 and 100 (got 101) @ $.gallery_limit"),
            (True, "expected an integer, got a boolean @ $.gallery_limit"),
            (2.5, "expected an integer, got a number @ $.gallery_limit"),
            ("5", "expected an integer, got a string @ $.gallery_limit"),
        ],
    )
    def test_bad_gallery_limit(self, limit: object, error: str) -> None:
        """A gallery limit outside 1-100 or not a JSON integer is a load error."""
        with pytest.raises(PolicyConfigError) as caught:
            structure({"title": "T", "gallery_limit": limit}, ImagePolicy)
        assert caught.value.errors == [error]

    def test_every_problem_at_once(self) -> None:
        """One error lists every problem of the document, with its path, in document order."""
        with pytest.raises(PolicyConfigError) as caught:
            structure(
                {
                    "title": "",
                    "main_image_attribute": "",
                    "default_image": 3,
                    "gallery_limit": True,
                    "galery_limit": 5,
                },
                ImagePolicy,
            )
        assert caught.value.errors == [
            "must not be empty @ $.title",
            "must not be empty @ $.main_image_attribute",
            "expected a string, got an integer @ $.default_image",
            "expected an integer, got a boolean @ $.gallery_limit",
            "unknown field (did you mean 'gallery_limit'?) @ $.galery_limit",
        ]

    def test_missing_title(self) -> None:
        """The title is required."""
        with pytest.raises(PolicyConfigError) as caught:
            structure({"gallery_limit": 5}, ImagePolicy)
        assert caught.value.errors == ["required field missing @ $.title"]

    def test_blank_default_image(self) -> None:
        """A default image that is only blanks is not an image path."""
        with pytest.raises(PolicyConfigError) as caught:
            structure({"title": "T", "default_image": "  "}, ImagePolicy)
        assert caught.value.errors == ["must not be empty @ $.default_image"]

    def test_nulls_are_accepted(self) -> None:
        """``main_image_attribute`` and ``default_image`` may be null."""
        policy = structure(
            {"title": "T", "main_image_attribute": None, "default_image": None}, ImagePolicy
        )
        assert policy == ImagePolicy(title="T")

    def test_selection_round_trip(self) -> None:
        """A selection dumps to JSON with its step messages and loads back equal."""
        selection = select_images(
            product(Image(file="/a.jpg"), Image(file="/b.jpg", disabled=True)), POLICY
        )
        data = unstructure(selection)
        assert data == {
            "main": "/a.jpg",
            "images": ["/a.jpg"],
            "source": "first_image",
            "steps": [
                {
                    "code": "image_disabled_skipped",
                    "args": [1],
                    "message": "1 disabled image(s) skipped",
                },
                {
                    "code": "image_main_first_image",
                    "args": ["/a.jpg"],
                    "message": (
                        "main image '/a.jpg': the first enabled image (none has the role 'image')"
                    ),
                },
            ],
        }
        assert structure(data, ImageSelection) == selection


# ----------------------------------------------------------------------------- select_images


class TestSources:
    """Each ``source`` value, decided in the spec's order (section 5, step 2)."""

    def test_attribute(self) -> None:
        """A non-empty attribute value wins over the base image."""
        policy = ImagePolicy(title="T", main_image_attribute="marketplace_image")
        selection = select_images(
            product(
                Image(file="/base.jpg", roles={"image"}),
                marketplace_image="/market.jpg",
            ),
            policy,
        )
        assert selection == ImageSelection(
            main="/market.jpg",
            images=("/market.jpg", "/base.jpg"),
            source=ImageSource.ATTRIBUTE,
            steps=(Step(("image_main_attribute", "marketplace_image", "/market.jpg")),),
        )

    def test_base_image(self) -> None:
        """Without an attribute value, the first candidate with role ``image`` is the main image."""
        selection = select_images(
            product(
                Image(file="/a.jpg", position=1, roles={"thumbnail"}),
                Image(file="/b.jpg", position=2, roles={"image", "small_image"}),
                Image(file="/c.jpg", position=3),
            ),
            POLICY,
        )
        assert selection == ImageSelection(
            main="/b.jpg",
            images=("/b.jpg", "/a.jpg", "/c.jpg"),
            source=ImageSource.BASE_IMAGE,
            steps=(Step(("image_main_base_image", "/b.jpg")),),
        )

    def test_first_image(self) -> None:
        """Without a base image, the first candidate by position is the main image."""
        selection = select_images(
            product(Image(file="/b.jpg", position=2), Image(file="/a.jpg", position=1)), POLICY
        )
        assert selection == ImageSelection(
            main="/a.jpg",
            images=("/a.jpg", "/b.jpg"),
            source=ImageSource.FIRST_IMAGE,
            steps=(Step(("image_main_first_image", "/a.jpg")),),
        )

    def test_default(self) -> None:
        """A product without images gets the policy's default image, alone."""
        policy = ImagePolicy(title="T", default_image="/default.jpg")
        assert select_images(product(), policy) == ImageSelection(
            main="/default.jpg",
            images=("/default.jpg",),
            source=ImageSource.DEFAULT,
            steps=(Step(("image_main_default", "/default.jpg")),),
        )

    def test_none(self) -> None:
        """A product without images and a policy without default image send no image."""
        assert select_images(product(), POLICY) == ImageSelection(
            main=None, images=(), source=ImageSource.NONE, steps=(Step(("image_main_none",)),)
        )

    def test_default_when_every_image_is_disabled(self) -> None:
        """Disabled images are not candidates: with all disabled, the default image is used."""
        policy = ImagePolicy(title="T", default_image="/default.jpg")
        selection = select_images(
            product(Image(file="/a.jpg", disabled=True, roles={"image"})), policy
        )
        assert (selection.main, selection.images, selection.source) == (
            "/default.jpg",
            ("/default.jpg",),
            ImageSource.DEFAULT,
        )
        assert codes(selection) == ["image_disabled_skipped", "image_main_default"]

    def test_none_when_every_image_is_disabled(self) -> None:
        """With every image disabled and no default image, nothing is sent."""
        selection = select_images(product(Image(file="/a.jpg", disabled=True)), POLICY)
        assert (selection.main, selection.images, selection.source) == (
            None,
            (),
            ImageSource.NONE,
        )
        assert selection.steps == (Step(("image_disabled_skipped", 1)), Step(("image_main_none",)))


class TestMainImageAttribute:
    """The ``main_image_attribute`` is used only when it holds a non-blank string."""

    POLICY = ImagePolicy(title="T", main_image_attribute="marketplace_image")

    def test_missing_attribute_falls_back(self) -> None:
        """A product without the attribute falls back to its base image, and the step says so."""
        selection = select_images(product(Image(file="/a.jpg", roles={"image"})), self.POLICY)
        assert selection.source is ImageSource.BASE_IMAGE
        assert selection.steps == (
            Step(("image_attribute_missing", "marketplace_image")),
            Step(("image_main_base_image", "/a.jpg")),
        )

    def test_null_attribute_falls_back(self) -> None:
        """An attribute holding null counts as missing."""
        selection = select_images(
            product(Image(file="/a.jpg"), marketplace_image=None), self.POLICY
        )
        assert selection.source is ImageSource.FIRST_IMAGE
        assert codes(selection) == ["image_attribute_missing", "image_main_first_image"]

    def test_missing_attribute_without_images(self) -> None:
        """Without the attribute and without images, the default (here none) decides."""
        selection = select_images(product(), self.POLICY)
        assert selection == ImageSelection(
            main=None,
            images=(),
            source=ImageSource.NONE,
            steps=(
                Step(("image_attribute_missing", "marketplace_image")),
                Step(("image_main_none",)),
            ),
        )

    @pytest.mark.parametrize(
        ("value", "held"),
        [
            ("", "a blank string"),
            ("   ", "a blank string"),
            (5, "an integer"),
            (True, "a boolean"),
            (("/a.jpg",), "a list"),
        ],
    )
    def test_unusable_value_is_ignored(self, value: Any, held: str) -> None:
        """An empty or blank string, or a value that is not a string, is not an image path."""
        policy = attrs.evolve(self.POLICY, default_image="/default.jpg")
        selection = select_images(product(marketplace_image=value), policy)
        assert selection.source is ImageSource.DEFAULT
        assert selection.steps == (
            Step(("image_attribute_unusable", "marketplace_image", held)),
            Step(("image_main_default", "/default.jpg")),
        )
        assert selection.steps[0].message == (
            f"the main image attribute 'marketplace_image' holds {held}, not an image path: ignored"
        )

    def test_attribute_without_gallery(self) -> None:
        """The attribute's image is used even when the product has no gallery at all."""
        selection = select_images(product(marketplace_image="/m.jpg"), self.POLICY)
        assert (selection.main, selection.images, selection.source) == (
            "/m.jpg",
            ("/m.jpg",),
            ImageSource.ATTRIBUTE,
        )

    def test_attribute_file_also_in_gallery_appears_once(self) -> None:
        """When the attribute names a gallery file, that file is sent once, first."""
        selection = select_images(
            product(
                Image(file="/a.jpg", position=1),
                Image(file="/m.jpg", position=2),
                marketplace_image="/m.jpg",
            ),
            self.POLICY,
        )
        assert selection.images == ("/m.jpg", "/a.jpg")
        assert selection.steps[-1] == Step(("image_duplicates_dropped", 1))

    def test_attribute_may_name_a_disabled_image(self) -> None:
        """The attribute decides on its own: it may name a file whose gallery entry is disabled."""
        selection = select_images(
            product(Image(file="/m.jpg", disabled=True), marketplace_image="/m.jpg"), self.POLICY
        )
        assert selection.images == ("/m.jpg",)
        assert codes(selection) == ["image_disabled_skipped", "image_main_attribute"]


class TestCandidates:
    """Candidates are the enabled images, ordered by position (section 5, step 1)."""

    def test_disabled_images_are_skipped_and_counted(self) -> None:
        """Disabled images are never sent; the step counts them."""
        selection = select_images(
            product(
                Image(file="/a.jpg", disabled=True),
                Image(file="/b.jpg"),
                Image(file="/c.jpg", disabled=True),
            ),
            POLICY,
        )
        assert selection.images == ("/b.jpg",)
        assert selection.steps[0] == Step(("image_disabled_skipped", 2))

    def test_disabled_base_image_is_not_main(self) -> None:
        """A disabled image with role ``image`` is not a candidate for the main image."""
        selection = select_images(
            product(Image(file="/a.jpg", disabled=True, roles={"image"}), Image(file="/b.jpg")),
            POLICY,
        )
        assert (selection.main, selection.source) == ("/b.jpg", ImageSource.FIRST_IMAGE)

    def test_ordered_by_position(self) -> None:
        """The gallery follows ``position``, not the order the store listed the images in."""
        selection = select_images(
            product(
                Image(file="/c.jpg", position=30),
                Image(file="/a.jpg", position=-1),
                Image(file="/b.jpg", position=7),
            ),
            POLICY,
        )
        assert selection.images == ("/a.jpg", "/b.jpg", "/c.jpg")

    def test_equal_positions_keep_their_order(self) -> None:
        """Images with equal positions keep the order they were given in (a stable sort)."""
        selection = select_images(
            product(
                Image(file="/z.jpg", position=1),
                Image(file="/y.jpg", position=0),
                Image(file="/x.jpg", position=1),
                Image(file="/w.jpg", position=0),
            ),
            POLICY,
        )
        assert selection.images == ("/y.jpg", "/w.jpg", "/z.jpg", "/x.jpg")

    def test_base_image_is_first_by_position(self) -> None:
        """Of several images with role ``image``, the first by position is the main image."""
        selection = select_images(
            product(
                Image(file="/late.jpg", position=9, roles={"image"}),
                Image(file="/early.jpg", position=2, roles={"image"}),
                Image(file="/first.jpg", position=1),
            ),
            POLICY,
        )
        assert selection.images == ("/early.jpg", "/first.jpg", "/late.jpg")
        assert selection.source is ImageSource.BASE_IMAGE


class TestGallery:
    """The gallery: main first, no file twice, cut to the limit (section 5, step 3)."""

    def test_cut_to_the_limit(self) -> None:
        """A gallery longer than the limit is cut, the main image included in the count."""
        gallery = [Image(file=f"/{index}.jpg", position=index) for index in range(20)]
        selection = select_images(
            product(*gallery, Image(file="/main.jpg", position=50, roles={"image"})),
            ImagePolicy(title="T", gallery_limit=5),
        )
        assert selection.images == ("/main.jpg", "/0.jpg", "/1.jpg", "/2.jpg", "/3.jpg")
        assert selection.steps[-1] == Step(("image_gallery_cut", 5, 16))
        assert selection.steps[-1].message == "gallery cut to the limit of 5 image(s): 16 left out"

    def test_limit_of_one_sends_only_the_main_image(self) -> None:
        """With ``gallery_limit`` 1 only the main image is sent."""
        selection = select_images(
            product(Image(file="/a.jpg"), Image(file="/b.jpg", roles={"image"})),
            ImagePolicy(title="T", gallery_limit=1),
        )
        assert selection.images == ("/b.jpg",)

    def test_gallery_at_the_limit_is_not_cut(self) -> None:
        """A gallery exactly as long as the limit is sent whole, with no cut step."""
        selection = select_images(
            product(Image(file="/a.jpg"), Image(file="/b.jpg")),
            ImagePolicy(title="T", gallery_limit=2),
        )
        assert selection.images == ("/a.jpg", "/b.jpg")
        assert codes(selection) == ["image_main_first_image"]

    def test_duplicate_files_are_sent_once(self) -> None:
        """A file listed twice is sent once, at its first place; the step counts the repeats."""
        selection = select_images(
            product(
                Image(file="/a.jpg", position=1),
                Image(file="/b.jpg", position=2),
                Image(file="/a.jpg", position=3),
                Image(file="/b.jpg", position=4),
                Image(file="/c.jpg", position=5),
            ),
            POLICY,
        )
        assert selection.images == ("/a.jpg", "/b.jpg", "/c.jpg")
        assert selection.steps[-1] == Step(("image_duplicates_dropped", 2))

    def test_duplicate_of_the_base_image(self) -> None:
        """A copy of the base image placed before it is dropped, the main image staying first."""
        selection = select_images(
            product(
                Image(file="/b.jpg", position=1),
                Image(file="/a.jpg", position=2),
                Image(file="/b.jpg", position=3, roles={"image"}),
            ),
            POLICY,
        )
        assert selection.images == ("/b.jpg", "/a.jpg")
        assert selection.steps == (
            Step(("image_main_base_image", "/b.jpg")),
            Step(("image_duplicates_dropped", 1)),
        )

    def test_duplicates_are_removed_before_the_cut(self) -> None:
        """Repeated files do not take places in the gallery: the limit counts distinct files."""
        selection = select_images(
            product(
                Image(file="/a.jpg"),
                Image(file="/a.jpg"),
                Image(file="/b.jpg"),
                Image(file="/c.jpg"),
            ),
            ImagePolicy(title="T", gallery_limit=2),
        )
        assert selection.images == ("/a.jpg", "/b.jpg")
        assert codes(selection) == [
            "image_main_first_image",
            "image_duplicates_dropped",
            "image_gallery_cut",
        ]


class TestSteps:
    """Steps are registered codes whose messages read well."""

    def test_every_code_has_a_message(self) -> None:
        """Every step code this module records is registered with a message template."""
        templates = message_templates()
        for code in (
            "image_disabled_skipped",
            "image_attribute_missing",
            "image_attribute_unusable",
            "image_main_attribute",
            "image_main_base_image",
            "image_main_first_image",
            "image_main_default",
            "image_main_none",
            "image_duplicates_dropped",
            "image_gallery_cut",
        ):
            assert code in templates

    def test_messages(self) -> None:
        """Each main-image step names where the main image came from."""
        policy = ImagePolicy(title="T", main_image_attribute="marketplace_image")
        selection = select_images(product(marketplace_image="/m.jpg"), policy)
        assert [step.message for step in selection.steps] == [
            "main image '/m.jpg' from the attribute 'marketplace_image'"
        ]
        base = select_images(product(Image(file="/b.jpg", roles={"image"})), POLICY)
        assert base.steps[0].message == (
            "main image '/b.jpg': the first enabled image with the role 'image'"
        )
        default = select_images(product(), ImagePolicy(title="T", default_image="/d.jpg"))
        assert default.steps[0].message == (
            "no enabled image: the policy's default image '/d.jpg' is the main image"
        )
        none = select_images(product(), POLICY)
        assert none.steps[0].message == "no enabled image and no default image: no image is sent"

    def test_fast_constructor_matches_init(self) -> None:
        """The hot-path constructor sets every field, exactly as ``ImageSelection(...)`` does."""
        assert [field.name for field in attrs.fields(ImageSelection)] == [
            "main",
            "images",
            "source",
            "steps",
        ]
        steps = (Step(("image_main_first_image", "/a.jpg")),)
        built = _selection("/a.jpg", ("/a.jpg",), ImageSource.FIRST_IMAGE, steps)
        expected = ImageSelection(
            main="/a.jpg", images=("/a.jpg",), source=ImageSource.FIRST_IMAGE, steps=steps
        )
        assert built == expected
        assert hash(built) == hash(expected)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            built.main = "/b.jpg"  # type: ignore[misc]


# --------------------------------------------------------------------------------- properties


FILES = ("/m/a/img.jpg", "/a.jpg", "/b.jpg", "/c.png", "/d.png", "/placeholder/default.jpg")


@st.composite
def products_with_galleries(draw: st.DrawFn) -> Product:
    """Products whose images and ``marketplace_image`` often share files (repeats, overlaps)."""
    attributes = draw(
        st.dictionaries(st.sampled_from(ATTRIBUTE_CODES), attribute_values(), max_size=3)
    )
    if draw(st.booleans()):
        attributes["marketplace_image"] = draw(st.sampled_from((*FILES, "", "  ", None, 7)))
    return Product(
        sku=draw(skus()),
        images=draw(st.lists(images(files=FILES), max_size=12)),
        attributes=attributes,
    )


def expected_selection(
    item: Product, policy: ImagePolicy
) -> tuple[str | None, tuple[str, ...], str]:
    """The spec's rules written plainly: ``(main, images, source)``."""
    candidates = sorted(
        (image for image in item.images if not image.disabled), key=lambda i: i.position
    )
    value = (
        item.attributes.get(policy.main_image_attribute)
        if policy.main_image_attribute is not None
        else None
    )
    chosen = None
    if isinstance(value, str) and value.strip():
        main, source = value, "attribute"
    elif based := [image for image in candidates if "image" in image.roles]:
        chosen = based[0]
        main, source = chosen.file, "base_image"
    elif candidates:
        chosen = candidates[0]
        main, source = chosen.file, "first_image"
    elif policy.default_image is not None:
        return policy.default_image, (policy.default_image,), "default"
    else:
        return None, (), "none"
    gallery = [main]
    for image in candidates:
        if image is not chosen and image.file not in gallery:
            gallery.append(image.file)
    return main, tuple(gallery[: policy.gallery_limit]), source


class TestSelectionProperties:
    """Invariants of ``select_images`` (spec section 5) over generated products and policies."""

    @given(products_with_galleries(), image_policies())
    def test_matches_the_rules(self, item: Product, policy: ImagePolicy) -> None:
        """``source`` agrees with where main came from: the result equals the rules of section 5
        written plainly (candidates by position; attribute, base image, first image, default,
        none; main then the other candidates' files, no repeats, cut to the limit)."""
        selection = select_images(item, policy)
        assert (selection.main, selection.images, selection.source.value) == expected_selection(
            item, policy
        )

    @given(products_with_galleries(), image_policies())
    def test_gallery_limit_and_no_duplicates(self, item: Product, policy: ImagePolicy) -> None:
        """``len(images) <= gallery_limit`` and ``images`` has no duplicates."""
        selection = select_images(item, policy)
        assert len(selection.images) <= policy.gallery_limit
        assert len(set(selection.images)) == len(selection.images)

    @given(products_with_galleries(), image_policies())
    def test_main_first(self, item: Product, policy: ImagePolicy) -> None:
        """``images[0] == main`` when main is set, and ``images == ()`` iff main is None."""
        selection = select_images(item, policy)
        if selection.main is not None:
            assert selection.images[0] == selection.main
        assert (selection.images == ()) == (selection.main is None)
        assert (selection.main is None) == (selection.source is ImageSource.NONE)

    @given(products_with_galleries(), image_policies())
    def test_disabled_files_stay_out(self, item: Product, policy: ImagePolicy) -> None:
        """No disabled image's file appears unless it is also the file of an enabled image, the
        attribute value or the default."""
        selection = select_images(item, policy)
        allowed = {image.file for image in item.images if not image.disabled}
        if policy.main_image_attribute is not None:
            allowed.add(item.attributes.get(policy.main_image_attribute))  # type: ignore[arg-type]
        allowed.add(policy.default_image)  # type: ignore[arg-type]
        assert set(selection.images) <= allowed

    @given(products_with_galleries(), image_policies())
    def test_source_agrees_with_main(self, item: Product, policy: ImagePolicy) -> None:
        """``source`` agrees with where main came from, and the main-image step names it."""
        selection = select_images(item, policy)
        enabled = [image for image in item.images if not image.disabled]
        if selection.source is ImageSource.ATTRIBUTE:
            assert policy.main_image_attribute is not None
            assert selection.main == item.attributes[policy.main_image_attribute]
        elif selection.source is ImageSource.BASE_IMAGE:
            assert any(i.file == selection.main and "image" in i.roles for i in enabled)
        elif selection.source is ImageSource.FIRST_IMAGE:
            assert not any("image" in image.roles for image in enabled)
            assert selection.main == min(enabled, key=lambda image: image.position).file
        elif selection.source is ImageSource.DEFAULT:
            assert not enabled
            assert selection.main == policy.default_image
        else:
            assert not enabled
            assert policy.default_image is None
        assert f"image_main_{selection.source.value}" in codes(selection)

    @given(products_with_galleries(), image_policies())
    def test_steps_are_registered(self, item: Product, policy: ImagePolicy) -> None:
        """Every step has a registered code and arguments that survive JSON (str, int, None)."""
        for step in select_images(item, policy).steps:
            assert step.code in message_templates()
            assert all(arg is None or type(arg) in (str, int) for arg in step.args)
            assert step.message


class TestRoundTrips:
    """``structure(unstructure(x), type(x)) == x`` for every model (spec section 1)."""

    @given(image_policies())
    def test_policy(self, policy: ImagePolicy) -> None:
        """An image policy survives a JSON round trip."""
        assert structure(unstructure(policy), ImagePolicy) == policy

    @given(products_with_galleries(), image_policies())
    def test_selection(self, item: Product, policy: ImagePolicy) -> None:
        """A selection survives a JSON round trip."""
        selection = select_images(item, policy)
        assert structure(unstructure(selection), ImageSelection) == selection


class TestStrategies:
    """The ``image_policies`` options narrow what is drawn."""

    @given(image_policies(with_attribute=True, with_default=False, max_gallery=3))
    def test_options_pin_fields(self, policy: ImagePolicy) -> None:
        """``with_attribute``, ``with_default`` and ``max_gallery`` are honoured."""
        assert policy.main_image_attribute is not None
        assert policy.default_image is None
        assert policy.gallery_limit <= 3

    @given(image_policies(with_attribute=False, with_default=True))
    def test_options_pin_the_other_way(self, policy: ImagePolicy) -> None:
        """The options also force the opposite choice."""
        assert policy.main_image_attribute is None
        assert policy.default_image is not None

    @pytest.mark.parametrize("maximum", [0, 101])
    def test_max_gallery_out_of_range(self, maximum: int) -> None:
        """A ``max_gallery`` outside 1-100 cannot give valid policies and is refused."""
        with pytest.raises(ValueError, match="max_gallery must be between 1 and 100"):
            image_policies(max_gallery=maximum)


# ----------------------------------------------------------------------- validate_image_upload


def upload_error(content: Any, filename: Any) -> ImageUploadError:
    """The error ``validate_image_upload`` raises for the file."""
    with pytest.raises(ImageUploadError) as caught:
        validate_image_upload(content, filename)
    return caught.value


class TestUpload:
    """An uploaded default image must be a non-empty JPEG or PNG of at most 2 MiB (section 5)."""

    @pytest.mark.parametrize(
        ("content", "filename"),
        [
            (JPEG, "default.jpg"),
            (JPEG, "default.jpeg"),
            (JPEG, "DEFAULT.JPG"),
            (JPEG, "photo.JpEg"),
            (PNG, "default.png"),
            (PNG, "DEFAULT.PNG"),
            (PNG, "media/catalog.v2/default.png"),
            (PNG, "C:\\images\\default.png"),
            (b"\xff\xd8\xff", "tiny.jpg"),
            (bytearray(PNG), "default.png"),
            (memoryview(JPEG), "default.jpg"),
        ],
    )
    def test_accepted(self, content: bytes, filename: str) -> None:
        """JPEG and PNG files whose name and signature agree are accepted, whatever the case."""
        validate_image_upload(content, filename)

    def test_exactly_two_mib_is_accepted(self) -> None:
        """A file of exactly 2 MiB (2,097,152 bytes) is accepted."""
        content = PNG + bytes(MIB_2 - len(PNG))
        assert len(content) == MIB_2 == MAX_UPLOAD_BYTES
        validate_image_upload(content, "big.png")

    def test_one_byte_over_two_mib_is_too_large(self) -> None:
        """A file of 2 MiB and one byte is refused with code ``too_large``."""
        content = JPEG + bytes(MIB_2 + 1 - len(JPEG))
        error = upload_error(content, "big.jpg")
        assert (error.code, error.filename) == ("too_large", "big.jpg")
        assert str(error) == (
            "'big.jpg' has 2,097,153 bytes; an image may have at most 2,097,152 (2 MiB)"
        )

    @pytest.mark.parametrize(
        "filename",
        [
            "default.gif",
            "default.webp",
            "default",
            "png",
            ".png",
            "default.png ",
            "a.png/b",
            "x.jpg.exe",
        ],
    )
    def test_bad_extension(self, filename: str) -> None:
        """A name without a ``.jpg``, ``.jpeg`` or ``.png`` extension is refused, content unseen."""
        error = upload_error(PNG, filename)
        assert (error.code, error.filename) == ("bad_extension", filename)
        assert str(error) == f"{filename!r} is not a JPEG or PNG file name (.jpg, .jpeg or .png)"

    def test_empty(self) -> None:
        """An empty file is refused with code ``empty``."""
        error = upload_error(b"", "default.png")
        assert (error.code, str(error)) == ("empty", "'default.png' is empty")

    def test_png_named_jpg(self) -> None:
        """A PNG named ``.jpg`` is refused: the signature must be the one the extension names."""
        error = upload_error(PNG, "photo.jpg")
        assert error.code == "bad_signature"
        assert (
            str(error) == "'photo.jpg' is named as a JPEG image but its content has a PNG signature"
        )

    def test_jpeg_named_png(self) -> None:
        """A JPEG named ``.png`` is refused the same way."""
        error = upload_error(JPEG, "photo.PNG")
        assert error.code == "bad_signature"
        assert str(error) == (
            "'photo.PNG' is named as a PNG image but its content has a JPEG signature"
        )

    @pytest.mark.parametrize(
        "content",
        [b"GIF89a" + bytes(20), b"\xff\xd8", b"\x89PNG\r\n\x1a", b"<svg></svg>", b"\x00" * 10],
    )
    def test_bad_signature(self, content: bytes) -> None:
        """Content without a JPEG or PNG signature (even a truncated one) is refused."""
        error = upload_error(content, "photo.png")
        assert error.code == "bad_signature"
        assert str(error) == (
            "'photo.png' is named as a PNG image but its content has no JPEG or PNG signature"
        )

    def test_text_content(self) -> None:
        """Content given as a string instead of bytes is refused with code ``bad_signature``."""
        error = upload_error("\x89PNG\r\n\x1a\n", "default.png")
        assert error.code == "bad_signature"
        assert str(error) == "'default.png': expected the file's bytes, got a string"

    def test_filename_not_a_string(self) -> None:
        """A file name that is not a string is refused with code ``bad_extension``."""
        error = upload_error(PNG, None)
        assert (error.code, error.filename) == ("bad_extension", "None")
        assert str(error) == "expected the file name as a string, got null"

    def test_extension_is_checked_first(self) -> None:
        """The checks run in order: an empty file with a bad name reports the name."""
        assert upload_error(b"", "default.gif").code == "bad_extension"
        assert upload_error(b"x" * (MIB_2 + 1), "default.png").code == "too_large"

    def test_error_is_a_library_error_and_pickles(self) -> None:
        """The error is a ``PolicyEngineError`` and keeps its fields through pickling."""
        error = upload_error(b"", "default.png")
        assert isinstance(error, PolicyEngineError)
        assert isinstance(error, ValueError)
        copy = pickle.loads(pickle.dumps(error))
        assert (copy.code, copy.filename, str(copy)) == (error.code, error.filename, str(error))


class TestExactBehaviour:
    """Boundaries, arguments and messages pinned one by one (found by mutation testing)."""

    @pytest.mark.parametrize(
        ("filename", "extension"),
        [
            ("a.png", ".png"),
            ("X.png", ".png"),
            ("photo.v2.PNG", ".png"),
            ("media/.png", ""),
            ("C:\\images\\.png", ""),
            (".png", ""),
            ("..png", ""),
            ("png", ""),
            ("default", ""),
        ],
    )
    def test_extension_of_the_base_name(self, filename: str, extension: str) -> None:
        """The extension is the base name's last dot onward, lower-cased; a hidden file has none."""
        assert _extension(filename) == extension

    @pytest.mark.parametrize("filename", ["media/.png", "C:\\images\\.png", "..png"])
    def test_hidden_file_name_is_not_an_image_name(self, filename: str) -> None:
        """A base name made of dots and an extension is a hidden file: ``bad_extension``."""
        assert upload_error(PNG, filename).code == "bad_extension"

    @pytest.mark.parametrize("filename", ["a.png", "X.png", "photo.v2.png"])
    def test_short_and_dotted_names_are_accepted(self, filename: str) -> None:
        """A one-letter base name or one with inner dots is an image name when it ends in .png."""
        validate_image_upload(PNG, filename)

    def test_filename_of_another_type_is_named_in_the_error(self) -> None:
        """A file name that is not a string is described in the message and kept as its repr."""
        error = upload_error(PNG, 42)
        assert (error.code, error.filename) == ("bad_extension", "42")
        assert str(error) == "expected the file name as a string, got an integer"

    @pytest.mark.parametrize(
        ("content", "filename", "code"),
        [
            ("text", "a.png", "bad_signature"),
            (b"", "b.png", "empty"),
            (PNG, "c.jpg", "bad_signature"),
        ],
    )
    def test_every_error_carries_the_file_name(
        self, content: Any, filename: str, code: str
    ) -> None:
        """Each refusal after the name check carries the file name it refused."""
        error = upload_error(content, filename)
        assert (error.code, error.filename) == (code, filename)

    def test_disabled_images_step_comes_before_the_attribute_step(self) -> None:
        """The count of skipped disabled images is the first step, before the attribute's step."""
        policy = ImagePolicy(title="T", main_image_attribute="marketplace_image")
        selection = select_images(
            product(Image(file="/a.jpg", disabled=True), Image(file="/b.jpg")), policy
        )
        assert selection.steps == (
            Step(("image_disabled_skipped", 1)),
            Step(("image_attribute_missing", "marketplace_image")),
            Step(("image_main_first_image", "/b.jpg")),
        )

    def test_product_without_images_or_attribute_value_names_the_missing_attribute(self) -> None:
        """No image and no value for the attribute: the missing attribute, then the fallback."""
        policy = ImagePolicy(
            title="T", main_image_attribute="marketplace_image", default_image="/d.jpg"
        )
        selection = select_images(product(), policy)
        assert (selection.main, selection.source) == ("/d.jpg", ImageSource.DEFAULT)
        assert selection.steps == (
            Step(("image_attribute_missing", "marketplace_image")),
            Step(("image_main_default", "/d.jpg")),
        )
