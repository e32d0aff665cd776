"""Pictures of soft solutions (the ``plot`` extra: matplotlib, imported where used).

:func:`policy_map` draws ``V`` of a gridworld-shaped MDP as a heatmap with an
arrow per action scaled by the soft-greedy ``pi(a|s)``; :func:`residual_history`
the residual of a solve per iteration on a log scale, beside its proven
``error_bound``; :func:`value_against_alpha` ``V*_alpha(s)`` against ``alpha``
inside the max-limit bounds of docs/conventions.md section 1. Each returns a
:class:`matplotlib.figure.Figure` (no pyplot state, so they work headless) or
draws into the ``ax`` given.
"""

from __future__ import annotations

from softq_ref.plot.figures import (
    CLIFF_WALKING_ACTIONS,
    FROZEN_LAKE_ACTIONS,
    policy_map,
    residual_history,
    value_against_alpha,
)

__all__ = [
    "policy_map",
    "residual_history",
    "value_against_alpha",
    "FROZEN_LAKE_ACTIONS",
    "CLIFF_WALKING_ACTIONS",
]
