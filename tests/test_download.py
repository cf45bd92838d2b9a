"""sfcrepro.data.download against a local HTTP server (tests/conftest.py)."""

import gzip
import hashlib

import pytest

from sfcrepro.data.download import DownloadError, fetch, url_scheme
from sfcrepro.data.io import open_text


@pytest.fixture
def payload(served):
    folder, base = served
    data = gzip.compress(b"chr1\t10\t20\n" * 5000)
    (folder / "peaks.bed.gz").write_bytes(data)
    return folder, base, data, hashlib.sha256(data).hexdigest()


def test_fetch_verifies_and_records(payload, tmp_path):
    _, base, data, digest = payload
    ledger = tmp_path / "checksums.tsv"
    dest = tmp_path / "out" / "peaks.bed.gz"
    assert fetch(f"{base}/peaks.bed.gz", dest, sha256=digest, ledger=ledger) == digest
    assert dest.read_bytes() == data
    with open_text(dest) as fh:  # gzip handled transparently
        assert fh.readline() == "chr1\t10\t20\n"
    lines = ledger.read_text().splitlines()
    assert lines[0] == "url\tsha256\tbytes\tfetched"
    assert lines[1].startswith(f"{base}/peaks.bed.gz\t{digest}\t{len(data)}\t")
    fetch(f"{base}/peaks.bed.gz", tmp_path / "again.gz", ledger=ledger)
    assert len(ledger.read_text().splitlines()) == 2  # same content: no new line


def test_checksum_mismatch_fails_and_leaves_nothing(payload, tmp_path):
    _, base, _, _ = payload
    dest = tmp_path / "peaks.bed.gz"
    with pytest.raises(DownloadError, match="SHA-256 is .* but the config expects 0000"):
        fetch(f"{base}/peaks.bed.gz", dest, sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_changed_upstream_is_detected(payload, tmp_path):
    folder, base, _, _ = payload
    ledger = tmp_path / "checksums.tsv"
    (folder / "moving.txt").write_text("version 1\n")
    fetch(f"{base}/moving.txt", tmp_path / "a.txt", ledger=ledger)
    (folder / "moving.txt").write_text("version 2\n")
    with pytest.raises(DownloadError, match="changed upstream"):
        fetch(f"{base}/moving.txt", tmp_path / "b.txt", ledger=ledger)
    assert not (tmp_path / "b.txt").exists()


def test_retries_a_flaky_server(payload, tmp_path):
    _, base, data, _ = payload
    fetch(f"{base}/flaky/peaks.bed.gz", tmp_path / "p.gz", retries=2, backoff=0.01)
    assert (tmp_path / "p.gz").read_bytes() == data


def test_a_transfer_cut_halfway_is_retried(payload, tmp_path, caplog):
    _, base, data, _ = payload
    with caplog.at_level("WARNING", logger="sfcrepro.data.download"):
        fetch(f"{base}/cut-once/peaks.bed.gz", tmp_path / "p.gz", retries=2, backoff=0.01)
    assert (tmp_path / "p.gz").read_bytes() == data
    assert any("attempt 1 of 3 failed (connection closed after" in m for m in caplog.messages)
    assert [p.name for p in tmp_path.iterdir()] == ["p.gz"]  # no partial copy left beside it


def test_truncated_transfer_fails_after_retries(payload, tmp_path):
    _, base, _, _ = payload
    with pytest.raises(
        DownloadError, match=r"connection closed after \d+ of \d+ bytes.*local path"
    ):
        fetch(f"{base}/truncated/peaks.bed.gz", tmp_path / "p.gz", retries=1, backoff=0.01)
    assert list(tmp_path.iterdir()) == []


def test_html_error_page_and_missing_file(payload, tmp_path):
    _, base, _, _ = payload
    with pytest.raises(DownloadError, match="HTML page instead of data"):
        fetch(f"{base}/html/peaks.bed.gz", tmp_path / "p.gz")
    with pytest.raises(
        DownloadError, match="404.*set this source's url in the config to the local path"
    ):
        fetch(f"{base}/nothing-here.gz", tmp_path / "p.gz", retries=3, backoff=0.01)
    assert list(tmp_path.iterdir()) == []


def test_missing_encode_file_names_the_url_and_the_file_list(payload, tmp_path):
    # The GM12878 SPI1 uniform-peak name of config/config.yaml is attested nowhere public: when the
    # server has no such file, the error says where the directory lists its files.
    _, base, _, _ = payload
    folder = f"{base}/goldenPath/hg19/encodeDCC/wgEncodeAwgTfbsUniform"
    url = f"{folder}/wgEncodeAwgTfbsHaibGm12878Pu1Pcr1xUniPk.narrowPeak.gz"
    with pytest.raises(DownloadError) as error:
        fetch(url, tmp_path / "p.gz", retries=3, backoff=0.01)
    message = str(error.value)
    assert f"Could not fetch {url}: HTTP Error 404" in message
    assert f"{folder}/files.txt" in message and "correct the url in the config" in message
    with pytest.raises(
        DownloadError, match=r"directory listing http://127\.0\.0\.1:\d+/elsewhere/ and correct"
    ):
        fetch(f"{base}/elsewhere/missing.gz", tmp_path / "p.gz", retries=0)
    assert list(tmp_path.iterdir()) == []


def test_truncated_gzip_without_length_is_caught(tmp_path):
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(b"x" * 100000)[:-20])
    with pytest.raises(DownloadError, match="truncated or corrupt"):
        fetch(str(bad), tmp_path / "copy.gz")


def test_local_paths_and_schemes(tmp_path):
    source = tmp_path / "local.txt"
    source.write_text("data\n")
    fetch(str(source), tmp_path / "copy1.txt")
    fetch(f"file://{source}", tmp_path / "copy2.txt")
    assert (tmp_path / "copy2.txt").read_text() == "data\n"
    assert [url_scheme(u) for u in ("/a/b", "file:///a", "https://x/y", "ftp://x/y")] == [
        "file",
        "file",
        "https",
        "ftp",
    ]
    with pytest.raises(ValueError, match="Unsupported URL scheme 's3'"):
        url_scheme("s3://bucket/key")
    with pytest.raises(DownloadError, match="No such file"):
        fetch(str(tmp_path / "missing.txt"), tmp_path / "copy3.txt")
