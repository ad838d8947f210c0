"""The registry and the config unions must name the same components."""

from __future__ import annotations

from typing import get_args

from rag import config, registry


def _tags(union: object) -> set[str]:
    return {m.model_fields["type"].default for m in get_args(get_args(union)[0])}


def test_registry_matches_config_models() -> None:
    assert set(registry.CHUNKERS) == _tags(config.ChunkerConfig)
    assert set(registry.RETRIEVERS) == _tags(config.RetrieverConfig)
    assert set(registry.RERANKERS) == _tags(config.RerankerConfig)
    assert set(registry.GENERATORS) == _tags(config.GeneratorConfig)


def test_every_entry_builds_with_default_params_cheaply() -> None:
    """Constructors are cheap: building never loads a model (that happens in fit/load)."""
    for table, union in (
        (registry.CHUNKERS, config.ChunkerConfig),
        (registry.RETRIEVERS, config.RetrieverConfig),
    ):
        for member in get_args(get_args(union)[0]):
            name = member.model_fields["type"].default
            assert table[name].build(member()) is not None, name
