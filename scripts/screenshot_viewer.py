#!/usr/bin/env python3
"""Screenshot of the viewer on a private Xvfb display: python scripts/screenshot_viewer.py MODEL OUT.png

Needs Xvfb (apt-get install -y xvfb); the window is grabbed with Pillow's ImageGrab.
"""

import argparse
import sys

from wgan.export import ModelLoadError
from wgan.viewer import take_screenshot

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="export .safetensors, checkpoint .pt or run directory")
    parser.add_argument("out", help="PNG file to write")
    parser.add_argument("--seed", type=int, default=0, help="seed of the grid shown (default 0)")
    parser.add_argument("--grid", type=int, default=8, help="grid side (default 8: 8x8 images)")
    args = parser.parse_args()
    try:
        path = take_screenshot(args.model, args.out, seed=args.seed, grid=args.grid)
    except (FileNotFoundError, RuntimeError, ModelLoadError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    print(f"wrote {path}")
