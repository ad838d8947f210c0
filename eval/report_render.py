"""A report as a list of blocks (headings, paragraphs, tables, figures), rendered twice:
as Markdown (figures as PNG files next to it) and as one self-contained HTML page
(figures as base64 `data:` URIs, CSS inline: no external asset, no network).

Paragraph text may use `**bold**` and `` `code` ``; both renderers understand them.
Left out: any template engine (the page is small enough to build in code).
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    caption: str = ""


@dataclass(frozen=True)
class Figure:
    key: str  # file suffix: <name>-<key>.png
    png: bytes
    caption: str


Block = Heading | Paragraph | Table | Figure

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222;
       line-height: 1.45; padding: 0 1em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; vertical-align: top; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
caption { caption-side: bottom; text-align: left; font-size: 0.85em; color: #555; }
img { max-width: 100%; } figure { margin: 1em 0; }
figcaption { font-size: 0.85em; color: #555; }
code { background: #f4f4f4; padding: 0 3px; }
"""


def to_markdown(blocks: Sequence[Block], name: str, folder: Path) -> str:
    """The Markdown text; each figure is written to folder/<name>-<key>.png."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out += ["#" * block.level + " " + block.text, ""]
        elif isinstance(block, Paragraph):
            out += [block.text, ""]
        elif isinstance(block, Table):
            out += _md_table(block)
        else:
            file = folder / f"{name}-{block.key}.png"
            file.write_bytes(block.png)
            out += [f"![{block.caption}]({file.name})", "", f"*{block.caption}*", ""]
    return "\n".join(out)


def _md_table(table: Table) -> list[str]:
    def row(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    align = ["---"] + ["---:"] * (len(table.header) - 1)
    lines = [row(table.header), "|" + "|".join(align) + "|"]
    lines += [row(r) for r in table.rows]
    return lines + (["", table.caption] if table.caption else []) + [""]


def to_html(blocks: Sequence[Block], title: str) -> str:
    """One HTML page with everything inline."""
    body: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{_inline(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            body.append(f"<p>{_inline(block.text)}</p>")
        elif isinstance(block, Table):
            body.append(_html_table(block))
        else:
            data = base64.b64encode(block.png).decode("ascii")
            body.append(
                f'<figure><img alt="{html.escape(block.caption)}" '
                f'src="data:image/png;base64,{data}"><figcaption>'
                f"{_inline(block.caption)}</figcaption></figure>"
            )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{_inline(h)}</th>" for h in table.header)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in table.rows
    )
    caption = f"<caption>{_inline(table.caption)}</caption>" if table.caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _inline(text: str) -> str:
    """Escape, then **bold** -> <strong>, `code` -> <code>."""
    escaped = html.escape(text)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)
