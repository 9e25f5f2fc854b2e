"""Profile-likelihood intervals for proportions, as R's ``svyciprop(method="likelihood")``.

R fits an intercept-only quasibinomial ``svyglm`` and profiles its deviance with a
Rao-Scott scaled cut-off (Lumley 2010, section 2.6): the deviance is evaluated on a
grid of up to nine steps each side of the estimate, the signed root of the deviance
change is interpolated by an FMM cubic spline, and the spline is inverted linearly at
``+- t(df) sqrt(lambda)``, ``lambda`` being the design effect of the logit. We follow
the same steps, so the bounds agree with R to rounding, but compute them for every
cell at once: an intercept-only binomial deviance needs only two weighted sums per
cell, and cells are processed in groups of equal grid size (a handful of groups, never
a loop over cells).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats

from nea_covid.design import BaseDesign
from nea_covid.domains import Prepared
from nea_covid.errors import ArgumentError
from nea_covid.results import ConfidenceInterval, Estimate

__all__ = ["attach_likelihood_interval", "fmm_spline", "profile_interval"]

_MAX_STEPS = 10  # MASS::profile.glm's maxsteps


def fmm_spline(x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    """Coefficients of Forsythe, Malcolm & Moler's cubic spline, row-wise.

    ``x`` and ``y`` have shape (k, n), ``x`` strictly increasing along rows, n >= 3.
    Returns ``(b, c, d)`` such that on ``[x_i, x_{i+1}]`` the spline is
    ``y_i + dx (b_i + dx (c_i + dx d_i))`` (R's ``spline(method="fmm")``).
    """
    k, n = x.shape
    b = np.zeros((k, n))
    c = np.zeros((k, n))
    d = np.zeros((k, n))
    nm1 = n - 1
    d[:, 0] = x[:, 1] - x[:, 0]
    c[:, 1] = (y[:, 1] - y[:, 0]) / d[:, 0]
    for i in range(1, nm1):  # along the (at most 19) grid points
        d[:, i] = x[:, i + 1] - x[:, i]
        b[:, i] = 2.0 * (d[:, i - 1] + d[:, i])
        c[:, i + 1] = (y[:, i + 1] - y[:, i]) / d[:, i]
        c[:, i] = c[:, i + 1] - c[:, i]
    b[:, 0] = -d[:, 0]
    b[:, nm1] = -d[:, n - 2]
    c[:, 0] = 0.0
    c[:, nm1] = 0.0
    if n > 3:
        c0 = c[:, 2] / (x[:, 3] - x[:, 1]) - c[:, 1] / (x[:, 2] - x[:, 0])
        cn = c[:, n - 2] / (x[:, nm1] - x[:, n - 3]) - c[:, n - 3] / (x[:, n - 2] - x[:, n - 4])
        c[:, 0] = c0 * d[:, 0] * d[:, 0] / (x[:, 3] - x[:, 0])
        c[:, nm1] = -cn * d[:, n - 2] * d[:, n - 2] / (x[:, nm1] - x[:, n - 4])
    for i in range(1, n):
        t = d[:, i - 1] / b[:, i - 1]
        b[:, i] = b[:, i] - t * d[:, i - 1]
        c[:, i] = c[:, i] - t * c[:, i - 1]
    c[:, nm1] = c[:, nm1] / b[:, nm1]
    for i in range(n - 2, -1, -1):
        c[:, i] = (c[:, i] - d[:, i] * c[:, i + 1]) / b[:, i]
    b[:, nm1] = (y[:, nm1] - y[:, n - 2]) / d[:, n - 2] + d[:, n - 2] * (
        c[:, n - 2] + 2.0 * c[:, nm1]
    )
    for i in range(nm1):
        b[:, i] = (y[:, i + 1] - y[:, i]) / d[:, i] - d[:, i] * (c[:, i + 1] + 2.0 * c[:, i])
        d[:, i] = (c[:, i + 1] - c[:, i]) / d[:, i]
        c[:, i] = 3.0 * c[:, i]
    c[:, nm1] = 3.0 * c[:, nm1]
    d[:, nm1] = d[:, n - 2]
    return b, c, d


def _spline_grid(x: NDArray[np.float64], y: NDArray[np.float64]
                 ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """R's ``spline(x, y)``: the FMM spline at ``3 n`` equally spaced points, row-wise."""
    k, n = x.shape
    b, c, d = fmm_spline(x, y)
    m = 3 * n
    lo, hi = x[:, :1], x[:, -1:]
    by = (hi - lo) / (m - 1)
    u = lo + np.arange(m)[None, :] * by
    u[:, -1] = hi[:, 0]
    # interval index: largest i with x_i <= u (clamped to the last knot)
    idx = (x[:, None, :] <= u[:, :, None]).sum(axis=2) - 1
    idx = np.clip(idx, 0, n - 1)
    rows = np.arange(k)[:, None]
    dx = u - x[rows, idx]
    v = y[rows, idx] + dx * (b[rows, idx] + dx * (c[rows, idx] + dx * d[rows, idx]))
    return u, v


def _approx(xs: NDArray[np.float64], ys: NDArray[np.float64], out: NDArray[np.float64]
            ) -> NDArray[np.float64]:
    """R's ``approx(xs, ys, xout=out)`` row-wise (linear, NA outside the range)."""
    order = np.argsort(xs, axis=1, kind="stable")
    xs = np.take_along_axis(xs, order, axis=1)
    ys = np.take_along_axis(ys, order, axis=1)
    n = xs.shape[1]
    rows = np.arange(xs.shape[0])
    result = np.full(out.shape, np.nan)
    for j in range(out.shape[1]):  # the two bounds
        v = out[:, j]
        inside = (v >= xs[:, 0]) & (v <= xs[:, -1])
        i = np.clip((xs <= v[:, None]).sum(axis=1) - 1, 0, n - 2)
        x0, x1 = xs[rows, i], xs[rows, i + 1]
        y0, y1 = ys[rows, i], ys[rows, i + 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            val = np.where(v == x1, y1, np.where(v == x0, y0,
                           y0 + (y1 - y0) * ((v - x0) / (x1 - x0))))
        result[:, j] = np.where(inside, val, np.nan)
    return result


def profile_interval(
    beta0: NDArray[np.float64],
    var_beta: NDArray[np.float64],
    lam: NDArray[np.float64],
    w_yes: NDArray[np.float64],
    w_no: NDArray[np.float64],
    dispersion: NDArray[np.float64],
    n_rows: NDArray[np.float64],
    df: float,
    confidence_level: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Profile-likelihood bounds for proportions, one per cell.

    Parameters
    ----------
    beta0, var_beta : arrays
        The fitted logit and its design-based variance.
    lam : array
        Design effect of the logit (R's ``cov.unscaled / naive.cov``).
    w_yes, w_no : arrays
        Sums of the rescaled weights (weights over their mean in the cell) of the rows
        with and without the attribute: the binomial deviance at ``mu`` is
        ``-2 (w_yes log mu + w_no log(1 - mu))``.
    dispersion : array
        The quasibinomial dispersion (R: ``svyvar`` of the Pearson residuals).
    n_rows : array
        Rows in the cell (the glm's ``n``).
    df : float
        Denominator degrees of freedom.
    """
    k = beta0.shape[0]
    low = np.full(k, np.nan)
    high = np.full(k, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_beta = np.sqrt(var_beta)
        t = stats.t.ppf((1 - confidence_level) / 2, df) if df > 0 else np.nan
        alpha = stats.norm.cdf(t * np.sqrt(lam)) / 2
        zmax = np.sqrt(stats.f.isf(alpha, 1, n_rows - 1))
        delta = zmax / 5

        def deviance(beta: NDArray[np.float64]) -> NDArray[np.float64]:
            mu = special.expit(beta)
            dev: NDArray[np.float64] = -2.0 * (
                w_yes[:, None] * np.log(mu) + w_no[:, None] * np.log1p(-mu)
            )
            return dev

        dev0 = deviance(beta0[:, None])[:, 0]
        steps = np.arange(1, _MAX_STEPS)
        sides = []
        for sign in (-1.0, 1.0):
            beta = beta0[:, None] + sign * steps[None, :] * delta[:, None] * se_beta[:, None]
            zz = (deviance(beta) - dev0[:, None]) / dispersion[:, None]
            z = sign * np.sqrt(np.maximum(zz, 0.0))
            # MASS keeps stepping while |z| < zmax: the first step reaching it is kept
            reached = np.abs(z) >= zmax[:, None]
            first = np.where(reached.any(axis=1), reached.argmax(axis=1), steps.size - 1)
            sides.append((beta, z, first + 1))
    # a share of exactly 0 or 1 has no finite logit: IRLS stops at a large one and
    # profiling it gave a bound of about 1e-11 on both sides (R stops with an error)
    ok = (np.isfinite(beta0) & np.isfinite(se_beta) & (se_beta > 0) & np.isfinite(zmax)
          & (w_yes > 0) & (w_no > 0))
    counts = np.where(ok, sides[0][2] + sides[1][2] + 1, 0)
    cutoff = np.stack([t * np.sqrt(lam), -t * np.sqrt(lam)], axis=1)
    for size in np.unique(counts[counts > 0]):  # cells grouped by grid size
        cells = np.flatnonzero(counts == size)
        n_down = sides[0][2][cells]
        # assemble sorted grid points: down steps reversed, the estimate, up steps
        take_down = np.arange(size)[None, :] < n_down[:, None]
        pos_down = n_down[:, None] - 1 - np.arange(size)[None, :]
        rows = np.arange(cells.size)[:, None]
        down_beta = sides[0][0][cells][rows, np.clip(pos_down, 0, steps.size - 1)]
        down_z = sides[0][1][cells][rows, np.clip(pos_down, 0, steps.size - 1)]
        pos_up = np.arange(size)[None, :] - n_down[:, None] - 1
        up_beta = sides[1][0][cells][rows, np.clip(pos_up, 0, steps.size - 1)]
        up_z = sides[1][1][cells][rows, np.clip(pos_up, 0, steps.size - 1)]
        is_mid = np.arange(size)[None, :] == n_down[:, None]
        xs = np.where(take_down, down_beta, np.where(is_mid, beta0[cells][:, None], up_beta))
        ys = np.where(take_down, down_z, np.where(is_mid, 0.0, up_z))
        with np.errstate(all="ignore"):  # degenerate cells end as NaN, as in R
            u, v = _spline_grid(xs, ys)
            bounds = _approx(v, u, cutoff[cells])
        low[cells] = special.expit(bounds[:, 0])
        high[cells] = special.expit(bounds[:, 1])
    return low, high


def _logit_irls(
    prep: Prepared, big_w: NDArray[np.float64], y: NDArray[np.float64],
    epsilon: float = 1e-8, max_iter: int = 25,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """R's ``glm.fit`` for an intercept-only binomial model, every cell and column.

    Returns the converged logit and the fitted mean at the start of the last
    iteration (which R's working weights, hence ``naive.cov``, are computed from).
    The first iteration starts from R's per-row ``mustart = (W y + 0.5) / (W + 1)``;
    after it the fitted mean is constant within a cell, so every later iteration is
    a Newton step computed from per-cell sums. The iterations and R's convergence
    rule are :func:`nea_covid.glm.glm_iterations`'s, with every (cell, column) a fit.
    """
    from nea_covid.glm import glm_iterations

    w_yes = prep.cell_sums(big_w[:, None] * y)
    w_all = prep.cell_sums(big_w)[:, None]
    w_no = w_all - w_yes
    shape = w_yes.shape
    mu_i = (big_w[:, None] * y + 0.5) / (big_w[:, None] + 1)
    eta_i = special.logit(mu_i)
    var_i = mu_i * (1 - mu_i)
    wt_i = big_w[:, None] * var_i
    with np.errstate(divide="ignore", invalid="ignore"):
        dev_start = prep.cell_sums(-2 * big_w[:, None] * (y * np.log(mu_i)
                                                          + (1 - y) * np.log1p(-mu_i)))
        first = (prep.cell_sums(wt_i * (eta_i + (y - mu_i) / var_i))
                 / prep.cell_sums(wt_i)).ravel()
        share = (w_yes / w_all).ravel()
    yes, no = w_yes.ravel(), w_no.ravel()
    beta = np.full(first.shape, np.nan)
    mu_prev = np.full(first.shape, np.nan)  # per-row in the first iteration

    def step(iteration: int, active: NDArray[np.intp]) -> NDArray[np.float64]:
        with np.errstate(divide="ignore", invalid="ignore"):
            if iteration == 1:
                beta[active] = first[active]
            else:
                mu = special.expit(beta[active])
                mu_prev[active] = mu
                beta[active] += (share[active] - mu) / (mu * (1 - mu))
            mu = special.expit(beta[active])
            dev: NDArray[np.float64] = -2 * (yes[active] * np.log(mu)
                                             + no[active] * np.log1p(-mu))
        return dev

    glm_iterations(step, dev_start.ravel(), epsilon=epsilon, max_iter=max_iter)
    return beta.reshape(shape), mu_prev.reshape(shape)


def attach_likelihood_interval(
    est: Estimate, design: BaseDesign, prep: Prepared, codes: list[NDArray[np.intp]],
    n_levels: list[int],
) -> Estimate:
    """Return ``est`` able to compute "likelihood" intervals for its proportions."""

    def special_interval(level: float, method: str) -> ConfidenceInterval:
        if method != "likelihood":
            raise ArgumentError(
                f"Interval method {method!r} is not available for proportions; use 't', "
                "'logit', 'likelihood', 'asin', 'beta', 'mean' or 'xlogit'."
            )
        indicators = np.concatenate(
            [np.equal.outer(c, np.arange(n)).astype(np.float64)
             for c, n in zip(codes, n_levels, strict=True)], axis=1)
        low, high = _likelihood_bounds(design, prep, indicators, est.df, level)
        return ConfidenceInterval(low, high)

    return dataclasses.replace(est, _special_interval=special_interval)


def _likelihood_bounds(
    design: BaseDesign, prep: Prepared, y: NDArray[np.float64], df: float, level: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    from nea_covid.scores import RowScores

    w = prep.weights
    k, m = prep.n_cells, y.shape[1]
    n_rows = np.bincount(prep.cell, minlength=k).astype(np.float64)
    w_sum = prep.cell_sums(w)
    with np.errstate(divide="ignore", invalid="ignore"):
        big_w = w * (n_rows / w_sum)[prep.cell]  # svyglm's rescaled weights
    beta, mu_prev = _logit_irls(prep, big_w, y)
    mu = special.expit(beta)
    q = mu * (1 - mu)
    with np.errstate(divide="ignore", invalid="ignore"):
        # svyglm's sandwich: scores W (y - mu) / (mu (1 - mu) sum W)
        z = w[:, None] * (y - mu[prep.cell]) / w_sum[prep.cell][:, None]
        scores = RowScores.from_cells(prep.row_index, prep.cell, z, k)
        var_beta = np.diag(design._vcov(scores)).reshape(k, m) / q**2
        naive = 1 / (mu_prev * (1 - mu_prev) * n_rows[:, None])
        # dispersion: svyvar of the Pearson residuals (y - mu) sqrt(W) / sqrt(mu (1 - mu))
        resid = (y - mu[prep.cell]) * np.sqrt(big_w)[:, None] / np.sqrt(q[prep.cell])
        r_bar = prep.cell_sums(w[:, None] * resid) / w_sum[:, None]
        ss = prep.cell_sums(w[:, None] * (resid - r_bar[prep.cell]) ** 2) / w_sum[:, None]
        n_pos = prep.n_obs.astype(np.float64)[:, None]
        dispersion = ss * n_pos / (n_pos - 1)
    w_yes = prep.cell_sums(big_w[:, None] * y)
    w_no = prep.cell_sums(big_w)[:, None] - w_yes
    return profile_interval(
        beta.ravel(), var_beta.ravel(), (var_beta / naive).ravel(), w_yes.ravel(),
        w_no.ravel(), dispersion.ravel(), np.repeat(n_rows, m), df, level,
    )
