"""Markdown chunking: one chunk per heading section, with its heading path."""

from __future__ import annotations

from ingest.chunkers.markdown import MarkdownChunker
from ingest.loaders import doc_id_for, markdown_headings
from ingest.tokens import count_tokens
from rag.config import MarkdownChunkerParams
from rag.types import Document

TEXT = """# Guide

Intro paragraph.

## Install

Run the installer.

### On Linux

Use the package manager.

## Usage

```python
# not a heading
print("hi")
```

Call the tool.
"""


def doc_of(text: str) -> Document:
    return Document(doc_id_for(text), text, "guide.md", "Guide", markdown_headings(text))


def test_one_chunk_per_section_with_its_heading_path() -> None:
    chunks = MarkdownChunker(MarkdownChunkerParams(max_level=3)).split(doc_of(TEXT))
    assert [ch.text.splitlines()[0] for ch in chunks] == [
        "# Guide",
        "## Install",
        "### On Linux",
        "## Usage",
    ]
    assert [ch.heading_path for ch in chunks] == [
        ("Guide",),
        ("Guide", "Install"),
        ("Guide", "Install", "On Linux"),
        ("Guide", "Usage"),
    ]
    assert chunks[-1].text.endswith("Call the tool."), "code comments are not headings"
    assert chunks[1].metadata["section"] == "Install"


def test_deeper_headings_stay_inside_their_parent_section() -> None:
    chunks = MarkdownChunker(MarkdownChunkerParams(max_level=2)).split(doc_of(TEXT))
    assert [ch.heading_path for ch in chunks] == [
        ("Guide",),
        ("Guide", "Install"),
        ("Guide", "Usage"),
    ]
    assert "### On Linux" in chunks[1].text


def test_a_long_section_is_split_within_size_and_keeps_its_path() -> None:
    body = " ".join(f"Sentence {i} talks about chunking." for i in range(60))
    text = f"# Title\n\n## Long\n\n{body}\n\n## Short\n\nEnd."
    chunks = MarkdownChunker(MarkdownChunkerParams(size=40, overlap=8)).split(doc_of(text))
    long_parts = [ch for ch in chunks if ch.heading_path == ("Title", "Long")]
    assert len(long_parts) > 5
    assert long_parts[0].text.startswith("## Long")
    assert all(count_tokens(ch.text) <= 40 for ch in long_parts)
    assert chunks[-1].text == "## Short\n\nEnd."


def test_text_before_the_first_heading_is_its_own_chunk() -> None:
    text = "Preamble line.\n\n## A\n\nBody."
    chunks = MarkdownChunker(MarkdownChunkerParams()).split(doc_of(text))
    assert [(ch.text, ch.heading_path) for ch in chunks] == [
        ("Preamble line.", ()),
        ("## A\n\nBody.", ("A",)),
    ]
