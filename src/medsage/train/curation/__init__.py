"""Curated exam training data from development files (``medsage data curate-exams``).

With provenance, licence, decontamination against every evaluation set, balanced keys and
reasoning targets.
"""
