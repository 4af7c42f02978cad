"""Deterministic fake embeddings for store.index: the same text always gets the same vector, so a
query equal to a stored text ranks that item first with a score of 1."""

from langchain_core.embeddings import DeterministicFakeEmbedding

embeddings = DeterministicFakeEmbedding(size=16)
