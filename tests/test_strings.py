"""Every label, hint, status line and error exists in English and Chinese, with the same placeholders."""

import re
import string
from pathlib import Path

import pytest

from core import errors
from ui.strings import EN, STATUS, ZH

UI = Path(__file__).resolve().parent.parent / "ui"


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_labels_exist_in_both_languages():
    assert set(EN) == set(ZH)
    assert all(ZH[key].strip() for key in ZH)


def test_status_lines_exist_in_both_languages_with_the_same_placeholders():
    assert set(STATUS["en"]) == set(STATUS["zh"])
    for key, template in STATUS["en"].items():
        assert _fields(template) == _fields(STATUS["zh"][key]), key


def test_every_label_the_page_asks_for_is_defined():
    used = set()
    for source in UI.glob("*.py"):
        used |= set(re.findall(r'i18n\(f?"([a-z_0-9{}]+)"\)', source.read_text()))
        used |= set(re.findall(r'I18N\("([a-z_0-9]+)"\)', source.read_text()))
    expanded = {u.replace("{k}", str(k)) for u in used for k in (1, 2, 3)}
    assert expanded - set(EN) == set()


def _error_classes():
    pending = [errors.EditError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        yield cls


@pytest.mark.parametrize("error", sorted(set(_error_classes()), key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_every_error_reads_in_both_languages_with_the_same_placeholders(error):
    messages = error.messages
    assert set(messages) >= {"en", "zh"}
    # The Chinese text may take a Chinese value of the same thing: "{region_zh}" for "{region}".
    assert _fields(messages["en"]) == {name.removesuffix("_zh") for name in _fields(messages["zh"])}
