"""The model zoo: every shipped recipe listed with its published rows and weights, and `download` from a local
HTTP server (the mirror variable), verified by sha256 and a strict load against the manifest, resumed, refused
and removed when wrong, and the checkpoint's sha256 in what test and load_from record."""
from __future__ import annotations

import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from helpers import tim_bench
from tim_bench.runner.load_from import load_from_record
from tim_bench.modelzoo.download import (MIRROR_ENV, ZooError, fetch, read_manifest, resolve_checkpoint, weights)

TRAIN_RECIPES = {"ave_vgg", "ave_omnivore_asf", "epic_av", "epic_av_omnivore_videomae", "epic_sounds", "epic_visual",
                 "perception_av"}


def released_layout(name: str, path: Path, drop: int = 0) -> Path:
    """A file in the original's checkpoint layout for zoo entry ``name`` (random values from its manifest; the
    last ``drop`` keys left out)."""
    shapes = list(read_manifest(weights(name)).items())
    generator = torch.Generator().manual_seed(0)
    state = {k: torch.randn(shape, generator=generator) for k, (shape, _) in shapes[:len(shapes) - drop]}
    torch.save({"epoch": 12, "state_dict": state}, path)
    return path


class RangeHandler(SimpleHTTPRequestHandler):
    """http.server's file handler that answers ``Range: bytes=N-`` with 206 and the rest of the file, and records
    the ranges it was asked for (python -m http.server ignores Range)."""

    ranges: list[str] = []

    def send_head(self):  # noqa: D102
        wanted = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not wanted or not path.is_file():
            return super().send_head()
        RangeHandler.ranges.append(wanted)
        start = int(wanted.removeprefix("bytes=").rstrip("-"))
        data = path.read_bytes()
        self.send_response(206)
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        from io import BytesIO
        return BytesIO(data[start:])

    def log_message(self, *args) -> None:  # keep the test output clean
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A local HTTP server on 127.0.0.1 serving ``tmp_path/served``, set as the zoo mirror; a fresh cache."""
    served = tmp_path / "served"
    served.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(MIRROR_ENV, f"http://127.0.0.1:{httpd.server_address[1]}/")
    monkeypatch.setenv("TIM_BENCH_ZOO", str(tmp_path / "cache"))
    RangeHandler.ranges = []
    yield served
    httpd.shutdown()
    httpd.server_close()


def test_zoo_lists_every_recipe_with_published_rows_checkpoints_and_weights():
    listing = [json.loads(line) for line in tim_bench("zoo", "--json").stdout.splitlines()]
    by_name = {r["recipe"]: r for r in listing}
    assert {r["recipe"] for r in listing if r["kind"] == "train"} == TRAIN_RECIPES
    assert {"ave_vgg19", "epic_omnivore", "perception_asf", "extract_logmel_demo"} <= set(by_name)
    checkpoints = {c["name"] for r in listing for c in r["checkpoints"]}
    assert checkpoints == {"tim_ave", "tim_epic_av", "tim_epic_visual", "tim_perception_av"}
    ave = by_name["ave_omnivore_asf"]
    assert ave["benchmark"] == "ave" and ave["published"][0]["metrics"] == {"acc_visual": 79.851}
    assert "tim-bench test ave_omnivore_asf tim_ave --split test --cfg-options data_root=DIR" in ave["commands"]
    assert {w["name"] for w in by_name["ave_vgg"]["extractor_weights"]} == {"vgg19", "vggish"}
    assert all(r["published"] for r in listing if r["recipe"] in TRAIN_RECIPES - {"epic_av", "epic_visual"})
    text = tim_bench("zoo", "perception*").stdout
    assert "61.08" in text and "tim_perception_av" in text and "$ tim-bench run perception_av" in text


def test_download_verifies_caches_and_reuses(server, tmp_path):
    released_layout("tim_ave", server / "ave.pth.tar")
    got = fetch("tim_ave")
    assert got.path == tmp_path / "cache" / "ave.pth.tar" and got.path.is_file()
    assert json.loads((tmp_path / "cache" / "ave.pth.tar.verified.json").read_text())["sha256"] == got.sha256
    (server / "ave.pth.tar").unlink()  # a second fetch uses the cache, never the server
    assert fetch("tim_ave") == got
    assert resolve_checkpoint("tim_ave") == (got.path, "tim_ave")
    # what a run with load_from="tim_ave" records: the file, its zoo name and the sha256 of the bytes it loaded
    assert load_from_record("tim_ave") == {"path": str(got.path), "zoo": "tim_ave", "trust": False,
                                           "sha256": got.sha256}
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["ave.pth.tar", "ave.pth.tar.verified.json"]


@pytest.mark.parametrize("damage", ["truncated", "missing keys", "other recipe"])
def test_a_corrupted_download_is_refused_named_and_removed(server, tmp_path, damage):
    path = released_layout("tim_ave", server / "ave.pth.tar", drop=3 if damage == "missing keys" else 0)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    elif damage == "other recipe":
        released_layout("tim_perception_av", path)
    with pytest.raises(ZooError) as caught:
        fetch("tim_ave")
    message = str(caught.value)
    assert "removed" in message and ("ave.pth.tar" in message)
    if damage == "truncated":
        assert "weights_only" in message
    else:
        assert "tim_ave manifest" in message and ("missing" in message or "instead of" in message)
    assert not (tmp_path / "cache").exists() or list((tmp_path / "cache").iterdir()) == []


def test_a_file_changed_in_the_cache_is_verified_again_and_removed(server, tmp_path):
    released_layout("tim_ave", server / "ave.pth.tar")
    cached = fetch("tim_ave").path
    cached.write_bytes(cached.read_bytes()[:1000])
    with pytest.raises(ZooError, match="cannot be loaded"):
        fetch("tim_ave")
    assert not cached.exists()


def test_a_partial_download_resumes_where_it_stopped(server, tmp_path):
    whole = released_layout("tim_ave", server / "ave.pth.tar").read_bytes()
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "ave.pth.tar.part").write_bytes(whole[:5000])
    got = fetch("tim_ave")
    assert RangeHandler.ranges == ["bytes=5000-"] and got.path.read_bytes() == whole
    assert not (tmp_path / "cache" / "ave.pth.tar.part").exists()


def test_unknown_names_and_extractor_weights_are_refused_clearly(server):
    with pytest.raises(ZooError, match="neither a file nor a zoo checkpoint name.*tim_ave"):
        resolve_checkpoint("tim_avee")
    with pytest.raises(ZooError, match="extractor's weights, not a TIM checkpoint"):
        resolve_checkpoint("vggish")
    done = tim_bench("download", "no_such_model", check=False)
    assert done.returncode == 2 and "No weights plugin named 'no_such_model'" in done.stderr


def test_a_sha256_prefix_mismatch_is_refused(server):
    torch.save({"features.0.weight": torch.zeros(1)}, server / "vggish-10086976.pth")
    with pytest.raises(ZooError, match="does not start with 10086976"):
        fetch("vggish")
