"""The documentation says what the code does: its examples run and print what they show."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_readme_example_runs_and_its_error_bound_is_what_it_says() -> None:
    readme = (ROOT / "README.md").read_text()
    (block,) = [b for b in _python_blocks(readme) if "sq.solve(" in b]
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    stated = float(re.search(r"\(~(\S+) here\)", block).group(1))  # type: ignore[union-attr]
    bound = namespace["res"].error_bound  # type: ignore[attr-defined]
    # the float64 bound depends on the run (BLAS, threads): the README gives its order
    assert stated / 3 <= bound <= stated * 3, bound


def test_every_readme_python_block_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = _python_blocks(readme)
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_readme_leads_with_testing_and_its_setup_commands_are_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    sections = re.findall(r"^## (.+)$", readme, re.M)
    assert sections[:2] == ["Test your implementation", "Solve an MDP"], sections
    assert "softq-ref check mysoft:soft_value --kind value" in readme
    assert "from_gymnasium" in readme and "from_pymdptoolbox" in readme
    setup = readme.split("## Set up")[1].split("\n## ")[0]
    commands = re.findall(r"```bash\n(.*?)\n```", setup, re.S)
    assert commands == [
        "python3 -m pip install . && softq-ref demo",
        'python3 -m pip install -e ".[test]" && HYPOTHESIS_PROFILE=ci python3 -m pytest -q',
    ]
    assert commands[1] in (ROOT / ".ci" / "run").read_text().splitlines()


def _console_runs(text: str) -> list[tuple[list[str], str]]:
    """``(argv, output)`` of every ``$ softq-ref ...`` line of the console blocks with output."""
    runs = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        lines = block.splitlines()
        for i, line in enumerate(lines):
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if line.startswith("$ softq-ref ") and nxt and not nxt.startswith("$"):
                runs.append((shlex.split(line[2:].split("#")[0])[1:], nxt))
    return runs


def _example_files(tmp: Path, example: str) -> None:
    """The files the console examples of docs/cli.md read: the example and four bad ones."""
    (tmp / "spec.json").write_text(example)
    bad = json.loads(example)
    bad["transitions"][1][0] = [0.9, 0]
    (tmp / "bad.json").write_text(json.dumps(bad))
    (tmp / "typo.json").write_text(example.replace('"gamma"', '"gama"'))
    (tmp / "nan.json").write_text(example.replace('"1/2"]]', "NaN]]"))
    (tmp / "dup.json").write_text(  # sparse transitions listing (0, 0, 0) twice
        '{"transitions": {"shape": [1, 1, 1], "entries": [[0, 0, 0, 1], [0, 0, 0, 1]]}, '
        '"rewards": [[0]], "gamma": 0.5, "alpha": 1}'
    )


def test_cli_md_console_examples_print_what_the_code_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from softq_ref.cli import main

    text = (ROOT / "docs" / "cli.md").read_text()
    example = re.search(r"## The JSON MDP format.*?```json\n(.*?)```", text, re.S).group(1)  # type: ignore[union-attr]
    _example_files(tmp_path, example)
    monkeypatch.chdir(tmp_path)
    runs = _console_runs(text)
    assert len(runs) >= 5
    for argv, shown in runs:
        status = main(argv)
        out, err = capsys.readouterr()
        if shown.startswith("softq-ref: error:"):
            assert status == 2 and err.strip() == shown, argv
            continue
        assert status == 0, (argv, err)
        got, doc = json.loads(out), json.loads(shown)
        if got["digits"] is None:
            # float64: the bound, the values' last bits and the number of refinement steps
            # depend on the run (BLAS, threads); docs/cli.md says so
            assert doc["error_bound"] / 3 <= got.pop("error_bound") <= doc.pop("error_bound") * 3
            assert got.pop("iterations") >= 1 and doc.pop("iterations") >= 1
            for key in ("Q", "V", "policy"):
                np.testing.assert_allclose(got.pop(key), doc.pop(key), rtol=1e-14, atol=1e-15)
        assert got == doc, argv


def test_every_citation_points_into_the_repository() -> None:
    """Code, ``--help`` and docs cite docs/conventions.md, never a file the repository lacks."""
    spec = "SP" + "EC"  # spelled apart so that this file does not match itself
    files = [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("proofs/**/*.*")]
    files += [*ROOT.glob("softq_ref/**/*.py"), *ROOT.glob("tests/**/*.py")]
    files += [*ROOT.glob("benchmarks/*.py")]
    for path in files:
        if path.suffix in {".py", ".md", ".ipynb"}:
            assert not re.search(rf"\b{spec}\b", path.read_text()), path
    assert (ROOT / "docs" / "conventions.md").is_file()
    for n in range(1, 6):
        assert f"\n## {n}. " in (ROOT / "docs" / "conventions.md").read_text()
