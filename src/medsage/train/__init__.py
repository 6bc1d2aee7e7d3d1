"""Domain specialisation: curation, decontamination and LoRA/DPO training.

The curation half (``records``, ``sources``, ``quality``, ``dedup``,
``decontam``, ``pairs``) needs only the core dependencies plus ``datasketch``;
the training half (``sft``, ``dpo``, ``export``) imports ``torch``,
``transformers``, ``peft`` and ``trl`` lazily (the ``[train]`` extra).
"""
