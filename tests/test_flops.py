"""FLOPs proxy: the NB201-convention MFLOPs of the C16 N5 network at the dataset's input size and head."""
from __future__ import annotations

import pytest

from zcbench.proxies.flops import FLOPS
from zcbench.spaces.flops import nb201_flops
from zcbench.spaces.nb201 import resolve_arch

CONV3_ONCE = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"
POOL_ONCE = "|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"


@pytest.mark.parametrize("dataset, size, classes",
                         [("cifar10", 32, 10), ("cifar100", 32, 100), ("imagenet16", 16, 120)])
def test_flops_use_the_dataset_input_size_and_head(dataset, size, classes):
    result = FLOPS.score(123, dataset=dataset)
    assert result.ok and result.value == nb201_flops(resolve_arch(123), size, classes)
    assert (result.diagnostics["input_size"], result.diagnostics["num_classes"]) == (size, classes)


def test_a_conv_costs_flops_and_parameter_free_ops_do_not():
    none = FLOPS.score("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|").value
    assert FLOPS.score(POOL_ONCE).value == none < FLOPS.score(CONV3_ONCE).value
    assert FLOPS.higher_is_better and FLOPS.cost_class == "parameter-free"


def test_unknown_dataset_without_input_size_is_named():
    result = FLOPS.score(0, dataset="svhn")
    assert result.status.startswith("error:ZcbenchError") and "svhn" in result.status
    assert FLOPS.score(0, dataset="svhn", input_size=32, num_classes=10).value == FLOPS.score(0).value
