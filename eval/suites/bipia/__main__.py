"""``python -m eval.suites.bipia``."""

from eval.suites.bipia.suite import main

main()
