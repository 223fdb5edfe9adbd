"""The versions tree of History as HTML built on the server: the upload on the left, each result to the right of
the one it was made from, branches stacked, the newest branch highlighted. Thumbnails are served in place from
the store's thumbnails (a static path). A click sends only the node's position in the tree (`select`); handlers
build the tree again for the visitor and look the node up there, so nothing a client sends names a path or an
owner.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from html import escape
from pathlib import Path
from urllib.parse import quote

import gradio as gr

from core.versions import Lineage, Version
from ui.strings import I18N, status

Thumbnail = Callable[[Version], Path | None]
"""The stored thumbnail of a node's file, None when it is gone."""

PROMPT_START = 28  # characters of a step's prompt its caption shows

# Scoped to the component by Gradio. A branch is a row: its node, then its children stacked in a column, joined
# by lines drawn on the children's edges (the stem at 40 px: the thumbnail's middle). No dollar-brace here:
# Gradio reads this text as a JS template.
CSS = """
.versions-area { overflow: auto; max-height: min(60vh, 520px); padding: 8px; overscroll-behavior: contain;
  border: 1px solid var(--border-color-primary); border-radius: var(--radius-lg);
  background: var(--background-fill-secondary); }
.versions-empty { padding: 16px; opacity: 0.75; font-size: 0.9em; }
.branch { display: flex; align-items: flex-start; position: relative; }
.children { display: flex; flex-direction: column; gap: 8px; margin-left: 26px; position: relative; }
.children::after { content: ""; position: absolute; left: -26px; top: 40px; width: 12px;
  border-top: 2px solid var(--neutral-400); }
.branch.newest > .children::after { border-top-color: var(--color-accent); }
.children > .branch::before { content: ""; position: absolute; left: -14px; top: 0; bottom: -8px;
  border-left: 2px solid var(--neutral-400); }
.children > .branch:first-child::before { top: 40px; }
.children > .branch:last-child::before { bottom: auto; height: 40px; }
.children > .branch:first-child:last-child::before { display: none; }
.children > .branch::after { content: ""; position: absolute; left: -14px; top: 40px; width: 14px;
  border-top: 2px solid var(--neutral-400); }
.children > .branch.newest::after { border-top-color: var(--color-accent); }
button.node { flex: none; display: flex; flex-direction: column; gap: 2px; width: 104px; padding: 4px; margin: 0;
  box-sizing: border-box; border: 2px solid var(--border-color-primary); border-radius: var(--radius-md);
  background: var(--background-fill-primary); cursor: pointer; text-align: left; font: inherit;
  color: inherit; position: relative; }
button.node:hover { border-color: var(--border-color-accent); }
button.node.newest { border-color: var(--color-accent); }
button.node.picked { box-shadow: 0 0 0 3px var(--color-accent-soft), 0 0 0 5px var(--color-accent); }
button.node.discarded { opacity: 0.5; border-style: dashed; }
.thumb { display: flex; align-items: center; justify-content: center; width: 100%; height: 72px;
  border-radius: var(--radius-sm); overflow: hidden; background: var(--background-fill-secondary); }
.thumb img { max-width: 100%; max-height: 100%; object-fit: contain; margin: 0; }
.step { font-size: 11px; font-weight: 600; line-height: 1.2; }
.prompt { font-size: 11px; line-height: 1.25; opacity: 0.85; overflow: hidden; display: -webkit-box;
  -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow-wrap: anywhere; }
.badge { position: absolute; top: 6px; left: 6px; font-size: 10px; font-weight: 700; line-height: 1;
  padding: 3px 5px; border-radius: 999px; background: var(--color-accent); color: white; }
.badge.base { left: auto; right: 6px; background: #334155; }
"""

# One listener for the tree (redrawn by the server after each click): mark the node at once, send its position.
JS = """
element.addEventListener("click", (event) => {
  const node = event.target.closest("button.node");
  if (!node || !element.contains(node)) return;
  element.querySelectorAll("button.node.picked").forEach((other) => other.classList.remove("picked"));
  node.classList.add("picked");
  trigger("select", { index: Number(node.dataset.node), value: null });
});
"""


def render() -> gr.HTML:
    """The tree's area, empty until an edit is selected."""
    return gr.HTML(
        "",
        label=I18N("versions"),
        css_template=CSS,
        js_on_load=JS,
        apply_default_css=False,
        elem_id="versions-tree",
    )


def empty(lang: str) -> str:
    """The area before an edit is selected."""
    return f'<div class="versions-area versions-empty">{escape(status("versions_empty", lang))}</div>'


def tree(lineage: Lineage, picked: int, base: int | None, lang: str, thumbnail: Thumbnail) -> str:
    """The whole tree, `picked` marked, `base` (the version compared against) badged."""
    children: dict[int, list[int]] = {}
    for at, node in enumerate(lineage.nodes):
        if node.parent is not None:
            children.setdefault(node.parent, []).append(at)

    def branch(at: int) -> str:
        node = lineage.nodes[at]
        below = "".join(branch(child) for child in children.get(at, []))
        kids = f'<div class="children" role="group">{below}</div>' if below else ""
        newest = " newest" if node.newest else ""
        tile = _node(node, at, at == picked, at == base, lang, thumbnail)
        return f'<div class="branch{newest}" role="none">{tile}{kids}</div>'

    label = escape(status("versions_area", lang, count=len(lineage.nodes) - 1))
    return f'<div class="versions-area" role="tree" aria-label="{label}" tabindex="0">{branch(0)}</div>'


def _node(node: Version, at: int, picked: bool, base: bool, lang: str, thumbnail: Thumbnail) -> str:
    classes = "node" + " newest" * node.newest + " picked" * picked + " discarded" * node.discarded
    step, prompt = caption(node, lang)
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(node.created))
    full = " · ".join(part for part in (step, node.prompt, when) if part)
    if node.newest:
        full += " · " + status("versions_newest", lang)
    if node.discarded:
        full += " · " + status("versions_discarded", lang)
    path = thumbnail(node)
    picture = (
        f'<img src="{escape("gradio_api/file=" + quote(str(path)))}" alt="{escape(full)}" loading="lazy">'
        if path is not None
        else ""
    )
    badges = '<span class="badge">↻</span>' * node.rerun + '<span class="badge base">A</span>' * base
    return (
        f'<button type="button" class="{classes}" data-node="{at}" title="{escape(full)}" role="treeitem" '
        f'aria-selected="{"true" if picked else "false"}" aria-level="{node.depth + 1}">'
        f'<span class="thumb">{picture}</span>{badges}<span class="step">{escape(step)}</span>'
        f'<span class="prompt">{escape(prompt)}</span></button>'
    )


def caption(node: Version, lang: str) -> tuple[str, str]:
    """(which step and result, the prompt's start) of a node, as its tile and the compare line name it."""
    if node.key is None:
        return status("versions_upload", lang), ""
    text = " ".join(node.prompt.split())
    short = text if len(text) <= PROMPT_START else text[: PROMPT_START - 1].rstrip() + "…"
    return status("versions_step", lang, step=node.depth, index=node.index), short
