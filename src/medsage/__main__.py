"""``python -m medsage``."""

from medsage.cli import main

main()
