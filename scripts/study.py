"""Train the study of docs/study.md (thin wrapper over wgan.study.main)."""

import sys

from wgan.study import main

if __name__ == "__main__":
    sys.exit(main())
