"""DNA sequences as compact uint8 token arrays.

Datasets store sequences as ``uint8`` codes ``A=0 C=1 G=2 T=3 N=4`` (one byte per base); models
see one-hot ``float32`` arrays ``(n, L, 4)`` made per batch with :func:`one_hot`, where ``N`` is
all zeros.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ALPHABET",
    "N_CODE",
    "decode",
    "dinucleotide_shuffle",
    "encode",
    "one_hot",
    "reverse_complement",
]

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
    raw = np.frombuffer(
        sequence.encode() if isinstance(sequence, str) else bytes(sequence), dtype=np.uint8
    )
    codes = _ENCODE[raw]
    bad = np.flatnonzero(codes == 255)
    if bad.size:
        pos = int(bad[0])
        raise ValueError(
            f"Not a nucleotide: {chr(raw[pos])!r} at position {pos} (expected A, C, G, T or N)."
        )
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


def dinucleotide_shuffle(
    tokens: np.ndarray, rng: np.random.Generator | None = None, seeds=None
) -> np.ndarray:
    """Shuffle each row, keeping its dinucleotide counts, uniformly among all such sequences.

    Every row of the result has the same counts of all 25 dinucleotides (N included) as the
    original row, hence the same first and last base and base composition, and is drawn uniformly
    from all sequences with those counts (Euler path with a random arborescence of last edges, as
    uShuffle does; the shortcut that keeps each base's original last edge is not uniform). Compiled
    with numba.

    Parameters
    ----------
    tokens : ndarray of uint8, shape (n, L) or (L,)
        Codes ``A=0 C=1 G=2 T=3 N=4``.
    rng : numpy.random.Generator, optional
        Source of one seed per row (used when ``seeds`` is not given).
    seeds : array-like of int, shape (n,), optional
        One seed per row: a row's result depends only on its codes and its seed, so work can be
        split into jobs in any way and give the same output.

    Returns
    -------
    ndarray of uint8
        A new array of the shape of ``tokens``.
    """
    from sfcrepro.data._shuffle import shuffle_rows

    tokens = np.asarray(tokens)
    single = tokens.ndim == 1
    batch = np.ascontiguousarray(tokens[None] if single else tokens)
    if batch.ndim != 2 or batch.dtype != np.uint8:
        raise ValueError(
            f"tokens must be uint8 of shape (n, L) or (L,), got {tokens.dtype} {tokens.shape}"
        )
    if batch.size and batch.max() > N_CODE:
        raise ValueError(f"tokens must be codes 0-{N_CODE}; found {int(batch.max())}")
    if batch.shape[1] > 2**32:  # the kernel draws integers below 2**32
        raise ValueError(f"rows of at most 2**32 codes can be shuffled, got {batch.shape[1]}")
    if seeds is None:
        rng = rng if rng is not None else np.random.default_rng()
        seeds = rng.integers(0, 2**63 - 1, size=len(batch), dtype=np.int64)
    seeds = np.asarray(seeds)
    seeds = seeds if seeds.dtype == np.uint64 else seeds.astype(np.int64).astype(np.uint64)
    if seeds.shape != (len(batch),):
        raise ValueError(f"need one seed per row: {len(batch)} rows, {seeds.shape} seeds")
    out = np.empty_like(batch)
    shuffle_rows(batch, seeds, out)
    return out[0] if single else out
