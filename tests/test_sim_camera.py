"""The sim camera draws the simulated arm's pose, at its frame rate, and can be unplugged."""

from __future__ import annotations

import logging
import statistics
import time

import numpy as np
import pytest

from hardware.errors import ConfigError, DeviceError
from hardware.registry import make_camera
from hardware.sim.arm_view import JOINTS, REST_POSE, ArmView
from hardware.sim.camera import SimCamera, SimCameraConfig

REACHING = {
    "shoulder_pan.pos": 35.0,
    "shoulder_lift.pos": 45.0,
    "elbow_flex.pos": -20.0,
    "wrist_flex.pos": 40.0,
    "wrist_roll.pos": 30.0,
    "gripper.pos": 80.0,
}


def scene(image: np.ndarray) -> np.ndarray:
    """The picture without its caption lines (frame counter and joint values)."""
    return image[40:-30]


def changed_pixels(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.any(scene(a) != scene(b), axis=2).sum())


@pytest.fixture
def camera():
    camera = make_camera(SimCameraConfig(fps=30), "top")
    yield camera
    camera.disconnect()


def next_frame(camera, after):
    frame = camera.wait_for_frame(2.0, newer_than=after.captured_at if after else None)
    assert frame is not None
    return frame


def test_the_picture_follows_the_pose_source(camera):
    pose = dict(REST_POSE)
    calls = []

    def source():
        calls.append(time.monotonic())
        return dict(pose)

    camera.follow_pose(source)
    camera.connect()
    first = next_frame(camera, None)
    again = next_frame(camera, first)
    assert changed_pixels(first.image, again.image) == 0  # same pose, same picture
    pose.update(REACHING)
    moved = next_frame(camera, next_frame(camera, again))
    assert changed_pixels(first.image, moved.image) > 2000
    assert calls, "the reader thread asks the pose source for every frame"


def test_every_joint_shows_in_the_picture():
    view = ArmView(640, 480)
    rest = view.draw(REST_POSE)
    for joint in JOINTS:
        moved = {**REST_POSE, f"{joint}.pos": 60.0}
        if joint == "wrist_roll":  # a roll only shows on open jaws
            rest = view.draw({**REST_POSE, "gripper.pos": 100.0})
            moved["gripper.pos"] = 100.0
        assert changed_pixels(rest, view.draw(moved)) > 20, joint
        rest = view.draw(REST_POSE)


def test_without_a_pose_source_it_draws_the_rest_pose(camera):
    camera.connect()
    image = camera.read_latest().image
    assert image.shape == camera.shape == (480, 640, 3)
    assert changed_pixels(image, ArmView(640, 480).draw(REST_POSE)) == 0
    assert changed_pixels(image, ArmView(640, 480).draw(REACHING)) > 2000


def test_frames_arrive_at_the_frame_rate(camera):
    camera.connect()
    frames = [next_frame(camera, None)]
    while frames[-1].captured_at - frames[0].captured_at < 0.6:
        frames.append(next_frame(camera, frames[-1]))
    gaps = np.diff([frame.captured_at for frame in frames])
    assert np.all(gaps > 0)
    assert 0.7 / 30 < statistics.median(gaps) < 1.3 / 30


def test_an_unplugged_camera_is_reported_and_comes_back(camera):
    camera.connect()
    camera.unplug()
    deadline = time.monotonic() + 3.0
    while True:
        try:
            camera.read_latest()
        except DeviceError as error:
            assert "camera 'top' (sim) stopped giving frames" in str(error)
            break
        assert time.monotonic() < deadline, "an unplugged camera must be reported"
        time.sleep(0.02)
    camera.replug()
    frame = camera.wait_for_frame(2.0, newer_than=time.monotonic())
    assert frame is not None and camera.read_latest().captured_at >= frame.captured_at


def test_an_unplugged_camera_does_not_connect():
    camera = SimCamera(SimCameraConfig(), "top")
    camera.unplug()
    with pytest.raises(DeviceError, match=r"camera 'top' \(sim\) is unplugged"):
        camera.connect()
    assert not camera.is_connected


def test_a_failing_pose_source_keeps_the_last_pose(camera, caplog):
    poses = [REACHING]

    def source():
        if not poses:
            raise OSError("bus unplugged")
        return poses[0]

    camera.follow_pose(source)
    camera.connect()
    before = next_frame(camera, None)
    poses.clear()
    with caplog.at_level(logging.WARNING):
        after = next_frame(camera, next_frame(camera, before))
    assert changed_pixels(before.image, after.image) == 0
    assert [r.message for r in caplog.records].count(
        "camera 'top' (sim): the pose source failed (bus unplugged); drawing the last pose"
    ) == 1


def test_other_sizes_and_single_views_are_drawn():
    for view in ("side", "top"):
        image = ArmView(320, 240, view).draw(REACHING, "x")
        assert image.shape == (240, 320, 3)
    # the pan turns the arm round in the top view, and out of the side view's plane
    turned = {**REACHING, "shoulder_pan.pos": -35.0}
    for view in (ArmView(320, 240, "top"), ArmView(320, 240, "side")):
        assert changed_pixels(view.draw(REACHING), view.draw(turned)) > 100


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"view": "front"}, "sim camera view"),
        ({"width": None, "height": None}, "sim camera width"),
        ({"fps": None}, "sim camera fps"),
        ({"width": 32, "height": 24}, "too small"),
        ({"fps": -5}, "camera fps"),
    ],
)
def test_bad_config_values_name_the_field(fields, message):
    with pytest.raises(ConfigError, match=message):
        SimCameraConfig(**fields)
