"""The engine (tim_bench/) and the contract (registry/) name no dataset: class counts, dataset and metric names live
in the benchmark plugins.

Issue 12's check is ``grep -rn "EPIC\\|97\\|300\\|AVE" tim_bench/`` with docstrings aside; here every Python
file is tokenized and only code (names, numbers, strings that are not docstrings) is searched, and every
other file (the ``new-plugin`` templates) is searched whole.
"""
from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

from tim_bench.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "tim_bench"
CONTRACT = ROOT / "registry"
DATASET_FACTS = re.compile(r"EPIC|97|300|AVE|3806|Perception")


def docstring_starts(tree: ast.AST) -> set[tuple[int, int]]:
    """(line, column) of every module, class and function docstring."""
    starts = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                starts.add((first.lineno, first.col_offset))
    return starts


def code_hits(path: Path) -> list[str]:
    """``path:line: token`` for each code token (not a comment or docstring) that names a dataset fact."""
    source = path.read_text(encoding="utf-8")
    docstrings = docstring_starts(ast.parse(source))
    hits = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT or (token.type == tokenize.STRING and token.start in docstrings):
            continue
        if DATASET_FACTS.search(token.string):
            hits.append(f"{path}:{token.start[0]}: {token.string}")
    return hits


def test_the_check_finds_a_fact_in_code_but_not_in_docstrings_or_comments(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('"""EPIC has 97 verbs."""\n\n\ndef f():\n    """AVE."""\n    return 300  # EPIC nouns\n'
                      'NAME = "Perception"\n')
    assert [h.split(": ", 1)[1] for h in code_hits(sample)] == ["300", '"Perception"']


def test_no_engine_or_contract_file_holds_a_dataset_fact():
    hits = []
    files = [p for root in (ENGINE, CONTRACT) for p in root.rglob("*")]
    for path in sorted(p for p in files if p.is_file() and "__pycache__" not in p.parts):
        if path.suffix == ".py":
            hits += code_hits(path)
        else:
            hits += [f"{path}:{n}: {line.strip()}"
                     for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                     if DATASET_FACTS.search(line)]
    assert hits == []


def test_plugins_lists_the_original_datasets_of_each_benchmark(capsys):
    assert main(["plugins"]) == 0
    listing = capsys.readouterr().out.split("original_datasets (3)\n", 1)[1]
    rows = [line.split() for line in listing.splitlines()[2:5]]
    assert rows == [["ave", "built-in:", "tim_bench_plugins.ave.original"],
                    ["epic", "built-in:", "tim_bench_plugins.epic.original"],
                    ["perception", "built-in:", "tim_bench_plugins.perception_test.original"]]
