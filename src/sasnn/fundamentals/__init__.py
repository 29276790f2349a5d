"""From-scratch lecture code: NumPy only, and nothing else from sasnn.

Each module is one idea from the lecture, small enough to read in one sitting,
and tested against an independent implementation (torch, scipy, scikit-learn).
"""
