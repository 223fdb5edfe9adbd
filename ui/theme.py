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
.banner { border: 1px solid #f59e0b; background: #fffbeb; color: #78350f; border-radius: 8px; padding: 4px 12px; }
.hint p, #prompt-count p, #cost p, #size-preview p, #model-info p { font-size: 0.85em; opacity: 0.8; margin: 0; }
#prompt-count { text-align: right; }
.slot { min-width: 140px; }
#generate { min-height: 48px; font-size: 1.05em; }
@media (max-width: 640px) { .slot { min-width: 100%; } }
"""

# Ctrl+Enter / Cmd+Enter anywhere on the page runs Generate.
HEAD_JS = """
<script>
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
    const button = document.querySelector("#generate");
    if (button) { event.preventDefault(); button.click(); }
  }
});
</script>
"""
