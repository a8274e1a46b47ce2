"""`hark data download` against local archives: file:// and a real HTTP server that honours
(or ignores) Range requests and can drop the connection mid-transfer."""

from __future__ import annotations

import hashlib
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import make_fake_speech_commands

from hark.cli import main as hark_main
from hark.data.datasets import load_dataset
from hark.data.download import download, download_speech_commands
from hark.errors import HarkError


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> tuple[Path, str]:
    """An official-layout archive (members at the top level, as Google ships it) and its SHA-256."""
    base = tmp_path_factory.mktemp("archive")
    tree = make_fake_speech_commands(base / "tree", speakers=4, utterances=1)
    path = base / "speech_commands_v0.02.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for child in sorted(tree.iterdir()):
            tar.add(child, arcname=child.name)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


class Server:
    """Serves one file; `cut_after` drops the first response after that many bytes."""

    def __init__(self, payload: bytes, honour_range: bool = True, cut_after: int | None = None):
        self.payload, self.honour_range, self.cut_after = payload, honour_range, cut_after
        self.ranges: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the http.server API)
                requested = self.headers.get("Range")
                server.ranges.append(requested)
                start = int(requested[6:-1]) if requested and server.honour_range else 0
                body = server.payload[start:]
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut_after is not None:
                    body, server.cut_after = body[: server.cut_after], None
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/speech_commands_v0.02.tar.gz"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_download_command_verifies_and_extracts(tmp_path, tarball, capsys):
    source, sha = tarball
    args = ["data", "download", "--version", "v0.02", str(tmp_path), "--url", source.as_uri(), "--sha256", sha]
    assert hark_main(args) == 0
    assert (tmp_path / "speech_commands_v0.02.tar.gz").read_bytes() == source.read_bytes()
    assert not list(tmp_path.glob("*.part"))
    dataset = load_dataset(tmp_path / "speech_commands_v0.02")
    assert len(dataset) == 16 and len(dataset.noise_files) == 2
    assert hark_main(args) == 0  # a second run finds the verified archive and fetches nothing
    assert "already downloaded" in capsys.readouterr().out


def test_file_url_download_resumes_from_a_partial_file(tmp_path, tarball):
    source, sha = tarball
    half = source.stat().st_size // 2
    target = tmp_path / "sc.tar.gz"
    (tmp_path / "sc.tar.gz.part").write_bytes(source.read_bytes()[:half])
    result = download(source.as_uri(), target, sha)
    assert (result.resumed_from, result.fetched) == (half, source.stat().st_size - half)
    assert target.read_bytes() == source.read_bytes()


def test_checksum_mismatch_leaves_no_complete_file(tmp_path, tarball):
    source, _ = tarball
    with pytest.raises(HarkError, match="checksum mismatch.*deleted"):
        download_speech_commands("v0.02", tmp_path, source.as_uri(), "0" * 64)
    assert list(tmp_path.iterdir()) == []
    args = ["data", "download", str(tmp_path), "--url", source.as_uri(), "--sha256", "0" * 64]
    assert hark_main(args) == 1  # a run-time problem


def test_http_download_interrupted_then_resumed_with_a_range_request(tmp_path, tarball):
    source, sha = tarball
    payload = source.read_bytes()
    server = Server(payload, cut_after=len(payload) // 3)
    try:
        with pytest.raises(HarkError, match="interrupted.*run the command again to resume"):
            download_speech_commands("v0.02", tmp_path, server.url, sha)
        part = tmp_path / "speech_commands_v0.02.tar.gz.part"
        assert part.stat().st_size == len(payload) // 3
        result, folder = download_speech_commands("v0.02", tmp_path, server.url, sha)
    finally:
        server.close()
    assert server.ranges == [None, f"bytes={len(payload) // 3}-"]
    assert result.resumed_from == len(payload) // 3 and not part.exists()
    assert len(load_dataset(folder)) == 16


def test_http_server_ignoring_range_restarts_cleanly(tmp_path, tarball):
    source, sha = tarball
    payload = source.read_bytes()
    (tmp_path / "sc.tar.gz.part").write_bytes(b"stale bytes of some other file")
    server = Server(payload, honour_range=False)
    try:
        result = download(server.url, tmp_path / "sc.tar.gz", sha)
    finally:
        server.close()
    assert result.resumed_from == 0 and (tmp_path / "sc.tar.gz").read_bytes() == payload


def test_unknown_version_and_scheme_are_clear_errors(tmp_path):
    with pytest.raises(HarkError, match="unknown Speech Commands version"):
        download_speech_commands("v3", tmp_path)
    with pytest.raises(HarkError, match="unsupported URL scheme"):
        download("ftp://example.org/x.tar.gz", tmp_path / "x.tar.gz", "0" * 64)
