"""Stage 3, fitting: one candidate (form factor, structure factor) fitted to a measured
curve with sasmodels and bumps: the fit problem, its starting values, and the fits of a
shortlist with χ², BIC and parameter errors.

May import :mod:`sasnn.simulate` and :mod:`sasnn.io`, nothing above them.
"""
