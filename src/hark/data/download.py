"""Fetching the official Speech Commands archives: resumable, verified, then extracted.

The download streams into `<archive>.part`; a rerun after an interruption continues from
its size (an HTTP Range request, or a seek for file:// URLs). Only an archive whose SHA-256
matches is renamed to its final name, and a mismatching one is deleted, so a file under the
final name is always complete."""

from __future__ import annotations

import hashlib
import http.client
import io
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from hark.data.archive import extract_to, unwrapped_root
from hark.errors import HarkError


@dataclass(frozen=True)
class Release:
    url: str
    sha256: str  # as published by torchaudio and TensorFlow Datasets


RELEASES = {
    "v0.01": Release(
        "http://download.tensorflow.org/data/speech_commands_v0.01.tar.gz",
        "743935421bb51cccdb6bdd152e04c5c70274e935c82119ad7faeec31780d811d",
    ),
    "v0.02": Release(
        "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz",
        "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58",
    ),
}
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Downloaded:
    archive: Path
    resumed_from: int  # bytes already on disk from an earlier, interrupted run
    fetched: int  # bytes transferred by this run


def download_speech_commands(
    version: str, dest: str | Path, url: str | None = None, sha256: str | None = None
) -> tuple[Downloaded, Path]:
    """Download (or finish downloading) a release into `dest` and extract it into
    `dest/speech_commands_<version>/`; returns the download and the dataset folder."""
    if version not in RELEASES:
        raise HarkError(f"unknown Speech Commands version {version!r}; valid: {', '.join(RELEASES)}")
    release = RELEASES[version]
    dest = Path(dest)
    downloaded = download(url or release.url, dest / f"speech_commands_{version}.tar.gz", sha256 or release.sha256)
    folder = dest / f"speech_commands_{version}"
    if not folder.is_dir():
        extract_to(downloaded.archive, folder)
    return downloaded, unwrapped_root(folder)


def download(url: str, archive: Path, sha256: str) -> Downloaded:
    archive.parent.mkdir(parents=True, exist_ok=True)
    expected = sha256.lower()
    if archive.is_file():
        if file_sha256(archive) == expected:
            return Downloaded(archive, archive.stat().st_size, 0)
        raise HarkError(f"{archive}: exists but its SHA-256 is not {expected}; delete it to download again")
    part = archive.with_name(archive.name + ".part")
    offset = part.stat().st_size if part.is_file() else 0
    stream, offset, total = _open(url, offset)
    with stream, part.open("r+b" if offset else "wb") as out:
        out.seek(offset)
        out.truncate()
        written = _copy(stream, out, url, offset, total)
    actual = file_sha256(part)
    if actual != expected:
        part.unlink()
        raise HarkError(
            f"{url}: checksum mismatch, SHA-256 {actual} instead of {expected}; "
            "the corrupt download was deleted, run the command again to retry"
        )
    part.rename(archive)
    return Downloaded(archive, offset, written - offset)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _open(url: str, offset: int) -> tuple[BinaryIO, int, int | None]:
    """(stream positioned at the returned offset, that offset, total size if known)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        source = Path(urllib.request.url2pathname(parsed.path))
        if not source.is_file():
            raise HarkError(f"{url}: no such file")
        total = source.stat().st_size
        offset = min(offset, total)
        stream = source.open("rb")
        stream.seek(offset)
        return stream, offset, total
    if parsed.scheme not in ("http", "https"):
        raise HarkError(f"{url}: unsupported URL scheme (use http, https or file)")
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:
            # Nothing after `offset`: the earlier run got everything; the checksum will tell.
            return io.BytesIO(), offset, offset
        raise HarkError(f"{url}: download failed (HTTP {err.code} {err.reason})") from None
    except (urllib.error.URLError, OSError) as err:
        raise HarkError(f"{url}: cannot connect ({getattr(err, 'reason', err)})") from None
    if offset and response.status != 206:
        offset = 0  # the server ignored the Range header and sends everything again
    length = response.headers.get("Content-Length")
    return response, offset, offset + int(length) if length else None


def _copy(stream: BinaryIO, out: BinaryIO, url: str, offset: int, total: int | None) -> int:
    written = offset
    with tqdm(total=total, initial=offset, unit="B", unit_scale=True, desc="downloading", disable=None) as bar:
        try:
            while chunk := stream.read(_CHUNK):
                out.write(chunk)
                written += len(chunk)
                bar.update(len(chunk))
        except (OSError, http.client.HTTPException) as err:
            raise HarkError(
                f"{url}: download interrupted after {written} bytes ({err}); run the command again to resume"
            ) from None
    if total is not None and written < total:
        raise HarkError(
            f"{url}: download interrupted after {written} of {total} bytes; run the command again to resume"
        )
    return written
