"""The Studio's drafts (core.drafts) on a real SQLite database and a real content store: what a draft keeps, what
it refuses, what it protects from removal and what it lets go of."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import FAST_RETRY

from core.caller import Caller
from core.drafts import Draft, Drafts
from core.history import History
from core.history.migrations import MIGRATIONS, apply
from core.parameters import EditParameters
from core.request import EditRequest
from core.settings import Settings
from core.store import ContentStore
from core.studio import Studio

ME, THEM = "browser:me", "browser:them"


@pytest.fixture(name="picture")
def fixture_picture(tmp_path: Path, make_image) -> Path:
    """An upload outside the data dir, as Gradio's upload folder holds it."""
    path = tmp_path / "uploads" / "a" / "photo.png"
    path.parent.mkdir(parents=True)
    path.write_bytes(make_image(320, 240, (10, 120, 200)))
    return path


def test_a_draft_keeps_settings_images_and_results_shown_and_a_new_studio_finds_them(sim, studio, picture, make_image):
    edit = studio.edit(EditRequest.create([make_image()], "mine"), Caller(ME))
    studio.drafts.save_settings(ME, {"prompt": "Put the card on the table", "n": 2, "watermark": True})
    studio.drafts.save_images(ME, [str(picture), None, str(picture)])
    studio.drafts.save_shown(ME, [edit.edit_id])
    studio.close()

    again = Studio(Settings(data_dir=studio.settings.data_dir, simulate=True), simulator=sim, retry=FAST_RETRY)
    try:
        draft = again.drafts.get(ME)
        assert draft.settings == {"prompt": "Put the card on the table", "n": 2, "watermark": True}
        assert draft.shown == (edit.edit_id,)
        assert [image.slot for image in draft.images] == [1, 3] and draft.image(2) is None
        assert again.drafts.path(draft.image(1)).read_bytes() == picture.read_bytes()
        assert again.drafts.get(THEM) == Draft(THEM)  # nobody else has one
    finally:
        again.close()


def test_the_same_upload_saved_again_is_not_hashed_again(studio, picture):
    first = studio.drafts.save_images(ME, [str(picture)]).image(1)
    picture.write_bytes(b"changed under the same name")  # were it read again, the draft would lose the image
    again = studio.drafts.save_images(ME, [None, str(picture)]).image(2)
    assert (again.sha256, again.source) == (first.sha256, first.source)


def test_a_replaced_image_is_released_unless_an_edit_still_has_it(studio, picture, make_image, tmp_path):
    old = studio.drafts.save_images(ME, [str(picture)]).image(1)
    other = tmp_path / "uploads" / "other.png"
    other.write_bytes(make_image(200, 200, (250, 250, 0)))
    studio.drafts.save_images(ME, [str(other)])
    assert not studio.store.path_for(old.sha256, old.ext).exists()  # nobody needs it any more

    used = studio.edit(EditRequest.create([make_image()], "reopened"), Caller(ME))
    reopened = studio.store.path_for(studio.history.get(ME, used.edit_id).inputs[0].sha256, "png")
    studio.drafts.save_images(ME, [str(reopened)])  # Reopen puts the edit's stored input in the slot
    studio.drafts.save_images(ME, [None])
    assert reopened.exists()  # the edit still has it


def test_an_image_in_a_draft_outlives_the_edit_it_came_from(studio, make_image):
    edit = studio.edit(EditRequest.create([make_image()], "first"), Caller(ME))
    result = studio.history.get(ME, edit.edit_id).outputs[0]
    path = studio.store.path_for(result.sha256, "png")
    studio.drafts.save_images(ME, [str(path)])  # "use as Image 1", then the edit is deleted
    studio.delete(ME, edit.edit_id)
    assert path.exists() and studio.drafts.path(studio.drafts.get(ME).image(1)) == path


def test_a_draft_takes_no_file_of_another_owner_nor_any_private_or_non_image_file(studio, make_image, tmp_path):
    theirs = studio.edit(EditRequest.create([make_image()], "theirs"), Caller(THEM))
    their_input = studio.history.get(THEM, theirs.edit_id).inputs[0]
    their_file = studio.store.path_for(their_input.sha256, their_input.ext)
    secret = next(studio.settings.data_dir.glob("owner-secret*"), studio.settings.data_dir / "history.sqlite3")
    text = tmp_path / "notes.png"
    text.write_text("not an image")

    draft = studio.drafts.save_images(ME, [str(their_file), str(secret), str(text), "/etc/passwd", str(tmp_path)])
    assert draft.images == ()

    mine = studio.edit(EditRequest.create([make_image(500, 500)], "mine"), Caller(ME))
    my_input = studio.history.get(ME, mine.edit_id).inputs[0]
    my_file = studio.store.path_for(my_input.sha256, my_input.ext)
    assert studio.drafts.save_images(ME, [str(my_file)]).image(1).sha256 == my_input.sha256


def test_results_shown_keep_only_the_owners_edits(studio, make_image):
    mine = studio.edit(EditRequest.create([make_image()], "mine"), Caller(ME))
    theirs = studio.edit(EditRequest.create([make_image()], "theirs"), Caller(THEM))
    kept = studio.drafts.save_shown(ME, [theirs.edit_id, mine.edit_id, "", mine.edit_id, "nope"])
    assert kept == (mine.edit_id,) and studio.drafts.get(ME).shown == (mine.edit_id,)


def test_settings_larger_than_the_page_makes_are_not_kept(studio):
    studio.drafts.save_settings(ME, {"prompt": "short"})
    assert not studio.drafts.save_settings(ME, {"prompt": "x" * 100_000})
    assert studio.drafts.get(ME).settings == {"prompt": "short"}


def test_an_edit_of_the_last_run_is_found_until_the_draft_shows_it(studio, make_image):
    studio.drafts.mark_running(ME)
    running = studio.history.start_edit(
        ME, EditParameters.create("still at the model"), [], simulated=True, base_url="http://127.0.0.1:1"
    )
    studio.history.start_edit(THEM, EditParameters.create("theirs"), [], simulated=True, base_url="http://127.0.0.1:1")
    assert [e.id for e in studio.drafts.unshown(ME)] == [running]

    studio.history.fail_edit(running, "cut off")
    assert studio.drafts.unshown(ME) == []  # a failed edit has no results to bring back

    studio.drafts.mark_running(ME)
    landed = studio.edit(EditRequest.create([make_image()], "landed"), Caller(ME))
    assert [e.id for e in studio.drafts.unshown(ME)] == [landed.edit_id]
    studio.drafts.save_shown(ME, [landed.edit_id])
    assert studio.drafts.unshown(ME) == [] and studio.drafts.get(ME).running_since is None


def test_a_drafts_images_count_in_the_owners_storage(studio, picture):
    before = studio.history.usage_bytes(ME)
    studio.drafts.save_images(ME, [str(picture)])
    assert studio.history.usage_bytes(ME) == before + picture.stat().st_size
    assert studio.history.usage_bytes(THEM) == 0


def test_a_database_of_the_previous_schema_gets_drafts_and_keeps_its_edits(tmp_path, picture):
    path = tmp_path / "history.sqlite3"
    with sqlite3.connect(path, isolation_level=None) as db:
        apply(db, upto=[m.__name__ for m in MIGRATIONS].index("m007_drafts"))
        db.execute(
            """INSERT INTO edits (id, owner, created, model, region, prompt, negative_prompt, size, n, seed,
               seed_was_random, prompt_extend, watermark, simulated, base_url, status)
               VALUES ('old', 'me', 1.0, 'qwen-image-edit', 'beijing', 'old edit', '', 'auto', 1, 3, 0, 0, 0, 0,
               'https://dashscope.aliyuncs.com/api/v1', 'done')"""
        )
        assert "drafts" not in {row[0] for row in db.execute("SELECT name FROM sqlite_master")}

    history = History(path)
    assert history.migrate() == len(MIGRATIONS)
    (edit,) = history.list("me")
    assert edit.prompt == "old edit"
    drafts = Drafts(history, ContentStore(tmp_path / "store", registry=history), private=tmp_path / "private")
    drafts.save_images("me", [str(picture)])
    drafts.save_shown("me", ["old"])
    assert drafts.get("me").shown == ("old",) and history.references(drafts.get("me").image(1).sha256)
