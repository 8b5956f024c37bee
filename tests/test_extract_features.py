"""`tim-bench extract-features`: raw media -> ``{folder}/{split}/{video_id}.npy`` + interval CSV that
NpyFeatures reads back; the log-mel demo (audio decoded and resampled by the PyAV decoder, mel bins); TimmVideo."""
from __future__ import annotations

import math
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import tim_bench

from tim_bench_plugins.extractors.logmel import LogMelAudio
from tim_bench_plugins.features.npy import NpyFeatures
from bad_input import assert_clear_error, run_cli
from tim_bench_registry import TimBenchError

DEMO = str(Path(__file__).resolve().parents[1] / "configs" / "extract_logmel_demo.py")
#: Why the log-mel tests skip without PyAV: the demo decodes audio with the extractors' PyAV decoder.
NO_AV = "PyAV is not installed; it is the optional extract extra (pip install -e '.[extract]')"
#: video -> (tone Hz, seconds, sample rate, channels); the demo config makes 64 mel bins every 0.2 s.
CLIPS = {"P01_01": (300, 2.3, 16000, 1), "P01_02": (3000, 3.0, 22050, 2), "P02_01": (1000, 1.1, 8000, 1)}


def tone(freq: float, seconds: float, rate: int) -> np.ndarray:
    """A sine of amplitude 0.5."""
    return 0.5 * np.sin(2 * np.pi * freq * np.arange(round(seconds * rate)) / rate)


def write_wav(path: Path, samples: np.ndarray, rate: int, channels: int = 1, width: int = 2) -> Path:
    """Write float samples in [-1, 1] as a PCM WAV of ``width`` bytes per sample (8-bit is unsigned)."""
    ints = np.round(samples * (2 ** (8 * width - 1) - 1)).astype(np.int64)
    if width == 1:
        frames = (ints + 128).astype(np.uint8)[:, None]
    else:  # the low `width` bytes of little-endian int32 are the two's-complement sample
        frames = ints.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :width]
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(np.repeat(frames, channels, 0).tobytes())
    return path


@pytest.fixture
def audio_root(tmp_path: Path) -> Path:
    pytest.importorskip("av", reason=NO_AV)
    for video, (freq, seconds, rate, channels) in CLIPS.items():
        write_wav(tmp_path / "audio" / f"{video}.wav", tone(freq, seconds, rate), rate, channels)
    return tmp_path


def extract(root: Path, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the demo config on the WAVs under ``root``."""
    return tim_bench("extract-features", DEMO, "--cfg-options", f"data_root={root}", *extra, check=check)


def test_cli_writes_the_npy_layout_that_npy_features_reads(audio_root: Path) -> None:
    proc = extract(audio_root)
    assert "3 videos extracted, 0 skipped" in proc.stdout
    table = pd.read_csv(audio_root / "features/logmel/intervals_train.csv")
    assert list(table.columns) == ["video_id", "start_sec", "stop_sec"]
    source = NpyFeatures(str(audio_root), folder="features/logmel", intervals="features/logmel/intervals_{split}.csv")
    assert source.dim == 64
    for video, (_, seconds, _, _) in CLIPS.items():
        stored = np.load(audio_root / "features/logmel/train" / f"{video}.npy")
        assert stored.dtype == np.float32 and stored.shape == (math.ceil(seconds / 0.2 - 1e-9), 1, 64)
        features = source.open("train", video)
        np.testing.assert_array_equal(features.values, stored)
        centres = np.arange(len(stored)) * 0.2  # 1-s spans every 0.2 s, clipped to the clip
        np.testing.assert_allclose(features.times, np.stack([np.maximum(centres - 0.5, 0),
                                                             np.minimum(centres + 0.5, seconds)], 1), atol=1e-6)


@pytest.mark.slow
def test_rerun_skips_finished_videos_and_overwrite_redoes_them(audio_root: Path) -> None:
    extract(audio_root)
    out = audio_root / "features/logmel/train"
    first = {v: np.load(out / f"{v}.npy") for v in CLIPS}
    stamps = {v: (out / f"{v}.npy").stat().st_mtime_ns for v in CLIPS}
    (out / "P01_02.npy").unlink()
    assert "1 videos extracted, 2 skipped" in extract(audio_root).stdout
    assert all((out / f"{v}.npy").stat().st_mtime_ns == stamps[v] for v in ("P01_01", "P02_01"))
    assert len(pd.read_csv(audio_root / "features/logmel/intervals_train.csv")) == 12 + 15 + 6
    assert "3 videos extracted, 0 skipped" in extract(audio_root, "--overwrite").stdout
    for video, values in first.items():  # deterministic: the same bytes every time
        np.testing.assert_array_equal(np.load(out / f"{video}.npy"), values)


def test_missing_input_is_an_error_naming_the_file(audio_root: Path) -> None:
    proc = extract(audio_root, "extract.videos=[P01_01,P09_99]", check=False)
    assert proc.returncode == 2
    assert str(audio_root / "audio" / "P09_99.wav") in proc.stderr and "Traceback" not in proc.stderr
    assert not (audio_root / "features").exists()  # inputs are checked before anything is written


def test_ids_that_would_leave_data_root_are_refused_before_anything_is_read(audio_root: Path) -> None:
    outcome = run_cli(["extract-features", DEMO, "--cfg-options", f"data_root={audio_root}",
                       "extract.videos=[P01_01,../../x/P01_13]"])
    assert_clear_error(outcome, "'../../x/P01_13'", code=2)
    assert not (audio_root / "features").exists()


def nearest_mel_bin(freq: float, n_mels: int = 64, f_max: float = 8000.0) -> int:
    """The HTK mel filter whose centre is nearest to ``freq`` Hz: where a pure tone must peak."""
    mel_max = 2595.0 * np.log10(1.0 + f_max / 700.0)
    centres = 700.0 * (10 ** (np.linspace(0, mel_max, n_mels + 2)[1:-1] / 2595.0) - 1.0)
    return int(np.abs(centres - freq).argmin())


@pytest.mark.parametrize("freq, rate, channels", [(440, 16000, 1), (1000, 22050, 2), (3000, 44100, 2),
                                                  (3000, 8000, 1)])
def test_a_tone_through_the_decoder_peaks_in_its_own_mel_bin(tmp_path: Path, freq: int, rate: int,
                                                              channels: int) -> None:
    pytest.importorskip("av", reason=NO_AV)
    extractor = LogMelAudio(n_mels=64, feat_gap=0.2, feat_span=1.0)
    features = extractor.extract(write_wav(tmp_path / "tone.wav", tone(freq, 2.0, rate), rate, channels))
    assert features.values.shape == (10, 1, 64) and features.values.dtype == np.float32
    assert features.times[-1].tolist() == pytest.approx([1.3, 2.0])
    assert (features.values[:, 0].argmax(1) == nearest_mel_bin(freq)).all()
    native = extractor.extract(write_wav(tmp_path / "native.wav", tone(freq, 2.0, 16000), 16000, channels))
    np.testing.assert_allclose(features.values.max(2), native.values.max(2), atol=0.05)  # resampling keeps the tone


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_every_pcm_width_decodes_to_the_same_tone(tmp_path: Path, width: int) -> None:
    pytest.importorskip("av", reason=NO_AV)
    extractor = LogMelAudio(n_mels=64, feat_gap=0.2, feat_span=1.0)
    features = extractor.extract(write_wav(tmp_path / "x.wav", tone(1000, 1.0, 8000), 8000, channels=2, width=width))
    reference = extractor.extract(write_wav(tmp_path / "ref.wav", tone(1000, 1.0, 8000), 8000, channels=2))
    assert (features.values[:, 0].argmax(1) == nearest_mel_bin(1000)).all()
    np.testing.assert_allclose(features.values.max(2), reference.values.max(2), atol=0.05)


def test_timm_video_without_timm_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from tim_bench_plugins.extractors.timm_video import TimmVideo
    monkeypatch.setitem(sys.modules, "timm", None)  # makes `import timm` fail as if it were not installed
    with pytest.raises(TimBenchError, match=r'pip install -e "\.\[timm\]"'):
        TimmVideo(model="resnet18", fps=10)


def test_timm_video_extracts_frame_folders(tmp_path: Path) -> None:
    pytest.importorskip("timm", reason="timm is not installed; it is the optional timm extra (pip install -e '.[timm]')")
    from PIL import Image
    for video, colour in (("P01_01", (200, 30, 30)), ("P01_02", (30, 30, 200))):
        for i in range(1, 26):  # 2.5 s at 10 fps
            frame = np.full((48, 64, 3), colour, np.uint8)
            frame[:, : 2 * i] = 128
            (tmp_path / "frames" / video).mkdir(parents=True, exist_ok=True)
            Image.fromarray(frame).save(tmp_path / "frames" / video / f"frame_{i:010d}.jpg")
    config = tmp_path / "extract_timm.py"
    config.write_text(f"data_root = {str(tmp_path)!r}\n"
                      "extract = dict(extractor=dict(type='TimmVideo', model='test_vit', fps=10, feat_gap=0.5,\n"
                      "                              frame_stride=2, batch_size=8),\n"
                      "               inputs='frames/{video_id}', split='val', out_folder='features/vit')\n")
    assert "visual features (64-d), split val: 2 videos extracted" in tim_bench("extract-features", str(config)).stdout
    source = NpyFeatures(str(tmp_path), folder="features/vit", intervals="features/vit/intervals_{split}.csv")
    features = {v: source.open("val", v) for v in ("P01_01", "P01_02")}
    for f in features.values():
        assert f.values.shape == (5, 1, 64) and f.values.dtype == np.float32
        assert f.times[0, 0] == 0 and f.times[-1, 1] == pytest.approx(2.5)
    assert not np.allclose(features["P01_01"].values, features["P01_02"].values)
