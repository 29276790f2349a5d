"""Stage 1, curves and files: the :class:`Curve` every stage passes around, the readers
(every sasdata format, plain text, safe XML), the unit of q (declared or inferred), the
repairs a reader makes with a warning, the ASCII writer,
and small JSON helpers.

Imports nothing else from sasnn. It is the only package that imports sasdata.
"""

from sasnn.io.curve import Curve
from sasnn.io.read import DataFormatError, DataRepairWarning, QUnitWarning, example_data_path, load_curves
from sasnn.io.write import write_curve

__all__ = ["Curve", "DataFormatError", "DataRepairWarning", "QUnitWarning", "example_data_path",
           "load_curves", "write_curve"]
