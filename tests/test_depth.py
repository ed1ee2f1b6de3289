"""Depth maps quantised as lerobot 0.6.1 quantises them (its own `quantize_depth` and
`dequantize_depth`, run in the interop environment, are the reference), and a depth video
encoded with the depth encoder's defaults (HEVC, gray12le, lossless) decodes to the same codes.
A session with the sim camera's depth map (`use_depth`) records it as lerobot would: the feature
lerobot declares, its info as lerobot's writer completes it, statistics in millimetres, and
lerobot's LeRobotDataset returns the depth frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from interop import run_lerobot
from session_support import finish, sim_args
from test_bimanual import bimanual_args

from core.config import parse_record_args
from core.dataset import depth
from core.dataset.video_encoder import DepthSettings
from core.session import Session
from hardware.errors import ConfigError
from hardware.sim.arm_view import ARM_MM, FAR_MM, NEAR_MM

COMPAT = Path(__file__).parent / "lerobot_compat"


def scene(height: int = 48, width: int = 64) -> np.ndarray:
    """A depth map in millimetres: a slanted floor, a near block, holes (0) and far readings."""
    rows = np.linspace(400, 3000, height, dtype=np.float32)[:, None]
    image = np.broadcast_to(rows, (height, width)).copy()
    image[10:30, 20:40] = 250
    image[0, :8] = 0  # no reading
    image[-1, -8:] = 12000  # beyond depth_max
    image[5, :] = np.arange(width) * 157  # 0 .. ~9.9 m: every part of the range
    return image.astype(np.uint16)[..., None]


SETTINGS = [
    {},
    {"depth_min": 0.1, "depth_max": 4.0, "shift": 0.5},
    {"use_log": False},
    {"depth_min": 0.2, "depth_max": 2.0, "use_log": False},
]


@pytest.mark.parametrize("given", SETTINGS)
def test_codes_and_millimetres_are_lerobots(tmp_path, given):
    source = scene()
    np.save(tmp_path / "depth.npy", source)
    out = run_lerobot(
        [
            str(COMPAT / "depth_codes.py"),
            str(tmp_path / "depth.npy"),
            json.dumps(given),
            str(tmp_path / "codes.npy"),
            str(tmp_path / "back.npy"),
        ],
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    settings = DepthSettings(**given)
    codes = depth.quantize(source, settings)
    assert codes.dtype == np.uint16 and codes.shape == source.shape[:2]
    np.testing.assert_array_equal(codes, np.load(tmp_path / "codes.npy"))
    np.testing.assert_array_equal(
        depth.dequantize(codes, settings), np.load(tmp_path / "back.npy")[..., 0]
    )


def test_a_depth_video_decodes_to_its_codes(tmp_path):
    import av

    settings = DepthSettings()
    frames = [np.roll(scene(), 3 * i, axis=1) for i in range(6)]
    path = tmp_path / "depth.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream(settings.encoder, rate=30, options=settings.options())
        stream.width, stream.height, stream.pix_fmt = 64, 48, settings.pix_fmt
        for i, frame in enumerate(frames):
            video = depth.video_frame(depth.quantize(frame, settings), settings.pix_fmt)
            video.pts = i
            for packet in stream.encode(video):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.pix_fmt) == ("hevc", "gray12le")
        decoded = [f.to_ndarray(format="gray12le") for f in container.decode(stream)]
    assert len(decoded) == len(frames)
    for source, codes in zip(frames, decoded, strict=True):
        np.testing.assert_array_equal(codes, depth.quantize(source, settings))  # lossless
        back = depth.dequantize(codes, settings).astype(np.int64)
        mm = source[..., 0].astype(np.int64)
        inside = (mm >= 10) & (mm <= 10000)
        # one code is a step of log(depth + shift): at most ~2.4 mm per metre of (depth + 3.5 m)
        step = (mm + 3500) * (np.log(13500 / 3510) / depth.QMAX)
        assert np.all(np.abs(back - mm)[inside] <= step[inside] / 2 + 1)
        assert np.all(back[mm > 10000] == 10000) and np.all(back[mm < 10] == 10)


CAMERA = '--robot.cameras={"front": {"type": "sim", "width": 64, "height": 48, "use_depth": true}}'
ENCODER = {"depth_min": 0.1, "depth_max": 3.0, "shift": 1.0}


def record_depth(root: Path) -> Path:
    """One short episode on the emulated arm with the sim camera's depth map: the dataset."""
    args = [CAMERA if a.startswith("--robot.cameras=") else a for a in sim_args(root, episodes=1)]
    args += [f"--dataset.depth_encoder.{k}={v}" for k, v in ENCODER.items()]
    session = Session(parse_record_args(args))
    session.start()
    ended = finish(session, [])
    assert (ended.reason, ended.episodes_saved) == ("completed", 1), ended.error
    return root


def decoded_depth(root: Path) -> list[np.ndarray]:
    import av

    path = root / "videos/observation.images.front_depth/chunk-000/file-000.mp4"
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.pix_fmt) == ("hevc", "gray12le")
        codes = [f.to_ndarray(format="gray12le") for f in container.decode(stream)]
    return [depth.dequantize(c, DepthSettings(**ENCODER)) for c in codes]


def test_a_session_records_the_sim_cameras_depth_as_lerobot_does(tmp_path):
    root = record_depth(tmp_path / "ds")
    info = json.loads((root / "meta/info.json").read_text())
    feature = info["features"]["observation.images.front_depth"]
    assert feature["dtype"] == "video" and feature["shape"] == [48, 64, 1]
    assert feature["info"]["is_depth_map"] is True and feature["info"]["depth_unit"] == "mm"
    assert info["features"]["observation.images.front"]["info"]["is_depth_map"] is False
    maps = decoded_depth(root)
    assert len(maps) == info["total_frames"] > 10
    step = (np.float64(ARM_MM) + 1000) * np.log(4000 / 1100) / depth.QMAX  # one code, near the arm
    scene = np.linspace(FAR_MM, NEAR_MM, 48)
    for mm in maps:
        arm = np.abs(mm.astype(np.float64) - ARM_MM) <= step
        assert 0.01 < arm.mean() < 0.5  # the arm stands in front of the table
        table = ~arm
        expected = np.broadcast_to(scene[:, None], mm.shape)[table]
        error = np.abs(mm[table] - expected)
        assert np.all(error <= (expected + 1000) * np.log(4000 / 1100) / depth.QMAX / 2 + 1)
    stats = json.loads((root / "meta/stats.json").read_text())["observation.images.front_depth"]
    assert np.array(stats["mean"]).shape == (1, 1, 1)
    assert ARM_MM - 2 <= stats["min"][0][0][0] <= ARM_MM + 2  # millimetres, not / 255
    assert FAR_MM - 3 <= stats["max"][0][0][0] <= FAR_MM + 3


def test_lerobot_declares_the_same_depth_feature_and_loads_its_frames(tmp_path):
    root = record_depth(tmp_path / "ds")
    settings = {**ENCODER, "preset": DepthSettings().resolved_preset}
    args = [str(COMPAT / "depth_dataset.py"), str(root), "local/session_test", "front"]
    out = run_lerobot([*args, json.dumps(settings)], timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    theirs = json.loads(out.stdout.strip().splitlines()[-1])
    features = json.loads((root / "meta/info.json").read_text())["features"]
    for key, declared in theirs["declared"].items():
        ours = {k: v for k, v in features[key].items() if k != "info"}
        assert ours == {k: v for k, v in declared.items() if k != "info"}
    key = "observation.images.front_depth"
    assert theirs["declared"][key]["info"] == {"is_depth_map": True}
    assert features[key]["info"] == {**theirs["declared"][key]["info"], **theirs["info"]}
    assert theirs["depth_keys"] == [key]
    assert theirs["depth_shape"] == [1, 48, 64]  # channel first, as lerobot returns pictures
    loaded = np.array(theirs["depth"], np.float64).reshape(48, 64)
    np.testing.assert_allclose(loaded, decoded_depth(root)[0], atol=0.5)


def test_a_shared_depth_camera_of_two_arms_keeps_its_name(tmp_path):
    cam = '{"type": "sim", "width": 64, "height": 48, "use_depth": true}'
    args = [*bimanual_args(tmp_path / "ds"), f"--robot.cameras={{overhead: {cam}}}"]
    session = Session(parse_record_args(args))
    session.start()
    ended = finish(session, [])
    assert (ended.reason, ended.episodes_saved) == ("completed", 1), ended.error
    features = json.loads((tmp_path / "ds/meta/info.json").read_text())["features"]
    assert features["observation.images.overhead_depth"]["shape"] == [48, 64, 1]
    assert "observation.images.left_overhead_depth" not in features


@pytest.mark.parametrize(
    "flag, says",
    [
        ("--dataset.depth_encoder.depth_max=0.005", "depth_max"),
        ("--dataset.depth_encoder.shift=-0.5", "shift"),
        ("--dataset.depth_encoder.pix_fmt=yuv420p12le", "pix_fmt"),
        ("--dataset.depth_encoder.pix_fmt=gray", "pix_fmt"),
    ],
)
def test_a_bad_depth_encoder_is_refused_before_anything_starts(tmp_path, flag, says):
    with pytest.raises(ConfigError, match=says):
        parse_record_args([*sim_args(tmp_path / "ds"), flag])
    assert not (tmp_path / "ds").exists()


def test_depth_without_video_is_refused_with_the_fix(tmp_path):
    args = [CAMERA if a.startswith("--robot.cameras=") else a for a in sim_args(tmp_path / "ds")]
    session = Session(parse_record_args([*args, "--dataset.video=false"]))
    with pytest.raises(ConfigError, match="keep --dataset.video=true or turn use_depth off"):
        session.start()
    session.close()
    assert not (tmp_path / "ds").exists()


async def test_the_console_previews_the_depth_map_beside_the_picture(tmp_path):
    """A real session (emulated arm, sim depth camera): the console's camera panel shows
    `front_depth` next to `front`, in false colour, the table's near edge redder than its far."""
    from tui_helpers import wait_for_text

    from tui.app import make_app

    args = [CAMERA if a.startswith("--robot.cameras=") else a for a in sim_args(tmp_path / "ds")]
    app = make_app(Session(parse_record_args([*args, "--dataset.episode_time_s=30"])))
    async with app.run_test(size=(120, 40)) as pilot:
        text = await wait_for_text(pilot, app, "front_depth", timeout=30)
        assert "front_depth" in text and "front " in text
        thumbs = {t.name: t for t in app.telemetry.cameras}
        await pilot.press("space")  # E-STOP: the session ends at once
        await wait_for_text(pilot, app, "E-STOPPED", timeout=30)
    assert list(thumbs) == ["front", "front_depth"]
    t = thumbs["front_depth"]
    rgb = np.frombuffer(t.rgb, np.uint8).reshape(t.height, t.width, 3).astype(int)
    assert (t.width, t.height) == (64, 48) and rgb.sum(axis=2).min() > 0  # a reading everywhere
    far, near = rgb[0, 0], rgb[-1, 0]  # the table: 1.5 m at the top, 0.5 m at the bottom
    assert near[0] - near[2] > far[0] - far[2]
