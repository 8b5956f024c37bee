"""PyAV decoding and the original feature grid (tim_bench_plugins.extractors.common.media), on real files written with PyAV."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from extractor_media import CLASSES, frame_of, write_video

av = pytest.importorskip("av", reason="PyAV is not installed; it is the optional extract extra (pip install -e '.[extract]')")

from tim_bench_registry import DataError
from tim_bench_plugins.extractors.common.media import (center_crop, decode_audio, interval_frames, interval_grid, iter_clips,
                                      media_duration, resize_short_side, video_info)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(tmp_path_factory.mktemp("media") / "v.mp4", cls=1, seconds=2.0, fps=10)


def test_frames_are_counted_and_decoded_in_order_as_ffmpeg_numbers_them(clip: Path) -> None:
    info = video_info(clip)
    assert (info.fps, info.frames, info.duration) == (10.0, 20, 2.0)
    assert media_duration(clip, np.zeros(16384), 8000) == 2.0  # the video stream sets the grid, not the audio
    wanted = [np.array([0, 5, 5, 19]), np.array([3, 4])]
    got = dict(iter_clips(clip, wanted))
    assert sorted(got) == [0, 1] and got[0].shape == (4, 48, 64, 3)
    for number, frames in got.items():
        for index, frame in zip(wanted[number], frames):  # H.264 at crf 18: close to the frame written
            expected = frame_of(1, int(index), 48, 64).astype(int)
            assert np.abs(frame.astype(int) - expected).mean() < 14


def test_a_frame_past_the_end_is_an_error_naming_the_file(clip: Path) -> None:
    with pytest.raises(DataError, match="v.mp4"):
        list(iter_clips(clip, [np.array([0, 25])]))


def test_audio_is_resampled_by_ffmpeg_and_keeps_its_tone(clip: Path) -> None:
    samples = decode_audio(clip, 24000)
    assert samples.dtype == np.float32 and abs(len(samples) / 24000 - 2.0) < 0.1
    wav = clip.with_name("v.wav")  # an audio-only file: its own length sets the grid
    with av.open(str(wav), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=24000, layout="mono")
        frame = av.AudioFrame.from_ndarray((samples[None] * 32767).astype(np.int16), format="s16", layout="mono")
        frame.sample_rate = 24000
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    again = decode_audio(wav, 24000)
    np.testing.assert_allclose(again, samples, atol=1e-4)
    assert media_duration(wav, again, 24000) == len(samples) / 24000
    spectrum = np.abs(np.fft.rfft(samples[2400:2400 + 24000]))
    assert np.fft.rfftfreq(24000, 1 / 24000)[spectrum.argmax()] == pytest.approx(CLASSES[1][3], abs=2)


def test_stereo_is_mixed_down_as_the_16_bit_wav_of_ffmpeg_ac_1(tmp_path: Path) -> None:
    """The originals read ``ffmpeg -ac 1``'s 16-bit WAV, whose downmix is (L + R) / 2 (not float's (L + R) / sqrt(2))."""
    t = np.arange(16000) / 16000
    left, right = 0.5 * np.sin(2 * np.pi * 440 * t), 0.25 * np.sin(2 * np.pi * 1000 * t)
    wav = tmp_path / "stereo.wav"
    with av.open(str(wav), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=16000, layout="stereo")
        pcm = np.round(np.stack([left, right], 1) * 32767).astype(np.int16).reshape(1, -1)  # interleaved L, R
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="stereo")
        frame.sample_rate = 16000
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    np.testing.assert_allclose(decode_audio(wav, 16000), (left + right) / 2, atol=1e-4)


def test_a_file_ffmpeg_cannot_read_is_a_data_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(DataError, match="broken.mp4"):
        video_info(bad)
    with pytest.raises(DataError, match="no audio stream"):
        decode_audio(write_video(tmp_path / "silent.mp4", cls=0, seconds=1.0, audio=False), 16000)


def test_grid_is_make_framepickle_s_including_its_truncated_timestamps() -> None:
    times = interval_grid(3.0, 1.0, 0.2)
    assert len(times) == 10 and times[-1].tolist() == [1.8, 2.8]  # start + 1.0 < 3.0: 2.0 is not a start
    assert times[8].tolist() == [1.6, 2.6]  # 0.2 added 8 times is 1.5999...: written with two decimals
    frames = interval_frames(3.0, 1.0, 0.2, fps=50)
    assert frames[8].tolist() == [round(1.59 * 50), round(2.59 * 50)]  # sec_to_timestamp truncates the hundredths
    assert frames[1].tolist() == [10, 60]
    ave = interval_grid(10.0, 1.0, 1.0, include_end=True)
    assert len(ave) == 10 and ave[-1].tolist() == [9.0, 10.0]
    with pytest.raises(DataError, match="shorter than one"):
        interval_grid(0.5, 1.0, 0.2)


def test_resize_and_crop_round_as_the_original_libraries_do() -> None:
    frame = np.zeros((256, 455, 3), np.uint8)
    assert resize_short_side(frame, 224, "round").shape == (224, 398, 3)  # cv2.resize(fx=fy): 398.1 rounds
    assert resize_short_side(frame, 224, "floor").shape == (224, 398, 3)
    assert resize_short_side(np.zeros((100, 175, 3), np.uint8), 64, "round").shape == (64, 112, 3)
    assert resize_short_side(np.zeros((100, 177, 3), np.uint8), 64, "floor").shape == (64, 113, 3)  # 113.28
    stripes = np.arange(9)[None, :, None].repeat(5, 0).repeat(3, 2)  # column index as the value
    assert center_crop(stripes, 4, "ceil")[0, :, 0].tolist() == [3, 4, 5, 6]  # uniform_crop: ceil(5 / 2) = 3
    assert center_crop(stripes, 4, "round")[0, :, 0].tolist() == [2, 3, 4, 5]  # CenterCrop: round(2.5) = 2


def test_source_height_scales_frames_first_as_epic_s_released_frames_were(tmp_path: Path) -> None:
    big = write_video(tmp_path / "big.mp4", cls=0, seconds=0.5, fps=10, size=(96, 128), audio=False)
    (number, frames), = iter_clips(big, [np.array([0, 4])], source_height=48)
    assert number == 0 and frames.shape == (2, 48, 64, 3)
    expected = frame_of(0, 4, 96, 128)[::2, ::2].astype(int)  # the square, at half the size
    assert np.abs(frames[1].astype(int) - expected).mean() < 20
