"""EditRequest refuses every value the service would refuse before any network call, naming field and range."""

import pytest

from core import catalog, errors
from core.parameters import EditParameters, parse_size
from core.references import reference_problems
from core.request import EditRequest
from core.sizes import Size


def test_valid_values_are_normalised():
    params = EditParameters.create(
        "make it blue", n="3", seed="42", size=" 1024 x 768 ", model="qwen-image-edit-max", region="Beijing"
    )
    assert (params.n, params.seed, params.size, params.region) == (3, 42, Size(1024, 768), "beijing")
    assert params.prompt_extend is True and params.seed_was_random is False


@pytest.mark.parametrize("seed", [None, -1, "-1", "random", ""])
def test_a_random_seed_is_drawn_in_range_and_recorded(seed):
    params = EditParameters.create("x", seed=seed)
    assert params.seed_was_random and 0 <= params.seed <= catalog.SEED_MAX


def test_prompt_rewriting_defaults_to_the_models_ability():
    assert EditParameters.create("x", model="qwen-image-edit-plus").prompt_extend is True
    assert EditParameters.create("x", model="qwen-image-edit").prompt_extend is False


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"prompt": ""}, errors.EmptyPromptError, "Write a prompt"),
        ({"prompt": "   \n"}, errors.EmptyPromptError, "Write a prompt"),
        ({"prompt": "x" * 801}, errors.TextTooLongError, "801 characters long; the limit is 800"),
        ({"prompt": "a\x00b"}, errors.InvalidTextError, "control characters"),
        ({"prompt": "make it \ud83c blue"}, errors.BrokenTextError, "broken character at position 9"),
        ({"negative_prompt": "blurry\udfff"}, errors.BrokenTextError, "negative prompt contains a broken"),
        ({"negative_prompt": "n" * 501}, errors.TextTooLongError, "negative prompt is 501"),
        ({"model": "qwen-image-edit-ultra"}, errors.UnknownModelError, "qwen-image-edit-plus"),
        ({"region": "mars"}, errors.UnknownRegionError, "singapore, beijing"),
        ({"size": "2048"}, errors.SizeFormatError, "width*height"),
        ({"size": "1e3*1e3"}, errors.SizeFormatError, "width*height"),
        ({"size": "-1*5"}, errors.SizeFormatError, "width*height"),
        ({"size": "0*0"}, errors.SizeOutOfRangeError, "between 512 and 2048"),
        ({"size": "511*1024"}, errors.SizeOutOfRangeError, "between 512 and 2048"),
        ({"size": "1024*2049"}, errors.SizeOutOfRangeError, "between 512 and 2048"),
        ({"size": "1024*1024", "model": "qwen-image-edit"}, errors.SizeNotSupportedError, "custom output size"),
        ({"n": 0}, errors.CountOutOfRangeError, "between 1 and 6"),
        ({"n": 7}, errors.CountOutOfRangeError, "between 1 and 6"),
        ({"n": 2.5}, errors.CountOutOfRangeError, "between 1 and 6"),
        ({"n": True}, errors.CountOutOfRangeError, "between 1 and 6"),
        ({"n": 2, "model": "qwen-image-edit"}, errors.CountOutOfRangeError, "qwen-image-edit makes 1 image per run."),
        ({"seed": 2_147_483_648}, errors.SeedOutOfRangeError, "0 to 2147483647"),
        ({"seed": -2}, errors.SeedOutOfRangeError, "0 to 2147483647"),
        ({"seed": "abc"}, errors.SeedOutOfRangeError, "0 to 2147483647"),
        ({"prompt_extend": True, "model": "qwen-image-edit"}, errors.PromptExtendNotSupportedError, "rewrite"),
    ],
)
def test_out_of_range_values_are_refused_with_field_and_range(kwargs, error, fragment):
    values = {"prompt": "make it blue", **kwargs}
    with pytest.raises(error) as caught:
        EditParameters.create(values.pop("prompt"), **values)
    assert fragment in caught.value.message("en")
    assert caught.value.message("zh") != caught.value.message("en")
    assert caught.value.field


def test_sizes_at_the_bounds_are_accepted():
    assert parse_size("512*2048") == Size(512, 2048)
    assert parse_size("auto") is None and parse_size(None) is None


@pytest.mark.parametrize("model", catalog.MODELS, ids=lambda model: model.id)
def test_each_model_takes_its_own_number_of_images_and_no_other(make_image, model):
    image = make_image()
    fewest = EditRequest.create([image] * model.min_images, "make it blue", model=model.id)
    most = EditRequest.create([image] * model.max_images, "make it blue", model=model.id)
    assert (len(fewest.images), len(most.images)) == (model.min_images, model.max_images)
    with pytest.raises(errors.TooManyImagesError) as caught:
        EditRequest.create([image] * (model.max_images + 1), "make it blue", model=model.id)
    assert f"{model.id} takes up to {model.max_images} images and {model.max_images + 1} are given" in str(caught.value)
    if model.min_images:
        with pytest.raises(errors.NoImageError) as caught:
            EditRequest.create([None] * 3, "make it blue", model=model.id)
        assert f"{model.id} edits input images: add at least {model.min_images}" in str(caught.value)


def test_too_many_images_say_which_would_not_be_sent_and_what_to_do(make_image):
    with pytest.raises(errors.TooManyImagesError) as caught:
        EditRequest.create([make_image()] * 5, "x", model="qwen-image-edit-max")
    english, chinese = caught.value.message("en"), caught.value.message("zh")
    assert "qwen-image-edit-max takes up to 3 images and 5 are given: Images 4 and 5 will not be sent" in english
    assert "pick a model that takes 5, such as qwen-image-2.1-pro (up to 10)" in english
    assert "图4 和 图5 将不会发送" in chinese and "qwen-image-2.1-pro" in chinese
    assert caught.value.field == "images"


def test_more_images_than_any_model_takes_are_refused_without_a_model_to_pick(make_image):
    with pytest.raises(errors.TooManyImagesError) as caught:
        EditRequest.create([make_image()] * 11, "x", model="qwen-image-2.1-pro")
    assert "Image 11 will not be sent" in str(caught.value) and "no model takes that many" in str(caught.value)


def test_no_image_for_an_editing_model_names_one_that_starts_from_a_prompt(make_image):
    with pytest.raises(errors.NoImageError) as caught:
        EditRequest.create([], "a red fox in the snow", model="qwen-image-edit-plus")
    prompt_only = next(model.id for model in catalog.MODELS if model.min_images == 0)
    assert f"start from the prompt alone, such as {prompt_only}" in caught.value.message("en")
    assert prompt_only in caught.value.message("zh")


def test_a_text_to_image_model_starts_from_the_prompt_alone():
    request = EditRequest.create([None, None, None], "a red fox in the snow", model="qwen-image-2.0", seed=1)
    assert request.images == () and request.params.prompt == "a red fox in the snow"
    with pytest.raises(errors.ImageReferenceError):  # nothing to refer to
        EditRequest.create([], "the fox of Image 1", model="qwen-image-2.0")


def test_the_image_count_is_checked_before_any_image_is_decoded():
    with pytest.raises(errors.TooManyImagesError):
        EditRequest.create([b"not an image"] * 4, "x", model="qwen-image-edit-plus")


def test_parameters_are_checked_before_the_images_are_decoded():
    with pytest.raises(errors.EmptyPromptError):
        EditRequest.create([b"not an image"], "")


def test_a_bad_image_names_its_slot(make_image):
    with pytest.raises(errors.ImageError) as caught:
        EditRequest.create([make_image(), b"", make_image()], "x")
    assert caught.value.params["slot"] == 2 and "Image 2" in caught.value.message("en")


@pytest.mark.parametrize(
    ("prompt", "sent"),
    [
        ("put @1 on the beach of @2", "put Image 1 on the beach of Image 2"),
        ("@Image1 wears the dress of @image 2", "Image 1 wears the dress of Image 2"),
        ("@img2 in the style of @IMG1", "Image 2 in the style of Image 1"),
        ("@图1 穿上 @图2 的裙子", "图1 穿上 图2 的裙子"),
        ("Image 1 and 图2 stay as written", "Image 1 and 图2 stay as written"),
        ("email me@example.com about 2 cats", "email me@example.com about 2 cats"),
    ],
)
def test_image_references_are_normalised_before_sending(make_image, prompt, sent):
    request = EditRequest.create([make_image(), make_image()], prompt, seed=1)
    assert request.params.prompt == sent


@pytest.mark.parametrize("prompt", ["move @3 to the left", "Image 3 wears a hat", "把图3放大", "@Image 3"])
def test_a_reference_to_an_empty_slot_is_refused_naming_the_slot(make_image, prompt):
    with pytest.raises(errors.ImageReferenceError) as caught:
        EditRequest.create([make_image(), make_image()], prompt)
    assert "but slot 3 is empty. Add an image there or change the prompt." in caught.value.message("en")
    assert "但图3是空的。请在图3中添加图片" in caught.value.message("zh")


def test_references_go_up_to_image_10_on_a_model_that_takes_ten(make_image):
    images = [make_image(640 + 16 * k, 480) for k in range(10)]
    prompt = "Image 1 meets @10 and @图9; 图10 waves"
    request = EditRequest.create(images, prompt, model="qwen-image-2.1-pro", seed=1)
    assert request.params.prompt == "Image 1 meets Image 10 and 图9; 图10 waves"
    assert [image.slot for image in request.images] == list(range(1, 11))
    for prompt in ("move @10 to the left", "Image 10 wears a hat", "把图10放大"):
        with pytest.raises(errors.ImageReferenceError) as caught:
            EditRequest.create(images[:9], prompt, model="qwen-image-2.1-pro")
        assert "slot 10 is empty" in str(caught.value)
    # Not a reference to 图1: more digits make another number, as "image 2048 px" is no reference to Image 2.
    assert EditRequest.create(images[:2], "图12 and an image 2048 px wide", seed=1).params.prompt.startswith("图12")


def test_images_after_an_empty_slot_close_up_for_the_model_and_references_follow_them(make_image):
    prompt = "Image 3 in front of @1, the sky of @图3 and 图3's light; image 3 in lower case"
    request = EditRequest.create([make_image(), None, make_image(700, 500)], prompt, seed=1)
    assert [image.slot for image in request.images] == [1, 3]  # the user's slots, for messages
    assert request.params.prompt == "Image 2 in front of Image 1, the sky of 图2 and 图2's light; image 2 in lower case"


@pytest.mark.parametrize(
    ("images", "prompt", "sent"),
    [
        ([None, "b", "c"], "@2 holds @3", "Image 1 holds Image 2"),  # slot 1 empty: every number moves
        ([None, None, "c"], "把@图3放大，图3的天空", "把图1放大，图1的天空"),
        (
            ["a", None, "c"],
            "swap @3 and @1, then Image 3 and Image 1",
            "swap Image 2 and Image 1, then Image 2 and Image 1",
        ),
    ],
)
def test_references_name_slots_and_are_sent_as_the_place_of_their_image(make_image, images, prompt, sent):
    sources = [make_image() if image else None for image in images]
    assert EditRequest.create(sources, prompt, seed=1).params.prompt == sent


def test_a_reference_to_an_empty_slot_between_images_names_that_slot(make_image):
    with pytest.raises(errors.ImageReferenceError) as caught:
        EditRequest.create([make_image(), None, make_image(700, 500)], "Image 2 in front of Image 1")
    assert caught.value.message("en") == (
        "The prompt mentions Image 2, but slot 2 is empty. Add an image there or change the prompt."
    )
    assert caught.value.message("zh") == "提示词中提到了 Image 2，但图2是空的。请在图2中添加图片，或修改提示词。"


def test_a_reference_past_the_models_most_images_says_what_the_model_takes(make_image):
    with pytest.raises(errors.ReferenceBeyondModelError) as caught:
        EditRequest.create([make_image()], "put @4 on Image 1", model="qwen-image-edit-max")
    message = caught.value.message("en")
    assert message.startswith("The prompt mentions @4, but qwen-image-edit-max takes at most 3 images.")
    assert "qwen-image-2.1-pro (up to 10)" in message
    assert "qwen-image-edit-max 最多接受 3 张图片" in caught.value.message("zh")


def test_reference_problems_lists_each_bad_slot_once_without_raising():
    problems = reference_problems("@2 and Image 2, then @4 and 图3", [1, 3], "qwen-image-edit-max")
    assert [type(problem) for problem in problems] == [errors.ImageReferenceError, errors.ReferenceBeyondModelError]
    assert [problem.params["number"] for problem in problems] == [2, 4]
    assert reference_problems("Image 1 and 图3", [1, 3], "qwen-image-edit-max") == []


def test_an_image_in_a_slot_past_the_models_most_is_refused_even_with_slots_empty_before_it(make_image):
    images = [make_image(), None, None, make_image(700, 500)]
    with pytest.raises(errors.TooManyImagesError) as caught:
        EditRequest.create(images, "x", model="qwen-image-edit-max")
    assert "Image 4 will not be sent" in caught.value.message("en")
    request = EditRequest.create(images, "Image 4 beside Image 1", model="qwen-image-2.1-pro", seed=1)
    assert request.params.prompt == "Image 2 beside Image 1"
