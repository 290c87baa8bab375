"""Throughput of the NB101 TFRecord → Parquet converter on a synthetic file of realistic size.

120,000 records shaped like the official ones (7-vertex cells, ~410 bytes per record; the official
only108 file has 1.27 M records, the full file 5.08 M). Two orders: the 3 repeats of a cell adjacent
(the converter's small hash cache then recomputes each cell's hash once) and shuffled (every record
recomputes it: the worst case). Run with `pytest benchmarks/speed/bench_nb101_convert.py --benchmark-enable`;
records per CPU-second are in `extra_info`. NB101_BENCH_RECORDS changes the size.
"""
import os
import random
import time

import pytest

from zcbench.spaces import nb101_records as rec

RECORDS = int(os.environ.get("NB101_BENCH_RECORDS", "120000"))


@pytest.fixture(scope="module", params=["adjacent_repeats", "shuffled"])
def synthetic_file(request, tmp_path_factory):
    payloads = [rec.encode_record(r) for r in rec.synthetic_records(RECORDS, seed=0)]
    if request.param == "shuffled":
        random.Random(0).shuffle(payloads)
    path = tmp_path_factory.mktemp("nb101_bench") / f"{request.param}.tfrecord"
    rec.write_tfrecord(path, payloads)
    return path


def test_convert_synthetic_tfrecord(benchmark, synthetic_file, tmp_path):
    out = tmp_path / "nb101.parquet"

    def convert():
        started = time.process_time()
        rec.convert_tfrecord(synthetic_file, out)
        return time.process_time() - started

    cpu_seconds = benchmark.pedantic(convert, rounds=1, iterations=1)
    benchmark.extra_info.update(records=RECORDS, bytes=synthetic_file.stat().st_size,
                                records_per_cpu_second=round(RECORDS / cpu_seconds))
    assert out.exists()
