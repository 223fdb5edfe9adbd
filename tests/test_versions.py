"""Versions (core.versions) through the real Studio against the simulator and real SQLite: each result records
the result or upload it was made from, the tree of an edit's versions, discarding, eviction of what was discarded,
the export of a version's chain, and the migration of a database the previous version made."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

from core.caller import Caller
from core.history import History, NotFoundError
from core.history.migrations import MIGRATIONS, apply
from core.request import EditRequest
from core.settings import Settings
from core.studio import Studio
from core.versions import lineage
from core.workflows.export import export_chain

ME, THEM = Caller("browser:me"), Caller("browser:them")


def _edit(studio: Studio, image: str | bytes, prompt: str, caller: Caller = ME, **params) -> tuple[str, list[str]]:
    result = studio.edit(EditRequest.create([image], prompt, **params), caller)
    return result.edit_id, [image.shown_path for image in result.images]


def _tree(studio: Studio, edit_id: str, owner: Caller = ME, **options) -> list[tuple[str | None, int, int | None]]:
    """(edit id, index, parent position) of each node, root first."""
    return [
        (node.edit_id, node.index, node.parent)
        for node in lineage(studio.history, owner.owner, edit_id, **options).nodes
    ]


def test_a_chain_records_each_parent_and_a_branch_and_a_rerun_are_siblings(studio, make_image):
    upload = make_image(320, 240, (20, 90, 160))
    first, (one,) = _edit(studio, upload, "make it a watercolour")
    second, (two,) = _edit(studio, one, "add a red boat")
    third, _ = _edit(studio, two, "at night")
    branch, _ = _edit(studio, one, "in the snow")  # back to step 1, another way
    again = studio.edit(studio.rerun_request(ME.owner, second), ME).edit_id

    edits = {edit_id: studio.history.get(ME.owner, edit_id) for edit_id in (first, second, third, branch, again)}
    assert edits[first].inputs[0].parent is None  # an upload
    assert edits[second].inputs[0].parent == (first, 1)
    assert edits[third].inputs[0].parent == (second, 1)
    assert edits[branch].inputs[0].parent == (first, 1)
    assert edits[again].inputs[0].parent == (first, 1) and edits[again].rerun_of == second

    tree = lineage(studio.history, ME.owner, third)
    assert [(node.edit_id, node.index, node.parent, node.depth) for node in tree.nodes] == [
        (None, 0, None, 0),
        (first, 1, 0, 1),
        (second, 1, 1, 2),
        (third, 1, 2, 3),
        (branch, 1, 1, 2),
        (again, 1, 1, 2),
    ]
    assert tree.nodes[0].sha256 == edits[first].inputs[0].sha256
    assert [node.edit_id for node in tree.nodes if node.newest] == [None, first, again]  # the newest branch
    assert tree.nodes[tree.focus].edit_id == third and tree.nodes[5].rerun
    assert [node.edit_id for node in tree.chain(3)] == [None, first, second, third]
    assert lineage(studio.history, ME.owner, first).nodes == tree.nodes  # the same tree from any version


def test_each_candidate_of_a_run_is_a_version_and_discarded_ones_leave_the_tree_until_shown(studio, make_image):
    first, (one, _other) = _edit(studio, make_image(), "two ideas", n=2)
    second, _ = _edit(studio, one, "the first idea again")
    studio.discard(ME.owner, first, 2)
    assert _tree(studio, first) == [(None, 0, None), (first, 1, 0), (second, 1, 1)]
    assert (first, 2, 0) in _tree(studio, first, discarded=True)
    studio.discard(ME.owner, first, 1)  # a later version was made from it: it stays, marked
    nodes = lineage(studio.history, ME.owner, first).nodes
    assert [(node.edit_id, node.index, node.discarded) for node in nodes[1:]] == [(first, 1, True), (second, 1, False)]
    studio.discard(ME.owner, first, 2, discarded=False)
    assert (first, 2, 0) in _tree(studio, first)


def test_an_edit_whose_results_were_all_discarded_is_listed_only_on_request(studio, make_image):
    kept, _ = _edit(studio, make_image(), "kept")
    gone, _ = _edit(studio, make_image(color=(1, 2, 3)), "gone")
    studio.discard(ME.owner, gone, 1)
    assert [edit.id for edit in studio.history.list(ME.owner, discarded=False)] == [kept]
    assert [edit.id for edit in studio.history.list(ME.owner)] == [gone, kept]


def test_another_owners_results_are_never_a_parent_and_their_tree_is_not_found(studio, make_image):
    first, (one,) = _edit(studio, make_image(), "mine")
    theirs, _ = _edit(studio, one, "theirs, from a copy of my result", caller=THEM)
    assert studio.history.get(THEM.owner, theirs).inputs[0].parent is None
    assert _tree(studio, theirs, THEM) == [(None, 0, None), (theirs, 1, 0)]
    with pytest.raises(NotFoundError):
        lineage(studio.history, THEM.owner, first)
    with pytest.raises(NotFoundError):
        studio.discard(THEM.owner, first, 1)
    assert not studio.history.get(ME.owner, first).outputs[0].discarded


def test_a_region_edit_of_a_result_keeps_it_as_parent(studio, make_image, tmp_path):
    first, (one,) = _edit(studio, make_image(512, 512), "a wall")
    mask = tmp_path / "mask.png"
    from PIL import Image

    canvas = Image.new("L", (512, 512), 0)
    canvas.paste(255, (100, 100, 300, 300))
    canvas.save(mask)
    region = studio.edit(EditRequest.create([one], "a window here", mask=str(mask)), ME)
    assert studio.history.get(ME.owner, region.edit_id).inputs[0].parent == (first, 1)
    _edit(studio, region.images[0].shown_path, "brighter")  # its composite is what the next step starts from
    assert [node.depth for node in lineage(studio.history, ME.owner, first).nodes] == [0, 1, 2, 3]


def test_discarded_results_are_evicted_first_and_their_edit_stays(sim, tmp_path, make_image):
    settings = Settings(data_dir=tmp_path / "data", simulate=True)
    studio = Studio(settings, simulator=sim)
    try:
        old, _ = _edit(studio, make_image(400, 400), "old and kept")
        first, (one, _two) = _edit(studio, make_image(400, 400, (9, 9, 9)), "two", n=2)
        studio.discard(ME.owner, first, 2)
        limit = studio.history.usage_bytes(ME.owner) - 1  # one byte over: the discarded result is enough
        studio.settings = Settings(data_dir=settings.data_dir, simulate=True, owner_storage_mb=limit / 1024 / 1024)
        assert studio.enforce_quotas(ME.owner) == []
        assert [o.index for o in studio.history.get(ME.owner, first).outputs] == [1]
        assert studio.history.get(ME.owner, old).outputs and Path(one).is_file()
    finally:
        studio.close()


def test_a_versions_chain_exports_each_step_with_its_parameters(studio, make_image, tmp_path):
    _first, (one, _two) = _edit(studio, make_image(), "step one", n=2)
    _second, (two,) = _edit(studio, one, "step two")
    third, _ = _edit(studio, two, "step three", seed=7)
    tree = lineage(studio.history, ME.owner, third)
    steps = [(studio.history.get(ME.owner, node.edit_id), node.index) for node in tree.chain(tree.focus)[1:]]
    with zipfile.ZipFile(export_chain(steps, studio.store, tmp_path / "chain.zip")) as archive:
        chain = json.loads(archive.read("chain.json"))
        edits = json.loads(archive.read("edits.json"))
        names = archive.namelist()
    assert [step["prompt"] for step in chain] == ["step one", "step two", "step three"]
    assert chain[0]["made_from"].endswith("/input-1.png") and chain[1]["made_from"] == chain[0]["file"]
    assert all(step["file"] in names for step in chain)
    assert [e["seed"] for e in edits][2] == 7 and sum(n.endswith("result-2.png") for n in names) == 0


def test_a_database_of_the_previous_version_gets_versions_linked_from_its_files(tmp_path):
    """m008's schema with a chain as that version wrote it: the results' files are the next edits' inputs."""
    path = tmp_path / "history.sqlite3"
    with sqlite3.connect(path, isolation_level=None) as db:
        apply(db, upto=[m.__name__ for m in MIGRATIONS].index("m009_versions"))
        columns = {row[1] for row in db.execute("PRAGMA table_info(inputs)")}
        assert "parent_edit" not in columns
        for edit_id, owner, created, source, made in (
            ("e1", "me", 1.0, "upload", "r1"),
            ("e2", "me", 2.0, "r1", "r2"),
            ("e3", "me", 3.0, "r2", "r3"),
            ("e4", "me", 4.0, "r1", "r4"),  # a branch from step 1
            ("x1", "them", 5.0, "r1", "rx"),  # someone else with a copy of my result: not a parent
        ):
            db.execute(
                """INSERT INTO edits (id, owner, created, model, region, prompt, negative_prompt, size, n, seed,
                   seed_was_random, prompt_extend, watermark, simulated, base_url, status)
                   VALUES (?, ?, ?, 'qwen-image-edit', 'beijing', ?, '', 'auto', 1, 3, 0, 0, 0, 1, 'http://sim',
                   'done')""",
                (edit_id, owner, created, f"prompt {edit_id}"),
            )
            db.execute("INSERT INTO inputs VALUES (?, 1, ?, 'png', 8, 8, 10, '[]')", (edit_id, source))
            db.execute(
                "INSERT INTO outputs (edit_id, idx, url, expires, state, sha256) VALUES (?, 1, 'u', 0, 'saved', ?)",
                (edit_id, made),
            )

    history = History(path)
    assert history.migrate() == len(MIGRATIONS)
    parents = {e: history.get(o, e).inputs[0].parent for e, o in (("e1", "me"), ("e2", "me"), ("e3", "me"))}
    assert parents == {"e1": None, "e2": ("e1", 1), "e3": ("e2", 1)}
    assert history.get("them", "x1").inputs[0].parent is None
    tree = lineage(history, "me", "e3")
    assert [(n.edit_id, n.parent) for n in tree.nodes] == [(None, None), ("e1", 0), ("e2", 1), ("e3", 2), ("e4", 1)]
    assert [n.edit_id for n in tree.nodes if n.newest] == [None, "e1", "e4"]
    assert not any(o.discarded for o in history.get("me", "e1").outputs)
