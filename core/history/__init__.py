"""Edit history: the repository (SQLite), its rows and its migrations."""

from core.history.repository import History
from core.history.rows import EditRow, FileRow, InputRow, LineageEdit, LineageResult, NotFoundError, OutputRow

__all__ = [
    "EditRow",
    "FileRow",
    "History",
    "InputRow",
    "LineageEdit",
    "LineageResult",
    "NotFoundError",
    "OutputRow",
]
