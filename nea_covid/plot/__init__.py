"""Charts of results: estimates with intervals over waves and across domains,
extrapolated counts, changes and regression coefficients.

Every function takes a result object, draws on ``ax=`` (or a new figure) and returns the
matplotlib Axes; ``result.plot()`` picks the chart that suits the result
(:func:`draw`). Charts use a colour-blind-safe palette (:data:`PALETTE`, Okabe & Ito)
with a marker shape per series, the project style (:func:`style`, applied only while
drawing: matplotlib's global settings are never changed), labels and numbers in English
or Dutch (``language="nl"``: decimal comma), and come with an alt text
(:func:`alt_text`) and the table of their numbers (:func:`table`). :func:`save` writes
files that are identical byte for byte for the same data.

matplotlib is an optional extra (``pip install nea_covid[plot]``), imported only when a
chart is drawn: ``import nea_covid`` does not import it.

=====================  ===========================================================
:func:`trend`          estimates over waves: lines with error bars or bands
:func:`domains`        estimates across domains: dots with whiskers (forest plot)
:func:`counts`         extrapolated counts in millions or thousands
:func:`changes`        differences with intervals; significant ones filled
:func:`coefficients`   regression coefficients (or odds ratios)
:func:`draw`           the chart that suits a result (``result.plot()``)
:func:`alt_text`       a plain-language description of a chart
:func:`table`          the numbers behind a chart, in the units plotted
:func:`save`           a deterministic PNG, SVG or PDF with the alt text embedded
:func:`style`          the project style for your own figures
=====================  ===========================================================

Examples
--------
>>> import nea_covid as nc
>>> panel = nc.datasets.load_nea_covid()
>>> d = nc.SurveyDesign(panel, strata="stratum", clusters="panel_id", weights="weight")
>>> est = nc.harmonised_proportion(d, nc.get_definition("tno_works_at_home"), by="wave")
>>> ax = est.plot()
>>> print(nc.plot.alt_text(ax))
Line chart of works at home (fully or partly) by wave, with 95% confidence intervals as
error bars. 1 series over 4 values of wave (2019 to 2021-03). Values range from 31.5% to
49.0%. works at home (fully or partly): 31.5% [31.0; 32.0] in 2019, 49.0% [47.8; 50.2]
in 2021-03. Definition: tno_works_at_home v1.
"""

from __future__ import annotations

from nea_covid.plot._alt import alt_text, save, table
from nea_covid.plot._data import PlotError
from nea_covid.plot._figures import changes, coefficients, counts, domains, draw, trend
from nea_covid.plot._style import MARKERS, PALETTE, RC, style

__all__ = [
    "MARKERS",
    "PALETTE",
    "RC",
    "PlotError",
    "alt_text",
    "changes",
    "coefficients",
    "counts",
    "domains",
    "draw",
    "save",
    "style",
    "table",
    "trend",
]
