"""The lecture notebook: committed without outputs, and it runs top to bottom.

The run is not marked slow on purpose (about a minute): issue 21 asks that CI execute
the notebook, and CI runs the default selection.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "lecture.ipynb"


def test_committed_notebook_has_no_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    dirty = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"
             and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, (f"{NOTEBOOK.name}: cells {dirty} hold outputs; clear them before committing "
                       "(jupyter nbconvert --clear-output --inplace notebooks/lecture.ipynb)")


def _outputs(notebook, kind: str) -> list:
    return [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
            if o.output_type == kind]


def test_notebook_runs_top_to_bottom():
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, on the first error
    elapsed = time.perf_counter() - start
    text = "".join(o.text for o in _outputs(notebook, "stream") if o.name == "stdout")
    # the slide's first EPOCH line, the perceptron's failure on XOR, the MLP's success,
    # the backprop sign slip raising the loss, the slide's convolution value, the phase map
    assert "EPOCH: 0  neuron(x) = 0.00x + 0.00" in text
    assert "not linearly separable" in text and "predicts [0 1 1 0] for [0 1 1 0]" in text
    assert "feature map with the X kernel:\n [[4 3 4]" in text
    assert "P123_D2O_40_percent.xml    ordered" in text
    figures = [o for o in _outputs(notebook, "display_data") if "image/png" in o.data]
    assert len(figures) >= 15
    assert not _outputs(notebook, "error")
    assert elapsed < 600  # the notebook's promise is ~3 min on a laptop; this only catches a hang
