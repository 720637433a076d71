"""``python -m vcall``."""

from vcall.cli import main

main()
