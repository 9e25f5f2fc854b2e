"""Alt text and the numbers behind every chart, kept per Axes; deterministic saving."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from nea_covid.export import writing
from nea_covid.formatting import Language, format_interval, format_number
from nea_covid.plot._data import PlotError
from nea_covid.plot._style import require_matplotlib, style
from nea_covid.plot._words import word

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["alt_text", "save", "table"]


@dataclass
class _Record:
    texts: list[str] = field(default_factory=list)
    tables: list[pd.DataFrame] = field(default_factory=list)
    language: Language = "en"


# weak keys: a closed and discarded figure takes its records with it
_RECORDS: weakref.WeakKeyDictionary[Any, _Record] = weakref.WeakKeyDictionary()


def register(ax: Axes, text: str, frame: pd.DataFrame, language: Language) -> None:
    """Remember the alt text and the plotted numbers of one chart drawn on ``ax``
    (a second chart on the same Axes adds to them)."""
    record = _RECORDS.setdefault(ax, _Record(language=language))
    record.texts.append(text)
    record.tables.append(frame.reset_index(drop=True))


def _axes_of(obj: Any) -> list[Any]:
    from matplotlib.axes import Axes as _Axes
    from matplotlib.figure import Figure as _Figure

    if isinstance(obj, _Axes):
        return [obj]
    if isinstance(obj, _Figure):
        return list(obj.axes)
    raise TypeError(f"Expected a matplotlib Figure or Axes, not {type(obj).__name__}.")


def _fallback(ax: Any) -> str:
    """A minimal description of an Axes that nc.plot did not draw."""
    title = ax.get_title() or ax.get_title(loc="left")
    text = word("axes", "en", x=ax.get_xlabel() or "-", y=ax.get_ylabel() or "-")
    return f"{word('chart', 'en')}{': ' + title if title else ''} ({text})."


def alt_text(figure: Any) -> str:
    """A plain-language description of a chart for readers who cannot see it.

    Generated from the plotted numbers in the chart's language: the kind of chart, what
    is on the axes, the range of the values, each series' first and last value with
    its interval, which comparisons are significant. Use it as the ``alt`` of the image
    on a web page (:func:`save` also writes it into the PNG).

    Parameters
    ----------
    figure : matplotlib Axes or Figure
        An Axes drawn by ``nc.plot`` (the descriptions of several charts on one Axes
        are joined), or a Figure (the descriptions of its Axes, in order). Axes not
        drawn by ``nc.plot`` get a minimal description from their title and labels.

    Returns
    -------
    str

    Examples
    --------
    >>> import nea_covid as nc
    >>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype",
    ...                     fpc="fpc")
    >>> ax = nc.plot.domains(nc.mean(d, "api00", by="stype"))
    >>> print(nc.plot.alt_text(ax))
    Dot-and-whisker chart of mean of api00 for 3 rows (stype), with 95% confidence
    intervals as horizontal lines. E: 674 [650; 699]; H: 626 [596; 655]; M: 637 [605; 669].
    """
    texts = []
    for ax in _axes_of(figure):
        record = _RECORDS.get(ax)
        if record is not None:
            texts.append(" ".join(record.texts))
        elif ax.has_data() or ax.get_title():
            texts.append(_fallback(ax))
    return "\n\n".join(texts)


def table(figure: Any) -> pd.DataFrame:
    """The numbers behind a chart drawn by ``nc.plot``, in the units plotted.

    One row per point: the describing columns of the result, ``label`` (the series or
    row name shown), ``estimate``, ``ci_low``, ``ci_high`` (percentages on a percent
    axis, millions on a count axis in millions), ``significant`` for comparisons.
    Publish it next to the figure, or check the figure against it.

    Parameters
    ----------
    figure : matplotlib Axes or Figure

    Returns
    -------
    pandas.DataFrame
        The tables of every chart on the Axes (or Figure), stacked, with a ``chart``
        column numbering them when there are several.

    Examples
    --------
    >>> import nea_covid as nc
    >>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype",
    ...                     fpc="fpc")
    >>> ax = nc.plot.domains(nc.proportion(d, "sch.wide", by="stype"))
    >>> nc.plot.table(ax)[["stype", "estimate"]]
      stype  estimate
    0     E      91.0
    1     H      52.0
    2     M      70.0
    """
    frames = [frame for ax in _axes_of(figure) if ax in _RECORDS
              for frame in _RECORDS[ax].tables]
    if not frames:
        raise TypeError("This figure has no chart drawn by nc.plot, so no table of its "
                        "numbers; draw it with nc.plot.trend, domains, counts, changes or "
                        "coefficients.")
    if len(frames) == 1:
        return frames[0].copy()
    return pd.concat([f.assign(chart=i) for i, f in enumerate(frames)], ignore_index=True)


_FORMATS = (".png", ".svg", ".pdf")


def save(figure: Any, path: str | Path, *, dpi: float = 150, alt: str | None = None,
         sidecar: bool = False) -> Path:
    """Write a figure to a file that is the same byte for byte for the same data.

    PNG (or SVG, PDF) without the software version or a date in it, with the alt text
    in the file's description (PNG "Description", SVG ``<dc:description>``, PDF
    "Subject"), written with the Agg renderer whatever backend is active.

    Parameters
    ----------
    figure : matplotlib Figure or Axes
        An Axes stands for its figure.
    path : str or Path
        Ends in ``.png``, ``.svg`` or ``.pdf``, in a directory that exists (as for
        :func:`nea_covid.to_csv`, a missing directory is an error naming the path,
        not created).
    dpi : float, default 150
        Resolution of a PNG.
    alt : str, optional
        The alt text; default :func:`alt_text` of the figure.
    sidecar : bool, default False
        Also write the alt text to a ``.txt`` file next to the image (same name).

    Returns
    -------
    Path
        The image written.

    Raises
    ------
    PlotError
        ``path`` does not end in ``.png``, ``.svg`` or ``.pdf``.
    OSError
        The file cannot be written (its directory does not exist, ...); the message
        names the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import nea_covid as nc
    >>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype",
    ...                     fpc="fpc")
    >>> ax = nc.plot.domains(nc.mean(d, "api00", by="stype"))
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> png = nc.plot.save(ax, out / "api00.png", sidecar=True)
    >>> png.read_bytes() == nc.plot.save(ax, out / "again.png").read_bytes()
    True
    >>> (out / "api00.txt").read_text(encoding="utf-8").startswith("Dot-and-whisker chart")
    True
    """
    require_matplotlib()
    from matplotlib.axes import Axes as _Axes

    fig: Any = figure.figure if isinstance(figure, _Axes) else figure
    _axes_of(fig)  # a Figure, else TypeError
    fig = getattr(fig, "figure", None) or fig  # a SubFigure stands for its figure
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in _FORMATS:
        raise PlotError(f"`path` must end in {', '.join(_FORMATS)}, not {target.name!r}.")
    description = alt_text(fig) if alt is None else str(alt)
    if suffix == ".png":
        metadata: dict[str, Any] = {"Software": None}
        if description:
            metadata["Description"] = description
    elif suffix == ".svg":
        metadata = {"Date": None, "Creator": None, "Description": description or None}
    else:
        metadata = {"CreationDate": None, "ModDate": None, "Creator": None,
                    "Producer": None, "Subject": description or None}
    with style(), writing(target):
        fig.savefig(target, dpi=dpi, metadata=metadata, format=suffix[1:],
                    backend="agg" if suffix == ".png" else None)
    if sidecar:
        text = target.with_suffix(".txt")
        with writing(text):
            text.write_text(description + "\n", encoding="utf-8")
    return target


def value_text(value: float, low: float, high: float, *, scale: float, digits: int,
               unit: str, language: Language, sign: bool = False) -> str:
    """One estimate with its interval for an alt text: ``31,5% [31,0; 32,0]``."""
    number = str(format_number(value * scale, digits=digits, language=language))
    if sign and value * scale > 0 and number.strip("0,.") != "":
        number = "+" + number
    interval = str(format_interval(low * scale, high * scale, digits=digits,
                                   language=language))
    return f"{number}{unit} {interval}"
