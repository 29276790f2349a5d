import os

os.environ.setdefault("SAS_OPENCL", "none")
os.environ.setdefault("MPLBACKEND", "Agg")
