"""Run artefacts: summary JSON, per-sample JSONL, static HTML."""

from medsage.report.html import render, write_html
from medsage.report.summary import flat, summarise, task_summary

__all__ = ["flat", "render", "summarise", "task_summary", "write_html"]
