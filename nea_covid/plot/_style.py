"""The project style: colour-blind-safe palette, rc settings, number formatting on axes.

matplotlib is imported inside the functions, never when this module is imported, so
that ``import nea_covid`` works (and stays fast) without the ``plot`` extra.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from nea_covid.formatting import Language, format_number

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.ticker import Formatter

__all__ = ["MARKERS", "PALETTE", "RC", "style"]

#: Okabe & Ito's (2008) colour-blind-safe palette, in the order series are drawn:
#: blue, vermillion, bluish green, reddish purple, orange, sky blue, black, yellow
#: (yellow last: it has too little contrast on white for thin lines).
PALETTE: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
                            "#56B4E9", "#000000", "#F0E442")

#: Marker shapes, one per series alongside the colour (charts stay readable in grey).
MARKERS: tuple[str, ...] = ("o", "s", "D", "^", "v", "P", "X", "*")

#: Colour of reference lines, grids and notes.
GREY = "#666666"
LIGHT_GREY = "#DDDDDD"

#: The project's matplotlib settings (:func:`style` applies them temporarily). The font
#: is DejaVu Sans, which ships with matplotlib, so every machine draws the same pixels.
RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9.0,
    "axes.labelcolor": "#222222",
    "axes.edgecolor": "#444444",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,
    "axes.grid": False,
    "axes.unicode_minus": True,
    "axes.formatter.use_locale": False,
    "grid.color": LIGHT_GREY,
    "grid.linewidth": 0.6,
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "xtick.color": "#444444",
    "ytick.color": "#444444",
    "legend.fontsize": 8.0,
    "legend.title_fontsize": 8.0,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "lines.markersize": 5.0,
    "errorbar.capsize": 2.5,
    "figure.dpi": 100.0,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.dpi": 150.0,
    "svg.hashsalt": "nea_covid",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
}

_INSTALL = "pip install nea_covid[plot]"


def require_matplotlib() -> Any:
    """``matplotlib.pyplot``, or ``ImportError`` saying how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"nea_covid.plot needs matplotlib, an optional extra: {_INSTALL} "
            f"(or pip install matplotlib). ({exc})") from None
    return plt


def _cycler() -> Any:
    from cycler import cycler

    return cycler(color=list(PALETTE))


@contextmanager
def style() -> Iterator[None]:
    """Apply the project style (:data:`RC`, the :data:`PALETTE` as colour cycle) inside a
    ``with`` block; matplotlib's settings are restored afterwards.

    Every ``nc.plot`` function draws inside it; use it for your own figures to match.

    Examples
    --------
    >>> import matplotlib
    >>> import nea_covid as nc
    >>> before = matplotlib.rcParams["font.size"]
    >>> with nc.plot.style():
    ...     matplotlib.rcParams["font.size"]
    9.0
    >>> matplotlib.rcParams["font.size"] == before
    True
    """
    require_matplotlib()
    import matplotlib

    rc: Any = {**RC, "axes.prop_cycle": _cycler()}
    with matplotlib.rc_context(rc):
        yield
        # The first figure of a session loads the backend, which may switch interactive
        # mode on (Jupyter's inline backend does); restoring the old value would stop a
        # notebook from showing any later figure, so keep it.
        interactive = matplotlib.is_interactive()
    matplotlib.interactive(interactive)


def series_style(i: int) -> dict[str, Any]:
    """Colour, marker and line style of the ``i``-th series: 8 colours with 8 markers,
    then the same with dashed, then dotted lines."""
    n = len(PALETTE)
    return {"color": PALETTE[i % n], "marker": MARKERS[i % n],
            "linestyle": ("-", "--", ":")[(i // n) % 3]}


def new_axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    """``ax``, or the Axes of a new figure of ``size`` inches (constrained layout,
    registered with pyplot so that notebooks show it)."""
    if ax is not None:
        from matplotlib.axes import Axes as _Axes

        if not isinstance(ax, _Axes):
            raise TypeError(f"`ax` must be a matplotlib Axes, not {type(ax).__name__}.")
        return ax
    plt = require_matplotlib()
    fig, new = plt.subplots(figsize=size, layout="constrained")
    pad_layout(fig)
    return new  # type: ignore[no-any-return]


#: Margin (inches) between a figure's edge and its contents: row labels, titles.
PAD = 0.1


def pad_layout(fig: Any) -> None:
    """Keep :data:`PAD` inches between the edge of a figure with constrained layout
    and its contents (matplotlib's 3 points let long row labels touch the edge)."""
    fig.get_layout_engine().set(w_pad=PAD, h_pad=PAD)


def tidy_axes(ax: Axes, value_axis: str) -> None:
    """The project look on an Axes that may come from the user: no top and right
    spines, a light grid along the value axis only, grid lines behind the data."""
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.set_axisbelow(True)
    ax.grid(False)
    ax.grid(True, axis="y" if value_axis == "y" else "x", color=LIGHT_GREY, linewidth=0.6)


def tick_digits(locs: Sequence[float] | np.ndarray[Any, Any]) -> int:
    """The fewest decimals (at most 6) that show every tick value exactly."""
    values = np.asarray(locs, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0
    for digits in range(7):
        if np.allclose(np.round(values, digits), values, rtol=0, atol=1e-9 * max(
                1.0, float(np.abs(values).max()))):
            return digits
    return 6


def unicode_minus(text: str) -> str:
    """A leading hyphen as a typographic minus sign."""
    return "\u2212" + text[1:] if text.startswith("-") else text


def number_formatter(language: Language, digits: int | None = None) -> Formatter:
    """Tick labels with the language's separators (decimal comma in Dutch) and the same
    number of decimals on every tick (the fewest that show them exactly)."""
    from matplotlib.ticker import Formatter as _Formatter

    def text(x: float, d: int) -> str:
        return unicode_minus(str(format_number(x + 0.0, digits=d, language=language)))

    class NumberFormatter(_Formatter):
        def __call__(self, x: float, pos: int | None = None) -> str:
            return text(x, tick_digits([x]) if digits is None else digits)

        def format_ticks(self, values: Any) -> list[str]:
            d = tick_digits(values) if digits is None else digits
            return [text(float(v), d) for v in values]

    return NumberFormatter()


def auto_digits(values: Any, significant: int = 3) -> int:
    """Decimals that give the largest absolute value ``significant`` digits (0 to 4)."""
    v = np.abs(np.asarray(values, dtype=float))
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return 1
    magnitude = math.floor(math.log10(float(v.max())))
    return int(min(4, max(0, significant - 1 - magnitude)))
