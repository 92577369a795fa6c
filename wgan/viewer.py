"""Desktop sample viewer: open a trained generator, generate seeded grids, save them as PNG.

Standard-library Tk plus Pillow's ImageTk. Generation runs in a worker thread so the window
never freezes; the worker hands its finished PIL image to the main thread through a queue
that the main thread polls with ``after()``, because Tk may only be called from the thread
that created it. Every button calls a public method (``open_model``, ``generate``, ``save``),
so tests and the screenshot tool drive the window without clicking.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import random
import select
import shutil
import subprocess
import sys
import threading
import time
import tkinter as tk
import traceback
from tkinter import filedialog, ttk
from typing import Iterator, Optional

import torch
from PIL import Image, ImageTk

from .export import ModelLoadError, load_model
from .devices import DeviceUnavailable, resolve_device
from .sampling import check_seed, grid_image, save_png

GRID_CHOICES = (4, 6, 8)        # grid sides offered in the window (16, 36 or 64 images)
DISPLAY_TARGET = 640            # small grids are enlarged by a whole factor towards this many pixels
DISPLAY_MAX = 1024              # larger grids are shrunk to fit this many pixels
POLL_MS = 40                    # how often the main thread looks for finished grids
RANDOM_SEEDS = 2**31            # random seeds stay short enough to read and retype
ERROR_COLOUR, OK_COLOUR = "#b00020", "#202020"


def display_image(image: Image.Image, target: int = DISPLAY_TARGET, largest: int = DISPLAY_MAX) -> Image.Image:
    """The grid as shown on screen: small grids enlarged with nearest-neighbour by a whole
    factor (crisp pixels, no blur), large ones shrunk to ``largest`` pixels."""
    side = max(image.size)
    if side * 2 <= target:
        factor = target // side
        return image.resize((image.width * factor, image.height * factor), Image.NEAREST)
    if side > largest:
        scale = largest / side
        return image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
    return image


class ViewerApp:
    """The viewer window inside ``root``.

    Attributes:
        image: the displayed grid at its native resolution (what Save writes), or None.
        seed: the seed of the displayed grid, or None.
        info: ModelInfo of the open model, or None.
        status_var: the message line (also used for errors such as a bad model file).
    """

    def __init__(self, root: tk.Misc, model_path: Optional[str] = None, device: str = "cpu",
                 grid: int = 8, seed: Optional[int] = None):
        self.root = root
        self.generator = None
        self.info = None
        self.image: Optional[Image.Image] = None
        self.seed: Optional[int] = None
        self.status_is_error = False
        self._photo = None            # Tk shows a PhotoImage only while Python holds a reference
        self._results: queue.Queue = queue.Queue()
        self._model_lock = threading.Lock()   # one generation at a time per model
        self._latest_job = 0          # only the newest request's grid is shown
        self._pending = 0             # requests whose result has not been collected yet
        self._build(grid, seed, device)
        root.report_callback_exception = self._report_exception
        self._load(model_path)

    # ------------------------------------------------------------------ layout
    def _build(self, grid: int, seed: Optional[int], device: str) -> None:
        root = self.root
        root.title("wgan viewer")
        style = ttk.Style(root)
        if "clam" in style.theme_names():
            style.theme_use("clam")
        bar = ttk.Frame(root, padding=(8, 8, 8, 4))
        bar.pack(side="top", fill="x")
        ttk.Button(bar, text="Open model…", command=self.open_model).pack(side="left")
        ttk.Label(bar, text="Grid").pack(side="left", padx=(14, 4))
        choices = sorted(set(GRID_CHOICES) | {grid})
        self.grid_var = tk.StringVar(value=f"{grid}x{grid}")
        ttk.Combobox(bar, textvariable=self.grid_var, values=[f"{k}x{k}" for k in choices], width=5,
                     state="readonly").pack(side="left")
        ttk.Label(bar, text="Seed").pack(side="left", padx=(14, 4))
        self.seed_var = tk.StringVar(value="" if seed is None else str(seed))
        entry = ttk.Entry(bar, textvariable=self.seed_var, width=12)
        entry.pack(side="left")
        ttk.Label(bar, text="(empty = random)", foreground="#707070").pack(side="left", padx=(4, 0))
        self.generate_button = ttk.Button(bar, text="Generate", command=self.generate)
        self.generate_button.pack(side="left", padx=(14, 0))
        ttk.Button(bar, text="Save PNG…", command=self.save).pack(side="left", padx=(6, 0))
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        self.device = str(resolve_device(device).type) if device == "auto" else device
        self.device_var = tk.StringVar(value=self.device)
        box = ttk.Combobox(bar, textvariable=self.device_var, values=devices, width=5, state="readonly")
        box.pack(side="right")
        box.bind("<<ComboboxSelected>>", lambda _event: self.set_device(self.device_var.get()))
        ttk.Label(bar, text="Device").pack(side="right", padx=(14, 4))

        self.info_var = tk.StringVar(value="no model open")
        ttk.Label(root, textvariable=self.info_var, padding=(10, 2)).pack(side="top", fill="x")
        self.status_var = tk.StringVar(value="")
        self.status_label = ttk.Label(root, textvariable=self.status_var, padding=(10, 4, 10, 8),
                                      wraplength=DISPLAY_TARGET, justify="left")
        self.status_label.pack(side="bottom", fill="x")
        # Wrap long messages (file paths in errors) at the window's width, whatever it is.
        self.status_label.bind("<Configure>", lambda event: self.status_label.configure(
            wraplength=max(200, event.width - 20)))
        self.picture = tk.Label(root, background="#303030", foreground="#d0d0d0", text="no image yet",
                                width=60, height=20)
        self.picture.pack(side="top", fill="both", expand=True, padx=8, pady=4)

        entry.bind("<Return>", lambda _event: self.generate())
        root.bind("<Control-o>", lambda _event: self.open_model())
        root.bind("<Control-s>", lambda _event: self.save())
        root.bind("<Control-g>", lambda _event: self.generate())

    def say(self, text: str, error: bool = False) -> None:
        """Show ``text`` in the message line (red for errors)."""
        self.status_var.set(text)
        self.status_is_error = error
        self.status_label.configure(foreground=ERROR_COLOUR if error else OK_COLOUR)

    def _report_exception(self, exc, value, tb) -> None:
        # A bug in a callback should leave a message in the window, not only on a terminal.
        traceback.print_exception(exc, value, tb, file=sys.stderr)
        self.say(f"unexpected error: {value!r}", error=True)

    # ------------------------------------------------------------------ model
    def open_model(self, path: Optional[str] = None) -> bool:
        """Open ``path`` (a file dialog when None); True if the model loaded."""
        if path is None:
            path = filedialog.askopenfilename(
                parent=self.root, title="Open a wgan generator",
                filetypes=[("wgan models", "*.safetensors *.pt"), ("all files", "*")])
            if not path:
                return False
        return self._load(path)

    def _load(self, path: Optional[str]) -> bool:
        """Load ``path`` (None: the default model), show its facts and a first grid."""
        try:
            generator, info = load_model(path, self.device)
        except ModelLoadError as err:
            self.say(f"{err}", error=True)
            return False
        except Exception as err:  # the window must survive any bad file, and say why
            self.say(f"could not open {path}: {err!r}", error=True)
            return False
        self.generator, self.info = generator, info
        self.info_var.set(f"{os.path.basename(info.path)}: {info.summary()}")
        self.root.title(f"wgan viewer: {os.path.basename(info.path)}")
        self.generate()
        return True

    def set_device(self, name: str) -> bool:
        """Generate on ``name`` ('cpu' or 'cuda') from now on; True if it is available."""
        try:
            resolve_device(name)
        except DeviceUnavailable as err:
            self.say(str(err), error=True)
            self.device_var.set(self.device)
            return False
        self.device = name
        self.device_var.set(name)
        return True

    # ------------------------------------------------------------------ generating
    def grid_side(self) -> int:
        return int(self.grid_var.get().split("x")[0])

    def _seed_from_field(self) -> Optional[int]:
        text = self.seed_var.get().strip()
        if not text:
            return random.randrange(RANDOM_SEEDS)
        try:
            return check_seed(int(text))
        except ValueError:
            self.say(f"seed '{text}' is not a whole number from 0 to 2**63-1; type one, or clear the field "
                     f"for a random seed", error=True)
            return None

    def generate(self, seed: Optional[int] = None) -> Optional[int]:
        """Start generating a grid in the background; returns the seed used (None on error).

        ``seed`` None takes the Seed field, or a random seed when the field is empty; a bad
        Seed field is reported in the message line. An explicit ``seed`` outside
        0..2**63-1 raises ValueError (a caller's bug, not a user's typo).
        """
        if self.generator is None:
            self.say("no model is open; use 'Open model…' to choose an export (.safetensors), a checkpoint "
                     "(.pt) or a run directory", error=True)
            return None
        if seed is None:
            seed = self._seed_from_field()
            if seed is None:
                return None
        else:
            check_seed(seed)
        side = self.grid_side()
        self._latest_job += 1
        self._pending += 1
        worker = threading.Thread(target=self._work, daemon=True,
                                  args=(self._latest_job, self.generator, side, seed, self.device))
        worker.start()
        if self._pending == 1:
            self.root.after(POLL_MS, self._poll)
        self.say(f"generating a {side}x{side} grid with seed {seed} on {self.device}…")
        return seed

    def _work(self, job: int, generator, side: int, seed: int, device: str) -> None:
        """Worker thread: no Tk calls here, only the queue."""
        started = time.perf_counter()
        try:
            with self._model_lock:
                image = grid_image(generator, side * side, seed, device, cols=side)
            self._results.put((job, seed, image, None, time.perf_counter() - started))
        except Exception as err:  # reported in the window by the main thread
            self._results.put((job, seed, None, err, 0.0))

    def _poll(self) -> None:
        while True:
            try:
                job, seed, image, error, seconds = self._results.get_nowait()
            except queue.Empty:
                break
            self._pending -= 1
            if job != self._latest_job:
                continue                    # a newer request superseded this one
            if error is not None:
                self.say(f"generation failed: {error}", error=True)
            else:
                self._show(image, seed, seconds)
        if self._pending:
            self.root.after(POLL_MS, self._poll)

    def _show(self, image: Image.Image, seed: int, seconds: float) -> None:
        self.image, self.seed = image, seed
        shown = display_image(image)
        self._photo = ImageTk.PhotoImage(shown, master=self.root)
        self.picture.configure(image=self._photo, text="", width=shown.width, height=shown.height)
        side = self.grid_side()
        zoom = f", shown x{shown.width / image.width:g}" if shown.size != image.size else ""
        self.say(f"seed {seed}: {side}x{side} grid, {image.width}x{image.height} px{zoom}, "
                 f"{seconds * 1000:.0f} ms on {self.device}. Type {seed} as Seed to get this grid again.")

    def busy(self) -> bool:
        """True while a requested grid has not arrived yet."""
        return self._pending > 0

    def wait(self, timeout: float = 30.0) -> None:
        """Run the event loop until every requested grid has arrived (for tests and scripts)."""
        deadline = time.monotonic() + timeout
        while self._pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no grid after {timeout} s")
            self.root.update()
            time.sleep(0.005)
        self.root.update()

    # ------------------------------------------------------------------ saving
    def save(self, path: Optional[str] = None) -> Optional[str]:
        """Save the displayed grid at native resolution as PNG (a dialog when ``path`` is None)."""
        if self.image is None:
            self.say("nothing to save yet: press Generate first", error=True)
            return None
        if path is None:
            path = filedialog.asksaveasfilename(
                parent=self.root, title="Save grid as PNG", defaultextension=".png",
                initialfile=f"wgan_seed{self.seed}.png", filetypes=[("PNG image", "*.png")])
            if not path:
                return None
        try:
            save_png(self.image, path)
        except (OSError, ValueError) as err:
            self.say(f"could not save {path}: {err}", error=True)
            return None
        self.say(f"saved {path} ({self.image.width}x{self.image.height} px, seed {self.seed})")
        return path


# ---------------------------------------------------------------------- headless display
@contextlib.contextmanager
def virtual_display(width: int = 1280, height: int = 1024, timeout: float = 10.0) -> Iterator[str]:
    """Start Xvfb on a free display number and yield its name (":N"); stop it on exit.

    Raises:
        FileNotFoundError: Xvfb is not installed.
        RuntimeError: Xvfb did not start in ``timeout`` seconds.
    """
    if shutil.which("Xvfb") is None:
        raise FileNotFoundError("Xvfb is not installed; install it with: apt-get install -y xvfb")
    # -displayfd makes Xvfb pick a free display itself and write its number to the pipe:
    # no race with other servers over which number is free.
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
        pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    try:
        number = b""
        deadline = time.monotonic() + timeout
        while not number.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_end], [], [], left)[0]:
                raise RuntimeError(f"Xvfb did not report a display within {timeout} s")
            chunk = os.read(read_end, 16)
            if not chunk:
                raise RuntimeError(f"Xvfb exited with status {proc.wait()} before reporting a display")
            number += chunk
        yield f":{int(number)}"
    finally:
        os.close(read_end)
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def take_screenshot(model_path: Optional[str], out: str, seed: int = 0, grid: int = 8,
                    device: str = "cpu") -> str:
    """Open the viewer on a fresh Xvfb display, generate ``seed``, save the window as PNG."""
    from PIL import ImageGrab

    with virtual_display() as display:
        root = tk.Tk(screenName=display)
        try:
            app = ViewerApp(root, model_path, device=device, grid=grid, seed=seed)
            app.wait()
            if app.image is None:
                raise RuntimeError(f"the viewer shows no grid: {app.status_var.get()}")
            for _ in range(3):          # let Tk map and paint the final layout
                root.update()
                time.sleep(0.1)
            x, y = root.winfo_rootx(), root.winfo_rooty()
            box = (x, y, x + root.winfo_width(), y + root.winfo_height())
            shot = ImageGrab.grab(bbox=box, xdisplay=display)
        finally:
            root.destroy()
    return save_png(shot.convert("RGB"), out)


# ---------------------------------------------------------------------- command line
def main(argv: Optional[list[str]] = None) -> int:
    """``scripts/viewer.py [MODEL]``; returns the exit status."""
    from .commandline import invoked_as

    parser = argparse.ArgumentParser(prog=invoked_as("viewer.py", "view"), description="Browse samples of a trained generator.")
    parser.add_argument("model", nargs="?", default=None,
                        help="export .safetensors, checkpoint .pt or run directory (default: the bundled "
                             "wgan/assets/mnist_generator.safetensors)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"),
                        help="where to generate (default cpu; auto = cuda if available)")
    parser.add_argument("--grid", type=int, default=8, help="grid side: 8 shows 8x8 images (default)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the first grid (default random)")
    args = parser.parse_args(argv)
    if not 1 <= args.grid <= 32:
        print(f"error: --grid must be from 1 to 32, got {args.grid}", file=sys.stderr)
        return 2
    try:
        resolve_device(args.device)
    except DeviceUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        root = tk.Tk()
    except tk.TclError as err:
        print(f"error: cannot open a window ({err}); run the viewer in a desktop session, or headless under "
              f"xvfb-run", file=sys.stderr)
        return 2
    ViewerApp(root, args.model, device=args.device, grid=args.grid, seed=args.seed)
    root.mainloop()
    return 0
