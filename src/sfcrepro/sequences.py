"""DNA sequences as compact uint8 token arrays.

Datasets store sequences as ``uint8`` codes ``A=0 C=1 G=2 T=3 N=4`` (one byte per base); models
see one-hot ``float32`` arrays ``(n, L, 4)`` made per batch with :func:`one_hot`, where ``N`` is
all zeros.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ALPHABET", "N_CODE", "decode", "encode", "one_hot", "reverse_complement"]

ALPHABET = "ACGTN"
N_CODE = 4

_ENCODE = np.full(256, 255, dtype=np.uint8)
for _code, _base in enumerate(ALPHABET):
    _ENCODE[ord(_base)] = _code
    _ENCODE[ord(_base.lower())] = _code  # soft-masked (lowercase) bases are ordinary bases
for _ambiguous in "RYKMSWBDHV":
    _ENCODE[ord(_ambiguous)] = N_CODE
    _ENCODE[ord(_ambiguous.lower())] = N_CODE
_DECODE = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)
_COMPLEMENT = np.array([3, 2, 1, 0, 4], dtype=np.uint8)
_EYE = np.vstack([np.eye(4, dtype=np.float32), np.zeros((1, 4), dtype=np.float32)])


def encode(sequence: str | bytes) -> np.ndarray:
    """Encode a DNA string to uint8 codes (case-insensitive; IUPAC ambiguity codes become N).

    Raises
    ------
    ValueError
        If the string holds a character that is not a nucleotide code, naming it and its position.
    """
    raw = np.frombuffer(sequence.encode() if isinstance(sequence, str) else bytes(sequence), dtype=np.uint8)
    codes = _ENCODE[raw]
    bad = np.flatnonzero(codes == 255)
    if bad.size:
        pos = int(bad[0])
        raise ValueError(f"Not a nucleotide: {chr(raw[pos])!r} at position {pos} (expected A, C, G, T or N).")
    return codes


def decode(tokens: np.ndarray) -> str | list[str]:
    """Decode uint8 codes back to a string (1-d input) or a list of strings (2-d input)."""
    tokens = np.asarray(tokens)
    if tokens.ndim == 1:
        return _DECODE[tokens].tobytes().decode()
    return [_DECODE[row].tobytes().decode() for row in tokens]


def one_hot(tokens: np.ndarray, dtype=np.float32) -> np.ndarray:
    """One-hot encode codes ``(..., L)`` to ``(..., L, 4)``; N becomes all zeros."""
    return _EYE.astype(dtype, copy=False)[np.asarray(tokens)]


def reverse_complement(tokens: np.ndarray) -> np.ndarray:
    """Reverse complement of codes ``(..., L)`` along the last axis (N stays N)."""
    return _COMPLEMENT[np.asarray(tokens)][..., ::-1]
