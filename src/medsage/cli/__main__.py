"""``python -m medsage.cli``."""

from medsage.cli import main

main()
