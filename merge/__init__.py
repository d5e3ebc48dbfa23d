"""Siblings, resolvers, merge-law checks and the replica harness (in progress)."""

__all__: list[str] = []
