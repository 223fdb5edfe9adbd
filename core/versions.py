"""Versions: the tree an edit's results belong to, from the upload a chain started with to every result made
from it, one owner's only.

A result's parent is the result (or the upload) its edit's first linked input was (`inputs.parent_edit`, recorded
from the files themselves: a "Use as Image k", a reopened result, a region edit's Image 1). A re-run has the same
inputs, so it is a sibling branch of the edit it repeated. First edits on the same upload share its root.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

from core.history import History, LineageEdit, LineageResult, NotFoundError

Key = tuple[str, int]
"""A result: (edit id, index)."""


@dataclass(frozen=True)
class Version:
    """A node of the tree: the upload it starts from (`key` None) or a result."""

    key: Key | None
    sha256: str | None  # the file people see (None: the root of a text-to-image edit has no picture)
    ext: str
    parent: int | None  # position of the parent node in `Lineage.nodes`
    depth: int
    prompt: str  # of the edit that made it ("" for the upload)
    created: float
    discarded: bool
    newest: bool  # on the branch that leads to the newest result
    rerun: bool  # its edit re-ran another

    @property
    def edit_id(self) -> str | None:
        return self.key[0] if self.key else None

    @property
    def index(self) -> int:
        return self.key[1] if self.key else 0


@dataclass(frozen=True)
class Lineage:
    """An edit's tree of versions, root first, each node before its children (children oldest first)."""

    nodes: tuple[Version, ...]
    focus: int  # the node of the edit asked about (its first result)

    def position(self, key: Key) -> int | None:
        """Where the result `key` is in `nodes`, or None when it is not in this tree."""
        return next((at for at, node in enumerate(self.nodes) if node.key == key), None)

    def chain(self, position: int) -> list[Version]:
        """The nodes from the root to the one at `position`, in that order."""
        path: list[Version] = []
        at: int | None = position
        while at is not None:
            path.append(self.nodes[at])
            at = self.nodes[at].parent
        return path[::-1]


def lineage(history: History, owner: str, edit_id: str, *, discarded: bool = False) -> Lineage:
    """The tree of versions the edit `edit_id` of `owner` belongs to (NotFoundError for anyone else's). Discarded
    results are left out unless `discarded`, but for one that later versions were made from."""
    edits, results = history.lineage(owner)
    by_id = {edit.id: edit for edit in edits}
    if edit_id not in by_id:
        raise NotFoundError(edit_id)
    shown: dict[str, list[LineageResult]] = defaultdict(list)
    for result in results:
        shown[result.edit_id].append(result)
    saved = {(result.edit_id, result.index) for result in results}

    def parent(edit: LineageEdit) -> Key | None:  # a parent evicted or deleted since: the edit starts a chain
        return edit.parent if edit.parent in saved and edit.parent[0] != edit.id else None

    root = by_id[edit_id]
    seen = {root.id}
    while (up := parent(root)) is not None and up[0] not in seen:
        root = by_id[up[0]]
        seen.add(root.id)
    children: dict[Key | None, list[LineageEdit]] = defaultdict(list)
    for edit in edits:  # oldest first: each node's children in the order they were made
        above = parent(edit)
        if above is not None:
            children[above].append(edit)
        elif edit.id == root.id or (root.first_input is not None and edit.first_input == root.first_input):
            children[None].append(edit)
    return _Builder(shown, children, discarded).build(root, edit_id)


@dataclass
class _Builder:
    shown: dict[str, list[LineageResult]]
    children: dict[Key | None, list[LineageEdit]]
    discarded: bool

    def build(self, root: LineageEdit, focus_edit: str) -> Lineage:
        sha256, ext = root.first_input or (None, "png")
        nodes: list[Version] = [Version(None, sha256, ext, None, 0, "", root.created, False, False, False)]
        self._grow(nodes, None, 0, set())
        newest = max(range(1, len(nodes)), key=lambda at: (nodes[at].created, -nodes[at].index), default=0)
        branch: set[int] = set()
        at: int | None = newest or None
        while at is not None:
            branch.add(at)
            at = nodes[at].parent
        marked = tuple(replace(node, newest=at in branch) for at, node in enumerate(nodes))
        focus = next((at for at, node in enumerate(marked) if node.edit_id == focus_edit), 0)
        return Lineage(marked, focus)

    def _grow(self, nodes: list[Version], key: Key | None, at: int, seen: set[str]) -> bool:
        """Add the results made from node `at` (and theirs); True when any was added."""
        grew = False
        for edit in self.children[key]:
            if edit.id in seen:  # a cycle cannot be made by files made in turn, but history is data: stay finite
                continue
            seen.add(edit.id)
            for result in self.shown[edit.id]:
                child = (result.edit_id, result.index)
                node = Version(
                    child,
                    result.shown_sha256,
                    "png",
                    at,
                    nodes[at].depth + 1,
                    edit.prompt,
                    edit.created,
                    result.discarded,
                    False,
                    edit.rerun_of is not None,
                )
                nodes.append(node)
                below = self._grow(nodes, child, len(nodes) - 1, seen)
                if result.discarded and not self.discarded and not below:
                    nodes.pop()  # hidden: nothing was made from it
                    continue
                grew = True
        return grew
