"""Region edits: edit only the painted part of Image 1 and keep every other pixel, undo the model's shift and
zoom, expand the canvas. Pure image work: PIL images and numpy arrays in and out, no files, no network.

`plan` crops Image 1 around the mask and says what to send; `register` and `colour` line the model's output
up with the original; `blend` feathers and pastes; `png` writes a large composite fast; `expand` and `align`
are the two other tools.
"""
