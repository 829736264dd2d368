"""What runs beside the platform but is not part of serving it: the PSP and bank simulator
(`paycore psp`), the benchmarks (`paycore bench`) and the embedded development default
(`paycore dev`). The serving packages never import from here (tests/test_layering.py)."""
