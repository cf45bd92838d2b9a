"""Tests of sfcrepro.data.sequences."""

import numpy as np
import pytest

from sfcrepro.data.sequences import decode, encode, one_hot, reverse_complement


def test_encode_decode_round_trip_and_case():
    codes = encode("ACGTNacgtn")
    assert codes.dtype == np.uint8
    assert codes.tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]
    assert decode(codes) == "ACGTNACGTN"
    assert decode(np.array([[0, 1], [3, 4]], dtype=np.uint8)) == ["AC", "TN"]


def test_ambiguity_codes_become_n_and_bad_characters_are_named():
    assert encode("RYKMSWBDHV").tolist() == [4] * 10
    with pytest.raises(ValueError, match=r"'X' at position 2"):
        encode("ACXT")


def test_one_hot_n_is_all_zero():
    x = one_hot(np.array([[0, 1, 2, 3, 4]], dtype=np.uint8))
    assert x.shape == (1, 5, 4) and x.dtype == np.float32
    np.testing.assert_array_equal(x[0, :4], np.eye(4))
    assert x[0, 4].sum() == 0


def test_reverse_complement():
    assert decode(reverse_complement(encode("AACGTN"))) == "NACGTT"
    batch = encode("ACG")[None].repeat(2, axis=0)
    assert decode(reverse_complement(batch)) == ["CGT", "CGT"]
