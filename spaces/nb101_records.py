"""NB101 records without TensorFlow: TFRecord framing, the JSON payload, the `ModelMetrics` protobuf,
the normalized run table, and the ground-truth aggregation `NB101Target` (protocols §D.2).

File layout (`nasbench_only108.tfrecord`, `nasbench_full.tfrecord`): records framed as
[uint64 LE length][uint32 masked CRC32C of the length][payload][uint32 masked CRC32C of the payload];
payload = UTF-8 JSON `[module_hash, epochs, adjacency bits, "op,op,...", base64(ModelMetrics)]`.
`ModelMetrics` is decoded from the protobuf wire format directly (no generated code); its
`evaluation_data` holds the evaluations at initialisation, halfway and at the end of training.

The normalized table has one row per record (one training run), in file order:
`run` (position in the file), `module_hash`, `epochs`, `adjacency`, `operations`,
`trainable_parameters`, `{halfway,final}_{training_time,train_accuracy,validation_accuracy,
test_accuracy}` (accuracies as fractions, as stored) and `total_time`; `load_table` adds `repeat`
(0, 1, 2 within a module hash and budget). Converting streams fixed-size batches, so memory does not
grow with the file, and every record's module hash is recomputed from its cell.
"""
from __future__ import annotations

import base64
import functools
import json
import os
import struct
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from zcbench.spaces import nb101
from zcbench.spaces.errors import CorruptDataError, InvalidArchError, ZcbenchError
from zcbench.spaces.integrity import verify_checksum, write_checksum

if TYPE_CHECKING:
    import pandas as pd

_HEADER = struct.Struct("<QI")
_UINT32 = struct.Struct("<I")
_DOUBLE = struct.Struct("<d")
_CRC_MASK_DELTA = 0xA282EAD8
HEADER_BYTES, FOOTER_BYTES = _HEADER.size, _UINT32.size


# ------------------------------------------------------------------ TFRecord framing

def _crc32c():
    try:
        import crc32c
    except ImportError:  # pragma: no cover - crc32c ships with the `tfrecord` package
        raise ZcbenchError("checking TFRecord CRCs needs the `crc32c` package (pip install crc32c)") from None
    return crc32c.crc32c


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC32C: the CRC rotated right by 15 bits plus a constant, modulo 2³²."""
    crc = _crc32c()(data)
    return (((crc >> 15) | (crc << 17)) + _CRC_MASK_DELTA) & 0xFFFFFFFF


def frame_record(payload: bytes) -> bytes:
    length = struct.pack("<Q", len(payload))
    return length + _UINT32.pack(masked_crc32c(length)) + payload + _UINT32.pack(masked_crc32c(payload))


def write_tfrecord(path, payloads: Iterable[bytes]) -> int:
    """Write payloads as TFRecord records; returns the number written."""
    count = 0
    with open(path, "wb") as f:
        for payload in payloads:
            f.write(frame_record(payload))
            count += 1
    return count


def iter_tfrecord(path, verify_crc: bool = True) -> Iterator[tuple[int, bytes]]:
    """Yield (byte offset, payload) for every record; CorruptDataError names the offset of a bad record."""
    with open(path, "rb", buffering=1 << 20) as f:
        size = os.fstat(f.fileno()).st_size
        offset = 0
        while header := f.read(HEADER_BYTES):
            if len(header) < HEADER_BYTES:
                raise CorruptDataError(f"{path}: truncated record header at byte offset {offset} "
                                       f"({len(header)} of {HEADER_BYTES} bytes)")
            length, length_crc = _HEADER.unpack(header)
            if verify_crc and masked_crc32c(header[:8]) != length_crc:
                raise CorruptDataError(f"{path}: corrupt record header at byte offset {offset} "
                                       f"(length field {length} fails its CRC)")
            available = size - offset - HEADER_BYTES
            if length + FOOTER_BYTES > available:
                raise CorruptDataError(f"{path}: truncated record at byte offset {offset}: its header announces "
                                       f"{length} payload bytes + {FOOTER_BYTES} CRC bytes, {available} remain")
            body = f.read(length + FOOTER_BYTES)
            if len(body) < length + FOOTER_BYTES:
                raise CorruptDataError(f"{path}: truncated record at byte offset {offset} "
                                       f"(read {len(body)} of {length + FOOTER_BYTES} bytes)")
            payload = body[:length]
            if verify_crc and masked_crc32c(payload) != _UINT32.unpack_from(body, length)[0]:
                raise CorruptDataError(f"{path}: corrupt payload in the record at byte offset {offset} "
                                       "(payload CRC mismatch)")
            yield offset, payload
            offset += HEADER_BYTES + length + FOOTER_BYTES


# ------------------------------------------------------------------ ModelMetrics protobuf

class EvaluationData(NamedTuple):
    current_epoch: float = 0.0
    training_time: float = 0.0
    train_accuracy: float = 0.0
    validation_accuracy: float = 0.0
    test_accuracy: float = 0.0
    checkpoint_path: str = ""


class ModelMetrics(NamedTuple):
    evaluation_data: tuple[EvaluationData, ...] = ()
    trainable_parameters: int = 0
    total_time: float = 0.0


_WIRE_VARINT, _WIRE_FIXED64, _WIRE_BYTES, _WIRE_FIXED32 = 0, 1, 2, 5
_EVAL_DOUBLES = {1: "current_epoch", 2: "training_time", 3: "train_accuracy", 4: "validation_accuracy",
                 5: "test_accuracy"}


def _read_varint(buf: bytes, pos: int, what: str) -> tuple[int, int]:
    result = shift = 0
    while shift < 70:
        if pos >= len(buf):
            raise CorruptDataError(f"{what}: varint runs past the end at byte {pos}")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
    raise CorruptDataError(f"{what}: varint longer than 10 bytes ending at byte {pos}")


def _fields(buf: bytes, what: str) -> list[tuple[int, int, object]]:
    """(field number, wire type, value) of every field of a serialized message. Values: varint → int,
    fixed64 → float (every fixed64 field of this schema is a double), length-delimited/fixed32 → bytes.
    Single-byte keys and lengths (all of NB101's) take the short path."""
    fields, pos, end = [], 0, len(buf)
    while pos < end:
        start, key = pos, buf[pos]
        if key < 0x80:
            pos += 1
        else:
            key, pos = _read_varint(buf, pos, what)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise CorruptDataError(f"{what}: field number 0 at byte {start}")
        if wire == _WIRE_VARINT:
            value, pos = _read_varint(buf, pos, what)
            fields.append((field, wire, value))
            continue
        if wire == _WIRE_FIXED64:
            size = 8
        elif wire == _WIRE_FIXED32:
            size = 4
        elif wire == _WIRE_BYTES:
            if pos < end and buf[pos] < 0x80:
                size, pos = buf[pos], pos + 1
            else:
                size, pos = _read_varint(buf, pos, what)
        else:
            raise CorruptDataError(f"{what}: field {field} at byte {start} has unsupported wire type {wire}")
        if pos + size > end:
            raise CorruptDataError(f"{what}: field {field} at byte {start} needs {size} bytes, {end - pos} remain")
        value = _DOUBLE.unpack_from(buf, pos)[0] if wire == _WIRE_FIXED64 else buf[pos:pos + size]
        fields.append((field, wire, value))
        pos += size
    return fields


def _expect(field: int, wire: int, expected: int, what: str) -> None:
    if wire != expected:
        raise CorruptDataError(f"{what}: field {field} has wire type {wire}, expected {expected}")


def _decode_evaluation(buf: bytes, what: str) -> EvaluationData:
    doubles, checkpoint_path = [0.0] * len(_EVAL_DOUBLES), ""
    for field, wire, value in _fields(buf, what):
        if field in _EVAL_DOUBLES:
            _expect(field, wire, _WIRE_FIXED64, what)
            doubles[field - 1] = value
        elif field == 6:
            _expect(field, wire, _WIRE_BYTES, what)
            try:
                checkpoint_path = value.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise CorruptDataError(f"{what}: checkpoint_path is not UTF-8 ({exc})") from None
    return EvaluationData(*doubles, checkpoint_path)


def decode_model_metrics(buf: bytes) -> ModelMetrics:
    """Parse a serialized `nasbench.ModelMetrics` (proto2; unknown fields are skipped)."""
    evaluations, params, total_time = [], 0, 0.0
    for field, wire, value in _fields(buf, "ModelMetrics"):
        if field == 1:
            _expect(field, wire, _WIRE_BYTES, "ModelMetrics")
            evaluations.append(_decode_evaluation(value, f"ModelMetrics.evaluation_data[{len(evaluations)}]"))
        elif field == 2:
            _expect(field, wire, _WIRE_VARINT, "ModelMetrics")
            params = value & 0xFFFFFFFF  # int32: keep the low 32 bits, two's complement
            params -= (params >> 31) << 32
        elif field == 3:
            _expect(field, wire, _WIRE_FIXED64, "ModelMetrics")
            total_time = value
    return ModelMetrics(tuple(evaluations), params, total_time)


def _varint_bytes(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int32 values are written as 10-byte two's complement varints
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _tag(field: int, wire: int) -> bytes:
    return _varint_bytes(field << 3 | wire)


def encode_model_metrics(metrics: ModelMetrics) -> bytes:
    """Serialize a ModelMetrics (every field written; checkpoint_path only when non-empty)."""
    out = bytearray()
    for evaluation in metrics.evaluation_data:
        body = bytearray()
        for field, name in _EVAL_DOUBLES.items():
            body += _tag(field, _WIRE_FIXED64) + _DOUBLE.pack(getattr(evaluation, name))
        if evaluation.checkpoint_path:
            path = evaluation.checkpoint_path.encode("utf-8")
            body += _tag(6, _WIRE_BYTES) + _varint_bytes(len(path)) + path
        out += _tag(1, _WIRE_BYTES) + _varint_bytes(len(body)) + body
    out += _tag(2, _WIRE_VARINT) + _varint_bytes(metrics.trainable_parameters)
    out += _tag(3, _WIRE_FIXED64) + _DOUBLE.pack(metrics.total_time)
    return bytes(out)


# ------------------------------------------------------------------ records

class NB101Record(NamedTuple):
    """One training run as stored in the official files."""

    module_hash: str
    epochs: int
    adjacency: str
    operations: str
    metrics: ModelMetrics


def encode_record(record: NB101Record) -> bytes:
    metrics = base64.b64encode(encode_model_metrics(record.metrics)).decode("ascii")
    return json.dumps([record.module_hash, record.epochs, record.adjacency, record.operations, metrics]).encode()


def parse_record(payload: bytes) -> NB101Record:
    """Decode one payload; any malformation raises CorruptDataError saying what was wrong."""
    try:
        fields = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise CorruptDataError(f"payload is not UTF-8 JSON ({exc})") from None
    if not isinstance(fields, list) or len(fields) != 5:
        raise CorruptDataError("payload must be the JSON list [module_hash, epochs, adjacency, operations, "
                               f"metrics], got {_preview(fields)}")
    digest, epochs, adjacency, operations, metrics = fields
    for name, value, kind in (("module_hash", digest, str), ("epochs", epochs, int), ("adjacency", adjacency, str),
                              ("operations", operations, str), ("metrics", metrics, str)):
        if not isinstance(value, kind) or isinstance(value, bool):
            raise CorruptDataError(f"payload field {name} must be {kind.__name__}, got {_preview(value)}")
    if not 0 < epochs < 2 ** 15:
        raise CorruptDataError(f"payload field epochs must be a positive training budget, got {epochs}")
    try:
        raw = base64.b64decode(metrics, validate=True)
    except ValueError as exc:
        raise CorruptDataError(f"payload field metrics is not base64 ({exc})") from None
    return NB101Record(digest, epochs, adjacency, operations, decode_model_metrics(raw))


def _preview(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def iter_records(path, verify_crc: bool = True) -> Iterator[tuple[int, NB101Record]]:
    """(byte offset, record) for every record of an NB101 TFRecord file."""
    for offset, payload in iter_tfrecord(path, verify_crc):
        try:
            yield offset, parse_record(payload)
        except CorruptDataError as exc:
            raise CorruptDataError(f"{path}: record at byte offset {offset}: {exc}") from None


def synthetic_records(n: int, seed: int = 0, repeats: int = 3, epochs: int = 108) -> Iterator[NB101Record]:
    """`n` records shaped like the official ones (random valid cells, `repeats` consecutive runs each,
    true parameter counts, random accuracies and times): fixtures and benchmarks of realistic size."""
    import numpy as np

    from zcbench.spaces.nb101_networks import count_parameters

    rng = np.random.default_rng(seed)
    for start in range(0, n, repeats):
        arch = nb101.random_arch(rng)
        params, operations = count_parameters(arch), ",".join(arch.ops)
        for _ in range(min(repeats, n - start)):
            initial = EvaluationData(0.0, 0.0, *rng.uniform(0.05, 0.15, size=3))
            halfway_time = rng.uniform(200.0, 3000.0)
            halfway = EvaluationData(epochs / 2, halfway_time, *rng.uniform(0.3, 0.9, size=3))
            final = EvaluationData(float(epochs), 2 * halfway_time, *rng.uniform(0.6, 1.0, size=3))
            metrics = ModelMetrics((initial, halfway, final), params, 2 * halfway_time + rng.uniform(10.0, 60.0))
            yield NB101Record(arch.module_hash, epochs, arch.bits, operations, metrics)


# ------------------------------------------------------------------ the normalized run table

STATS = ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy")
POINTS = ("halfway", "final")
STAT_COLUMNS = tuple(f"{point}_{stat}" for point in POINTS for stat in STATS)
COLUMNS = ("run", "module_hash", "epochs", "adjacency", "operations", "trainable_parameters",
           *STAT_COLUMNS, "total_time")


def _schema():
    import pyarrow as pa

    types = {"run": pa.int64(), "module_hash": pa.string(), "epochs": pa.int16(), "adjacency": pa.string(),
             "operations": pa.string(), "trainable_parameters": pa.int64()}
    return pa.schema([(name, types.get(name, pa.float64())) for name in COLUMNS])


@functools.lru_cache(maxsize=1024)  # bounded: repeats of one cell share the work, memory stays flat
def _cell_hash(adjacency: str, operations: str) -> str:
    return nb101.make_arch(adjacency, operations).module_hash


def check_record(record: NB101Record) -> None:
    """Recompute the module hash from the record's cell; a mismatch or an invalid cell is corrupt data."""
    try:
        computed = _cell_hash(record.adjacency, record.operations)
    except InvalidArchError as exc:
        raise CorruptDataError(f"invalid cell {record.adjacency}:{record.operations} ({exc})") from None
    if computed != record.module_hash:
        raise CorruptDataError(f"stored module hash {record.module_hash} but the cell {record.adjacency}:"
                               f"{record.operations} hashes to {computed}")
    if len(record.metrics.evaluation_data) < 3:
        raise CorruptDataError(f"ModelMetrics has {len(record.metrics.evaluation_data)} evaluation_data entries; "
                               "NB101 runs have 3 (initialisation, halfway, final)")


def _append_row(columns: dict[str, list], run: int, record: NB101Record) -> None:
    metrics = record.metrics
    for name, value in (("run", run), ("module_hash", record.module_hash), ("epochs", record.epochs),
                        ("adjacency", record.adjacency), ("operations", record.operations),
                        ("trainable_parameters", metrics.trainable_parameters), ("total_time", metrics.total_time)):
        columns[name].append(value)
    for point, evaluation in zip(POINTS, metrics.evaluation_data[1:3]):
        for stat in STATS:
            columns[f"{point}_{stat}"].append(getattr(evaluation, stat))


def iter_row_batches(path, batch_rows: int = 50_000, verify_crc: bool = True) -> Iterator[dict[str, list]]:
    """Column batches of at most `batch_rows` checked runs of a TFRecord file, in file order."""
    columns = {name: [] for name in COLUMNS}
    for run, (offset, record) in enumerate(iter_records(path, verify_crc)):
        try:
            check_record(record)
        except CorruptDataError as exc:
            raise CorruptDataError(f"{path}: record {run} at byte offset {offset}: {exc}") from None
        _append_row(columns, run, record)
        if len(columns["run"]) >= batch_rows:
            yield columns
            columns = {name: [] for name in COLUMNS}
    if columns["run"]:
        yield columns


def convert_tfrecord(input_path, out_path, batch_rows: int = 50_000, verify_crc: bool = True) -> str:
    """Stream an NB101 TFRecord file into the normalized table (.parquet, or .csv); returns a summary.

    Written to `OUT.partial` and renamed at the end, so an interrupted or failed run leaves no table.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    out = Path(out_path)
    if out.suffix not in (".parquet", ".csv"):
        raise ZcbenchError(f"output table must end in .parquet or .csv, got {out}")
    if not Path(input_path).is_file():
        raise ZcbenchError(f"NB101 TFRecord file not found: {input_path}")
    partial = out.with_name(out.name + ".partial")
    schema, started = _schema(), time.perf_counter()
    runs, budgets = 0, Counter()
    writer = pq.ParquetWriter(partial, schema) if out.suffix == ".parquet" else pa_csv.CSVWriter(partial, schema)
    try:
        for columns in iter_row_batches(input_path, batch_rows, verify_crc):
            writer.write_table(pa.Table.from_pydict(columns, schema=schema))
            runs += len(columns["run"])
            budgets.update(columns["epochs"])
    except BaseException:
        writer.close()
        partial.unlink(missing_ok=True)
        raise
    writer.close()
    if runs == 0:
        partial.unlink(missing_ok=True)
        raise CorruptDataError(f"{input_path}: no records")
    os.replace(partial, out)
    write_checksum(out)
    seconds = time.perf_counter() - started
    per_budget = ", ".join(f"{epochs} epochs: {count}" for epochs, count in sorted(budgets.items()))
    return (f"converted {runs} NB101 runs ({per_budget}) from {input_path} to {out} in {seconds:.1f} s "
            f"({runs / seconds:,.0f} records/s); every module hash and CRC verified")


def records_to_table(records: list[dict]) -> pd.DataFrame:
    """The run table of NB101 API-style records (`module_hash`, `module_adjacency`, `module_operations`,
    `trainable_parameters`, `computed_statistics` {epochs: [run dicts]}), e.g. a JSON fixture.
    Such records carry no total_time (NaN)."""
    import pandas as pd

    rows = []
    for entry in records:
        arch = nb101.make_arch(entry["module_adjacency"], entry["module_operations"])
        if arch.module_hash != entry["module_hash"]:
            raise CorruptDataError(f"record {entry['module_hash']}: its cell hashes to {arch.module_hash}")
        for epochs, runs in entry["computed_statistics"].items():
            for stats in runs:
                rows.append({"run": len(rows), "module_hash": entry["module_hash"], "epochs": int(epochs),
                             "adjacency": arch.bits, "operations": ",".join(arch.ops),
                             "trainable_parameters": entry["trainable_parameters"],
                             **{name: stats[name] for name in STAT_COLUMNS}, "total_time": float("nan")})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def load_table(source) -> pd.DataFrame:
    """The run table from a converted .parquet/.csv, a .tfrecord, or a JSON list of API-style records,
    with `repeat` (order of the run within its module hash and budget) added."""
    import pandas as pd

    path = Path(source)
    if not path.is_file():
        raise ZcbenchError(f"NB101 table not found: {path}")
    verify_checksum(path)  # tables written by convert_tfrecord carry a .sha256
    if path.suffix == ".parquet":
        table = pd.read_parquet(path)
    elif path.suffix == ".csv":
        table = pd.read_csv(path, dtype={"adjacency": str, "module_hash": str})
    elif path.suffix == ".json":
        table = records_to_table(json.loads(path.read_text()))
    elif path.suffix == ".tfrecord":
        batches = [pd.DataFrame(columns) for columns in iter_row_batches(path)]
        table = pd.concat(batches, ignore_index=True) if batches else pd.DataFrame(columns=list(COLUMNS))
    else:
        raise ZcbenchError(f"unsupported NB101 table format {path.suffix!r} ({path}); "
                           "expected .parquet, .csv, .json or .tfrecord")
    missing = [name for name in COLUMNS if name not in table.columns]
    if missing:
        raise CorruptDataError(f"{path}: not an NB101 run table, missing columns {missing}")
    return table.assign(repeat=table.groupby(["module_hash", "epochs"], sort=False).cumcount())


# ------------------------------------------------------------------ ground truth

@dataclass(frozen=True)
class NB101Target:
    """Which NB101 accuracy a table is scored against (values in %).

    `aggregate` combines the runs of one module: 'mean' (NB101 paper: mean of the 3 repeats) or 'max'
    (NASWOT/Revisit code: max over every stored run, protocols §D.2/F.1). `epochs` selects the budget;
    None takes every stored budget, which is what the NASWOT code does (with only108 it equals 108).
    """

    metric: str = "test"        # train | validation | test
    point: str = "final"        # final | halfway
    epochs: int | None = 108
    aggregate: str = "mean"     # mean | max

    def __post_init__(self):
        for name, allowed in (("metric", ("train", "validation", "test")), ("point", POINTS),
                              ("aggregate", ("mean", "max"))):
            if getattr(self, name) not in allowed:
                raise ValueError(f"NB101Target.{name} must be one of {allowed}, got {getattr(self, name)!r}")

    @property
    def column(self) -> str:
        return f"{self.point}_{self.metric}_accuracy"

    def describe(self) -> str:
        runs = "every stored run (all budgets)" if self.epochs is None else f"the repeats at {self.epochs} epochs"
        how = "mean of" if self.aggregate == "mean" else "max over"
        return f"NB101 {self.point} {self.metric} accuracy (%), {how} {runs}"

    def values(self, table) -> pd.Series:
        """Accuracy in % per module hash, in first-appearance (file) order."""
        runs = table if self.epochs is None else table[table["epochs"] == self.epochs]
        if runs.empty:
            budgets = sorted(set(table["epochs"]))
            raise ZcbenchError(f"no NB101 runs at {self.epochs} epochs in this table (budgets: {budgets})")
        grouped = runs.groupby("module_hash", sort=False)[self.column]
        return (grouped.mean() if self.aggregate == "mean" else grouped.max()).mul(100.0).rename(self.describe())


NB101_TARGETS = {"paper": NB101Target(), "code": NB101Target(epochs=None, aggregate="max")}
