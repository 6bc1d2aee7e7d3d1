"""Rubric grading, as HealthBench does it.

The grader prompt, verdict parsing, HealthBench-exact scoring, tag aggregation, grader
agreement and contamination checks.

Shared by the ``healthbench`` and ``dual_track`` tasks and by ``medsage compare``.
"""
