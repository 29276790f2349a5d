"""Stage 3, real-space analysis: the cross-section and transform physics, Guinier
analysis, and p(r) by Bayesian indirect Fourier transform, with the analytic test cases.

May import :mod:`sasnn.simulate` and :mod:`sasnn.io`, nothing above them.
"""
