"""Throughput of the NB101 TFRecord → Parquet converter on a synthetic file of realistic size.

120,000 records shaped like the official ones (3 consecutive repeats per cell, ~330 bytes each; the
official only108 file has 1.27 M records, the full file 5.08 M). Run with
`pytest benchmarks/bench_nb101_convert.py --benchmark-enable`; records/s is in `extra_info`.
Set NB101_BENCH_RECORDS to change the size.
"""
import os
import time

import pytest

from spaces import nb101_records as rec

RECORDS = int(os.environ.get("NB101_BENCH_RECORDS", "120000"))


@pytest.fixture(scope="module")
def synthetic_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("nb101_bench") / "synthetic.tfrecord"
    rec.write_tfrecord(path, (rec.encode_record(r) for r in rec.synthetic_records(RECORDS, seed=0)))
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
