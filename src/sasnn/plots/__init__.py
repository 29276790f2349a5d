"""Matplotlib figures, one module per topic. Functions take arrays or result
dataclasses and a path; they are the only code (with the CLI) that writes PNGs."""
