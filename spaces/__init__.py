"""Search spaces: arch encodings, enumeration, network builders, ground truth, image data.

The lowest layer: imports nothing from proxies/, benchmarks/ or reports/.
"""
