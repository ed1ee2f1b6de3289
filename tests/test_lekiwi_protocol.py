"""LeKiwi's wire format and base kinematics, as lerobot's host and client use them."""

import base64
import json
import socket

import cv2
import numpy as np
import pytest

from hardware.base import CameraConfig
from hardware.errors import DeviceError
from hardware.lekiwi import protocol
from hardware.lekiwi.client import LeKiwiClient, LeKiwiClientConfig
from hardware.lekiwi.wheels import MAX_RAW, body_to_wheel_raw, wheel_raw_to_body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gradient(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // w, y * 255 // h, np.full_like(x, 200)], axis=-1).astype(np.uint8)


def test_observation_is_a_json_header_then_one_jpeg_per_camera():
    front, wrist = gradient(48, 64), gradient(64, 48)
    frames = protocol.encode_observation(
        {"arm_gripper.pos": 12.5, "x.vel": 0.1}, {"front": front, "wrist": wrist}
    )
    header = json.loads(frames[0])
    assert header == {"_cams": ["front", "wrist"], "arm_gripper.pos": 12.5, "x.vel": 0.1}
    assert frames[1][:2] == b"\xff\xd8" and len(frames) == 3  # JPEG start-of-image
    state, images = protocol.decode_observation(frames)
    assert state == {"arm_gripper.pos": 12.5, "x.vel": 0.1}
    assert images["front"].shape == (48, 64, 3) and images["wrist"].shape == (64, 48, 3)
    # channels come back in the order they were sent (RGB in, RGB out), JPEG-close
    assert np.abs(images["front"].astype(int) - front).mean() < 4


def test_legacy_single_json_with_base64_images_is_read_too():
    ok, jpeg = cv2.imencode(".jpg", gradient(32, 32))
    message = json.dumps({"x.vel": 0.2, "front": base64.b64encode(jpeg.tobytes()).decode()})
    state, images = protocol.decode_observation([message.encode()])
    assert state == {"x.vel": 0.2} and images["front"].shape == (32, 32, 3)


def test_commands_are_json_objects_of_floats():
    assert protocol.decode_command(protocol.encode_command({"x.vel": 1, "arm_a.pos": 2.5})) == {
        "x.vel": 1.0,
        "arm_a.pos": 2.5,
    }
    with pytest.raises(ValueError):
        protocol.decode_command(b"[1, 2]")


@pytest.mark.parametrize(
    "body", [(0.2, 0.0, 0.0), (0.0, -0.1, 0.0), (0.0, 0.0, 60.0), (0.1, 0.1, 30.0)]
)
def test_wheel_speeds_and_body_velocity_round_trip(body):
    raw = body_to_wheel_raw(*body)
    back = wheel_raw_to_body(raw)
    assert back["x.vel"] == pytest.approx(body[0], abs=2e-3)
    assert back["y.vel"] == pytest.approx(body[1], abs=2e-3)
    assert back["theta.vel"] == pytest.approx(body[2], abs=0.3)


def test_forward_drive_turns_the_side_wheels_opposite_and_leaves_the_back_wheel():
    left, back, right = body_to_wheel_raw(0.1, 0.0, 0.0)
    assert back == 0 and left == -right and left != 0
    spin = body_to_wheel_raw(0.0, 0.0, 90.0)
    assert len(set(spin)) == 1 and spin[0] > 0  # turning in place: all wheels alike


def test_wheel_speeds_are_scaled_down_together_to_the_limit():
    raw = body_to_wheel_raw(3.0, 0.0, 0.0)
    assert max(abs(r) for r in raw) == MAX_RAW
    direction = wheel_raw_to_body(raw)
    assert direction["y.vel"] == pytest.approx(0.0, abs=1e-3) and direction["x.vel"] > 0


def test_client_without_a_host_says_how_to_start_one():
    config = LeKiwiClientConfig(
        port_zmq_cmd=free_port(), port_zmq_observations=free_port(), connect_timeout_s=0.2
    )
    client = LeKiwiClient(config)
    with pytest.raises(
        DeviceError, match="no observation from the LeKiwi host.*lerecord emulate lekiwi"
    ):
        client.connect()
    assert not client.is_connected


def test_camera_without_size_and_no_host_says_what_to_give():
    config = LeKiwiClientConfig(
        port_zmq_observations=free_port(),
        connect_timeout_s=0.2,
        cameras={"head": CameraConfig(), "wrist": CameraConfig(width=64, height=48)},
    )
    with pytest.raises(DeviceError, match=r"camera\(s\) head have no width/height"):
        _ = LeKiwiClient(config).observation_features


def test_client_features_are_lerobots():
    config = LeKiwiClientConfig(cameras={})
    features = LeKiwiClient(config).action_features
    assert list(features) == [
        "arm_shoulder_pan.pos",
        "arm_shoulder_lift.pos",
        "arm_elbow_flex.pos",
        "arm_wrist_flex.pos",
        "arm_wrist_roll.pos",
        "arm_gripper.pos",
        "x.vel",
        "y.vel",
        "theta.vel",
    ]
