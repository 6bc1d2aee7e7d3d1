"""The fixture knowledge base of tests/kb (and its private embedding cache), shared here."""

from kb.conftest import _isolated_embedding_cache, built_kb, kb_sources  # noqa: F401 - fixtures used by name
