"""Fetching the public inputs: retries, time-outs, atomic writes and checksums.

Every source in the configuration is ``{url: ..., sha256: ...}``; the URL may be ``http://``,
``https://``, ``ftp://``, ``file://`` or a local path. A fetch streams to a temporary file next to
the destination, hashing as it goes, and renames it into place only when it is complete and its
SHA-256 is right, so an interrupted or failed fetch never leaves a file that looks finished.

``resources/checksums.tsv`` is a ledger of everything fetched (url, sha256, bytes, date). When a
URL is fetched again and its content differs from the ledger, the fetch fails: upstream files
that change silently would make results irreproducible. A ``sha256`` in the configuration pins
the content outright.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from sfcrepro.data.io import atomic_path, is_gzip

__all__ = ["URL_SCHEMES", "DownloadError", "fetch", "local_path", "prepare_fasta", "url_scheme"]

log = logging.getLogger("sfcrepro.data.download")


def local_path(url) -> str | None:
    """The file a source names when it is local (a plain path or a ``file://`` URL), else None.

    The workflow makes a local source an input of its download (copy) job, so that editing the
    file reruns what depends on it.
    """
    parsed = urllib.parse.urlparse(str(url))
    if parsed.scheme.lower() == "file":
        return urllib.parse.unquote(parsed.path)
    if parsed.scheme == "" or len(parsed.scheme) == 1:  # a path; 'c:' style drive letters too
        return str(url)
    return None


#: The URL schemes a source may use (besides local paths and ``file://``).
URL_SCHEMES = ("http", "https", "ftp")

CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A source could not be fetched or did not have the expected content."""


def url_scheme(url: str) -> str:
    """``http``, ``https``, ``ftp``, ``file`` (``file://`` URLs and plain local paths)."""
    if local_path(url) is not None:
        return "file"
    scheme = urllib.parse.urlparse(str(url)).scheme.lower()
    if scheme not in URL_SCHEMES:
        raise ValueError(
            f"Unsupported URL scheme {scheme!r} in {url!r}: use http, https, ftp or a local path."
        )
    return scheme


def _local_path(url: str) -> Path:
    return Path(local_path(url))


def _copy_stream(source, out, digest, total: int | None, url: str) -> int:
    size, reported, started = 0, 0.0, time.monotonic()
    while chunk := source.read(CHUNK):
        out.write(chunk)
        digest.update(chunk)
        size += len(chunk)
        if time.monotonic() - reported > 10:  # progress every 10 s on long downloads
            reported = time.monotonic()
            done = f" of {total / 1e6:.1f} MB" if total else ""
            log.info(
                "%s: %.1f MB%s (%.1f MB/s)",
                url,
                size / 1e6,
                done,
                size / 1e6 / max(reported - started, 1e-9),
            )
    return size


def _check_not_html(path: Path, url: str) -> None:
    with open(path, "rb") as fh:
        head = fh.read(512).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise DownloadError(
            f"{url} returned an HTML page instead of data (an error or login page?). "
            "Check the URL in your browser, or download the file yourself and set its url to the local path."
        )


def _check_gzip(path: Path, url: str) -> None:
    """Read a gzip file to its end: a truncated or corrupt one raises here, not in a later step."""
    if not is_gzip(path):
        return
    try:
        with gzip.open(path, "rb") as fh:
            while fh.read(CHUNK):
                pass
    except (EOFError, OSError, gzip.BadGzipFile) as exc:
        raise DownloadError(
            f"{url}: the gzip data is truncated or corrupt ({exc}); fetch it again."
        ) from exc


def _ledger_entry(ledger: Path, url: str) -> str | None:
    if not ledger.exists():
        return None
    found = None
    for line in ledger.read_text().splitlines()[1:]:
        fields = line.split("\t")
        if len(fields) >= 2 and fields[0] == url:
            found = fields[1]
    return found


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _record(ledger: Path, url: str, sha256: str, size: int) -> None:
    with _locked(ledger):
        new = not ledger.exists()
        with open(ledger, "a") as fh:
            if new:
                fh.write("url\tsha256\tbytes\tfetched\n")
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            fh.write(f"{url}\t{sha256}\t{size}\t{stamp}\n")


def _fetch_once(url: str, scheme: str, tmp: Path, digest, timeout: float) -> int:
    with open(tmp, "wb") as out:
        if scheme == "file":
            with open(_local_path(url), "rb") as source:
                return _copy_stream(source, out, digest, None, url)
        request = urllib.request.Request(url, headers={"User-Agent": "sfcrepro"})
        with urllib.request.urlopen(request, timeout=timeout) as source:
            length = source.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            size = _copy_stream(source, out, digest, total, url)
    if total is not None and size != total:
        raise OSError(f"connection closed after {size} of {total} bytes")
    return size


def _not_found_hint(url: str, exc: Exception) -> str:
    """For an HTTP 404: where to check the file name (UCSC's ENCODE directories list theirs in ``files.txt``)."""
    if not (isinstance(exc, urllib.error.HTTPError) and exc.code == 404):
        return ""
    folder = url.rsplit("/", 1)[0] + "/"
    if "/encodeDCC/" in url:
        return (
            f" The server has no file of that name: check the exact name in the directory's file list, "
            f"{folder}files.txt (UCSC's ENCODE directories list every file there), and correct the url in the "
            "config."
        )
    return (
        f" The server has no file of that name: check the exact name in the directory listing {folder} and "
        "correct the url in the config."
    )


def fetch(
    url: str,
    dest,
    sha256: str | None = None,
    ledger=None,
    retries: int = 3,
    timeout: float = 60.0,
    backoff: float = 2.0,
) -> str:
    """Fetch ``url`` to ``dest`` atomically and return the content's SHA-256.

    Parameters
    ----------
    url : str
        ``http(s)://``, ``ftp://``, ``file://`` URL or a local path.
    dest : path-like
        Destination; written only once the content is complete and verified.
    sha256 : str, optional
        Expected SHA-256 (hex); a mismatch fails.
    ledger : path-like, optional
        ``checksums.tsv`` to compare with and append to (see module docstring).
    retries : int
        Further attempts after a network failure (not after a checksum mismatch).
    timeout : float
        Seconds without data before an attempt is abandoned.
    backoff : float
        Seconds to wait before the first retry, doubled each time.

    Raises
    ------
    DownloadError
        With the URL, the reason and how to use a local copy instead.
    """
    dest = Path(dest)
    scheme = url_scheme(url)
    attempts = 1 + (0 if scheme == "file" else max(0, retries))
    with atomic_path(dest) as tmp:  # renamed into place only if every check below passes
        for attempt in range(1, attempts + 1):
            digest = hashlib.sha256()
            try:
                size = _fetch_once(url, scheme, tmp, digest, timeout)
                break
            except (OSError, urllib.error.URLError) as exc:  # time-outs and HTTP errors included
                permanent = isinstance(exc, FileNotFoundError) or (
                    isinstance(exc, urllib.error.HTTPError) and exc.code in (401, 403, 404, 410)
                )
                if permanent or attempt == attempts:
                    raise DownloadError(
                        f"Could not fetch {url}: {exc}.{_not_found_hint(url, exc)} If this machine is offline or "
                        "the file has moved, download it elsewhere and set this source's url in the config to the "
                        "local path of your copy."
                    ) from exc
                wait = backoff * 2 ** (attempt - 1)
                log.warning(
                    "%s: attempt %d of %d failed (%s); retrying in %.0f s",
                    url,
                    attempt,
                    attempts,
                    exc,
                    wait,
                )
                time.sleep(wait)
        _check_not_html(tmp, url)
        _check_gzip(tmp, url)
        actual = digest.hexdigest()
        if sha256 and actual != sha256.lower():
            raise DownloadError(
                f"{url}: SHA-256 is {actual}, but the config expects {sha256}. The file is corrupt or "
                "has changed upstream; if the new content is intended, update sha256 in the config."
            )
        if ledger is not None:
            recorded = _ledger_entry(Path(ledger), url)
            if recorded and recorded != actual:
                raise DownloadError(
                    f"{url} has changed upstream: its SHA-256 is now {actual}, but {ledger} recorded "
                    f"{recorded} when it was first fetched. Results built from the old file may differ. If the "
                    f"new content is intended, remove that line from {ledger} (or pin sha256 in the config)."
                )
    if ledger is not None and _ledger_entry(Path(ledger), url) != actual:
        _record(Path(ledger), url, actual, size)
    log.info("%s -> %s (%d bytes, sha256 %s)", url, dest, size, actual)
    return actual


def prepare_fasta(source, fasta) -> None:
    """Decompress ``source`` (gzip or plain FASTA) to ``fasta`` atomically and index it (``.fai``)."""
    import pyfaidx

    fasta = Path(fasta)
    opener = gzip.open if is_gzip(source) else open
    with atomic_path(fasta) as tmp, opener(source, "rb") as src, open(tmp, "wb") as out:
        while chunk := src.read(CHUNK * 16):
            out.write(chunk)
    pyfaidx.Faidx(str(fasta), rebuild=True).close()
    log.info("%s: indexed %s", fasta, fasta.with_name(fasta.name + ".fai"))
