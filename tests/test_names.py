"""Names people read in a file list (zip folders, the CLI's files): date and time, then the prompt's start."""

import time

import pytest

from core import names

WINDOWS_FORBIDDEN = set('<>:"/\\|?*')


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Make it a watercolour", "make-it-a-watercolour"),
        ('Put "Image 2"\'s hat on <Image 1>: 50% bigger?', "put-image-2-s-hat-on-image-1-50"),
        ("把图1变成水彩画风格", "把图1变成水彩画风格"),
        ("Ｆｕｌｌｗｉｄｔｈ ＡＢＣ", "fullwidth-abc"),
        ("snake_case_words and-dashes", "snake-case-words-and-dashes"),
        ("?!* …", "edit"),
        ("a" * 50, "a" * 32),
    ],
)
def test_a_slug_keeps_letters_and_digits_of_any_script_in_lower_case(prompt, expected):
    assert names.slug(prompt) == expected
    assert not set(expected) & WINDOWS_FORBIDDEN


def test_a_long_prompt_is_cut_after_a_whole_word_within_the_limit():
    text = "replace the cloudy sky with a dramatic sunset over the mountains"
    assert names.slug(text) == "replace-the-cloudy-sky-with-a"
    assert len(names.slug(text)) <= names.SLUG_LIMIT


def test_an_edit_name_is_the_local_minute_then_the_prompt_then_an_optional_tag():
    created = time.mktime((2026, 12, 2, 14, 5, 59, 0, 0, -1))
    assert names.edit_name(created, "Make it a watercolour") == "2026-12-02_1405_make-it-a-watercolour"
    assert names.edit_name(created, "Make it a watercolour", "3f2a") == "2026-12-02_1405_make-it-a-watercolour_3f2a"
