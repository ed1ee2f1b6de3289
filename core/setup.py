"""Opening and closing a session, in the order that keeps a user's mistakes cheap.

Open: build the devices (features known, nothing connected) → load and check the policy →
check the Hub → check the dataset → connect the devices → open the dataset, logs and voice.
Everything that can be wrong with the command line fails before a motor is powered or a file is
written. Close: stop the policy → wait for the saver and finalise the dataset → leave the motors
safe → close the logs → upload.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from core import messages as m
from core.devices import Devices

log = logging.getLogger(__name__)


def open_session(s) -> None:
    cfg = s.config
    ds = cfg.dataset
    devices = Devices(cfg.robot, cfg.teleop)
    policy = None
    if cfg.policy is not None and cfg.policy.path:
        from core.policy.session import SessionPolicy

        policy = SessionPolicy.load(cfg.policy, devices, fps=ds.fps)
    if ds.push_to_hub:
        from core.dataset.hub import check_hub

        check_hub(ds.repo_id, private=ds.private, api=s.hub_api)
    recorder, created = _open_recorder(s, devices)  # refuses a bad resume or a taken folder
    try:
        devices.connect()
    except BaseException:
        recorder.close()
        if created:
            shutil.rmtree(recorder.root, ignore_errors=True)
        if policy is not None:
            policy.close()
        raise
    s.devices, s.policy, s.recorder = devices, policy, recorder
    s.first_episode = s.episode_index = recorder.meta.total_episodes
    if cfg.log:
        from core.logs import open_inference_log

        s.inference_log = open_inference_log(cfg, devices, on_warning=_warn_to(s))
    from core.voice import Voice

    s.voice = Voice(enabled=cfg.play_sounds, on_warning=_warn_to(s))
    s.emit(
        m.SessionStarted(
            s.now(),
            robot=devices.robot_label,
            dataset_root=str(recorder.root),
            repo_id=ds.repo_id,
            num_episodes=ds.num_episodes,
            devices=devices.labels(),
            log_dir=None if s.inference_log is None else str(s.inference_log.folder),
            sounds=cfg.play_sounds,
        )
    )


def _open_recorder(s, devices):
    """The dataset, new or resumed; True when this call created its folder."""
    from core.dataset import DatasetRecorder, dataset_features, default_root

    cfg = s.config
    ds = cfg.dataset
    robot = devices.robot
    root = Path(ds.root).expanduser() if ds.root else default_root(ds.repo_id)
    created = not root.exists() or not any(root.iterdir())
    opener = DatasetRecorder.resume if cfg.resume else DatasetRecorder.create
    recorder = opener(
        root,
        ds.repo_id,
        ds.fps,
        robot.name,
        dataset_features(
            robot.observation_features,
            robot.action_features,
            ds.video,
            outcomes=ds.outcome_features,
        ),
        video=ds.video,
        vcodec=ds.vcodec,
        encoder_threads=ds.num_image_writer_threads_per_camera or None,
        on_written=s.on_episode_written,
    )
    return recorder, created and not cfg.resume


def _warn_to(s):
    return lambda text: s.emit(m.WarningRaised(s.now(), text))


def close_session(s) -> None:
    if s.policy is not None:
        s.policy.close()
    if s.recorder is not None:
        s.recorder.close()
    if s.devices is not None:
        s.devices.disconnect()
    if s.inference_log is not None:
        s.inference_log.close()
    ds = s.config.dataset
    if ds.push_to_hub and s.recorder is not None and s.recorder.meta.total_episodes > 0:
        _upload(s)
    if s.voice is not None:
        s.voice.close()


def _upload(s) -> None:
    from core.dataset.hub import push_dataset

    ds = s.config.dataset
    try:
        url = push_dataset(
            s.recorder.root, ds.repo_id, private=ds.private, tags=ds.tags, api=s.hub_api
        )
    except Exception as error:  # its message says the dataset is intact and how to retry
        s.emit(m.UploadFailed(s.now(), str(error)))
    else:
        s.emit(m.UploadFinished(s.now(), url))
