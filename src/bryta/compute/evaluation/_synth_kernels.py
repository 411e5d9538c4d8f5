"""Compiled loops (numba) for the synthetic control: the donor weights for given predictor
weights, the pre-period fit they give, and the search over predictor weights.

For diagonal predictor weights V the donor weights solve the quadratic programme

    min_W (X₁ − X₀W)ᵀ V (X₁ − X₀W)   subject to   W ≥ 0, Σ W = 1,

i.e. the point of the convex hull of the donors' (weighted) predictor vectors nearest to the
treated unit's. With pⱼ = V^½ (X₀ⱼ − X₁) this is the minimum-norm point of the convex hull of
the pⱼ, which Wolfe's algorithm (1976) finds exactly in a finite number of steps: it keeps a
"corral" of affinely independent points (at most k + 1, k the number of predictors), moves to
the nearest point of their affine hull while that lies inside their hull, and otherwise drops
the point whose weight reaches zero first. Each step solves a bordered linear system of at most
k + 2 rows, so one programme takes microseconds, and a search over V, whose neighbouring points
mostly share the same corral, starts each programme from the last one's corral.

The weights returned satisfy the programme's KKT conditions to rounding: with g = Pᵀx (x the
nearest point), gⱼ = xᵀx for every donor with positive weight and gⱼ ≥ xᵀx for all donors.

The search over V (:func:`nelder_mead`) is the Nelder–Mead simplex method with the adaptive
coefficients of Gao & Han (2012), over log V inside a box, compiled so that a whole search runs
without the interpreter (and without the GIL, so placebo fits run in parallel threads).

References: Wolfe, P. (1976). Finding the nearest point in a polytope. Mathematical
Programming 11, 128–149. Gao, F. & Han, L. (2012). Implementing the Nelder–Mead simplex
algorithm with adaptive parameters. Computational Optimization and Applications 51, 259–277.
"""

from __future__ import annotations

import numba as nb
import numpy as np

#: Relative tolerances of Wolfe's tests (his Z₁ and Z₃): optimality and a weight being zero.
_TOL_OPT = 1e-12
_TOL_ZERO = 1e-12


@nb.njit(cache=True, nogil=True)
def _affine_minimiser(G, corral, n):
    """The weights (summing to 1) of the point of the affine hull of the ``n`` corral points
    nearest to the origin, from the Gram matrix ``G`` of all points: the bordered system
    [[G_S, 1], [1ᵀ, 0]] [α; μ] = [0; 1], nonsingular while the corral is affinely independent."""
    alpha = np.empty(n)
    if n == 1:
        alpha[0] = 1.0
        return alpha
    A = np.zeros((n + 1, n + 1))
    rhs = np.zeros(n + 1)
    for a in range(n):
        for b in range(n):
            A[a, b] = G[corral[a], corral[b]]
        A[a, n] = 1.0
        A[n, a] = 1.0
    rhs[n] = 1.0
    sol = np.linalg.solve(A, rhs)
    total = 0.0
    for a in range(n):
        alpha[a] = sol[a]
        total += sol[a]
    alpha /= total
    return alpha


@nb.njit(cache=True, nogil=True)
def wolfe(G, corral, lam, n):
    """Minimum-norm point of the hull of points with Gram matrix ``G`` (J × J), starting from
    the ``n`` corral points in ``corral`` with weights ``lam`` (modified in place; both of
    length ≥ k + 2). Returns the final corral size."""
    J = G.shape[0]
    size = corral.size
    scale = 0.0
    for j in range(J):
        scale = max(scale, G[j, j])
    scale = max(scale, 1e-300)
    g = np.empty(J)
    for _ in range(50 * J + 100):
        # g = P^T x with x = sum lam_c p_c
        for j in range(J):
            s = 0.0
            for c in range(n):
                s += lam[c] * G[j, corral[c]]
            g[j] = s
        xx = 0.0
        for c in range(n):
            xx += lam[c] * g[corral[c]]
        j = np.argmin(g)
        if xx - g[j] <= _TOL_OPT * scale:
            break
        inside = False
        for c in range(n):
            if corral[c] == j:
                inside = True
        if inside or n == size:
            break
        corral[n] = j
        lam[n] = 0.0
        n += 1
        for _ in range(size + 1):  # minor cycles: each drops at least one point
            alpha = _affine_minimiser(G, corral, n)
            if alpha.min() > _TOL_ZERO:
                lam[:n] = alpha
                break
            theta = 1.0
            drop = -1
            for c in range(n):
                if alpha[c] <= _TOL_ZERO:
                    t = lam[c] / (lam[c] - alpha[c]) if lam[c] - alpha[c] > 0 else 0.0
                    if drop < 0 or t < theta:
                        theta = t
                        drop = c
            theta = min(max(theta, 0.0), 1.0)
            for c in range(n):
                lam[c] = theta * alpha[c] + (1.0 - theta) * lam[c]
            lam[drop] = 0.0
            m = 0
            for c in range(n):
                if lam[c] > _TOL_ZERO:
                    corral[m] = corral[c]
                    lam[m] = lam[c]
                    m += 1
            n = m
        total = lam[:n].sum()
        lam[:n] /= total
    return n


@nb.njit(cache=True, nogil=True)
def _gram(v, D):
    """Gram matrix of the points pⱼ = V^½ dⱼ (D = X₀ − X₁, k × J)."""
    k, J = D.shape
    G = np.zeros((J, J))
    for i in range(k):
        vi = v[i]
        for a in range(J):
            da = vi * D[i, a]
            for b in range(a, J):
                G[a, b] += da * D[i, b]
    for a in range(J):
        for b in range(a):
            G[a, b] = G[b, a]
    return G


@nb.njit(cache=True, nogil=True)
def solve_weights(v, D, corral, lam, n):
    """Donor weights for predictor weights ``v`` (≥ 0), D = X₀ − X₁ column by column.

    ``corral``/``lam``/``n`` hold a previous solution to start from (n = 0: none); returns
    the new corral size, the solution left in ``corral``/``lam``."""
    G = _gram(v, D)
    J = G.shape[0]
    if n > 0:  # warm start: the previous corral's affine minimiser, if inside its hull
        alpha = _affine_minimiser(G, corral, n)
        if alpha.min() > _TOL_ZERO:
            lam[:n] = alpha
        else:
            n = 0
    if n == 0:
        best = 0
        for j in range(1, J):
            if G[j, j] < G[best, best]:
                best = j
        corral[0] = best
        lam[0] = 1.0
        n = 1
    return wolfe(G, corral, lam, n)


@nb.njit(cache=True, nogil=True)
def _loss(v, D, Z0, z1, corral, lam, n):
    """Pre-period MSPE of the outcome for predictor weights ``v``; returns (mspe, n)."""
    n = solve_weights(v, D, corral, lam, n)
    T = z1.size
    s = 0.0
    for t in range(T):
        r = z1[t]
        for c in range(n):
            r -= Z0[t, corral[c]] * lam[c]
        s += r * r
    return s / T, n


@nb.njit(cache=True, nogil=True)
def weights_dense(v, D):
    """Donor weights (a dense vector) for predictor weights ``v``, from a cold start."""
    k, J = D.shape
    corral = np.zeros(k + 2, np.int64)
    lam = np.zeros(k + 2)
    n = solve_weights(v, D, corral, lam, 0)
    w = np.zeros(J)
    for c in range(n):
        w[corral[c]] = max(lam[c], 0.0)
    return w / w.sum()


@nb.njit(cache=True, nogil=True)
def nelder_mead(theta0, lo, D, Z0, z1, max_eval, xtol, ftol):
    """Minimise the pre-period MSPE over log V ∈ [lo, 0]ᵏ by Nelder–Mead from ``theta0``.
    Returns (best θ, best MSPE, evaluations)."""
    k = theta0.size
    corral = np.zeros(k + 2, np.int64)
    lam = np.zeros(k + 2)
    n = 0
    sim = np.empty((k + 1, k))
    fs = np.empty(k + 1)
    sim[0] = theta0
    for i in range(k):
        p = theta0.copy()
        p[i] = p[i] - 1.0 if p[i] - 1.0 >= lo else p[i] + 1.0
        sim[i + 1] = p
    for i in range(k + 1):
        for d in range(k):
            sim[i, d] = min(max(sim[i, d], lo), 0.0)
        fs[i], n = _loss(np.exp(sim[i]), D, Z0, z1, corral, lam, n)
    evals = k + 1
    rho, chi = 1.0, 1.0 + 2.0 / k
    psi, sigma = 0.75 - 1.0 / (2.0 * k), 1.0 - 1.0 / k
    while evals < max_eval:
        order = np.argsort(fs)
        sim = sim[order]
        fs = fs[order]
        spread = 0.0
        for i in range(1, k + 1):
            for d in range(k):
                spread = max(spread, abs(sim[i, d] - sim[0, d]))
        if spread <= xtol and fs[k] - fs[0] <= ftol * max(abs(fs[0]), 1e-300):
            break
        centre = np.zeros(k)
        for i in range(k):
            centre += sim[i]
        centre /= k
        xr = np.minimum(np.maximum(centre + rho * (centre - sim[k]), lo), 0.0)
        fr, n = _loss(np.exp(xr), D, Z0, z1, corral, lam, n)
        evals += 1
        if fr < fs[0]:
            xe = np.minimum(np.maximum(centre + rho * chi * (centre - sim[k]), lo), 0.0)
            fe, n = _loss(np.exp(xe), D, Z0, z1, corral, lam, n)
            evals += 1
            if fe < fr:
                sim[k], fs[k] = xe, fe
            else:
                sim[k], fs[k] = xr, fr
            continue
        if fr < fs[k - 1]:
            sim[k], fs[k] = xr, fr
            continue
        if fr < fs[k]:
            xc = np.minimum(np.maximum(centre + psi * rho * (centre - sim[k]), lo), 0.0)
            fc, n = _loss(np.exp(xc), D, Z0, z1, corral, lam, n)
            evals += 1
            if fc <= fr:
                sim[k], fs[k] = xc, fc
                continue
        else:
            xc = centre - psi * (centre - sim[k])
            fc, n = _loss(np.exp(xc), D, Z0, z1, corral, lam, n)
            evals += 1
            if fc < fs[k]:
                sim[k], fs[k] = xc, fc
                continue
        for i in range(1, k + 1):  # shrink towards the best point
            sim[i] = sim[0] + sigma * (sim[i] - sim[0])
            fs[i], n = _loss(np.exp(sim[i]), D, Z0, z1, corral, lam, n)
            evals += 1
    best = np.argmin(fs)
    return sim[best].copy(), fs[best], evals
