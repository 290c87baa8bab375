"""Benchmarks layer: sweeps (config → plan → shards → executors → Parquet → merge), provenance, and
pytest-benchmark suites (`bench_*.py`). Imports `proxies` and `spaces`; never `reports`."""
