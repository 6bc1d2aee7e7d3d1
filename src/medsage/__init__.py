"""medsage — an open, locally deployable medical AI system and benchmark.

Public entry points:
    :mod:`medsage.types` — the shared data types.
    :func:`medsage.models.get_model` — a model from a ``provider/model`` spec.
    :mod:`medsage.registry` — the provider, task and pipeline registries.
"""

__version__ = "0.1.0"
