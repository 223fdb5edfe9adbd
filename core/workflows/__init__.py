"""Workflows: many edits run over one Studio (batches, explorations) and what they export."""
