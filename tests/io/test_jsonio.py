"""The JSON MDP format (docs/conventions.md sections 2 and 3): exact reading, lossless writing, located errors."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from softq_ref import FiniteMDP, InvalidMDPError
from softq_ref.io.jsonio import (
    KEYS,
    dumps_mdp,
    exact_text,
    load_mdp,
    load_problem,
    loads_mdp,
    loads_problem,
    save_mdp,
)
from softq_ref.strategies import mdps, temperatures

# docs/conventions.md section 3's example, verbatim.
CONVENTIONS_EXAMPLE = """{
  "transitions": [[[0.5, 0.5], [1, 0]], [[0, 1], [0, 1]]],
  "rewards": [["1", "0"], ["0", "1/2"]],
  "gamma": "9/10",
  "prior": [[1, 1], [1, 0]],
  "termination": false,
  "alpha": "0.1"
}"""


def _spec_obj(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(CONVENTIONS_EXAMPLE)
    for key, value in changes.items():
        if value is _DELETE:
            del obj[key]
        else:
            obj[key] = value
    return obj


_DELETE = object()


def _deeply_nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _exact_equal(a: FiniteMDP, b: FiniteMDP) -> bool:
    ea, eb = a.exact, b.exact
    same_prior = (ea.prior is None and eb.prior is None) or (
        ea.prior is not None and eb.prior is not None and (ea.prior == eb.prior).all()
    )
    return bool(
        ea.gamma == eb.gamma
        and ea.transitions.shape == eb.transitions.shape
        and (ea.transitions == eb.transitions).all()
        and a.reward_transitions.shape == b.reward_transitions.shape
        and all(
            Fraction(x) == Fraction(y)
            for x, y in zip(a.reward_transitions.flat, b.reward_transitions.flat, strict=True)
        )
        and same_prior
        and a.termination == b.termination
        and a.horizon == b.horizon
        and a.name == b.name
        and a.description == b.description
    )


def test_spec_example_is_read_exactly() -> None:
    problem = loads_problem(CONVENTIONS_EXAMPLE)
    mdp, ex = problem.mdp, problem.mdp.exact
    assert problem.alpha == Fraction(1, 10)  # the string "0.1" is one tenth exactly
    assert ex.gamma == Fraction(9, 10)
    assert ex.rewards[1, 1] == Fraction(1, 2)
    assert ex.transitions[0, 0, 0] == Fraction(1, 2)
    assert mdp.prior is not None and mdp.prior.tolist() == [[1.0, 1.0], [1.0, 0.0]]
    assert mdp.termination is False


def test_a_json_number_is_the_double_it_denotes_and_a_string_is_exact() -> None:
    text = json.dumps({"transitions": [[[1]]], "rewards": [[0.1]], "gamma": 0.9, "alpha": 0.1})
    problem = loads_problem(text)
    # Fraction(0.1) is the exact binary value of the double nearest 0.1 (Python's float parsing).
    assert problem.alpha == Fraction(0.1) != Fraction(1, 10)
    assert problem.mdp.exact.rewards[0, 0] == Fraction(0.1)
    assert problem.mdp.exact.gamma == Fraction(0.9)
    text = json.dumps({"transitions": [[[1]]], "rewards": [["0.1"]], "gamma": "0.9"})
    assert loads_mdp(text).exact.rewards[0, 0] == Fraction(1, 10)
    assert loads_problem(text).alpha is None


def test_large_integers_that_are_doubles_are_accepted_exactly() -> None:
    # 2**60 is a double (a power of two); the literal is read as that exact integer.
    text = '{"transitions": [[[1]]], "rewards": [[1152921504606846976]], "gamma": 0}'
    assert loads_mdp(text).exact.rewards[0, 0] == 2**60


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("NaN", "rewards[1, 1] is NaN"),
        ("Infinity", "rewards[1, 1] is Infinity"),
        ("-Infinity", "rewards[1, 1] is -Infinity"),
        ("1e400", "rewards[1, 1] is 1e400, which overflows a double"),
        ("-1e400", "rewards[1, 1] is -1e400, which overflows a double"),
        ("1" + "0" * 400, "rewards[1, 1] is 1000"),  # beyond the largest double
        ("1" + "0" * 5000, "rewards[1, 1] is 1000"),  # beyond Python's int() digit limit
        # 2**53 + 1 is the smallest positive integer that is not a double.
        ("9007199254740993", 'write it as a string, "9007199254740993"'),
        ("true", "rewards[1, 1] is true; expected a number"),
        ("null", "rewards[1, 1] is null; expected a number"),
        ('"abc"', "rewards[1, 1] is 'abc', not a number"),
        ('"1/0"', "rewards[1, 1] is '1/0': division by zero"),
        ("{}", "rewards[1, 1] is an object; expected a number"),
    ],
)
def test_every_number_that_is_not_a_finite_double_or_exact_string_is_refused_naming_it(
    literal: str, expected: str
) -> None:
    text = CONVENTIONS_EXAMPLE.replace('"1/2"', literal)
    with pytest.raises(InvalidMDPError) as info:
        loads_problem(text, source="m.json")
    assert str(info.value).startswith("m.json: ")
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"gama": 0.9}, "unknown key 'gama' (did you mean 'gamma'?)"),
        ({"priors": [[1, 1], [1, 1]]}, "unknown key 'priors' (did you mean 'prior'?)"),
        ({"zzz": 1}, "unknown key 'zzz'; the keys are"),
        ({"gamma": _DELETE}, "the required key 'gamma' is missing"),
        ({"transitions": _DELETE}, "the required key 'transitions' is missing"),
        ({"gamma": 1}, "gamma is 1; it must lie in [0, 1)"),
        ({"gamma": "-1/10"}, "gamma is -1/10; it must lie in [0, 1)"),
        ({"alpha": "-0.1"}, "alpha is -0.1; the temperature must be >= 0"),
        ({"alpha": "x"}, "alpha is 'x', not a number"),
        ({"prior": [[1, 1], [0, 0]]}, "prior[1, :] has no positive weight"),
        ({"prior": [[1, -1], [1, 0]]}, "prior[0, 1] is -1"),
        ({"prior": [[1, 1]]}, "prior has 1 entry; expected 2"),
        ({"termination": 0}, "termination is 0; expected true or false"),
        ({"horizon": 0}, "horizon is 0; expected an integer >= 1"),
        ({"horizon": 2.0}, "horizon is 2.0; expected an integer >= 1"),
        ({"name": 3}, "name is 3; expected a string"),
        (
            {"transitions": [[[0.5, 0.5], [1, 0]], [[0, 1], [0, 1, 0]]]},
            "transitions[1, 1] has 3 entries where transitions[0, 0] has 2",
        ),
        (
            {"transitions": [[[0.5, 0.5], [1, 0]], [[0, 1], 1]]},
            "transitions[1, 1] is 1 where transitions[0, 0] is a list",
        ),
        (
            {"transitions": [[[-0.5, 1.5], [1, 0]], [[0, 1], [0, 1]]]},
            "transitions[0, 0, 0] is -0.5; probabilities must be >= 0",
        ),
        (
            {"transitions": [[[0.5, 0.5], [1, 0]], [[0, 1], [0, "9/10"]]]},
            "transitions[1, 1, :] sums to 9/10, not 1",
        ),
        (
            {"transitions": [[[1, 0, 0], [1, 0, 0]], [[1, 0, 0], [1, 0, 0]]]},
            "transitions[0, 0] has 3 entries; expected 2",
        ),
        ({"transitions": []}, "transitions has shape [0]"),
        ({"transitions": 1}, "transitions is 1; expected a [S][A][S] array"),
        ({"rewards": [["1", "0"]]}, "rewards has 1 entry; expected 2"),
        ({"rewards": [["1", "0", "0"], ["0", "0", "0"]]}, "rewards[0] has 3 entries; expected 2"),
        ({"rewards": [1, 2]}, "rewards has 1 levels of lists"),
        ({"rewards": [[[[1]]]]}, "rewards has 4 levels of lists"),
        ({"prior": _deeply_nested(900)}, "prior has 900 levels of lists"),
    ],
)
def test_invalid_files_are_refused_naming_the_key_and_first_offending_index(
    changes: dict[str, Any], expected: str
) -> None:
    text = json.dumps(_spec_obj(**changes))
    with pytest.raises(InvalidMDPError) as info:
        loads_problem(text, source="m.json")
    message = str(info.value)
    assert message.startswith("m.json: ")
    assert expected in message, message
    assert "\n" not in message


def test_a_non_summing_row_in_a_file_suggests_the_termination_key() -> None:
    text = json.dumps(_spec_obj(transitions=[[[0.5, 0.4], [1, 0]], [[0, 1], [0, 1]]]))
    with pytest.raises(InvalidMDPError, match='pass "termination": true'):
        loads_problem(text)
    text = json.dumps(
        _spec_obj(transitions=[[[0.5, 0.4], [1, 0]], [[0, 1], [0, 1]]], termination=True)
    )
    assert loads_problem(text).mdp.termination is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"gamma": 0.9,\n "rewards" [[1]]}', "invalid JSON at line 2, column 12"),
        ("", "invalid JSON at line 1, column 1"),
        ("[1, 2]", "the top level is a list; expected a JSON object"),
        ('{"gamma": 0.5, "gamma": 0.5}', "the key 'gamma' appears twice"),
        ("[" * 100_000, "invalid JSON"),
    ],
)
def test_malformed_json_is_refused_with_its_position(text: str, expected: str) -> None:
    with pytest.raises(InvalidMDPError, match="^m.json: ") as info:
        loads_problem(text, source="m.json")
    assert expected in str(info.value)


def test_load_names_the_file_and_refuses_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(b'{"name": "\xff"}')
    with pytest.raises(InvalidMDPError, match=f"^{path}: not UTF-8 text"):
        load_mdp(path)
    with pytest.raises(FileNotFoundError):
        load_mdp(tmp_path / "missing.json")


def test_the_spec_example_survives_a_file_round_trip(tmp_path: Path) -> None:
    problem = loads_problem(CONVENTIONS_EXAMPLE)
    path = tmp_path / "spec.json"
    save_mdp(problem.mdp, path, alpha=problem.alpha)
    again = load_problem(path)
    assert _exact_equal(problem.mdp, again.mdp)
    assert again.alpha == problem.alpha == Fraction(1, 10)
    assert set(json.loads(path.read_text())) <= set(KEYS)


# ------------------------------------------------------- Hypothesis round trip


def _exact_number() -> st.SearchStrategy[Any]:
    """Floats (exact doubles), small ints and Fractions, as the writer may meet them."""
    return st.one_of(
        st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300),
        st.integers(-(2**53), 2**53),
        st.fractions(max_denominator=10**30),
    )


@st.composite
def _problems(draw: st.DrawFn) -> tuple[FiniteMDP, Any]:
    S = draw(st.integers(1, 3))
    A = draw(st.integers(1, 3))
    termination = draw(st.booleans())
    exact_rows = draw(st.booleans())
    P: list[Any] = []
    for _ in range(S):
        row_s = []
        for _ in range(A):
            w = draw(st.lists(st.integers(0, 1000), min_size=S, max_size=S))
            if sum(w) == 0:
                w[0] = 1
            total = sum(w) + (draw(st.integers(0, 500)) if termination else 0)
            if exact_rows:
                row_s.append([Fraction(x, total) for x in w])
            else:
                row_s.append((np.array(w, float) / total).tolist())
        P.append(row_s)
    r_shape = draw(st.sampled_from([(S, A), (S, A, S)]))
    R = np.empty(r_shape, dtype=object)
    for idx in np.ndindex(r_shape):
        R[idx] = draw(_exact_number())
    if all(isinstance(x, float | int) for x in R.flat):
        R = R.astype(np.float64)
    gamma = draw(st.one_of(st.fractions(0, Fraction(99, 100)), st.floats(0, 0.99)))
    prior = None
    if draw(st.booleans()):
        prior = [
            [draw(st.one_of(st.fractions(0, 5), st.floats(0, 5))) for _ in range(A)]
            for _ in range(S)
        ]
        for row in prior:
            if not any(x > 0 for x in row):
                row[0] = 1
    horizon = draw(st.none() | st.integers(1, 50))
    name = draw(st.none() | st.text(max_size=10))
    mdp = FiniteMDP(P, R, gamma, prior=prior, termination=termination, horizon=horizon, name=name)
    alpha = draw(st.none() | st.fractions(0, 10) | st.floats(0, 10) | st.sampled_from(["0.1"]))
    return mdp, alpha


@settings(deadline=None, max_examples=60)
@given(_problems())
def test_dumps_then_loads_gives_the_same_exact_mdp_and_alpha(
    problem: tuple[FiniteMDP, Any],
) -> None:
    mdp, alpha = problem
    text = dumps_mdp(mdp, alpha=alpha)
    again = loads_problem(text)
    assert _exact_equal(mdp, again.mdp)
    if alpha is None:
        assert again.alpha is None
    else:
        assert again.alpha == Fraction(alpha)
    # Writing again gives the same text: the format has one spelling per value.
    assert dumps_mdp(again.mdp, alpha=again.alpha) == text


@given(
    mdps(
        prior=st.booleans(),
        termination=st.booleans(),
        rewards_3d=st.booleans(),
        horizon=st.none() | st.integers(1, 5),
    ),
    temperatures(),
)
def test_project_strategy_mdps_survive_a_round_trip(mdp: FiniteMDP, alpha: float) -> None:
    again = loads_problem(dumps_mdp(mdp, alpha=alpha))
    assert _exact_equal(mdp, again.mdp)
    assert again.alpha == Fraction(alpha)
    # float64 inputs stay float64 numbers: the solvers see the very same arrays
    np.testing.assert_array_equal(again.mdp.transitions, mdp.transitions)
    np.testing.assert_array_equal(again.mdp.rewards, mdp.rewards)


@given(st.fractions())
@example(Fraction(1, 10))
@example(Fraction(-1, 3))
@example(Fraction(10**40))
@example(Fraction(1, 2**1100))  # below the smallest double: must stay a string
def test_exact_text_reads_back_to_the_same_rational(x: Fraction) -> None:
    from softq_ref.exact import to_fraction

    assert to_fraction(exact_text(x)) == x
