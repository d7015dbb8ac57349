"""``python -m edgesdk.cli``."""

import sys

from edgesdk.cli import main

if __name__ == "__main__":
    sys.exit(main())
