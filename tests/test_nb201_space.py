"""NB201 cell space: parsing, the official index order, isomorphism classes, liveness."""
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zcbench.spaces import nb201
from zcbench.spaces.errors import InvalidArchError, UnknownOperationError

# Indices asserted by the NB201 generator (protocols §1.2).
ASSERTED = {
    0: "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    9: "|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
    123: "|avg_pool_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|",
}


@pytest.mark.parametrize("index,text", sorted(ASSERTED.items()))
def test_official_index_order_matches_generator_asserts(index, text):
    assert str(nb201.index_to_arch(index)) == text
    assert nb201.arch_to_index(text) == index


def test_index_order_is_a_permutation_of_the_product():
    archs = nb201.all_archs()
    assert len(archs) == len({a.ops for a in archs}) == 15625


def test_round_trip_every_index():
    for i in range(0, 15625, 7):
        assert nb201.parse_arch(str(nb201.index_to_arch(i))).index == i


def test_isomorphism_class_count():
    assert len(nb201.iso_representatives()) == 6466


def test_isomorphism_examples():
    # a `none` into node 3 from a zero node, and skip chains, collapse to the same function
    a = nb201.parse_arch("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    b = nb201.parse_arch("|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    assert nb201.iso_class(a) == nb201.iso_class(b)
    c = nb201.parse_arch("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_1x1~1|none~2|")
    assert nb201.iso_class(a) != nb201.iso_class(c)


def test_dead_cells_have_no_live_path():
    dead = nb201.parse_arch("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert not nb201.has_live_path(dead)
    assert nb201.live_edges(dead) == (False,) * 6
    alive = nb201.parse_arch("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|")
    assert nb201.live_edges(alive) == (True, False, False, False, True, False)


def test_live_path_agrees_with_cell_output_being_zero():
    """Independent check: a cell has no live path iff its output is identically zero."""
    import torch

    from zcbench.spaces.nb201_networks import InferCell

    x = torch.randn(2, 2, 5, 5)
    archs = nb201.all_archs()
    sample = [archs[i] for i in random.Random(1).sample(range(len(archs)), 120)]
    sample += [a for a in archs[:3000] if not nb201.has_live_path(a)][:20]
    for arch in sample:
        out = InferCell(arch, 2)(x)
        assert nb201.has_live_path(arch) == bool(out.abs().sum() > 0), str(arch)


@pytest.mark.parametrize("text,error,fragment", [
    ("|nor_conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", UnknownOperationError, "nor_conv_5x5"),
    ("|nor_conv_3x~0|+|none~0|none~1|+|none~0|none~1|none~2|", UnknownOperationError, "did you mean"),
    ("|none~0|+|none~0|none~1|", InvalidArchError, "3 nodes"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|", InvalidArchError, "2 incoming edges"),
    ("|none~0|+|none~0|none~2|+|none~0|none~1|none~2|", InvalidArchError, "must come from node 1"),
    ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", InvalidArchError, "lacks '~source'"),
    ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", InvalidArchError, "node 1"),
])
def test_invalid_arch_strings_name_the_problem(text, error, fragment):
    with pytest.raises(error, match=fragment):
        nb201.parse_arch(text)


@pytest.mark.parametrize("bad", [-1, 15625, 10**9, True, 3.0])
def test_out_of_range_or_non_int_indices(bad):
    with pytest.raises(InvalidArchError):
        nb201.index_to_arch(bad)


op_lists = st.lists(st.sampled_from(nb201.OPS), min_size=6, max_size=6)


@given(op_lists)
def test_property_string_round_trip(ops):
    arch = nb201.NB201Arch(tuple(ops))
    assert nb201.parse_arch(str(arch)) == arch


@settings(max_examples=300)
@given(st.text(alphabet="|+~0123_abcdefghijklmnopqrstuvwxyz", max_size=120))
def test_property_parser_accepts_only_valid_strings(text):
    try:
        arch = nb201.parse_arch(text)
    except InvalidArchError:
        return
    assert str(arch) == text.strip()


unknown_ops = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12).filter(
    lambda s: s not in nb201.OPS)


def _arch_text(ops) -> str:
    parts, k = [], 0
    for node in range(1, 4):
        parts.append("|" + "|".join(f"{ops[k + src]}~{src}" for src in range(node)) + "|")
        k += node
    return "+".join(parts)


@given(op_lists, st.integers(0, 5), unknown_ops)
def test_property_any_unknown_op_is_named(ops, position, bad_op):
    ops = list(ops)
    ops[position] = bad_op
    with pytest.raises(UnknownOperationError, match=re.escape(repr(bad_op))):
        nb201.parse_arch(_arch_text(ops))


def test_resolve_arch_accepts_index_strings_and_archs():
    arch = nb201.index_to_arch(6111)
    assert nb201.resolve_arch("6111") == nb201.resolve_arch(6111) == nb201.resolve_arch(str(arch)) == arch
    rng = random.Random(0)
    for i in rng.sample(range(15625), 20):
        assert nb201.resolve_arch(str(i)).index == i
