"""``python -m randbench.cli``."""

from randbench.cli import main

main()
