"""NB101 TFRecord/protobuf reader, converter and ground-truth aggregation, on files written by the tests."""
import base64
import json
import statistics
import struct
import tracemalloc

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zcbench.cli import main as zcbench
from zcbench.spaces import nb101_records as rec
from zcbench.spaces.errors import CorruptDataError, ZcbenchError

HALFWAY_KEYS = [f"halfway_{s}" for s in rec.STATS]
FINAL_KEYS = [f"final_{s}" for s in rec.STATS]


# ---- an independent minimal protobuf encoder, written from the wire tags in protocols §D.2

def pb_double(tag: int, value: float) -> bytes:
    return bytes([tag]) + struct.pack("<d", value)


def pb_varint(value: int) -> bytes:
    value &= 2 ** 64 - 1
    out = b""
    while True:
        low, value = value & 0x7F, value >> 7
        if not value:
            return out + bytes([low])
        out += bytes([low | 0x80])


def pb_evaluation(epoch, time_s, train, valid, test, checkpoint=b"") -> bytes:
    body = (pb_double(0x09, epoch) + pb_double(0x11, time_s) + pb_double(0x19, train)
            + pb_double(0x21, valid) + pb_double(0x29, test))
    return body + (b"\x32" + pb_varint(len(checkpoint)) + checkpoint if checkpoint else b"")


def pb_model_metrics(evaluations: list[bytes], params: int, total_time: float) -> bytes:
    body = b"".join(b"\x0a" + pb_varint(len(e)) + e for e in evaluations)
    return body + b"\x10" + pb_varint(params) + pb_double(0x19, total_time)


def official_payloads(records: list[dict]) -> list[bytes]:
    """The API-style records as the official file stores them: one JSON payload per run."""
    payloads = []
    for entry in records:
        bits = "".join(str(b) for row in entry["module_adjacency"] for b in row)
        for epochs, runs in entry["computed_statistics"].items():
            for k, run in enumerate(runs):
                evaluations = [pb_evaluation(0.0, 0.0, 0.1, 0.1, 0.1),
                               pb_evaluation(int(epochs) / 2, *(run[key] for key in HALFWAY_KEYS)),
                               pb_evaluation(float(epochs), *(run[key] for key in FINAL_KEYS),
                                             checkpoint=f"/models/{entry['module_hash']}/{k}/model.ckpt".encode())]
                metrics = pb_model_metrics(evaluations, entry["trainable_parameters"], 2000.0 + k)
                payloads.append(json.dumps([entry["module_hash"], int(epochs), bits,
                                            ",".join(entry["module_operations"]),
                                            base64.b64encode(metrics).decode()]).encode())
    return payloads


@pytest.fixture(scope="module")
def records30(shared_data):
    return json.loads((shared_data / "nb101" / "nb101_records30.json").read_text())


@pytest.fixture
def official_file(records30, tmp_path):
    path = tmp_path / "nasbench_only108.tfrecord"
    rec.write_tfrecord(path, official_payloads(records30))
    return path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    records = list(rec.synthetic_records(60, seed=7))
    path = tmp_path_factory.mktemp("nb101") / "synthetic.tfrecord"
    rec.write_tfrecord(path, (rec.encode_record(r) for r in records))
    return path, records


# ---- framing

def test_masked_crc_matches_the_tfrecord_package():
    from tfrecord.writer import TFRecordWriter

    for data in (b"", b"a", struct.pack("<Q", 12345), bytes(range(256)) * 3):
        assert struct.pack("<I", rec.masked_crc32c(data)) == TFRecordWriter.masked_crc(data)


def test_files_we_write_are_read_by_the_tfrecord_package_and_back(synthetic):
    from tfrecord.reader import tfrecord_iterator

    path, records = synthetic
    theirs = [bytes(view) for view in tfrecord_iterator(str(path))]
    ours = [payload for _, payload in rec.iter_tfrecord(path)]
    assert ours == theirs == [rec.encode_record(r) for r in records]


def test_files_written_by_the_tfrecord_package_are_read_exactly(tmp_path):
    from tfrecord.writer import TFRecordWriter

    path = tmp_path / "examples.tfrecord"
    writer = TFRecordWriter(str(path))
    for i in range(5):
        writer.write({"x": (list(range(i)), "int")})
    writer.close()
    offsets = [offset for offset, _ in rec.iter_tfrecord(path)]
    assert len(offsets) == 5 and offsets[0] == 0 and offsets == sorted(offsets)


# ---- protobuf

def test_decoder_reads_the_independent_encoding():
    metrics = pb_model_metrics([pb_evaluation(0.0, 0.0, 0.1, 0.2, 0.3),
                                pb_evaluation(54.0, 700.5, 0.8, 0.7, 0.6, checkpoint=b"/m/model.ckpt-1")],
                               6315018, 1450.25)
    decoded = rec.decode_model_metrics(metrics)
    assert decoded.trainable_parameters == 6315018 and decoded.total_time == 1450.25
    assert decoded.evaluation_data[1] == rec.EvaluationData(54.0, 700.5, 0.8, 0.7, 0.6, "/m/model.ckpt-1")
    assert rec.encode_model_metrics(decoded) == metrics


def test_decoder_agrees_with_google_protobuf_both_ways():
    """Cross-check against protobuf's own parser, with the message built from a runtime descriptor."""
    pb = pytest.importorskip("google.protobuf")
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    del pb
    field = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(name="model_metrics_test.proto", package="nasbench", syntax="proto2")
    evaluation = proto.message_type.add(name="EvaluationData")
    for number, name in rec._EVAL_DOUBLES.items():
        evaluation.field.add(name=name, number=number, type=field.TYPE_DOUBLE, label=field.LABEL_OPTIONAL)
    evaluation.field.add(name="checkpoint_path", number=6, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
    metrics = proto.message_type.add(name="ModelMetrics")
    metrics.field.add(name="evaluation_data", number=1, type=field.TYPE_MESSAGE,
                      type_name=".nasbench.EvaluationData", label=field.LABEL_REPEATED)
    metrics.field.add(name="trainable_parameters", number=2, type=field.TYPE_INT32, label=field.LABEL_OPTIONAL)
    metrics.field.add(name="total_time", number=3, type=field.TYPE_DOUBLE, label=field.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    message = message_factory.GetMessageClass(pool.FindMessageTypeByName("nasbench.ModelMetrics"))

    original = message(trainable_parameters=-7, total_time=12.5)
    original.evaluation_data.add(current_epoch=4.0, test_accuracy=0.5, checkpoint_path="ckpt-ü")
    original.evaluation_data.add(training_time=3.25)
    decoded = rec.decode_model_metrics(original.SerializeToString())
    assert decoded.trainable_parameters == -7 and decoded.total_time == 12.5
    assert decoded.evaluation_data == (rec.EvaluationData(4.0, test_accuracy=0.5, checkpoint_path="ckpt-ü"),
                                       rec.EvaluationData(training_time=3.25))
    for record in rec.synthetic_records(6, seed=1):
        parsed = message.FromString(rec.encode_model_metrics(record.metrics))
        assert parsed.trainable_parameters == record.metrics.trainable_parameters
        assert [e.test_accuracy for e in parsed.evaluation_data] == [
            e.test_accuracy for e in record.metrics.evaluation_data]


def test_unknown_fields_are_skipped_and_wrong_wire_types_rejected():
    unknown = b"\x20\x05" + b"\x2d\x00\x00\x00\x00" + b"\x3a\x02hi"  # field 4 varint, 5 fixed32, 7 bytes
    assert rec.decode_model_metrics(unknown + pb_model_metrics([], 5, 1.0)).trainable_parameters == 5
    with pytest.raises(CorruptDataError, match="field 2 has wire type 1"):
        rec.decode_model_metrics(b"\x11" + bytes(8))
    with pytest.raises(CorruptDataError, match="needs 8 bytes"):
        rec.decode_model_metrics(b"\x19\x00\x00")
    with pytest.raises(CorruptDataError, match="wire type 3"):
        rec.decode_model_metrics(b"\x0b")


# ---- records, round trips and conversion

def test_official_layout_round_trips_through_the_converter(official_file, records30, tmp_path):
    out = tmp_path / "nb101.parquet"
    summary = rec.convert_tfrecord(official_file, out)
    assert "converted 90 NB101 runs (108 epochs: 90)" in summary and "records/s" in summary
    table = rec.load_table(out)
    expected = rec.records_to_table(records30)
    pd.testing.assert_frame_equal(table.drop(columns=["total_time", "repeat"]),
                                  expected.drop(columns=["total_time"]), check_dtype=False)
    assert list(table["repeat"]) == [0, 1, 2] * 30
    assert list(table["total_time"]) == [2000.0, 2001.0, 2002.0] * 30
    assert not (tmp_path / "nb101.parquet.partial").exists()


def test_synthetic_records_read_back_exactly(synthetic):
    path, records = synthetic
    assert [r for _, r in rec.iter_records(path)] == records
    table = rec.load_table(path)
    assert len(table) == 60 and list(table["final_test_accuracy"]) == [
        r.metrics.evaluation_data[2].test_accuracy for r in records]


def test_cli_converts_to_csv_too(official_file, tmp_path, capsys):
    out = tmp_path / "nb101.csv"
    assert zcbench(["data", "convert", "nb101", str(official_file), "--out", str(out)]) == 0
    assert "converted 90 NB101 runs" in capsys.readouterr().out
    table = rec.load_table(out)
    assert table["adjacency"].str.len().isin([36, 49]).all() and len(table) == 90


def record_offsets(path):
    return [offset for offset, _ in rec.iter_tfrecord(path)]


def test_flipped_payload_byte_names_the_record_offset(official_file):
    offsets = record_offsets(official_file)
    data = bytearray(official_file.read_bytes())
    data[offsets[7] + 12 + 40] ^= 0x01
    official_file.write_bytes(bytes(data))
    with pytest.raises(CorruptDataError, match=f"at byte offset {offsets[7]} .payload CRC mismatch"):
        list(rec.iter_tfrecord(official_file))


def test_corrupt_length_field_names_the_offset(official_file):
    offsets = record_offsets(official_file)
    data = bytearray(official_file.read_bytes())
    data[offsets[3] + 1] ^= 0x40
    official_file.write_bytes(bytes(data))
    with pytest.raises(CorruptDataError, match=f"header at byte offset {offsets[3]} .length field"):
        list(rec.iter_tfrecord(official_file))


@pytest.mark.parametrize("cut", [5, 12 + 30, -2])
def test_truncated_file_names_the_offset_of_the_cut_record(official_file, cut):
    offsets = record_offsets(official_file)
    data = official_file.read_bytes()
    end = offsets[-1] + cut if cut > 0 else len(data) + cut
    official_file.write_bytes(data[:end])
    with pytest.raises(CorruptDataError, match=f"truncated record.* at byte offset {offsets[-1]}"):
        list(rec.iter_tfrecord(official_file))


def test_wrong_hash_is_reported_as_corruption_and_leaves_no_table(records30, tmp_path):
    payloads = official_payloads(records30[:2])
    fields = json.loads(payloads[4])
    fields[0] = records30[0]["module_hash"]  # record 4 belongs to the second module
    payloads[4] = json.dumps(fields).encode()
    path, out = tmp_path / "bad.tfrecord", tmp_path / "bad.parquet"
    rec.write_tfrecord(path, payloads)
    offset = record_offsets(path)[4]
    with pytest.raises(CorruptDataError, match=f"record 4 at byte offset {offset}: stored module hash "
                                               f"{records30[0]['module_hash']} but the cell"):
        rec.convert_tfrecord(path, out)
    assert not out.exists() and not (tmp_path / "bad.parquet.partial").exists()


@pytest.mark.parametrize("payload,message", [
    (b"\xff\xfe", "not UTF-8 JSON"),
    (b'{"a": 1}', "JSON list"),
    (b'["h", 108, "01", "input,output"]', "JSON list"),
    (b'["h", "108", "0100", "input,output", ""]', "epochs must be int"),
    (b'["h", 0, "0100", "input,output", ""]', "positive training budget"),
    (b'["h", 108, "0100", "input,output", "***"]', "not base64"),
    (b"[" * 100_000, "not UTF-8 JSON"),
])
def test_malformed_payloads_say_what_is_wrong(payload, message):
    with pytest.raises(CorruptDataError, match=message):
        rec.parse_record(payload)


def test_too_few_evaluations_is_corruption(tmp_path):
    metrics = base64.b64encode(pb_model_metrics([pb_evaluation(0, 0, 0, 0, 0)], 10, 1.0)).decode()
    path = tmp_path / "short.tfrecord"
    from zcbench.spaces.nb101 import make_arch

    digest = make_arch("010001000", "input,conv3x3-bn-relu,output").module_hash
    rec.write_tfrecord(path, [json.dumps([digest, 108, "010001000", "input,conv3x3-bn-relu,output",
                                          metrics]).encode()])
    with pytest.raises(CorruptDataError, match="1 evaluation_data entries"):
        rec.convert_tfrecord(path, tmp_path / "short.parquet")


def test_empty_file_and_bad_output_suffix_are_errors(tmp_path, official_file):
    empty = tmp_path / "empty.tfrecord"
    empty.write_bytes(b"")
    with pytest.raises(CorruptDataError, match="no records"):
        rec.convert_tfrecord(empty, tmp_path / "empty.parquet")
    with pytest.raises(ZcbenchError, match=".parquet or .csv"):
        rec.convert_tfrecord(official_file, tmp_path / "x.feather")


def test_conversion_memory_does_not_grow_with_the_file(records30, tmp_path):
    payloads = official_payloads(records30)
    peaks = []
    for copies in (4, 16):
        path = tmp_path / f"x{copies}.tfrecord"
        rec.write_tfrecord(path, payloads * copies)
        rec.convert_tfrecord(path, tmp_path / "warmup.parquet", batch_rows=100)
        tracemalloc.start()
        rec.convert_tfrecord(path, tmp_path / f"x{copies}.parquet", batch_rows=100)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.3 * peaks[0], peaks  # 4× the records, about the same peak


# ---- fuzzing: any bytes give a result or a CorruptDataError, nothing else

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(st.binary(max_size=200))
def test_fuzzed_metrics_never_crash_the_decoder(data):
    try:
        rec.decode_model_metrics(data)
    except CorruptDataError:
        pass


@FUZZ
@given(st.one_of(st.binary(max_size=300),
                 st.lists(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=60),
                                    st.binary(max_size=60).map(lambda b: base64.b64encode(b).decode())),
                          max_size=6).map(lambda v: json.dumps(v).encode())))
def test_fuzzed_payloads_never_crash_the_reader(payload):
    try:
        rec.parse_record(payload)
    except CorruptDataError:
        pass


@FUZZ
@given(st.binary(min_size=1, max_size=400), st.integers(min_value=0, max_value=10_000))
def test_fuzzed_files_raise_only_corrupt_data_errors(tmp_path, blob, position):
    path = tmp_path / "fuzz.tfrecord"
    framed = rec.frame_record(blob)  # valid framing around arbitrary payloads, then raw garbage
    path.write_bytes(framed + blob[: position % (len(blob) + 1)])
    try:
        list(rec.iter_row_batches(path))
    except CorruptDataError:
        pass


# ---- ground truth

def test_targets_aggregate_repeats_as_documented(records30):
    table = rec.records_to_table(records30)
    mean, code = rec.NB101_TARGETS["paper"], rec.NB101_TARGETS["code"]
    means, maxima = mean.values(table), code.values(table)
    assert list(means.index) == [r["module_hash"] for r in records30]
    for record in records30:
        finals = [run["final_test_accuracy"] for run in record["computed_statistics"]["108"]]
        assert means[record["module_hash"]] == pytest.approx(100 * statistics.mean(finals))
        assert maxima[record["module_hash"]] == pytest.approx(100 * max(finals))
    assert (maxima >= means).all() and (maxima > means).any()
    assert mean.describe() == "NB101 final test accuracy (%), mean of the repeats at 108 epochs"
    assert code.describe() == "NB101 final test accuracy (%), max over every stored run (all budgets)"


def test_budget_selection_and_code_max_over_all_budgets():
    rows = [{"module_hash": "a", "epochs": e, "final_validation_accuracy": acc}
            for e, acc in ((4, 0.95), (108, 0.90), (108, 0.92))]
    table = pd.DataFrame(rows)
    assert rec.NB101Target(metric="validation").values(table)["a"] == pytest.approx(91.0)
    assert rec.NB101Target(metric="validation", epochs=None, aggregate="max").values(table)["a"] == pytest.approx(95.0)
    with pytest.raises(ZcbenchError, match="no NB101 runs at 36 epochs"):
        rec.NB101Target(metric="validation", epochs=36).values(table)
    with pytest.raises(ValueError, match="aggregate"):
        rec.NB101Target(aggregate="median")
