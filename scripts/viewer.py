#!/usr/bin/env python3
"""Desktop sample viewer: python scripts/viewer.py [MODEL]"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from wgan.viewer import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
