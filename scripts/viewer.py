#!/usr/bin/env python3
"""Desktop sample viewer: python scripts/viewer.py [MODEL]

The same as the installed command ``wgan-view`` (``pip install -e .``).
"""

import sys

from wgan.cli import view_command as main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
