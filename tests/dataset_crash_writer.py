"""A process that records episodes until it is killed (run by test_dataset_crash.py).

usage: dataset_crash_writer.py ROOT MODE
  MODE episode: save 2 episodes, then record a third until killed       (prints RECORDING)
  MODE staging: save 2 episodes, then hang while staging the third     (prints STAGING)
  MODE publish: save 2 episodes, then hang after 2 moves of the third  (prints MOVING)
  MODE undo:    save 3 episodes, then hang after 3 moves taking the third back out (UNDOING)
"""

import os
import sys
import time

import numpy as np
from dataset_support import frame_image, so_features

from core.dataset import DatasetRecorder, commit, episode_files, recorder

CAMERAS = {"front": (48, 64, 3)}


def hang(marker: str) -> None:
    print(marker, flush=True)
    time.sleep(3600)


def main(root: str, mode: str) -> None:
    rec = DatasetRecorder.create(root, "local/crash", 30, "so_follower", so_features(CAMERAS))
    for episode in range(3 if mode == "undo" else 2):
        rec.start_episode()
        for i in range(15):
            rec.add_frame(
                np.full(6, i), np.full(6, i), {"front": frame_image((48, 64, 3), 0, i)}, "t"
            )
        assert rec.save_episode().wait(30).error is None
        print("SAVED", episode, flush=True)
    if mode == "staging":
        real = episode_files.stage_episode

        def stage_then_hang(*args, **kwargs):
            real(*args, **kwargs)
            hang("STAGING")

        recorder.stage_episode = stage_then_hang
    if mode == "undo":
        real_replace = os.replace
        undone = []

        def undo_then_hang(src, dst):
            real_replace(src, dst)
            if "undo" in str(src):
                undone.append(dst)
                if len(undone) == 3:
                    hang("UNDOING")

        commit.os.replace = undo_then_hang
        rec.remove_last_episode()
        rec.wait_saves()
    if mode == "publish":
        real_replace = os.replace
        moves = []

        def replace_then_hang(src, dst):
            real_replace(src, dst)
            if "staging" in str(src) and "staging" not in str(dst):
                moves.append(dst)
                if len(moves) == 2:
                    hang("MOVING")

        commit.os.replace = replace_then_hang
    rec.start_episode()
    for i in range(10_000):
        rec.add_frame(np.zeros(6), np.zeros(6), {"front": frame_image((48, 64, 3), 2, i)}, "t")
        if i == 10:
            if mode == "episode":
                print("RECORDING", flush=True)
            else:
                rec.save_episode()
                time.sleep(3600)
        time.sleep(1 / 30)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
