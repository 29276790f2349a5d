"""Stage 4, identification, the main job: a loaded model (:class:`Predictor`, or an
ensemble of them) ranks (form factor, structure factor) pairs for a curve, and
:func:`identify` confirms the shortlist by fitting.

May import :mod:`sasnn.learn`, :mod:`sasnn.fit`, :mod:`sasnn.pr` and the stages below.
"""

from sasnn.identify.api import identify
from sasnn.identify.loading import load_predictor

__all__ = ["identify", "load_predictor"]
