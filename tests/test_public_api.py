"""The public surface: the names a user imports, and the signatures they call.

Written before the package was split into subpackages (issue 11), so that the
split provably changed no public import path and no signature. The signatures
are compared without annotations of the return value (what the call accepts).
The certified solver's names are checked by name only: their signatures belong
to its own issue.
"""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest

import softq_ref as sq

TOP_LEVEL = [
    "ExactMDP",
    "FiniteMDP",
    "InvalidArgumentError",
    "InvalidMDPError",
    "PolicyEvaluation",
    "SolveResult",
    "CertifiedSolution",
    "MDPProblem",
    "dumps_mdp",
    "load_mdp",
    "load_problem",
    "save_mdp",
    "solve_certified",
    "bellman_operator",
    "evaluate_policy",
    "policy_operator",
    "soft_policy_iteration",
    "soft_q_iteration",
    "solve",
    "policy_entropy",
    "policy_kl",
    "soft_policy",
    "soft_value",
    "soft_value_and_policy",
    # exported by issue 17 (notebook 09)
    "continuous_soft_value",
    "importance_sampled_soft_value",
    "soft_q_target",
    "soft_q_loss",
    "svgd",
]

FACES = {
    "softq_ref.continuous": [
        "ContinuousSoftValue",
        "ContinuousSoftPolicy",
        "GaussianSoftPolicy",
        "continuous_soft_value",
        "continuous_soft_policy",
        "quadratic_soft_policy",
        "quadratic_soft_value",
        "gaussian_prior_soft_policy",
        "box_quadratic_soft_value",
    ],
    "softq_ref.strategies": [
        "mdps",
        "sparse_mdps",
        "q_tables",
        "temperatures",
        "gammas",
        "distributions",
        "sizes",
    ],
    "softq_ref.conformance": [
        "KINDS",
        "DEFAULT_RTOL",
        "DEFAULT_ATOL",
        "ConformanceReport",
        "check",
        "check_operator",
        "check_solver",
        "check_value",
        "check_policy",
        "check_value_solver",
        "check_policy_solver",
        "check_horizon_solver",
        "add_arguments",
        "run",
        "main",
    ],
    "softq_ref.certified": ["CertifiedSolution", "solve_certified"],
    "softq_ref.testing": ["assert_soft_optimal", "assert_value", "assert_policy"],
    "softq_ref.cli": ["main"],
    # the subpackages' faces (issue 11): every public name of a moved module
    "softq_ref.float64": [
        "SolveResult",
        "solve",
        "soft_q_iteration",
        "soft_policy_iteration",
        "Certificate",
        "certify",
        "lse_allowance",
        "prior_entropy_range",
        "EXTENDED",
        "UNIT_ROUNDOFF",
    ],
    "softq_ref.io": [
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
    ],
    "softq_ref.continuous.lqr": ["MaxEntLQRSolution", "solve_max_entropy_lqr"],
    "softq_ref.continuous.svgd": ["median_bandwidth", "svgd_direction", "svgd_step", "svgd"],
    "softq_ref.continuous.learning": [
        "importance_sampled_soft_value",
        "soft_q_target",
        "soft_q_target_from_table",
        "soft_q_loss",
    ],
    "softq_ref.cli.demo": ["EXAMPLE_JSON", "example_mdp", "run_demo"],
    "softq_ref.plot": [
        "policy_map",
        "residual_history",
        "value_against_alpha",
        "FROZEN_LAKE_ACTIONS",
        "CLIFF_WALKING_ACTIONS",
    ],
}

SIGNATURES = {
    "softq_ref.continuous_soft_value": "(Q: 'Callable[[Any], Any]', alpha: 'float', low: 'float', high: 'float', *, prior: 'Callable[[Any], Any] | None' = None, digits: 'int' = 20)",
    "softq_ref.importance_sampled_soft_value": "(q_values: 'ArrayLike', log_proposal: 'ArrayLike', alpha: 'float', *, prior: 'ArrayLike | None' = None)",
    "softq_ref.soft_q_target": "(rewards: 'ArrayLike', next_values: 'ArrayLike', gamma: 'float', *, probabilities: 'ArrayLike | None' = None, terminals: 'ArrayLike | None' = None)",
    "softq_ref.soft_q_loss": "(targets: 'ArrayLike', q_values: 'ArrayLike')",
    "softq_ref.svgd": "(particles: 'ArrayLike', grad_log_p: 'Callable[[FloatArray], ArrayLike]', step_size: 'float', iterations: 'int')",
    "softq_ref.ExactMDP": "(transitions: 'NDArray[np.object_]', rewards: 'NDArray[np.object_]', prior: 'NDArray[np.object_] | None', gamma: 'Fraction')",
    "softq_ref.FiniteMDP": "(transitions: 'ArrayLike', rewards: 'ArrayLike', gamma: 'Any', *, prior: 'ArrayLike | None' = None, termination: 'bool' = False, horizon: 'int | None' = None, name: 'str | None' = None, description: 'str | None' = None)",
    "softq_ref.PolicyEvaluation": "(Q: 'FloatArray', V: 'FloatArray')",
    "softq_ref.SolveResult": "(Q: 'FloatArray', V: 'FloatArray', policy: 'FloatArray', iterations: 'int', residual: 'float', error_bound: 'float', alpha: 'float', gamma: 'float', method: 'str', residuals: 'tuple[float, ...]' = (), *, success: 'bool', status: 'int', message: 'str', refinement_steps: 'int' = 0)",
    "softq_ref.MDPProblem": "(mdp: 'FiniteMDP', alpha: 'Fraction | None')",
    "softq_ref.dumps_mdp": "(mdp: 'FiniteMDP', *, alpha: 'Any' = None)",
    "softq_ref.load_mdp": "(path: 'str | os.PathLike[str]')",
    "softq_ref.load_problem": "(path: 'str | os.PathLike[str]')",
    "softq_ref.save_mdp": "(mdp: 'FiniteMDP', path: 'str | os.PathLike[str]', *, alpha: 'Any' = None)",
    "softq_ref.bellman_operator": "(mdp: 'FiniteMDP', Q: 'ArrayLike', alpha: 'float')",
    "softq_ref.evaluate_policy": "(mdp: 'FiniteMDP', policy: 'ArrayLike', alpha: 'float')",
    "softq_ref.policy_operator": "(mdp: 'FiniteMDP', Q: 'ArrayLike', policy: 'ArrayLike', alpha: 'float')",
    "softq_ref.soft_policy_iteration": "(mdp: 'FiniteMDP', alpha: 'Any', *, max_iterations: 'int' = 200, V0: 'ArrayLike | None' = None, callback: 'Callback | None' = None, verbose: 'bool | None' = None)",
    "softq_ref.soft_q_iteration": "(mdp: 'FiniteMDP', alpha: 'Any', *, tol: 'float' = 1e-12, max_iterations: 'int' = 1000000, Q0: 'ArrayLike | None' = None, callback: 'Callback | None' = None, verbose: 'bool | None' = None)",
    "softq_ref.solve": "(mdp: 'FiniteMDP', alpha: 'Any', *, max_iterations: 'int' = 200, refinements: 'int' = 5, linear_solver: 'str' = 'auto', callback: 'Callback | None' = None, verbose: 'bool | None' = None)",
    "softq_ref.policy_entropy": "(policy: 'ArrayLike', prior: 'ArrayLike | None' = None)",
    "softq_ref.policy_kl": "(policy: 'ArrayLike', prior: 'ArrayLike | None' = None)",
    "softq_ref.soft_policy": "(Q: 'ArrayLike', alpha: 'float', prior: 'ArrayLike | None' = None, *, axis: 'int' = -1)",
    "softq_ref.soft_value": "(Q: 'ArrayLike', alpha: 'float', prior: 'ArrayLike | None' = None, *, axis: 'int' = -1)",
    "softq_ref.soft_value_and_policy": "(Q: 'ArrayLike', alpha: 'float', prior: 'ArrayLike | None' = None, *, axis: 'int' = -1)",
    "softq_ref.continuous.ContinuousSoftValue": "(value: 'Any', error_estimate: 'Any', digits: 'int', peak: 'Any', breakpoints: 'tuple[Any, ...]')",
    "softq_ref.continuous.ContinuousSoftPolicy": "(Q: 'Callable[[Any], Any]', alpha: 'float', low: 'float', high: 'float', prior: 'Callable[[Any], Any] | None', soft_value: 'ContinuousSoftValue')",
    "softq_ref.continuous.GaussianSoftPolicy": "(value: 'float', mean: 'FloatArray', covariance: 'FloatArray')",
    "softq_ref.continuous.continuous_soft_value": "(Q: 'Callable[[Any], Any]', alpha: 'float', low: 'float', high: 'float', *, prior: 'Callable[[Any], Any] | None' = None, digits: 'int' = 20)",
    "softq_ref.continuous.continuous_soft_policy": "(Q: 'Callable[[Any], Any]', alpha: 'float', low: 'float', high: 'float', *, prior: 'Callable[[Any], Any] | None' = None, digits: 'int' = 20)",
    "softq_ref.continuous.quadratic_soft_policy": "(K: 'ArrayLike', m: 'ArrayLike', c: 'float', alpha: 'float')",
    "softq_ref.continuous.quadratic_soft_value": "(K: 'ArrayLike', m: 'ArrayLike', c: 'float', alpha: 'float', *, digits: 'int | None' = None)",
    "softq_ref.continuous.gaussian_prior_soft_policy": "(K: 'ArrayLike', m: 'ArrayLike', c: 'float', alpha: 'float', prior_mean: 'ArrayLike', prior_covariance: 'ArrayLike')",
    "softq_ref.continuous.box_quadratic_soft_value": "(k: 'float', m: 'float', c: 'float', alpha: 'float', low: 'float', high: 'float', *, digits: 'int | None' = None)",
    "softq_ref.strategies.mdps": "(*, states: 'int | tuple[int, int] | SearchStrategy[int]' = (1, 4), actions: 'int | tuple[int, int] | SearchStrategy[int]' = (1, 3), gamma: 'float | tuple[float, float] | SearchStrategy[float]' = (0.0, 0.95), reward_scale: 'float' = 10.0, prior: 'bool | SearchStrategy[bool]' = False, prior_zeros: 'bool' = True, termination: 'bool | SearchStrategy[bool]' = False, rewards_3d: 'bool | SearchStrategy[bool]' = False, horizon: 'int | None | tuple[int, int] | SearchStrategy[int | None]' = None)",
    "softq_ref.strategies.sparse_mdps": "(*, states: 'int | tuple[int, int] | SearchStrategy[int]' = (20, 200), actions: 'int | tuple[int, int] | SearchStrategy[int]' = (1, 3), successors: 'int | tuple[int, int] | SearchStrategy[int]' = (1, 3), gamma: 'float | tuple[float, float] | SearchStrategy[float]' = (0.0, 0.95), reward_scale: 'float' = 10.0, prior: 'bool | SearchStrategy[bool]' = False, prior_zeros: 'bool' = True, termination: 'bool | SearchStrategy[bool]' = False, horizon: 'int | None | tuple[int, int] | SearchStrategy[int | None]' = None)",
    "softq_ref.strategies.q_tables": "(states: 'int', actions: 'int', *, scale: 'float' = 100.0)",
    "softq_ref.strategies.temperatures": "(min_value: 'float' = 0.001, max_value: 'float' = 1000.0, *, zero: 'bool' = True)",
    "softq_ref.strategies.gammas": "(min_value: 'float' = 0.0, max_value: 'float' = 0.95)",
    "softq_ref.strategies.distributions": "(n: 'int', *, allow_zeros: 'bool' = True)",
    "softq_ref.strategies.sizes": "(min_value: 'int' = 1, max_value: 'int' = 24, *, small: 'int' = 4)",
    "softq_ref.conformance.ConformanceReport": "(ok: 'bool', kind: 'str', target: 'str', text: 'str', examples: 'int', worst_ratio: 'float', counterexample: 'Path | None' = None, failure: 'Failure | None' = None, diagnosis: 'tuple[str, ...]' = ())",
    "softq_ref.conformance.check": "(fn: 'Callable[..., Any]', kind: 'str', *, rtol: 'float | None' = None, atol: 'float | None' = None, examples: 'int' = 100, seed: 'int | None' = None, alpha_range: 'tuple[float, float]' = (0.001, 1000.0), alpha: 'float | None' = None, gamma_min: 'float' = 0.0, gamma_max: 'float | None' = None, max_states: 'int' = 12, max_actions: 'int' = 6, max_horizon: 'int' = 12, rewards: 'str' = 'state-action', mdp_files: 'Sequence[str | os.PathLike[str]]' = (), array: 'str' = 'numpy', save_dir: 'str | os.PathLike[str] | None' = None, replay: 'str | os.PathLike[str] | None' = None, target: 'str | None' = None)",
    "softq_ref.conformance.check_operator": "(fn: 'Callable[..., Any]', **options: 'Any')",
    "softq_ref.conformance.check_solver": "(fn: 'Callable[..., Any]', **options: 'Any')",
    "softq_ref.conformance.check_value": "(fn: 'Callable[..., Any]', **options: 'Any')",
    "softq_ref.conformance.check_policy": "(fn: 'Callable[..., Any]', **options: 'Any')",
    "softq_ref.conformance.check_value_solver": "(fn: 'Callable[..., Any]', **options: 'Any')",
    "softq_ref.conformance.check_policy_solver": "(fn: 'Callable[..., Any]', **options: 'Any')",
    "softq_ref.conformance.check_horizon_solver": "(fn: 'Callable[..., Any]', **options: 'Any')",
    "softq_ref.conformance.add_arguments": "(parser: 'argparse.ArgumentParser')",
    "softq_ref.conformance.run": "(args: 'argparse.Namespace')",
    "softq_ref.conformance.main": "(argv: 'Sequence[str] | None' = None)",
    "softq_ref.testing.assert_soft_optimal": "(Q: 'ArrayLike', mdp: 'FiniteMDP', alpha: 'Any', *, horizon: 'int | None' = None, rtol: 'float | None' = None, atol: 'float | None' = None)",
    "softq_ref.testing.assert_value": "(V: 'ArrayLike', mdp: 'FiniteMDP', alpha: 'Any', *, horizon: 'int | None' = None, rtol: 'float | None' = None, atol: 'float | None' = None)",
    "softq_ref.testing.assert_policy": "(pi: 'ArrayLike', mdp: 'FiniteMDP', alpha: 'Any', *, horizon: 'int | None' = None, rtol: 'float | None' = None, atol: 'float | None' = None)",
}


def test_the_package_exports_exactly_its_public_names() -> None:
    assert sorted(sq.__all__) == sorted(TOP_LEVEL)
    for name in TOP_LEVEL:
        assert getattr(sq, name) is not None
    assert sq.__version__ == "0.1.0"


@pytest.mark.parametrize("module", sorted(FACES))
def test_each_public_module_offers_its_names(module: str) -> None:
    mod = importlib.import_module(module)
    for name in FACES[module]:
        assert hasattr(mod, name), f"{module}.{name} is gone"


def test_top_level_names_are_the_same_objects_as_in_their_faces() -> None:
    from softq_ref import certified, float64, io

    assert sq.solve_certified is certified.solve_certified
    assert sq.CertifiedSolution is certified.CertifiedSolution
    assert sq.solve is float64.solve and sq.SolveResult is float64.SolveResult
    assert sq.load_mdp is io.load_mdp and sq.MDPProblem is io.MDPProblem


@pytest.mark.parametrize("module", sorted(FACES))
def test_each_face_declares_what_it_offers(module: str) -> None:
    mod = importlib.import_module(module)
    assert set(FACES[module]) <= set(mod.__all__)


@pytest.mark.parametrize("path", sorted(SIGNATURES))
def test_public_signatures_are_unchanged(path: str) -> None:
    module, _, name = path.rpartition(".")
    obj = getattr(importlib.import_module(module), name)
    sig = inspect.signature(obj).replace(return_annotation=inspect.Signature.empty)
    assert str(sig) == SIGNATURES[path]


def test_bad_input_errors_are_value_errors() -> None:
    assert issubclass(sq.InvalidMDPError, ValueError)
    assert issubclass(sq.InvalidMDPError, sq.InvalidArgumentError)
    assert issubclass(sq.InvalidArgumentError, ValueError)


def test_the_command_line_entry_points_run() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "softq_ref", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and "0.1.0" in out.stdout
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "softq-ref"]
    assert ep.value == "softq_ref.cli:main"
    assert ep.load() is importlib.import_module("softq_ref.cli").main
