"""sasnn: which small-angle scattering model describes this I(Q)?

Importing the package is cheap on purpose: heavy libraries (torch, sasmodels,
matplotlib) are imported by the modules that need them, never here.
"""

__version__ = "0.1.0"
