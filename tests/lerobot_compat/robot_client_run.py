"""Run lerobot 0.6.1's own robot client (`lerobot.async_inference.robot_client`) for a while,
as its `async_client` runs it (Ready, policy instructions, an action receiver thread, its
control loop), and print what it did as one JSON line.

    python robot_client_run.py SPEC.json

SPEC: {"server": "HOST:PORT", "port": pty path, "calibration_dir": folder, "robot_id": id,
"video": path, "checkpoint": folder, "actions_per_chunk": n, "fps": 30, "seconds": s}.

The arm is lerecord's emulated SO-101 on a pseudo-terminal (lerobot's FeetechMotorsBus talks
to it). The camera is lerobot's OpenCVCamera on a video file (`index_or_path` takes a path).
Two things stand in for a live camera, in this harness only: a robot's camera must declare
width, height and fps, and OpenCV cannot set them on a file (lerobot's connect then raises
"failed to set fps"), so the settings are not applied (the file is 640x480 at fps); and a file
is read as fast as asked, so frames are paced one per 1/fps, the file looping.

Recorded by wrapping the client's own methods: when each turn of its control loop began, when
each action was sent to the arm, how many turns found the queue empty after the first chunk
(held), and for each chunk its timestep and the time from the observation it was computed from
(the server stamps the chunk's first action with that observation's time) to its arrival.
"""

import json
import sys
import threading
import time
from pathlib import Path

import cv2
from lerobot.async_inference.configs import RobotClientConfig
from lerobot.async_inference.robot_client import RobotClient
from lerobot.cameras.opencv import OpenCVCamera, OpenCVCameraConfig
from lerobot.robots.so_follower import SO101FollowerConfig


def pace_like_a_live_camera(fps: float) -> None:
    read = OpenCVCamera._read_from_hardware
    period = 1 / fps
    next_frame = [time.perf_counter()]

    def paced(self):
        delay = next_frame[0] - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        next_frame[0] = max(next_frame[0] + period, time.perf_counter())
        try:
            return read(self)
        except RuntimeError:  # the end of the file: loop it
            self.videocapture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            return read(self)

    OpenCVCamera._read_from_hardware = paced
    OpenCVCamera._configure_capture_settings = lambda self: None


def connect(config: RobotClientConfig, attempts: int = 3) -> RobotClient:
    """The client, its robot connected: lerobot's handshake pings the bus with a short timeout,
    which a heavily loaded machine's emulator can miss (then "Missing motor IDs"); try again."""
    for attempt in range(1, attempts):
        try:
            return RobotClient(config)
        except RuntimeError as error:
            if "motor check failed" not in str(error):
                raise
            print(f"attempt {attempt}: {str(error).splitlines()[0]}", file=sys.stderr)
            time.sleep(1.0)
    return RobotClient(config)


def main(spec_path: str) -> None:
    spec = json.load(open(spec_path))
    pace_like_a_live_camera(spec["fps"])
    camera = OpenCVCameraConfig(index_or_path=spec["video"], fps=spec["fps"], width=640, height=480)
    robot = SO101FollowerConfig(
        port=spec["port"],
        id=spec["robot_id"],
        calibration_dir=Path(spec["calibration_dir"]),
        cameras={"front": camera},
    )
    config = RobotClientConfig(
        policy_type="act",
        pretrained_name_or_path=spec["checkpoint"],
        robot=robot,
        actions_per_chunk=spec["actions_per_chunk"],
        task="Pick up the cube",
        server_address=spec["server"],
        fps=spec["fps"],
    )
    client = connect(config)
    sent_at: list[float] = []
    trips: list[tuple[int, float]] = []
    held = [0]
    turns: list[float] = []

    send_action = client.robot.send_action

    def timed_send(action):
        sent_at.append(time.perf_counter())
        return send_action(action)

    client.robot.send_action = timed_send
    available = client.actions_available

    def counted():  # called first thing in every turn of its control loop
        turns.append(time.perf_counter())
        answer = available()
        if not answer and sent_at:
            held[0] += 1
        return answer

    client.actions_available = counted
    aggregate = client._aggregate_action_queues

    def timed_aggregate(actions, fn=None):
        if actions:  # the server stamps a chunk's first action with its observation's time
            trips.append((actions[0].get_timestep(),
                          (time.time() - actions[0].get_timestamp()) * 1e3))  # fmt: skip
        return aggregate(actions, fn)

    client._aggregate_action_queues = timed_aggregate

    assert client.start(), "the policy server did not take the policy"
    receiver = threading.Thread(target=client.receive_actions, daemon=True)
    receiver.start()
    threading.Timer(spec["seconds"], client.shutdown_event.set).start()
    started = time.perf_counter()
    try:
        client.control_loop(task=config.task)
    finally:
        client.stop()
        receiver.join(timeout=10)
    print(json.dumps({"sent_at": [t - started for t in sent_at], "held": held[0],
                      "turns": [t - started for t in turns], "trips_ms": trips,
                      "chunks": len(trips)}))  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1])
