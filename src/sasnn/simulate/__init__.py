"""Stage 2, simulation: the catalogue of model classes and their priors (a table, like
sasmodels' model files), the instrument (q windows, resolution, noise, nuisances), the
sasmodels kernels, and the sharded, resumable datasets.

May import :mod:`sasnn.io`, nothing above it.
"""
