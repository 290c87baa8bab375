"""`zcbench data convert KIND INPUT --out TABLE`: official benchmark files → the normalized table."""
from __future__ import annotations

from importlib import import_module

from zcbench.options import add_trust_pickle

# kind → (module, function, help). Each function is `convert(input_path, out_path, **options) -> summary str`.
CONVERTERS = {
    "nb201": ("zcbench.spaces.groundtruth", "convert_nb201_pth",
              "NAS-Bench-201-v1_0/v1_1 .pth → normalized NB201 table (CSV or Parquet by extension)"),
    "nats": ("zcbench.spaces.groundtruth", "convert_nats_tss",
             "NATS-Bench tss archive (directory or .pickle.pbz2) → normalized NB201 table"),
    "nb101": ("zcbench.spaces.nb101_records", "convert_tfrecord",
              "nasbench_only108.tfrecord / nasbench_full.tfrecord → normalized NB101 Parquet table"),
}


def register(parser) -> None:
    sub = parser.add_subparsers(dest="data_command", required=True)
    convert = sub.add_parser("convert", help="; ".join(f"{k}: {v[2]}" for k, v in CONVERTERS.items()))
    convert.add_argument("kind", choices=sorted(CONVERTERS))
    convert.add_argument("input", help="path of the official file or archive")
    convert.add_argument("--out", required=True, help="output table (.csv or .parquet)")
    add_trust_pickle(convert)
    convert.set_defaults(func=run_convert)


def run_convert(args) -> int:
    module, function, _ = CONVERTERS[args.kind]
    summary = getattr(import_module(module), function)(args.input, args.out)
    print(summary)
    return 0
