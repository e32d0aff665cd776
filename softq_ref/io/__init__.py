"""Getting MDPs in and out: the JSON format, the golden catalog, environment adapters.

* :mod:`~softq_ref.io.jsonio`: the JSON MDP format, read exactly and written
  losslessly (``docs/conventions.md``, "The JSON MDP format");
* :mod:`~softq_ref.io.catalog`: the MDPs of the golden catalog;
* :mod:`~softq_ref.io.golden`: the catalog writer and reader
  (``softq-ref golden``);
* :mod:`~softq_ref.io.envs`: Gymnasium's toy-text environments and
  pymdptoolbox to :class:`~softq_ref.FiniteMDP` and back (``env.P`` tables, absorbing states);
* :mod:`~softq_ref.io.gridworld`: a slippery gridworld with sparse transitions.
"""

from __future__ import annotations

from softq_ref.io.catalog import CASES, CatalogCase, cases
from softq_ref.io.envs import (
    cliff_walking,
    from_gymnasium,
    from_pymdptoolbox,
    frozen_lake,
    taxi,
    to_gymnasium_table,
    to_pymdptoolbox,
)
from softq_ref.io.golden import FORMAT, VERSION, load_catalog, write_catalog
from softq_ref.io.gridworld import gridworld
from softq_ref.io.jsonio import (
    KEYS,
    MDPProblem,
    dumps_mdp,
    exact_text,
    load_mdp,
    load_problem,
    loads_mdp,
    loads_problem,
    save_mdp,
)

__all__ = [
    "MDPProblem",
    "KEYS",
    "load_mdp",
    "load_problem",
    "loads_mdp",
    "loads_problem",
    "dumps_mdp",
    "save_mdp",
    "exact_text",
    "CatalogCase",
    "CASES",
    "cases",
    "write_catalog",
    "load_catalog",
    "FORMAT",
    "VERSION",
    "from_gymnasium",
    "frozen_lake",
    "cliff_walking",
    "taxi",
    "from_pymdptoolbox",
    "to_pymdptoolbox",
    "to_gymnasium_table",
    "gridworld",
]
