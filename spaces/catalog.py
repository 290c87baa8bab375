"""The `Space` interface and the catalog of search spaces (`get_space('nb201')`)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from zcbench.spaces import nb201
from zcbench.spaces.registry import Registry

if TYPE_CHECKING:  # torch is imported when a network is built, not by the catalog (`zcbench ls spaces`)
    from torch import nn

# Classifier width of each dataset's network head.
DATASET_CLASSES = {"cifar10": 10, "cifar100": 100, "imagenet16": 120}
# Input resolution per dataset (NB201 uses 32 px CIFAR and 16 px ImageNet16-120).
DATASET_INPUT_SIZE = {"cifar10": 32, "cifar100": 32, "imagenet16": 16}


class Space:
    """A search space: enumerates archs, parses references, builds networks, counts parameters."""

    name: str = ""
    description: str = ""
    official_size: int = 0  # architectures in the benchmark's dataset, known without reading it

    def __len__(self) -> int:
        raise NotImplementedError

    def arch(self, ref):
        """Resolve an index, id or string to an arch object (raises InvalidArchError)."""
        raise NotImplementedError

    def arch_id(self, arch) -> str:
        """A stable string id of an arch, used as the `arch` column of result rows."""
        raise NotImplementedError

    def archs(self) -> Iterator:
        raise NotImplementedError

    def build(self, arch, channels: int | None = None, cells: int | None = None, num_classes: int = 10) -> nn.Module:
        """The evaluation network of an arch; forward returns NetOutput(logits, features)."""
        raise NotImplementedError

    def build_thin(self, arch, num_classes: int = 10) -> nn.Module:
        """The narrow network used by LR1 (1-channel 3×3 inputs)."""
        raise NotImplementedError(f"space {self.name!r} defines no thin network")

    def param_count(self, arch, num_classes: int = 10) -> int:
        raise NotImplementedError

    def flops(self, arch, input_size: int = 32, num_classes: int = 10) -> float:
        """MFLOPs of one forward of the evaluation network, in the NB201 API's convention (spaces.flops)."""
        raise NotImplementedError

    def has_live_path(self, arch) -> bool:
        """Can signal reach the output (some input→output path of non-`none` ops)? A space whose
        every cell is connected (NB101 prunes unreachable nodes) keeps this default."""
        return True


class NB201Space(Space):
    name = "nb201"
    description = "NAS-Bench-201 / NATS-Bench tss cell space (15,625 cells, 5 ops on 6 edges)"
    official_size = nb201.NUM_ARCHS
    BASE_PARAMS_10 = 73_306
    PARAMS_PER_OP = {"nor_conv_3x3": 243_040, "nor_conv_1x1": 28_000}
    PARAMS_PER_CLASS = 65  # 64 features + 1 bias per extra class

    def __len__(self):
        return nb201.NUM_ARCHS

    def arch(self, ref):
        return nb201.resolve_arch(ref)

    def arch_id(self, arch) -> str:
        return str(arch.index)

    def archs(self):
        return iter(nb201.all_archs())

    def build(self, arch, channels=None, cells=None, num_classes=10):
        from zcbench.spaces import nb201_networks

        return nb201_networks.build_network(arch, channels or 16, cells or 5, num_classes)

    def build_thin(self, arch, num_classes=10):
        from zcbench.spaces import nb201_networks

        return nb201_networks.build_thin_network(arch, num_classes)

    def flops(self, arch, input_size=32, num_classes=10):
        """Closed form per op (spaces.flops.nb201_flops), checked against hook counting in tests."""
        from zcbench.spaces.flops import nb201_flops

        return nb201_flops(self.arch(arch), input_size, num_classes)

    def has_live_path(self, arch):
        return nb201.has_live_path(self.arch(arch))

    def param_count(self, arch, num_classes=10):
        """Closed form for the C=16, N=5 network (protocols §1.1), checked against the builder in tests."""
        return (self.BASE_PARAMS_10 + self.PARAMS_PER_CLASS * (num_classes - 10)
                + sum(self.PARAMS_PER_OP.get(op, 0) for op in arch.ops))


NB201 = NB201Space()
# The catalog; NB101 is lazy because its module subclasses Space from this one.
SPACES: Registry[Space] = Registry("search space", Space, entries={"nb201": "zcbench.spaces.catalog:NB201",
                                                                     "nb101": "zcbench.spaces.nb101:NB101"})


def get_space(name: str) -> Space:
    return SPACES.get(name)


def list_spaces() -> list[Space]:
    return list(SPACES)


def nb201_table():
    """One row per NB201 index: arch, op counts, params and MFLOPs per dataset, isomorphism class."""
    import pandas as pd

    from zcbench.spaces.flops import nb201_flops

    space = get_space("nb201")
    reps = nb201.iso_representatives()
    rows = []
    for i, arch in enumerate(nb201.all_archs()):
        iso = nb201.iso_class(arch)
        row = {"index": i, "arch": str(arch), "n_conv3x3": arch.n_conv3x3, "n_conv1x1": arch.n_conv1x1}
        for ds, classes in DATASET_CLASSES.items():
            row[f"params_{ds}"] = space.param_count(arch, classes)
        for ds, classes in DATASET_CLASSES.items():
            row[f"flops_{ds}"] = round(nb201_flops(arch, DATASET_INPUT_SIZE[ds], classes), 6)
        row.update(iso_class=iso, iso_representative=reps[iso], has_live_path=nb201.has_live_path(arch))
        rows.append(row)
    return pd.DataFrame(rows)
