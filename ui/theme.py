"""Look and feel: a quiet theme with bundled fonts only (nothing fetched at page load), and shortcuts."""

import gradio as gr

THEME = gr.themes.Soft(
    primary_hue="violet",
    neutral_hue="slate",
    font=[gr.themes.Font("system-ui"), gr.themes.Font("-apple-system"), "sans-serif"],
    font_mono=[gr.themes.Font("ui-monospace"), "monospace"],
)

CSS = """
/* Header: the title and what the page is for on one line; the simulator banner a slim strip. */
#header { align-items: baseline; gap: 14px; flex-wrap: wrap; }
#header > * { flex: 0 1 auto !important; width: auto !important; min-width: 0 !important; }
#title h1 { margin: 0; font-size: 1.4em; }
.subtitle p { margin: 0; opacity: 0.75; }
.prose.banner {
  border: 1px solid #f59e0b; background: #fffbeb; color: #78350f;
  border-radius: 8px; padding: 3px 12px; font-size: 0.85em;
}
.prose.banner p { margin: 0; }
.hint p, #prompt-count p, #cost p, #size-preview p, #model-info p { font-size: 0.85em; opacity: 0.8; margin: 0; }
#prompt-count { text-align: right; }
/* Three small slots in a row: an upload icon instead of a cut-off "Drop Image Here", and room for the
   label beside the remove button (fullscreen is of little use at this size). */
.slot:not(.extra-slot) { min-width: 0 !important; flex: 1 1 0 !important; }
.slot [data-testid="block-label"] { white-space: nowrap; font-size: 12px; }
.slot [data-testid="block-label"] > span { display: none; }
.slot [data-testid="upload-text"] { font-size: 0; }
.slot [data-testid="upload-icon"] { display: block; width: 36px; height: 36px; margin: 12px auto 0; }
.slot .top-panel > button:not(:last-of-type) { display: none; }
#prompt-count[data-over] p { color: var(--error-text-color); opacity: 1; font-weight: 600; }
#prompt-references p { color: var(--error-text-color); font-size: 0.85em; margin: 0; }
/* "More images": three to a row at every width, the last row's too. */
#more-slots { flex-wrap: wrap; justify-content: flex-start; }
#more-slots > .extra-slot { flex: 0 0 calc((100% - 2 * var(--layout-gap)) / 3) !important; min-width: 0 !important; }
#generate, #cancel { min-height: 44px; font-size: 1.05em; }
.swap-row button { font-size: 0.8em; }
/* Buttons wrap rather than overlap when the row is narrow. */
.button-row { flex-wrap: wrap; }
.button-row > button { min-width: max-content !important; flex: 1 1 auto; }
.example-row { flex-wrap: wrap; gap: 6px; }
.example-row > button.example { flex: 0 0 auto; min-width: 0 !important; }
#examples { gap: 4px; }
/* The workspace: on a laptop each side column scrolls on its own beside the viewer. */
@media (min-width: 1024px) {
  #workspace { align-items: flex-start; }
  #workspace > .pane {
    flex-wrap: nowrap; position: sticky; top: 8px; max-height: calc(100vh - 16px); overflow-y: auto;
  }
}
/* The side columns' parts keep their height (the column scrolls) instead of being squeezed. */
#workspace > .pane > * { flex-shrink: 0; }
/* The edit area: the paint tools in one row under the editor, the four sides in one row. */
#region-editor button[aria-label="Clear canvas"] { display: none; }  /* it would drop Image 1: our Clear keeps it */
#paint-tools > button { flex: 1 1 0; min-width: 0 !important; }
#expand-sides { flex-wrap: nowrap; }
#expand-sides > * { min-width: 0 !important; flex: 1 1 0 !important; }
/* "Compare with" on one line above the viewer. */
#compare-with { display: flex; flex-direction: row; align-items: center; gap: 10px; padding: 4px 10px; }
#compare-with > * { margin: 0; }
#compare-with .wrap { flex-wrap: nowrap; gap: 4px; }
#compare-with label { padding: 2px 10px; }
/* Controls that cannot be used look it. */
button:disabled, input:disabled, textarea:disabled, .disabled { cursor: not-allowed; }
button:disabled, .block:has(input:disabled) label, .block:has(textarea:disabled) label,
fieldset:has(input:disabled) label, input:disabled, textarea:disabled { opacity: 0.5; }
/* History: a grid of small thumbnails however few edits there are. */
#history-gallery .grid-container { grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)) !important; }
/* Each tile: the picture whole on top (wide and tall results letterboxed), its caption under it, not over it. */
#history-gallery button.thumbnail-lg {
  height: 210px !important; aspect-ratio: auto; display: flex; flex-direction: column;
}
#history-gallery button.thumbnail-lg > img { height: 118px !important; flex: none; }
/* Captions wrap instead of hiding the model and status; the star leads, so it always shows. */
#history-gallery .caption-label {
  position: static; flex: 1; max-width: none; opacity: 1; border: none; border-radius: 0;
  border-top: 1px solid var(--border-color-primary);
  white-space: normal; text-align: left; font-size: 12px; line-height: 1.3;
}
/* Details: long ids wrap inside the box. */
.details code { overflow-wrap: anywhere; }
/* The Refresh button as tall as a button, level with the fields' bottom edge. */
#history-filters { align-items: flex-end; }
/* Until a zip is made, the download box is a slim placeholder: the selected edit's details stay in view. */
#history-download .empty { min-height: 0; height: 64px; }
/* Results: a strip of tiles that fit their image, however few; each caption under its picture, not over it. */
#gallery .grid-container {
  grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)) !important; grid-template-rows: none !important;
  grid-auto-rows: 150px !important;
}
#gallery button.thumbnail-lg { height: 150px !important; aspect-ratio: auto; display: flex; flex-direction: column; }
#gallery button.thumbnail-lg > img { height: 96px !important; flex: none; }
#gallery .caption-label {
  position: static; flex: 1; max-width: none; opacity: 1; border: none; border-radius: 0;
  border-top: 1px solid var(--border-color-primary);
  white-space: normal; overflow: hidden; text-align: left; font-size: 11px; line-height: 1.25;
}
/* A failed event is explained by its message box and status line: no generic "Error" pill on components. */
[data-testid="status-tracker"]:has(> .error) { display: none !important; }
@media (max-width: 1023px) {
  /* One column: the setup, the viewer and results, then the settings and the record. */
  #workspace { flex-direction: column; }
  #workspace > * { width: 100% !important; flex: 1 1 auto !important; }
}
@media (max-width: 767px) {
  .slot { height: 150px !important; }
  .button-row > button { padding-inline: 6px; }
}
"""

# Ctrl+Enter / Cmd+Enter anywhere on the page runs Generate. One click, one run: a click on Generate while its
# run is starting or running does nothing. The page disables Generate a moment after the click (its own event,
# ui/tabs/studio/run.py) and enables it when the run ends; until it is disabled, `data-started` stands in.
HEAD_JS = """
<script>
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
    const button = document.querySelector("#generate");
    if (button) { event.preventDefault(); button.click(); }
  }
});
window.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("#generate") : null;
  if (!button) return;
  if (button.disabled || button.dataset.started) {
    event.stopImmediatePropagation();
    event.preventDefault();
    return;
  }
  button.dataset.started = "1";
}, true);
new MutationObserver(() => {
  const button = document.querySelector("#generate");
  if (button && button.disabled) delete button.dataset.started;
}).observe(document.documentElement, { subtree: true, attributes: true, attributeFilter: ["disabled"] });
</script>
"""
