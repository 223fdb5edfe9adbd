"""Region edits: crop, register, colour-match, blend and paste; pure image work."""
