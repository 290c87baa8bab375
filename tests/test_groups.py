"""Same-#Param groups: the general (n3, n1) classes vs the Revisit authors' file (protocols §A5)."""
import json

import pytest

from zcbench.reports import groups
from zcbench.spaces import nb201
from zcbench.spaces.errors import CorruptDataError, DataNotFoundError

# Protocols §A5: the archs missing from the Revisit file, per class.
MISSING_1_2 = [2148, 4039, 4516, 5078, 5913, 5988, 6136, 6682, 7316, 7330, 8519, 10222, 11772, 12150,
               12335, 14550, 15115, 15160]
MISSING_2_1 = [970, 1565, 4752, 5019, 5753, 6783, 6919, 7333, 8122, 11613, 11935, 12566, 12909, 13664,
               14608, 14937, 15077, 15596]


def test_general_classes_partition_the_space_into_28_param_values():
    classes = groups.param_classes()
    assert len(classes) == 28
    assert sum(len(c) for c in classes) == nb201.NUM_ARCHS
    assert len({i for c in classes for i in c.indices}) == nb201.NUM_ARCHS
    sizes = {c.name: len(c) for c in classes}
    assert (sizes["(1,2)"], sizes["(2,1)"], sizes["(4,0)"], sizes["(0,0)"]) == (1620, 1620, 135, 3 ** 6)


def test_revisit_groups_from_shared_file_differ_by_36_degenerate_archs(shared_data):
    revisit = groups.load_revisit_groups(shared_data / "revisit_params_split.json")
    assert [g.name for g in revisit] == ["0.37M", "0.40M", "0.59M", "0.62M", "0.64M", "0.83M", "0.86M", "1.05M"]
    assert [len(g) for g in revisit] == [1602, 540, 1602, 810, 180, 540, 180, 135]
    table = groups.compare_with_classes(revisit)
    assert list(zip(table.n3, table.n1)) == [(1, 2), (1, 3), (2, 1), (2, 2), (2, 3), (3, 1), (3, 2), (4, 0)]
    assert table.class_size.tolist() == [1620, 540, 1620, 810, 180, 540, 180, 135]
    assert table.missing_indices[0] == MISSING_1_2 and table.missing_indices[2] == MISSING_2_1
    assert table.missing.sum() == 36 and table.extra.sum() == 0
    for row in (0, 2):
        assert table.missing_kinds[row] == {"live: skip_connect": 9, "output≡0": 9}


def test_avg_pool_only_cells_were_kept_in_the_revisit_groups(shared_data):
    revisit = {g.name: set(g.indices) for g in groups.load_revisit_groups(shared_data / "revisit_params_split.json")}
    archs = nb201.all_archs()
    pool_only = [i for c in groups.param_classes() if c.name == "(1,2)" for i in c.indices
                 if groups.live_route_kind(archs[i]) == "live: avg_pool_3x3"]
    assert len(pool_only) == 9 and set(pool_only) <= revisit["0.37M"]


def test_live_route_kind_names_degenerate_cells():
    zero = nb201.parse_arch("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|nor_conv_1x1~2|")
    skip = nb201.parse_arch("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|")
    conv = nb201.parse_arch("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|")
    assert groups.live_route_kind(zero) == "output≡0"
    assert groups.live_route_kind(skip) == "live: skip_connect"
    assert groups.live_route_kind(conv) == "live: nor_conv_3x3+nor_conv_3x3+skip_connect"


def test_group_file_errors_name_the_problem(tmp_path, monkeypatch):
    bad_index = tmp_path / "bad.json"
    bad_index.write_text(json.dumps([[1, 2, 99999]]))
    with pytest.raises(CorruptDataError, match="group 0 entry 2 is 99999"):
        groups.load_revisit_groups(bad_index)
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps([[0, 1]]))  # index 0 has 2 1x1 convs, index 1 has 3 3x3 convs
    with pytest.raises(CorruptDataError, match="mixes #Param"):
        groups.load_revisit_groups(mixed)
    dup = tmp_path / "dup.json"
    dup.write_text(json.dumps([[5], [5]]))
    with pytest.raises(CorruptDataError, match="index 5 appears in group 0 and group 1"):
        groups.load_revisit_groups(dup)
    monkeypatch.delenv("ZCBENCH_DATA", raising=False)
    with pytest.raises(DataNotFoundError, match="params_split"):
        groups.revisit_groups_path(tmp_path)
