"""Design-based generalised linear models (R's ``svyglm``). Placeholder: being written."""

from __future__ import annotations

from typing import Any

__all__ = ["Regression", "glm"]


class Regression:
    """Result of :func:`glm` (placeholder)."""


def glm(design: Any, formula: str, family: str = "gaussian", **kwargs: Any) -> Regression:
    """Fit a design-based GLM (placeholder)."""
    raise NotImplementedError
