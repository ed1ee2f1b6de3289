"""Replay chunks through lerobot's own async client logic (`RobotClient._aggregate_action_queues`
and its control loop's queue pop), printing the action lerobot would have sent at every frame.

Input (argv[1], JSON): {"aggregate": name, "frames": n, "chunks": [{"frame": f, "reply": path}]}
— each reply file is the raw pickle the server sent, taken in at the start of frame f. Output:
one JSON line, a list with the action (list of floats) or null (queue empty) per frame.
"""

import json
import pickle
import sys
import threading
from queue import Queue
from types import SimpleNamespace

from lerobot.async_inference.configs import get_aggregate_function
from lerobot.async_inference.robot_client import RobotClient


def main(spec_path: str) -> None:
    spec = json.load(open(spec_path))
    fn = get_aggregate_function(spec["aggregate"])
    client = SimpleNamespace(
        action_queue=Queue(),
        action_queue_lock=threading.Lock(),
        latest_action_lock=threading.Lock(),
        latest_action=-1,
    )
    chunks = sorted(spec["chunks"], key=lambda c: c["frame"])
    out = []
    for frame in range(spec["frames"]):
        client.latest_action = frame - 1
        for chunk in [c for c in chunks if c["frame"] == frame]:
            timed_actions = pickle.loads(open(chunk["reply"], "rb").read())  # the test's server
            RobotClient._aggregate_action_queues(client, timed_actions, fn)
        if client.action_queue.empty():
            out.append(None)
            continue
        timed = client.action_queue.get_nowait()
        assert timed.get_timestep() == frame, (timed.get_timestep(), frame)
        out.append([float(v) for v in timed.get_action()])
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
