"""Evaluation metrics: `retrieval` (ranked-list IR metrics over ids), `spans` (chunk
relevance against character-span evidence), `generation` (answers, citations, abstention)."""
