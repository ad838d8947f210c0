"""Loading sources into `Document`s: Markdown, plain text and PDF, and a folder walker.

`Document.text` is the file's text exactly as decoded (UTF-8), so character offsets
are offsets into the file and the gold set's evidence spans stay valid. A document's id
is a hash of its text: the same content always gets the same id. Markdown headings are
recorded with their offsets so that any chunk can report its heading path.
Left out on purpose: HTML, docx, OCR of scanned PDFs, and front-matter parsing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

from rag.errors import DataError
from rag.types import Document, Heading

SUFFIXES = (".md", ".markdown", ".txt", ".pdf")
# An ATX heading: 1-6 '#', a space, the title; fenced code is skipped separately.
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)


def doc_id_for(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def markdown_headings(text: str) -> tuple[Heading, ...]:
    """Every ATX heading outside fenced code blocks, in order."""
    fenced = [(m.start(), m.end()) for m in _FENCE.finditer(text)]
    headings = []
    for m in _HEADING.finditer(text):
        if any(a <= m.start() < b for a, b in fenced):
            continue
        headings.append(Heading(start=m.start(), level=len(m.group(1)), title=m.group(2).strip()))
    return tuple(headings)


def load_markdown(path: Path, source: str) -> Document:
    text = _read_text(path)
    headings = markdown_headings(text)
    title = next((h.title for h in headings if h.level == 1), path.stem)
    return Document(doc_id_for(text), text, source, title, headings, {"format": "markdown"})


def load_text(path: Path, source: str) -> Document:
    text = _read_text(path)
    first = text.strip().splitlines()[0] if text.strip() else path.stem
    return Document(doc_id_for(text), text, source, first[:120], (), {"format": "text"})


def load_pdf(path: Path, source: str) -> Document:
    """Text of every page joined by blank lines; the page starts are kept as headings."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read PDF ({exc}); is the file complete?") from None
    headings, parts, offset = [], [], 0
    for number, page in enumerate(pages, start=1):
        headings.append(Heading(start=offset, level=1, title=f"page {number}"))
        parts.append(page)
        offset += len(page) + 2
    text = "\n\n".join(parts)
    title = (reader.metadata.title if reader.metadata else None) or path.stem
    return Document(doc_id_for(text), text, source, str(title), tuple(headings), {"format": "pdf"})


def load_file(path: Path, root: Path | None = None) -> Document:
    source = path.relative_to(root).as_posix() if root else path.name
    suffix = path.suffix.lower()
    if suffix in (".md", ".markdown"):
        return load_markdown(path, source)
    if suffix == ".txt":
        return load_text(path, source)
    if suffix == ".pdf":
        return load_pdf(path, source)
    raise DataError(f"{path}: unsupported file type {suffix!r}; supported: {', '.join(SUFFIXES)}")


def walk(root: Path) -> Iterator[Path]:
    """Supported files under `root`, sorted, skipping hidden files and folders."""
    for path in sorted(root.rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(root).parts)
        if path.is_file() and not hidden and path.suffix.lower() in SUFFIXES:
            yield path


def load_corpus(root: str | Path) -> list[Document]:
    """Every supported document under `root` (a folder or one file)."""
    root = Path(root)
    if root.is_file():
        return [load_file(root, root.parent)]
    if not root.is_dir():
        raise DataError(f"corpus not found: {root}; pass --corpus DIR or set corpus: in the config")
    docs = [load_file(path, root) for path in walk(root)]
    if not docs:
        raise DataError(f"no {', '.join(SUFFIXES)} files under {root}")
    return docs


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")  # read_text would turn "\r\n" into "\n"
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
