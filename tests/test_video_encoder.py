"""`--dataset.rgb_encoder.*` becomes the same codec options lerobot 0.6.1 gives PyAV (lerobot's
own `get_codec_options`, run in the interop environment, is the reference)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from interop import run_lerobot

from core.dataset.video_encoder import HARDWARE_CODECS, VideoSettings, encoder_opens
from hardware.errors import ConfigError

COMPAT = Path(__file__).parent / "lerobot_compat"
CASES = [
    ({}, None),
    ({}, 4),
    ({"g": 10, "crf": 25, "preset": 8, "fast_decode": 2}, 3),
    ({"vcodec": "h264", "preset": "fast", "fast_decode": 1}, 2),
    ({"vcodec": "h264", "preset": "medium", "extra_options": {"tune": "film", "bf": 2}}, None),
    ({"vcodec": "hevc", "crf": 20, "preset": "slow", "extra_options": {"g": 9, "x": 1}}, 2),
    ({"vcodec": "h264", "g": None, "crf": None, "preset": "fast"}, None),
]


def test_codec_options_are_lerobots(tmp_path):
    out = run_lerobot([str(COMPAT / "codec_options.py"), json.dumps(CASES)], timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    theirs = json.loads(out.stdout.strip().splitlines()[-1])
    ours = [VideoSettings(**kwargs).options(threads) for kwargs, threads in CASES]
    assert ours == theirs


def test_an_unset_preset_is_ultrafast_for_x264_and_12_for_svtav1():
    assert VideoSettings(vcodec="h264").options()["preset"] == "ultrafast"
    assert VideoSettings().options()["preset"] == "12"
    assert VideoSettings(vcodec="av1").vcodec == "libsvtav1"  # lerobot's alias


def test_auto_takes_a_hardware_encoder_only_if_it_encodes_here():
    working = [c for c in HARDWARE_CODECS if encoder_opens(c)]
    expected = working[0] if working else "libsvtav1"
    assert VideoSettings(vcodec="auto").vcodec == expected


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vcodec": "vp9"}, "vcodec: got 'vp9'; expected one of auto, libsvtav1"),
        ({"pix_fmt": "rgb24"}, "pix_fmt: 'rgb24' is not one libsvtav1 writes"),
        ({"video_backend": "torchcodec"}, "video_backend: got 'torchcodec'; expected pyav"),
    ],
)
def test_bad_settings_name_the_setting(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        VideoSettings(**kwargs)
