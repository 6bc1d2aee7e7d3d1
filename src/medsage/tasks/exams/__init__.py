"""Multiple-choice medical exam tasks (English and Chinese)."""
