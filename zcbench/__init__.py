"""zcbench: the command-line shell over spaces → proxies → benchmarks → reports."""
