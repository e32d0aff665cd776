"""The figures of softq_ref.plot, drawn headless (Agg): their axes, and a PNG on disk."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib  # the plot extra, also in the test extra
import numpy as np
import pytest

import softq_ref as sq
from softq_ref.io import cliff_walking, frozen_lake
from softq_ref.plot import (
    CLIFF_WALKING_ACTIONS,
    FROZEN_LAKE_ACTIONS,
    policy_map,
    residual_history,
    value_against_alpha,
)

matplotlib.use("Agg")  # headless

PNG = b"\x89PNG\r\n\x1a\n"


def _saved(fig, path: Path) -> bytes:
    fig.savefig(path)
    return path.read_bytes()[:8]


def test_policy_map_of_frozen_lake_draws_the_values_and_one_arrow_per_likely_action(tmp_path):
    mdp = frozen_lake("8x8", gamma=0.99)
    res = sq.solve(mdp, 0.003)
    fig = policy_map(res.V, res.policy, (8, 8), actions=FROZEN_LAKE_ACTIONS)
    main, colorbar = fig.axes
    (image,) = main.get_images()
    assert np.array_equal(image.get_array(), res.V.reshape(8, 8))
    assert colorbar.get_ylabel() == "V(s)"
    drawn = int((res.policy >= 0.02).sum())  # arrows shorter than 2% of a cell are left out
    assert len(main.patches) == drawn
    assert _saved(fig, tmp_path / "lake.png") == PNG


def test_policy_map_arrows_point_where_the_actions_go():
    # Cliff walking's action 1 is "right": a certain move right is one arrow pointing +x.
    res = sq.solve(cliff_walking(gamma=0.9), 0.0)
    pi = np.zeros_like(res.policy)
    pi[:, 1] = 1.0
    fig = policy_map(res.V, pi, (4, 12), actions=CLIFF_WALKING_ACTIONS)
    xs = [p.get_xy()[:, 0] for p in fig.axes[0].patches]
    assert len(xs) == 48 and all(x.max() - x.min() == pytest.approx(0.45) for x in xs)


def test_residual_history_draws_the_residuals_and_the_bound_on_a_log_scale(tmp_path):
    mdp = frozen_lake("4x4", gamma=0.9)
    res = sq.soft_q_iteration(mdp, 0.1, max_iterations=50)
    fig = residual_history(res)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    line, bound = ax.get_lines()
    assert np.array_equal(line.get_ydata(), np.array(res.residuals))
    assert bound.get_ydata()[0] == res.error_bound
    assert "not converged" in ax.get_title()
    assert _saved(fig, tmp_path / "residuals.png") == PNG


def test_value_against_alpha_stays_inside_the_shaded_max_limit_bounds(tmp_path):
    mdp = frozen_lake("4x4", gamma=0.9)
    alphas = [0.01, 0.1, 1.0]
    fig = value_against_alpha(mdp, alphas, state=0)
    (ax,) = fig.axes
    (line,) = ax.get_lines()
    assert line.get_xdata().tolist() == [0.0, *alphas]  # alpha = 0 is always solved
    values = line.get_ydata()
    assert values[0] == sq.solve(mdp, 0.0).V[0]
    upper = values[0] + np.array(alphas) * math.log(4) / (1 - 0.9)
    assert np.all(values[1:] >= values[0]) and np.all(values[1:] <= upper)
    assert len(ax.collections) == 1  # the band of docs/conventions.md section 1
    assert _saved(fig, tmp_path / "alpha.png") == PNG


def test_the_figures_draw_into_given_axes_and_refuse_shapes_that_do_not_fit():
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    res = sq.solve(frozen_lake("4x4", gamma=0.9), 0.1)
    assert policy_map(res.V, res.policy, (4, 4), ax=ax) is fig
    with pytest.raises(sq.InvalidArgumentError, match=r"shape=\(4, 5\) needs \(20,\)"):
        policy_map(res.V, res.policy, (4, 5))
    with pytest.raises(sq.InvalidArgumentError, match="expected \\(16, 2\\)"):
        policy_map(res.V, res.policy, (4, 4), actions=((1, 0), (-1, 0)))
    with pytest.raises(sq.InvalidArgumentError, match="result must be a SolveResult"):
        residual_history(res.Q)
    with pytest.raises(sq.InvalidArgumentError, match="state must be an integer in 0..15"):
        value_against_alpha(frozen_lake("4x4", gamma=0.9), [0.1], state=16)


def test_demo_plot_writes_a_png_of_three_panels(tmp_path, capsys):
    from softq_ref.cli import main

    path = tmp_path / "river.png"
    assert main(["demo", "--digits", "10", "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == PNG
    assert f"The figure was written to {path}.\n" in capsys.readouterr().out
    assert main(["demo", "--digits", "10", "--plot", str(tmp_path / "river.xyz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--plot" in err and "xyz" in err
