"""History's versions panel: the selected edit's tree of versions (`versions_tree`), and what can be done with the
version picked in it: open it, branch from it (it goes to the Studio's Image 1, undoable), compare it with another
version (slider, side by side, difference), discard or restore it, download its whole chain as a zip.

Every handler builds the tree again for the visitor (`core.versions.lineage`, owner-scoped) from the edit shown
and looks a version up by its position there: a forged position or another owner's edit finds nothing.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import gradio as gr
from PIL import Image

from core.compare import aligned_input, difference_map, side_by_side
from core.history import NotFoundError
from core.studio import Studio
from core.versions import Lineage, Version, lineage
from core.workflows.export import archive_name, export_chain
from ui import details as details_panel
from ui.alerts import inform, refuse
from ui.strings import I18N, language_of, status
from ui.tabs import versions_tree
from ui.tabs.studio import StudioView
from ui.wiring import PRIVATE, Page

VIEW_SLIDER, VIEW_SIDE, VIEW_DIFF = "slider", "side", "diff"
COMPARE_HEIGHT = 300  # px


@dataclass(frozen=True)
class VersionsView:
    """The tree, the line saying what is picked and compared, the actions, and the compare views."""

    tree: gr.HTML
    line: gr.Markdown
    open: gr.Button
    branch: gr.Button
    base: gr.Button
    discard: gr.Button
    restore: gr.Button
    zip_chain: gr.Button
    view: gr.Radio
    slider: gr.ImageSlider
    other: gr.Image  # side by side, or the difference
    of: gr.State  # id of the edit whose tree is shown
    picked: gr.State  # position of the version picked in it
    base_at: gr.State  # position of the version it is compared with


def render() -> VersionsView:
    """Create the panel's components (under History's list of edits)."""
    gr.Markdown(I18N("versions_heading"), elem_id="versions-heading")
    tree = versions_tree.render()
    line = gr.Markdown("", elem_id="versions-line")
    with gr.Row(elem_classes="button-row"):
        open_button = gr.Button(I18N("versions_open"), size="sm", elem_id="versions-open")
        branch = gr.Button(I18N("versions_branch"), size="sm", variant="primary", elem_id="versions-branch")
        base = gr.Button(I18N("versions_base"), size="sm", elem_id="versions-base")
    with gr.Row(elem_classes="button-row"):
        discard = gr.Button(I18N("versions_discard"), size="sm", elem_id="versions-discard")
        restore = gr.Button(I18N("versions_restore"), size="sm", elem_id="versions-restore")
        zip_chain = gr.Button(I18N("versions_zip"), size="sm", elem_id="versions-zip")
    view = gr.Radio(
        [(I18N("compare_slider"), VIEW_SLIDER), (I18N("compare_side"), VIEW_SIDE), (I18N("compare_diff"), VIEW_DIFF)],
        value=VIEW_SLIDER,
        label=I18N("versions_compare"),
        elem_id="versions-view",
    )
    slider = gr.ImageSlider(
        label=I18N("versions_compare"),
        type="filepath",
        format="png",
        show_label=False,
        height=COMPARE_HEIGHT,
        max_height=COMPARE_HEIGHT,
        elem_id="versions-slider",
    )
    other = gr.Image(
        label=I18N("versions_compare"),
        format="png",
        interactive=False,
        show_label=False,
        height=COMPARE_HEIGHT,
        visible=False,
        elem_id="versions-other",
    )
    return VersionsView(
        tree,
        line,
        open_button,
        branch,
        base,
        discard,
        restore,
        zip_chain,
        view,
        slider,
        other,
        gr.State(None),
        gr.State(None),
        gr.State(None),
    )


@dataclass(frozen=True)
class Wiring:
    """What the panel is wired to outside itself: History's selected edit, its details and download, the
    "show discarded" switch, and the Studio tab (for Branch)."""

    selected: gr.State
    details: gr.JSON
    download: gr.File
    discarded: gr.Checkbox
    studio_view: StudioView
    tabs: gr.Tabs
    studio_tab_id: str


class _Panel:
    """The handlers' shared work: the visitor's tree, a version in it, and the panel's values."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.studio: Studio = page.studio

    def tree(self, owner: str, edit_id: Any, discarded: Any) -> Lineage | None:
        """The tree of the visitor's edit `edit_id`, or None (nothing selected, or not theirs)."""
        if not isinstance(edit_id, str) or not edit_id:
            return None
        try:
            return lineage(self.studio.history, owner, edit_id, discarded=bool(discarded))
        except NotFoundError:
            return None

    @staticmethod
    def at(tree: Lineage | None, position: Any) -> Version | None:
        if tree is None or not isinstance(position, int) or isinstance(position, bool):
            return None
        return tree.nodes[position] if 0 <= position < len(tree.nodes) else None

    def path(self, node: Version) -> str | None:
        if node.sha256 is None:
            return None
        path = self.studio.store.path_for(node.sha256, node.ext)
        return str(path) if path.is_file() else None

    def thumbnail(self, node: Version) -> Any:
        if node.sha256 is None:
            return None
        try:
            return self.studio.store.thumbnail(node.sha256, node.ext)
        except OSError:  # evicted or deleted meanwhile: the tile stays, without a picture
            return None

    def values(self, tree: Lineage | None, edit_id: Any, picked: Any, base: Any, mode: Any, lang: str) -> list[Any]:
        """[tree, of, picked, base, line, slider, other] for `tree` with `picked` (else its focus) compared with
        `base` (else what `picked` was made from)."""
        if tree is None:
            return [versions_tree.empty(lang), None, None, None, "", None, gr.update(value=None, visible=False)]
        chosen = picked if self.at(tree, picked) is not None else tree.focus
        against = base if self.at(tree, base) is not None else tree.nodes[chosen].parent
        html = versions_tree.tree(tree, chosen, against, lang, self.thumbnail)
        slider, other, line = self.compare(tree, chosen, against, mode, lang)
        return [html, edit_id, chosen, against, line, slider, other]

    def compare(self, tree: Lineage, picked: int, base: int | None, mode: Any, lang: str) -> tuple[Any, Any, str]:
        """The slider, the other view (side by side or difference, when chosen) and the line naming both."""
        node = tree.nodes[picked]
        name = " ".join(part for part in versions_tree.caption(node, lang) if part)
        after = self.path(node)
        if base == picked:
            return None, gr.update(value=None, visible=False), status("versions_line_base", lang, picked=name)
        if base is None or after is None or (before := self.path(tree.nodes[base])) is None:
            return (None, gr.update(value=None, visible=False), status("versions_line_alone", lang, picked=name))
        other_name = " ".join(part for part in versions_tree.caption(tree.nodes[base], lang) if part)
        line = status("versions_line", lang, picked=name, base=other_name)
        with Image.open(after) as opened:  # the slider's halves must match pixel for pixel
            slider = (aligned_input(before, opened.size), after)
        if mode == VIEW_SIDE:
            return slider, gr.update(value=side_by_side(before, after), visible=True), line
        if mode == VIEW_DIFF:
            heat, mean = difference_map(before, after)
            return slider, gr.update(value=heat, visible=True), line + status("versions_mean", lang, mean=mean * 100)
        return slider, gr.update(value=None, visible=False), line


def listen(view: VersionsView, page: Page, wiring: Wiring, selections: list[Any]) -> None:
    """Wire the panel: shown for the selected edit (after each of `selections`) and as "show discarded" changes;
    a click on a version picks it; the actions act on the version picked."""
    panel = _Panel(page)
    owner_state = page.owner_state
    shown = [view.tree, view.of, view.picked, view.base_at, view.line, view.slider, view.other]

    def show(edit_id: Any, discarded: Any, mode: Any, owners: Any, request: gr.Request):
        owner, lang = page.visitor(owners, None, request).owner, language_of(request)
        return panel.values(panel.tree(owner, edit_id, discarded), edit_id, None, None, mode, lang)

    show_inputs = [wiring.selected, wiring.discarded, view.view, owner_state]
    for selection in selections:
        selection.then(show, show_inputs, shown, **PRIVATE)
    wiring.discarded.change(show, show_inputs, shown, **PRIVATE)
    wiring.tabs.select(show, show_inputs, shown, **PRIVATE)  # back from the Studio: the new versions show

    state = [view.of, wiring.discarded, view.picked, view.base_at, view.view, owner_state]

    def pick(
        of: Any, discarded: Any, picked: Any, base: Any, mode: Any, owners: Any, evt: gr.SelectData, request: gr.Request
    ):
        owner, lang = page.visitor(owners, None, request).owner, language_of(request)
        tree = panel.tree(owner, of, discarded)
        if panel.at(tree, evt.index) is None:  # a forged position, or the tree of someone else's edit
            return [gr.skip()] * len(shown)
        return panel.values(tree, of, evt.index, base, mode, lang)

    view.tree.select(pick, state, shown, **PRIVATE)

    def again(of: Any, discarded: Any, picked: Any, base: Any, mode: Any, owners: Any, request: gr.Request):
        owner, lang = page.visitor(owners, None, request).owner, language_of(request)
        return panel.values(panel.tree(owner, of, discarded), of, picked, base, mode, lang)

    view.view.change(again, state, shown, **PRIVATE)

    def set_base(of: Any, discarded: Any, picked: Any, base: Any, mode: Any, owners: Any, request: gr.Request):
        owner, lang = page.visitor(owners, None, request).owner, language_of(request)
        tree = panel.tree(owner, of, discarded)
        if panel.at(tree, picked) is None:
            raise refuse("versions_pick", lang)
        inform(status("versions_base_set", lang), lang)
        return panel.values(tree, of, picked, picked, mode, lang)

    view.base.click(set_base, state, shown, **PRIVATE)
    _listen_actions(view, page, panel, wiring, state, shown)


def _listen_actions(
    view: VersionsView, page: Page, panel: _Panel, wiring: Wiring, state: list[Any], shown: list[Any]
) -> None:
    """Open, Branch, Discard, Restore and the chain's zip, each on the version picked."""
    owner_state = page.owner_state

    def resolve(of: Any, discarded: Any, picked: Any, owners: Any, request: gr.Request, *, result: bool):
        owner, lang = page.visitor(owners, None, request).owner, language_of(request)
        tree = panel.tree(owner, of, discarded)
        node = panel.at(tree, picked)
        if node is None or (result and node.key is None):
            raise refuse("versions_pick_result" if result and node is not None else "versions_pick", lang)
        assert tree is not None
        return owner, lang, tree, node

    def open_version(of: Any, discarded: Any, picked: Any, base: Any, mode: Any, owners: Any, request: gr.Request):
        owner, lang, tree, node = resolve(of, discarded, picked, owners, request, result=True)
        edit = page.studio.history.get(owner, node.edit_id)
        page.studio.history.touch(owner, edit.id)
        inform(status("versions_opened", lang), lang)
        record = details_panel.edit_record(page.studio, edit)
        return [edit.id, record, *panel.values(tree, edit.id, picked, base, mode, lang)]

    view.open.click(open_version, state, [wiring.selected, wiring.details, *shown], **PRIVATE)

    def branch(of: Any, discarded: Any, picked: Any, owners: Any, request: gr.Request):
        _owner, lang, _tree, node = resolve(of, discarded, picked, owners, request, result=False)
        path = panel.path(node)
        if path is None:
            raise refuse("versions_gone", lang)
        return path, gr.Tabs(selected=wiring.studio_tab_id)

    studio_view = wiring.studio_view
    studio_view.undo.replacing(
        view.branch.click,
        "branch",
        branch,
        [view.of, wiring.discarded, view.picked, owner_state],
        [studio_view.slots[0], wiring.tabs],
        show_progress="hidden",
    )

    def keep_or_discard(discarded_now: bool):
        def act(of: Any, discarded: Any, picked: Any, base: Any, mode: Any, owners: Any, request: gr.Request):
            owner, lang, tree, node = resolve(of, discarded, picked, owners, request, result=True)
            assert node.key is not None
            with contextlib.suppress(NotFoundError):  # deleted meanwhile: nothing left to discard
                page.studio.discard(owner, *node.key, discarded=discarded_now)
            inform(status("versions_discarded_note" if discarded_now else "versions_restored", lang), lang)
            tree = panel.tree(owner, of, discarded)
            position = tree.position(node.key) if tree is not None else None
            return panel.values(tree, of, node.parent if position is None else position, base, mode, lang)

        return act

    view.discard.click(keep_or_discard(True), state, shown, **PRIVATE)
    view.restore.click(keep_or_discard(False), state, shown, **PRIVATE)

    def zip_chain(of: Any, discarded: Any, picked: Any, owners: Any, request: gr.Request):
        owner, _lang, tree, node = resolve(of, discarded, picked, owners, request, result=True)
        position = tree.position(node.key) if node.key else None
        assert position is not None
        steps = [(page.studio.history.get(owner, step.edit_id), step.index) for step in tree.chain(position)[1:]]
        destination = page.exports.place(owner, archive_name("qwen-version-chain"))
        return str(export_chain(steps, page.studio.store, destination))

    view.zip_chain.click(zip_chain, [view.of, wiring.discarded, view.picked, owner_state], wiring.download, **PRIVATE)
