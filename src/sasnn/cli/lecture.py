"""``sasnn lecture ...``: the lecture's demos (filled in by the fundamentals work)."""

from __future__ import annotations

from sasnn.cli._app import lecture_app  # noqa: F401
