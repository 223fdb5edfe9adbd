"""Region edits: crop and stitch, alignment and canvas expansion. Pure image work: no gradio, files or network."""
