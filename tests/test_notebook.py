"""notebooks/quickstart.ipynb: committed without outputs, and every cell runs headless."""

import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(REPO, "notebooks", "quickstart.ipynb")


def test_committed_notebook_has_no_outputs():
    import nbformat
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def test_notebook_runs_headless(tmp_path, monkeypatch):
    # No skip: nbclient, nbformat and ipykernel are in the test extra, so CI always runs this.
    import ipykernel  # noqa: F401  (the kernel; fails here, named, if the test extra is missing)
    import nbclient
    import nbformat
    from jupyter_client.kernelspec import NATIVE_KERNEL_NAME

    # The kernel is this interpreter (ipykernel's native spec) and imports this checkout's wgan.
    monkeypatch.setenv("PYTHONPATH", REPO + (os.pathsep + os.environ["PYTHONPATH"]
                                             if os.environ.get("PYTHONPATH") else ""))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name=NATIVE_KERNEL_NAME,
                                     resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()            # raises CellExecutionError naming the failing cell
    seconds = time.perf_counter() - start
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert os.path.join(REPO, "wgan") in text or "wgan 0." in text
    assert "60 steps; EM estimate" in text and "classes_covered" in text
    images = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.data]
    assert len(images) == 4                     # EM curve, real + fixed grids, samples, interpolation
    assert os.path.isfile(tmp_path / "runs" / "notebook" / "run.json")
    print(f"notebook executed in {seconds:.1f} s with {sys.executable}")
