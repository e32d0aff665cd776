"""The machine-checked theorems in ``proofs/coq/``: they check, with no admitted lemma
and no axiom beyond those of Coq's real numbers.

The same check as ``.ci/run``: ``make`` (every proof, then ``Print Assumptions`` for
each main theorem), on a fresh copy of the directory so that no stale ``.vo`` file is
reused. Outside CI (``CI`` unset) the tests skip when ``coqc`` is not installed; in CI
a missing ``coqc`` is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

COQ = Path(__file__).resolve().parent.parent / "proofs" / "coq"

# The axioms of Coq's real numbers library (Coq 8.16): the classical Dedekind
# construction of R uses the first three; the standard library's exp and ln
# (e.g. Print Assumptions ln_exp) add the excluded middle. Nothing else is allowed.
ALLOWED_AXIOMS = {
    "ClassicalDedekindReals.sig_forall_dec",
    "ClassicalDedekindReals.sig_not_dec",
    "FunctionalExtensionality.functional_extensionality_dep",
    "Classical_Prop.classic",
}

SOURCES = sorted(COQ.glob("*.v"))


def _coq_installed() -> bool:
    if not all(shutil.which(tool) for tool in ("coqc", "coq_makefile", "make")):
        return False
    where = subprocess.run(["coqc", "-where"], capture_output=True, text=True).stdout.strip()
    return all((Path(where) / "user-contrib" / lib).is_dir() for lib in ("Coquelicot", "Flocq"))


def _require_coqc() -> None:
    if _coq_installed():
        return
    message = (
        "coqc, Coquelicot or Flocq not found: install Coq 8.16, Coquelicot 3.2 and Flocq 4.1 "
        "(apt-get install coq libcoq-coquelicot libcoq-flocq) to check proofs/coq"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of ``proofs/coq`` on which ``make`` has succeeded."""
    _require_coqc()
    work = tmp_path_factory.mktemp("coq")
    for name in [*(p.name for p in SOURCES), "Makefile", "_CoqProject", "allowed_axioms.txt"]:
        shutil.copy(COQ / name, work / name)
    run = subprocess.run(["make", "-C", str(work)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    return work


def _assumption_blocks(output: str) -> list[set[str]]:
    """The axioms listed by each ``Print Assumptions`` in ``output``, in order."""
    blocks: list[set[str]] = []
    for line in output.splitlines():
        if line == "Axioms:":
            blocks.append(set())
        elif line.startswith("Closed under the global context"):
            blocks.append(set())
        elif line and not line[0].isspace():
            assert blocks, f"unexpected output before the first block: {line!r}"
            blocks[-1].add(line.split(" :")[0].strip())
    return blocks


def _main_theorems() -> list[str]:
    """The theorems whose assumptions ``Assumptions.v`` prints, in order."""
    text = (COQ / "Assumptions.v").read_text()
    return re.findall(r"^Print Assumptions (\w+)\.$", text, flags=re.MULTILINE)


def test_proofs_check_and_use_only_the_real_number_axioms(checked: Path) -> None:
    blocks = _assumption_blocks((checked / "assumptions.out").read_text())
    theorems = _main_theorems()
    assert len(blocks) == len(theorems)
    for name, axioms in zip(theorems, blocks, strict=True):
        assert axioms <= ALLOWED_AXIOMS, f"{name} uses {sorted(axioms - ALLOWED_AXIOMS)}"


def test_makefile_allows_exactly_the_real_number_axioms() -> None:
    listed = set((COQ / "allowed_axioms.txt").read_text().split())
    assert listed == ALLOWED_AXIOMS


def test_no_admitted_lemma_and_no_axiom_of_our_own() -> None:
    forbidden = re.compile(r"\b(Admitted|admit|Axiom|Axioms|Parameter|Parameters|Conjecture)\b")
    for source in SOURCES:
        code = re.sub(r"\(\*.*?\*\)", "", source.read_text(), flags=re.DOTALL)
        assert not forbidden.search(code), f"{source.name}: {forbidden.search(code)}"


def test_every_theorem_has_its_assumptions_printed() -> None:
    printed = set(_main_theorems())
    for source in SOURCES:
        stated = re.findall(r"^(?:Theorem|Corollary) (\w+)", source.read_text(), re.MULTILINE)
        missing = set(stated) - printed
        assert not missing, f"{source.name}: add Print Assumptions for {sorted(missing)}"


def _normalised(text: str) -> str:
    return " ".join(re.sub(r"\(\*.*?\*\)", " ", text, flags=re.DOTALL).split())


def test_coq_statements_quoted_in_the_docs_are_those_of_the_files() -> None:
    """Every ```coq block of proofs/README.md and of the notebook sources is copied from
    ``proofs/coq/`` (each paragraph of it verbatim, up to whitespace and comments)."""
    coq_text = _normalised("\n".join(p.read_text() for p in SOURCES))
    docs = [COQ.parent / "README.md", *sorted((COQ.parent / "sources").glob("*.py"))]
    quoted = 0
    for doc in docs:
        for block in re.findall(r"```coq\n(.*?)```", doc.read_text(), flags=re.DOTALL):
            for paragraph in re.split(r"\n\s*\n", block):
                if _normalised(paragraph):
                    quoted += 1
                    assert _normalised(paragraph) in coq_text, f"{doc.name}: {paragraph}"
    assert quoted > 0
