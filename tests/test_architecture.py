"""The import rules that import-linter cannot see: no import hides in a function or behind
``TYPE_CHECKING``, except the deferred imports listed (and justified) here.

import-linter (``make lint``, contracts in pyproject.toml) checks that each layer imports only
the layers below it and that no package has a cycle, but it counts a function-level import
like any other. A cycle dodged by importing inside a function, or a dependency hidden behind
``if TYPE_CHECKING:``, would still be a tangle; this test keeps such imports to the list below.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "asyncgen"

# (importing module, imported module): why the import waits until it is needed.
DEFERRED = {
    # The report package needs the optional `report` extra (matplotlib, scipy): `asyncgen
    # --help` and `asyncgen run` must work without it and not spend time importing it.
    ("asyncgen._cli", "asyncgen.report._command"),
    # uvloop is optional (it does not build everywhere); run() falls back to asyncio's loop.
    ("asyncgen._run.runner", "uvloop"),
    # structlog pulls in rich and pygments (about 10 MiB resident); a run whose lifecycle
    # events nobody listens to never imports it.
    ("asyncgen._log", "structlog"),
    # pyarrow is the optional `parquet` extra, and heavy: only a Parquet request export
    # (`--export-requests parquet`) imports it.
    ("asyncgen._output.request_export", "pyarrow"),
    ("asyncgen._output.request_export", "pyarrow.parquet"),
    # tokenizers is the optional `tokenizers` extra: only a run given a tokenizer.json needs it.
    ("asyncgen.datasets._tokenizer", "tokenizers"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        assert node.level == 0, "asyncgen uses absolute imports only"
        return [node.module or ""]
    return [alias.name for alias in node.names]


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _deferred_imports(tree: ast.AST, deferred: bool = False) -> Iterator[tuple[int, str]]:
    """(line, module) of every import inside a function or an ``if TYPE_CHECKING:`` block."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            if deferred:
                yield from ((node.lineno, name) for name in _imported(node))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) or (
            isinstance(node, ast.If) and _is_type_checking(node)
        ):
            yield from _deferred_imports(node, True)
        else:
            yield from _deferred_imports(node, deferred)


def _found() -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        for line, imported in _deferred_imports(ast.parse(path.read_text(encoding="utf-8"))):
            found.setdefault((module, imported), []).append(f"{path.name}:{line}")
    return found


def test_every_deferred_import_is_listed_with_its_reason() -> None:
    unlisted = {key: where for key, where in _found().items() if key not in DEFERRED}
    assert not unlisted, f"imports inside a function or TYPE_CHECKING: {unlisted}"


def test_the_list_has_no_stale_entries() -> None:
    assert set(_found()) >= DEFERRED


def test_the_scan_sees_functions_and_type_checking_blocks() -> None:
    source = (
        "import a\n"
        "if TYPE_CHECKING:\n    import b\n"
        "def f():\n    from c import d\n"
        "class K:\n    async def m(self):\n        import e\n"
    )
    assert [name for _, name in _deferred_imports(ast.parse(source))] == ["b", "c", "e"]
