"""Rao-Scott tests of association in two-way tables (R's ``svychisq``). Placeholder."""

from __future__ import annotations

from typing import Any

__all__ = ["ChisqTest", "chisq"]


class ChisqTest:
    """Result of :func:`chisq` (placeholder)."""


def chisq(design: Any, row: str, column: str, **kwargs: Any) -> ChisqTest:
    """Test association in a two-way table (placeholder)."""
    raise NotImplementedError
