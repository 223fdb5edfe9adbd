"""Look and feel: a quiet theme with bundled fonts only (nothing fetched at page load), and shortcuts."""

import gradio as gr

THEME = gr.themes.Soft(
    primary_hue="violet",
    neutral_hue="slate",
    font=[gr.themes.Font("system-ui"), gr.themes.Font("-apple-system"), "sans-serif"],
    font_mono=[gr.themes.Font("ui-monospace"), "monospace"],
)

CSS = """
#title h1 { margin-bottom: 0; }
.subtitle p { margin-top: 0; opacity: 0.75; }
.prose.banner { border: 1px solid #f59e0b; background: #fffbeb; color: #78350f; border-radius: 8px; padding: 8px 14px; }
.hint p, #prompt-count p, #cost p, #size-preview p, #model-info p { font-size: 0.85em; opacity: 0.8; margin: 0; }
#prompt-count { text-align: right; }
.slot { min-width: 140px; }
/* "More images": three to a row at every width, the last row's too. */
#more-slots { flex-wrap: wrap; justify-content: flex-start; }
#more-slots > .extra-slot { flex: 0 0 calc((100% - 2 * var(--layout-gap)) / 3) !important; min-width: 0 !important; }
#generate, #cancel { min-height: 48px; font-size: 1.05em; }
/* History: a grid of small thumbnails however few edits there are. */
#history-gallery .grid-container { grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)) !important; }
#history-gallery .grid-container > button { height: 150px !important; }
/* Captions wrap instead of hiding the model and status; the star leads, so it always shows. */
#history-gallery .caption-label { white-space: normal; text-align: left; font-size: 12px; line-height: 1.3; }
/* The Refresh button as tall as a button, level with the fields' bottom edge. */
#history-filters { align-items: flex-end; }
/* Until a zip is made, the download box is a slim placeholder: the selected edit's details stay in view. */
#history-download .empty { min-height: 0; height: 64px; }
.swap-row button { font-size: 0.8em; }
/* A failed run is explained by its message; the results of earlier runs stay in view. */
#gallery > [data-testid="status-tracker"]:has(> .error) { display: none; }
@media (max-width: 767px) {
  /* One column on phones: inputs, results, settings, then the record of the selected result. */
  #inputs, #outputs { display: contents; }
  #inputs > *, #outputs > * { flex: 1 1 100%; }
  #outputs > * { order: 1; }
  #settings, #key-settings { order: 2; }
  #details { order: 3; }
  #gallery { height: 400px !important; }
  .button-row { flex-wrap: nowrap; }
  .button-row > button { min-width: 0 !important; white-space: nowrap; padding-inline: 4px; }
  /* Three small slots in a row: an upload icon instead of a cut-off "Drop Image Here", and room for the
     label beside the remove button (fullscreen is of little use at this size). */
  .slot:not(.extra-slot) { min-width: 0 !important; flex: 1 1 0 !important; }
  .slot { height: 150px !important; }
  .slot [data-testid="block-label"] { white-space: nowrap; font-size: 12px; }
  .slot [data-testid="block-label"] > span { display: none; }
  .slot [data-testid="upload-text"] .prompt { display: none; }
  .slot [data-testid="upload-icon"] { display: block; margin: 24px 0 0; }
  .slot .top-panel > button:not(:last-of-type) { display: none; }
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
