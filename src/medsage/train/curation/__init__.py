"""Curated exam training data from development files, with provenance, licence,
decontamination against every evaluation set, balanced keys and reasoning targets
(``medsage data curate-exams``).
"""
