"""Progress bars for long-running work, with tqdm when it is installed.

Creating bootstrap replicates, raking or calibrating (every replicate of a replicate
design) and ``python -m nea_covid reproduce`` can take seconds on large data. They show
a progress bar: a widget in Jupyter (when ipywidgets is installed), a text bar on
stderr in a terminal, as ``tqdm.auto`` chooses. The bar appears only when the work
takes longer than :data:`DELAY` seconds, so quick calls (and doctests) print nothing,
and results never depend on it.

tqdm is optional (``pip install "nea_covid[progress]"``); without it there is no bar
and no error.

Three switches, the first that is set wins:

1. ``progress=True`` / ``False`` on the call (``design.to_replicate(...,
   progress=False)``, ``design.rake(...)``, ``design.calibrate(...)``);
2. :func:`set_progress` (``nc.set_progress(False)`` for the session, or
   ``with nc.set_progress(False): ...`` for a block);
3. the environment variable ``NEA_COVID_PROGRESS`` (``0``, ``false``, ``no`` or
   ``off`` switch bars off, e.g. for executed documentation and CI logs).

Otherwise bars are on.

Examples
--------
>>> import nea_covid as nc
>>> with nc.set_progress(False):
...     nc.progress_enabled()
False
>>> nc.progress_enabled(progress=True)
True
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from types import TracebackType
from typing import Any

from nea_covid.errors import SurveyError

__all__ = ["DELAY", "ENVIRONMENT_VARIABLE", "Bar", "bar", "progress_enabled", "set_progress"]

#: Seconds of work before a bar appears (tqdm's ``delay``).
DELAY = 0.5
#: The environment variable that switches bars off ("0", "false", "no", "off").
ENVIRONMENT_VARIABLE = "NEA_COVID_PROGRESS"
_OFF = ("0", "false", "no", "off")

_STATE: dict[str, bool | None] = {"enabled": None}


def _check(value: Any, name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise SurveyError(f"`{name}` must be True, False or None (automatic), not {value!r}.")


class set_progress:
    """Switch progress bars on (True), off (False) or back to automatic (None).

    Called on its own it changes the setting for the rest of the session; used in a
    ``with`` statement it restores the previous setting at the end of the block. A
    ``progress=`` keyword on a call still overrides it.

    Parameters
    ----------
    enabled : bool or None
        None (automatic): bars are on unless the environment variable
        ``NEA_COVID_PROGRESS`` is ``0``, ``false``, ``no`` or ``off``.

    Examples
    --------
    >>> import nea_covid as nc
    >>> _ = nc.set_progress(False)   # no bars from here on
    >>> nc.progress_enabled()
    False
    >>> _ = nc.set_progress(None)    # automatic again
    >>> with nc.set_progress(False):
    ...     pass                     # no bars in this block only
    """

    def __init__(self, enabled: bool | None) -> None:
        new = _check(enabled, "enabled")
        self._previous = _STATE["enabled"]
        _STATE["enabled"] = new

    def __enter__(self) -> set_progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        _STATE["enabled"] = self._previous

    def __repr__(self) -> str:
        return f"set_progress({_STATE['enabled']!r})"


def progress_enabled(progress: bool | None = None) -> bool:
    """Whether a bar may be shown: ``progress`` if given, else the setting of
    :func:`set_progress`, else the environment variable, else True.

    Examples
    --------
    >>> import nea_covid as nc
    >>> nc.progress_enabled(False)
    False
    """
    chosen = _check(progress, "progress")
    if chosen is not None:
        return chosen
    if _STATE["enabled"] is not None:
        return _STATE["enabled"]
    return os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower() not in _OFF


def _tqdm_class() -> Any:
    """``tqdm.auto.tqdm``, or None without tqdm. Imported with tqdm's own warnings
    silenced (its experimental-notebook and missing-ipywidgets warnings)."""
    try:  # (imported by name: tqdm is optional and has no type stubs)
        std = importlib.import_module("tqdm.std")
    except ImportError:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", std.TqdmWarning)
        try:
            auto = importlib.import_module("tqdm.auto")
        except ImportError:  # pragma: no cover - a broken tqdm installation
            return None
    return auto.tqdm


class Bar:
    """A progress bar, or nothing (bars off, or tqdm missing): the same calls work
    on both. Use it as a context manager so that it is closed on errors too."""

    __slots__ = ("_bar",)

    def __init__(self, impl: Any = None) -> None:
        self._bar = impl

    @property
    def active(self) -> bool:
        """Whether a real bar is behind this object (it may not be visible yet)."""
        return self._bar is not None

    def update(self, n: float = 1) -> None:
        """Advance by ``n``."""
        if self._bar is not None:
            self._bar.update(n)

    def describe(self, text: str, *, refresh: bool = False) -> None:
        """Replace the bar's description: shown from the next :meth:`update`, or at
        once with ``refresh`` (which shows the bar even before its delay)."""
        if self._bar is not None:
            self._bar.set_description_str(text, refresh=refresh)

    def note(self, text: str) -> None:
        """Text after the bar (e.g. the current deviation of a calibration)."""
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def bar(total: float | None, description: str, *, progress: bool | None = None,
        unit: str = "it", delay: float | None = None) -> Bar:
    """A progress bar over ``total`` steps (None: unknown, a counter).

    Parameters
    ----------
    total : float or None
    description : str
        Shown before the bar.
    progress : bool or None
        The caller's ``progress=`` keyword (see :func:`progress_enabled`).
    unit : str, default "it"
    delay : float, optional
        Seconds before the bar appears; default :data:`DELAY` (read at the call).

    Returns
    -------
    Bar
        Inert when bars are off or tqdm is missing. Shown on stderr (a widget in
        Jupyter) once the work has taken :data:`DELAY` seconds; removed when closed.

    Examples
    --------
    >>> with bar(3, "steps") as b:   # quicker than DELAY: prints nothing
    ...     for _ in range(3):
    ...         b.update()
    """
    if not progress_enabled(progress):
        return Bar()
    cls = _tqdm_class()
    if cls is None:
        return Bar()
    return Bar(cls(total=total, desc=description, unit=unit,
                   delay=DELAY if delay is None else delay, leave=False, file=sys.stderr,
                   dynamic_ncols=True))
