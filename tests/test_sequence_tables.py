"""User sequence datasets (sfcrepro.data.sequence_tables): formats, validation messages, splits."""

import gzip
import re
from pathlib import Path

import numpy as np
import pytest

from sfcrepro.data.datasets import read_dataset, read_table
from sfcrepro.data.sequence_tables import (
    SequenceTableError,
    assign_splits,
    read_sequences,
    write_sequence_splits,
)
from sfcrepro.data.sequences import decode, encode

SIMDATA = Path(__file__).with_name("data") / "deeplift_sim.subset.simdata"
DEEPLIFT_TASKS = {"task1": "both", "task2": "GATA_disc1", "task3": "TAL1_known1"}

ROWS = [  # name, sequence, a, b
    ("s1", "ACGTACGT", "1", "0"),
    ("s2", "acgtnnnn", "0", "1"),
    ("s3", "GGGGCCCC", "1", "1"),
    ("s4", "TTTTAAAA", "0", "0"),
    ("s5", "ACGTTGCA", "1", "0"),
]


def write_table(path, rows, header=("name", "sequence", "a", "b"), sep="\t"):
    text = "\n".join(sep.join(row) for row in [header, *rows]) + "\n"
    path = Path(path)
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as out:
            out.write(text)
    else:
        path.write_text(text)
    return path


def outputs(folder):
    return {split: Path(folder) / f"{split}.h5" for split in ("train", "valid", "test")}


def raises(path, line, fix, call, *args, **kwargs):
    """Call, expecting a SequenceTableError naming the file, `line <line>` and a fix keyword."""
    with pytest.raises(SequenceTableError, match=rf"line {line}\b.*Fix:.*{fix}") as info:
        call(path, *args, **kwargs)
    assert Path(path).name in str(info.value)
    return str(info.value)


@pytest.mark.parametrize("name", ["seqs.tsv", "seqs.csv", "seqs.csv.gz", "seqs.txt.gz"])
def test_table_round_trip(tmp_path, name):
    sep = "," if ".csv" in name else "\t"
    rows = [
        (*row, split)
        for row, split in zip(ROWS, ["train", "valid", "test", "TRAIN", "train"], strict=True)
    ]
    path = write_table(tmp_path / name, rows, ("name", "sequence", "a", "b", "part"), sep)
    data = read_sequences(path, split_column="part")
    assert data.names == ["s1", "s2", "s3", "s4", "s5"]
    assert data.tasks == ["a", "b"] and data.motifs is None
    assert data.codes.dtype == np.uint8 and data.codes.shape == (5, 8)
    np.testing.assert_array_equal(data.codes[1], encode("ACGTNNNN"))  # lowercase accepted
    assert data.labels.dtype == np.uint8
    assert data.labels.tolist() == [[1, 0], [0, 1], [1, 1], [0, 0], [1, 0]]
    counts = write_sequence_splits(data, outputs(tmp_path / "out"), seed=3)
    assert counts == {"train": 3, "valid": 1, "test": 1}
    sequences, labels, tasks = read_dataset(tmp_path / "out" / "train.h5")
    assert tasks == ["a", "b"]
    assert decode(sequences) == ["ACGTACGT", "TTTTAAAA", "ACGTTGCA"]  # file order kept
    assert labels.tolist() == [[1, 0], [0, 0], [1, 0]]
    assert read_table(tmp_path / "out" / "train.h5", "names")["name"].tolist() == ["s1", "s4", "s5"]
    sequences, labels, _ = read_dataset(tmp_path / "out" / "valid.h5")
    assert decode(sequences) == ["ACGTNNNN"] and labels.tolist() == [[0, 1]]
    assert read_table(tmp_path / "out" / "test.h5", "names")["name"].tolist() == ["s3"]


def test_table_without_name_column_and_chosen_tasks(tmp_path):
    path = write_table(
        tmp_path / "t.tsv",
        [(seq, a, b) for _, seq, a, b in ROWS],
        ("sequence", "a", "b"),
    )
    data = read_sequences(path, tasks=["b"])
    assert data.names == ["row2", "row3", "row4", "row5", "row6"]
    assert read_sequences(path, name_column=None).names == data.names
    assert data.tasks == ["b"] and data.labels[:, 0].tolist() == [0, 1, 1, 0, 0]
    renamed = read_sequences(path, tasks={"b": "bound", "a": "open"})
    assert renamed.tasks == ["bound", "open"]
    assert renamed.labels.tolist() == [[0, 1], [1, 0], [1, 1], [0, 0], [0, 1]]


def test_blank_lines_keep_line_numbers(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("name\tsequence\ta\nx\tACGT\t1\n\ny\tACGT\t2\n")
    raises(path, 4, "0 or 1", read_sequences)


def write_fasta(path):
    path.write_text(
        ">s1 first record\nACGT\nACGT\n>s2\nacgt\nnnnn\n\n>s3\nGGGGCCCC\n>s4\nTTTT\nAAAA\n"
    )
    return path


def test_fasta_with_label_table(tmp_path):
    fasta = write_fasta(tmp_path / "seqs.fa")
    labels = write_table(
        tmp_path / "labels.csv",
        [("s3", "1", "test"), ("s1", "0", "train"), ("s4", "1", "valid"), ("s2", "1", "train")],
        ("name", "bound", "split"),
        sep=",",
    )
    data = read_sequences(fasta, labels=labels, split_column="split")
    assert data.names == ["s1", "s2", "s3", "s4"]  # FASTA order
    assert decode(data.codes) == ["ACGTACGT", "ACGTNNNN", "GGGGCCCC", "TTTTAAAA"]
    assert data.tasks == ["bound"] and data.labels[:, 0].tolist() == [0, 1, 1, 1]
    assert data.splits.tolist() == ["train", "train", "test", "valid"]
    assert "seqs.fa" in data.source and "labels.csv" in data.source


def test_fasta_record_missing_from_label_table(tmp_path):
    fasta = write_fasta(tmp_path / "seqs.fa")
    labels = write_table(
        tmp_path / "labels.tsv", [("s1", "0"), ("s2", "1"), ("s4", "1")], ("name", "bound")
    )
    message = raises(fasta, 8, "add a row", read_sequences, labels=labels)
    assert "'s3'" in message and "labels.tsv" in message


def test_label_row_without_fasta_record(tmp_path):
    fasta = write_fasta(tmp_path / "seqs.fa")
    rows = [("s1", "0"), ("s2", "1"), ("s3", "0"), ("extra", "1"), ("s4", "1")]
    labels = write_table(tmp_path / "labels.tsv", rows, ("name", "bound"))
    with pytest.raises(
        SequenceTableError, match=r"labels\.tsv, line 5\b.*Fix: remove those rows"
    ) as info:
        read_sequences(fasta, labels=labels)
    assert "'extra'" in str(info.value) and "seqs.fa" in str(info.value)


def test_fasta_needs_labels_and_distinct_ids(tmp_path):
    fasta = write_fasta(tmp_path / "seqs.fasta")
    with pytest.raises(SequenceTableError, match="labels="):
        read_sequences(fasta)
    fasta.write_text(">a\nACGT\n>b\nACGT\n>a\nACGT\n")
    labels = write_table(tmp_path / "l.tsv", [("a", "1"), ("b", "0")], ("name", "t"))
    message = raises(fasta, 5, "distinct id", read_sequences, labels=labels)
    assert "line 1" in message  # the earlier record


def test_fasta_ragged_record_names_header_line(tmp_path):
    fasta = tmp_path / "seqs.fa.gz"
    with gzip.open(fasta, "wt") as out:
        out.write(">a\nACGT\nACGT\n>b\nACGT\nACG\n")
    labels = write_table(tmp_path / "l.tsv", [("a", "1"), ("b", "0")], ("name", "t"))
    message = raises(fasta, 4, "trim or pad", read_sequences, labels=labels)
    assert "7 bases" in message and "8" in message


def hand_parsed(embeddings, index):
    rows = []
    for item in embeddings.split(","):
        position, rest = item[len("pos-") :].split("_", 1)
        motif, bases = rest.rsplit("-", 1)
        rows.append((index, motif, int(position), int(position) + len(bases)))
    return rows


def test_simdata_subset(tmp_path):
    data = read_sequences(SIMDATA, tasks=DEEPLIFT_TASKS)
    assert data.tasks == ["both", "GATA_disc1", "TAL1_known1"]
    assert data.codes.shape == (40, 200)
    lines = SIMDATA.read_text().splitlines()
    header = lines[0].split("\t")
    assert header[:3] == ["seqName", "sequence", "embeddings"]
    fields = [line.split("\t") for line in lines[1:]]
    assert data.names == [f[0] for f in fields]
    assert data.labels.tolist() == [[int(v) for v in f[3:]] for f in fields]
    classes = {name.rsplit("_", 1)[0] for name in data.names}
    assert classes == {"empty", "gata_only", "tal1_only", "gata_tal1"}
    # Labels follow the embedded motifs: GATA_disc1 and TAL1_known1 tasks equal motif names.
    for column, motif in ((1, "GATA_disc1"), (2, "TAL1_known1")):
        has = np.zeros(len(data.names), dtype=np.uint8)
        has[data.motifs.loc[data.motifs["motif"] == motif, "index"].to_numpy()] = 1
        np.testing.assert_array_equal(data.labels[:, column], has)
    table = [tuple(row) for row in data.motifs.itertuples(index=False)]
    assert table[:2] == hand_parsed(fields[1][2], 1)
    assert table[:2] == [(1, "GATA_disc1", 120, 130), (1, "GATA_disc1", 1, 11)]
    assert table[2:4] == hand_parsed(fields[2][2], 2)
    assert len(table) == sum(len(f[2].split(",")) for f in fields if f[2])

    counts = write_sequence_splits(
        data, outputs(tmp_path), seed=7, fractions={"valid": 0.25, "test": 0.25}
    )
    assert counts == {"train": 20, "valid": 10, "test": 10}
    checked = 0
    for split in counts:
        sequences, _, tasks = read_dataset(tmp_path / f"{split}.h5")
        assert tasks == data.tasks
        motifs = read_table(tmp_path / f"{split}.h5", "motifs")
        assert motifs.columns.tolist() == ["index", "motif", "start", "end"]
        names = read_table(tmp_path / f"{split}.h5", "names")["name"].tolist()
        for row in motifs.itertuples(index=False):
            embedded = next(
                item
                for item in fields[data.names.index(names[row.index])][2].split(",")
                if item.startswith(f"pos-{row.start}_{row.motif}-")
            )
            assert decode(sequences[row.index])[row.start : row.end] == embedded.rsplit("-", 1)[1]
            checked += 1
    assert checked == len(table)


def test_simdata_gzip_and_bad_embeddings(tmp_path):
    lines = SIMDATA.read_text().splitlines(keepends=True)
    path = tmp_path / "sim.simdata.gz"
    with gzip.open(path, "wt") as out:
        out.writelines(lines)
    assert len(read_sequences(path).names) == 40
    assert read_sequences(path).tasks == ["task1", "task2", "task3"]

    bad = list(lines)
    bad[5] = bad[5].replace("\t\t", "\tposition-3_GATA-ACGT\t", 1)  # an empty class row
    assert "position-3" in bad[5]
    (tmp_path / "bad.simdata").write_text("".join(bad))
    raises(tmp_path / "bad.simdata", 6, "pos-120_GATA_disc1", read_sequences)

    outside = list(lines)
    outside[5] = outside[5].replace("\t\t", "\tpos-195_GATA_disc1-GCAGATAAGA\t", 1)
    (tmp_path / "outside.simdata").write_text("".join(outside))
    message = raises(tmp_path / "outside.simdata", 6, "correct", read_sequences)
    assert "205" in message and "200-bp" in message


@pytest.mark.parametrize(
    ("rows", "line", "fix", "words"),
    [
        (  # ragged lengths
            [("x", "ACGTACGT", "1"), ("y", "ACGTACGTAA", "0")],
            3,
            "trim or pad",
            ["10 bases", "has 8", "fixed-length"],
        ),
        (  # bad character, named with its position
            [("x", "ACGTACGT", "1"), ("y", "ACGTACGT", "0"), ("z", "ACGRACGT", "1")],
            4,
            "replace other characters",
            ["'R'", "position 4"],
        ),
        (  # non-ASCII character
            [("x", "ACGTACGT", "1"), ("y", "ACGTÄCGT", "0")],
            3,
            "replace other characters",
            ["'Ä'", "position 5"],
        ),
        (  # label that is not 0/1
            [("x", "ACGTACGT", "1"), ("y", "ACGTACGT", "2")],
            3,
            "0 or 1",
            ["'bound'", "'2'"],
        ),
        (  # NA label
            [("x", "ACGTACGT", "NA"), ("y", "ACGTACGT", "1")],
            2,
            "0 or 1",
            ["'NA'"],
        ),
        (  # empty label
            [("x", "ACGTACGT", "1"), ("y", "ACGTACGT", "")],
            3,
            "0 or 1",
            ["empty value"],
        ),
        (  # duplicate names, both lines
            [("x", "ACGTACGT", "1"), ("y", "ACGTACGT", "0"), ("x", "ACGTACGT", "1")],
            4,
            "distinct name",
            ["'x'", "line 2"],
        ),
        (  # empty sequence
            [("x", "ACGTACGT", "1"), ("y", "", "0")],
            3,
            "a sequence, or remove it",
            ["empty"],
        ),
    ],
)
def test_validation_errors(tmp_path, rows, line, fix, words):
    path = write_table(tmp_path / "bad_input.tsv", rows, ("name", "sequence", "bound"))
    message = raises(path, line, fix, read_sequences)
    for word in words:
        assert word in message


def test_header_errors(tmp_path):
    path = write_table(tmp_path / "only_header.tsv", [], ("name", "sequence", "bound"))
    raises(path, 1, "add one line per sequence", read_sequences)
    path = write_table(tmp_path / "cols.tsv", ROWS)
    message = raises(path, 1, "name existing columns", read_sequences, tasks=["a", "c"])
    assert "'c'" in message and "'name', 'sequence', 'a', 'b'" in message
    message = raises(path, 1, "sequence_column", read_sequences, sequence_column="seq")
    assert "'seq'" in message
    raises(path, 1, "split_column", read_sequences, split_column="fold")
    comma = write_table(tmp_path / "comma.tsv", ROWS, sep=",")
    raises(comma, 1, "comma-separated", read_sequences)
    extra = tmp_path / "extra.tsv"
    extra.write_text("name\tsequence\ta\nx\tACGT\t1\ny\tACGT\t1\t0\n")
    raises(extra, 3, "as many fields", read_sequences)


def test_split_column_values(tmp_path):
    rows = [
        (*row[:3], split)
        for row, split in zip(ROWS, ["train", "valid", "test", "testing", "train"], strict=True)
    ]
    path = write_table(tmp_path / "splits.tsv", rows, ("name", "sequence", "a", "split"))
    message = raises(path, 5, "train, valid or test", read_sequences, split_column="split")
    assert "'testing'" in message


def test_split_column_is_not_a_task(tmp_path):
    rows = [(*row, "train") for row in ROWS]
    path = write_table(tmp_path / "s.tsv", rows, ("name", "sequence", "a", "b", "split"))
    assert read_sequences(path).tasks == ["a", "b"]


def test_assign_splits_is_seeded():
    first = assign_splits(1000, {"valid": 0.1, "test": 0.2}, seed=1)
    assert first.tolist() == assign_splits(1000, {"valid": 0.1, "test": 0.2}, seed=1).tolist()
    assert first.tolist() != assign_splits(1000, {"valid": 0.1, "test": 0.2}, seed=2).tolist()
    assert [(first == s).sum() for s in ("train", "valid", "test")] == [700, 100, 200]
    assert (assign_splits(25, None, seed=0) == "valid").sum() == 2  # round(2.5) == 2
    with pytest.raises(ValueError, match="train gets the rest"):
        assign_splits(10, {"train": 0.8}, seed=0)


def test_fractions_split_keeps_file_order(tmp_path):
    n = 50
    rows = [(f"s{i}", "ACGT", str(i % 2)) for i in range(n)]
    data = read_sequences(write_table(tmp_path / "t.tsv", rows, ("name", "sequence", "a")))
    counts = write_sequence_splits(data, outputs(tmp_path / "out"), seed=5)
    assert counts == {"train": 40, "valid": 5, "test": 5}
    expected = assign_splits(n, None, seed=5)
    for split in counts:
        names = read_table(tmp_path / "out" / f"{split}.h5", "names")["name"].tolist()
        assert names == [f"s{i}" for i in np.flatnonzero(expected == split)]
    again = write_sequence_splits(data, outputs(tmp_path / "again"), seed=5)
    assert again == counts
    for split in counts:
        assert (tmp_path / "out" / f"{split}.h5").read_bytes() == (
            tmp_path / "again" / f"{split}.h5"
        ).read_bytes()


def test_empty_split_writes_nothing(tmp_path):
    data = read_sequences(write_table(tmp_path / "few.tsv", ROWS))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(
        SequenceTableError,
        match=r"few\.tsv.*valid split.*5 sequences.*Fix:.*more sequences.*split column",
    ) as info:
        write_sequence_splits(data, outputs(out), seed=0)
    assert "fractions" in str(info.value)
    assert list(out.iterdir()) == []

    rows = [(*row, "train" if i < 3 else "valid") for i, row in enumerate(ROWS)]
    path = write_table(tmp_path / "nosplit.tsv", rows, ("name", "sequence", "a", "b", "split"))
    data = read_sequences(path, split_column="split")
    with pytest.raises(SequenceTableError, match=r"nosplit\.tsv.*test split.*Fix:.*test"):
        write_sequence_splits(data, outputs(out), seed=0, fractions={"valid": 0.5})
    assert list(out.iterdir()) == []


def test_split_column_ignores_fractions(tmp_path):
    rows = [
        (*row, s) for row, s in zip(ROWS, ["train", "train", "valid", "test", "test"], strict=True)
    ]
    path = write_table(tmp_path / "s.tsv", rows, ("name", "sequence", "a", "b", "split"))
    data = read_sequences(path, split_column="split")
    counts = write_sequence_splits(data, outputs(tmp_path / "o"), seed=0, fractions={"valid": 0.5})
    assert counts == {"train": 2, "valid": 1, "test": 2}


def test_message_format(tmp_path):
    path = write_table(
        tmp_path / "fmt.tsv", [("x", "ACGT", "1"), ("y", "ACG", "0")], ("name", "sequence", "a")
    )
    with pytest.raises(SequenceTableError) as info:
        read_sequences(path)
    assert re.fullmatch(rf"{re.escape(str(path))}, line 3: .+\. Fix: .+\.", str(info.value))
    assert isinstance(info.value, ValueError)


def test_fasta_and_encoding_errors(tmp_path):
    labels = write_table(tmp_path / "l.tsv", [("a", "1"), ("b", "0")], ("name", "t"))
    fasta = tmp_path / "seqs.fna"
    fasta.write_text("ACGT\n>a\nACGT\n")
    raises(fasta, 1, "header line", read_sequences, labels=labels)
    fasta.write_text(">a\nACGT\n\n>b\n")
    raises(fasta, 4, "a sequence, or remove it", read_sequences, labels=labels, format="fasta")
    latin = tmp_path / "latin.tsv"
    latin.write_bytes("name\tsequence\tt\nx\u00e9\tACGT\t1\n".encode("latin-1"))
    with pytest.raises(SequenceTableError, match=r"latin\.tsv: .*Fix: save it as plain ASCII"):
        read_sequences(latin)
    with pytest.raises(SequenceTableError, match="no such file"):
        read_sequences(tmp_path / "missing.tsv")


def test_messages_quote_values_as_in_the_file(tmp_path):
    """Values read by pandas/numpy are quoted as the user wrote them, not as numpy reprs."""
    labels = tmp_path / "labels.tsv"
    labels.write_text("name\tsequence\tb\nr1\tACGT\t2\n")
    with pytest.raises(SequenceTableError, match=r"has the value '2'; labels must be 0 or 1"):
        read_sequences(labels, tasks=["b"])
    names = tmp_path / "names.tsv"
    names.write_text("name\tsequence\tb\nr1\tACGT\t1\nr1\tACGT\t0\n")
    with pytest.raises(SequenceTableError, match=r"line 3: the name 'r1' repeats that of line 2"):
        read_sequences(names, tasks=["b"])
