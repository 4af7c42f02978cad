"""Broken test graph `raises`: fails while being imported."""

raise RuntimeError("database unreachable at import time")
