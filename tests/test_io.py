"""sfcrepro.data.io: atomic writes, gzip-aware reading and reproducible TSV tables."""

import gzip

import pandas as pd

from sfcrepro.data.io import open_text, write_tsv

TABLE = pd.DataFrame({"chrom": ["chr1", "chr2"], "start": [0, 10], "score": [1 / 3, 2.5]})


def test_gzip_table_is_byte_identical_and_readable(tmp_path):
    first, second = tmp_path / "a" / "t.tsv.gz", tmp_path / "b" / "t.tsv.gz"
    write_tsv(TABLE, first)
    write_tsv(TABLE, second)
    data = first.read_bytes()
    assert data == second.read_bytes()  # no timestamp, no (temporary) file name in the header
    assert data[3] == 0 and data[4:8] == b"\0\0\0\0"  # header flags and mtime
    with open_text(first) as fh:
        assert fh.read() == TABLE.to_csv(sep="\t", index=False)
    assert sorted(p.name for p in first.parent.iterdir()) == ["t.tsv.gz"]


def test_plain_table_with_float_format(tmp_path):
    path = tmp_path / "t.tsv"
    write_tsv(TABLE, path, float_format="%.6g")
    assert path.read_text().splitlines() == [
        "chrom\tstart\tscore",
        "chr1\t0\t0.333333",
        "chr2\t10\t2.5",
    ]
    with gzip.open(tmp_path / "x.gz", "wt") as fh:
        fh.write("a\n")
    with open_text(tmp_path / "x.gz") as fh, open_text(path) as plain:
        assert fh.read() == "a\n" and plain.readline() == "chrom\tstart\tscore\n"
