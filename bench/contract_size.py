"""Print the contract's size per module: lines, code lines and public names, then ``__all__``'s length.

Code lines are the lines that are not blank, a comment or a docstring; public names are the module-level
functions, classes and assigned names that do not start with ``_`` (``__init__.py``'s re-exports not counted)::

    python bench/contract_size.py            # registry/
    python bench/contract_size.py FOLDER     # another package folder
"""
from __future__ import annotations

import argparse
import ast
import io
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def docstring_lines(tree: ast.AST) -> set[int]:
    """Line numbers of every module, class and function docstring."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def code_lines(source: str, tree: ast.AST) -> int:
    """Lines that are neither blank, nor only a comment, nor part of a docstring."""
    text = source.splitlines()
    comments = {tok.start[0] for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                if tok.type == tokenize.COMMENT and text[tok.start[0] - 1].lstrip().startswith("#")}
    skip = comments | docstring_lines(tree)
    return sum(1 for number, line in enumerate(text, 1) if line.strip() and number not in skip)


def public_names(tree: ast.Module) -> list[str]:
    """Module-level defs, classes and assigned names not starting with ``_``."""
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [n for n in names if not n.startswith("_")]


def all_length(init: Path) -> int:
    """Length of ``__all__`` in ``init``, counting ``__all__ = [...]`` and ``__all__ += [...]``."""
    total = 0
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id == "__all__" and isinstance(node, (ast.Assign, ast.AugAssign)):
            total += len(ast.literal_eval(node.value))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(ROOT / "registry"))
    folder = Path(parser.parse_args().folder)
    totals = [0, 0, 0]
    print(f"{'module':<20} {'lines':>6} {'code':>6} {'public':>6}")
    for path in sorted(folder.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        row = [len(source.splitlines()), code_lines(source, tree),
               0 if path.name == "__init__.py" else len(public_names(tree))]
        totals = [t + r for t, r in zip(totals, row)]
        print(f"{path.name:<20} {row[0]:>6} {row[1]:>6} {row[2]:>6}")
    print(f"{'total':<20} {totals[0]:>6} {totals[1]:>6} {totals[2]:>6}")
    print(f"__all__: {all_length(folder / '__init__.py')} names")


if __name__ == "__main__":
    main()
