"""The SciFact verifier: examples, a tiny real training run, save and load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.judges.scifact import load_pairs
from eval.judges.verifier import SciFactVerifier, train_verifier
from rag.errors import ComponentError


def test_missing_verifier_says_how_to_train_one(tmp_path: Path) -> None:
    with pytest.raises(ComponentError, match="--train-verifier"):
        SciFactVerifier(tmp_path / "nothing")


@pytest.mark.slow
def test_tiny_training_run_saves_a_loadable_three_label_model(
    scifact_dir: Path, tmp_path: Path
) -> None:
    pairs = load_pairs("train", scifact_dir)[:6]  # NOINFO, CONTRADICT and SUPPORT among them
    assert {p.label for p in pairs} == {"SUPPORT", "CONTRADICT", "NOINFO"}
    card = train_verifier(pairs, tmp_path / "v", epochs=1, batch_size=4, threads=1, log=print)
    with_rationale = sum(bool(p.rationale) for p in pairs)
    assert card["n_examples"] == len(pairs) + with_rationale  # one judge view + rationales
    assert (tmp_path / "v" / "training.json").is_file()
    probs = SciFactVerifier(tmp_path / "v").support_probability(
        [(p.claim, p.context[:400]) for p in pairs[:3]]
    )
    assert probs.shape == (3,) and np.all((probs >= 0) & (probs <= 1))
