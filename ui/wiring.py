"""Options every page event shares."""

from typing import Any

PRIVATE: dict[str, Any] = {"api_visibility": "private"}
"""Page events stay out of "Use via API". That hides them only: any client can still call them through the
queue with any inputs, so every handler re-derives who is asking (ui.visitors)."""
