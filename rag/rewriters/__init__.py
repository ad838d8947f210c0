"""Query rewriting: the optional stage before retrieval (HyDE, multi-query)."""
