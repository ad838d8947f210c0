"""Loaders: Markdown headings and heading paths, stable ids, the folder walker, PDF text,
and clear errors for what cannot be loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.generic import ContentStream, DecodedStreamObject, DictionaryObject, NameObject

from ingest.loaders import doc_id_for, load_corpus, load_file, markdown_headings
from rag.errors import DataError

GUIDE = """# Guide

Intro.

## Install

```bash
# not a heading
echo "## nor this"
```

### On Linux ###

apt install it.

## Usage

Run it.
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def make_pdf(path: Path, pages: list[str], title: str) -> Path:
    """A text PDF made with pypdf alone: one Helvetica text line per page."""
    writer = PdfWriter()
    for line in pages:
        page = writer.add_blank_page(width=612, height=792)
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
        fonts = DictionaryObject({NameObject("/F1"): font})
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
        raw = DecodedStreamObject()
        raw.set_data(f"BT /F1 12 Tf 72 720 Td ({line}) Tj ET".encode())
        page.replace_contents(ContentStream(raw, writer))
    writer.add_metadata({"/Title": title})
    with path.open("wb") as out:
        writer.write(out)
    return path


def test_markdown_headings_skip_fenced_code_and_strip_closing_hashes() -> None:
    headings = markdown_headings(GUIDE)
    assert [(h.level, h.title) for h in headings] == [
        (1, "Guide"),
        (2, "Install"),
        (3, "On Linux"),
        (2, "Usage"),
    ]
    assert all(GUIDE[h.start] == "#" for h in headings)


def test_heading_path_at_each_offset(tmp_path: Path) -> None:
    doc = load_file(write(tmp_path / "guide.md", GUIDE), tmp_path)
    assert doc.title == "Guide" and doc.source == "guide.md"
    assert doc.heading_path(GUIDE.index("Intro.")) == ("Guide",)
    assert doc.heading_path(GUIDE.index("not a heading")) == ("Guide", "Install")
    assert doc.heading_path(GUIDE.index("apt install")) == ("Guide", "Install", "On Linux")
    assert doc.heading_path(GUIDE.index("Run it.")) == ("Guide", "Usage")
    assert doc.heading_path(GUIDE.index("## Usage")) == ("Guide", "Usage")


def test_text_is_kept_exactly_and_ids_are_stable(tmp_path: Path) -> None:
    text = "# Café\r\n\r\nLine with trailing spaces   \n\n"
    a = load_file(write(tmp_path / "a.md", text))
    b = load_file(write(tmp_path / "sub" / "b.md", text))
    assert a.text == text, "no newline translation, no stripping"
    assert a.doc_id == b.doc_id == doc_id_for(text)
    assert load_file(write(tmp_path / "c.md", text + "more")).doc_id != a.doc_id


def test_plain_text_title_is_its_first_line(tmp_path: Path) -> None:
    doc = load_file(write(tmp_path / "notes.txt", "\n\nFirst line\nSecond line\n"))
    assert doc.title == "First line" and doc.headings == ()


def test_walker_skips_hidden_files_and_folders_and_unsupported_suffixes(tmp_path: Path) -> None:
    write(tmp_path / "b.md", "# B\n")
    write(tmp_path / "a" / "c.txt", "c\n")
    write(tmp_path / ".hidden.md", "# hidden\n")
    write(tmp_path / ".git" / "x.md", "# hidden too\n")
    write(tmp_path / "a" / ".draft" / "y.md", "# hidden too\n")
    write(tmp_path / "image.png", "not text")
    docs = load_corpus(tmp_path)
    assert [d.source for d in docs] == ["a/c.txt", "b.md"]


def test_a_single_file_is_a_corpus(tmp_path: Path) -> None:
    path = write(tmp_path / "one.md", "# One\n")
    assert [d.source for d in load_corpus(path)] == ["one.md"]


def test_pdf_pages_become_text_with_page_headings(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "paper.pdf", ["Hello page one", "Second page text"], "My Paper")
    doc = load_file(path, tmp_path)
    assert doc.text == "Hello page one\n\nSecond page text"
    assert doc.title == "My Paper" and doc.metadata["format"] == "pdf"
    assert doc.heading_path(doc.text.index("Second")) == ("page 2",)
    assert doc.heading_path(0) == ("page 1",)


def test_broken_pdf_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4 this is not a pdf")
    with pytest.raises(DataError, match=r"broken\.pdf: cannot read PDF"):
        load_file(path)


def test_unknown_suffix_is_a_data_error_naming_the_supported_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "page.html", "<p>hi</p>")
    with pytest.raises(DataError, match=r"unsupported file type '\.html'.*\.md.*\.pdf"):
        load_file(path)


def test_missing_folder_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="corpus not found"):
        load_corpus(tmp_path / "nowhere")


def test_folder_without_documents_is_a_data_error(tmp_path: Path) -> None:
    write(tmp_path / ".hidden.md", "# hidden\n")
    with pytest.raises(DataError, match=r"no \.md, .* files under"):
        load_corpus(tmp_path)


def test_non_utf8_text_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("café".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        load_file(path)
