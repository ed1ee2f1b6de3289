"""Opening and closing a session, in the order that keeps a user's mistakes cheap.

Open: build the devices (features known, nothing connected) → validate → load and check the
policy → check the Hub → check the dataset → connect the devices → open the dataset, logs, voice.
Everything that can be wrong with the command line fails before a motor is powered or a file is
written (`core.config.validate` is the one validation pass). Close: stop the policy → leave the
motors safe → wait for the saver and finalise the dataset → close the logs → upload.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from core import messages as m
from core.devices import Devices
from core.parts import SessionParts
from core.priority import ControlPriority
from core.threads import ThreadBudget, session_budget

log = logging.getLogger(__name__)


def open_session(
    cfg, *, on_written: Callable, warn: Callable[[str], None], hub_api=None
) -> SessionParts:
    """Open everything a session needs, or raise (ConfigError / DeviceError, one line each)
    with nothing left open or written; a signal part-way (`core.signals.Interrupted`) closes
    what opened too. `on_written(EpisodeWritten)` is called by the recorder's saver thread;
    `warn(text)` by the log writer and the voice when they give up."""
    from core.config.validate import check_session

    ds = cfg.dataset
    if not cfg.resume:
        ds.stamp_repo_id(datetime.now())
    if not ds.streaming_encoding:
        log.info("lerecord always encodes the videos while recording (streaming_encoding)")
    devices = Devices(cfg.robot, cfg.teleop)  # features known (cameras asked), nothing connected
    root = check_session(cfg, devices)  # the one validation pass, before anything opens
    threads = _thread_budget(cfg, devices)
    policy = recorder = parts = None
    created = False
    try:
        if cfg.policy is not None and cfg.policy.path:
            from core.policy.session import SessionPolicy

            policy = SessionPolicy.load(
                cfg.policy, devices, fps=ds.fps, task=ds.single_task, threads=threads.policy
            )
        records = cfg.rollout is None or cfg.rollout.strategy.records  # a base rollout: nothing
        if ds.push_to_hub and records:
            from core.dataset.hub import check_hub

            check_hub(ds.repo_id, private=ds.private, api=hub_api)
        if records:  # refuses a bad resume or a taken folder
            recorder, created = _open_recorder(cfg, devices, root, on_written, threads)
        devices.connect()
        parts = SessionParts(devices, recorder, policy, threads=threads)
        if cfg.log:
            from core.logs import open_inference_log

            parts.inference_log = open_inference_log(cfg, devices, on_warning=warn)
        from core.voice import Voice

        parts.voice = Voice(enabled=cfg.play_sounds, on_warning=warn)
    except BaseException:
        _abandon(devices, policy, recorder, created, parts)
        raise
    return parts


def _abandon(devices: Devices, policy, recorder, created: bool, parts) -> None:
    """Undo a start that did not finish: motors safe, nothing recorded left behind."""
    for note in devices.disconnect():
        log.warning("%s", note)
    for part in (policy, None if parts is None else parts.inference_log):
        if part is not None:
            part.close()
    if parts is not None and parts.voice is not None:
        parts.voice.close()
    if recorder is not None:
        recorder.close()
        if created:
            shutil.rmtree(recorder.root, ignore_errors=True)


def session_started(
    cfg, parts: SessionParts, t: float, plan, priority: ControlPriority | None = None
) -> m.SessionStarted:
    """The session's first event: what was opened, how many episodes the plan records at
    most (0: as many as a rollout's time allows), how the control thread is scheduled."""
    log_dir = None if parts.inference_log is None else str(parts.inference_log.folder)
    episodes = max(0, plan.target - parts.first_episode) if plan.target else 0
    return m.SessionStarted(
        t,
        robot=parts.devices.robot_label,
        dataset_root="" if parts.recorder is None else str(parts.recorder.root),
        repo_id=cfg.dataset.repo_id,
        num_episodes=episodes,
        devices=parts.devices.labels(),
        log_dir=log_dir,
        sounds=cfg.play_sounds,
        threads="" if parts.threads is None else parts.threads.describe(),
        policy="" if parts.policy is None else parts.policy.describe(),
        control="" if priority is None else priority.describe(),
    )


def _thread_budget(cfg, devices: Devices) -> ThreadBudget:
    ds = cfg.dataset
    cameras = sum(isinstance(v, tuple) for v in devices.robot.observation_features.values())
    return session_budget(
        cameras if ds.video else 0,
        policy_threads=cfg.policy.threads if cfg.policy is not None else None,
        encoder_threads=ds.encoder_threads,
        encoder_cap=ds.num_image_writer_threads_per_camera,
        with_policy=cfg.policy is not None,
        # a resumed dataset keeps its codec; a new one gets what the cores afford
        video=ds.rgb_encoder if ds.video and ds.adapt_encoder and not cfg.resume else None,
    )


def _open_recorder(cfg, devices: Devices, root: Path, on_written: Callable, threads: ThreadBudget):
    """The dataset, new or resumed; True when this call created its folder."""
    from core.dataset import DatasetRecorder, dataset_features
    from core.rollout_session import extra_features

    ds = cfg.dataset
    robot = devices.robot
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
            extra=extra_features(cfg.rollout),
            outcomes=ds.outcome_features,
        ),
        video=ds.video,
        encoder=threads.video or ds.rgb_encoder,
        depth_encoder=ds.depth_encoder,
        encoder_threads=threads.encoder,
        queue_size=ds.encoder_queue_maxsize,
        on_written=on_written,
    )
    return recorder, created and not cfg.resume


def close_session(
    cfg,
    parts: SessionParts,
    emit: Callable[[m.Event], None],
    now: Callable[[], float],
    hub_api,
    edit_dataset: Callable[[], None] = lambda: None,
) -> None:
    """Stop the policy, leave the motors safe (saying what may not be), finish the dataset,
    apply `edit_dataset` (the review's deletions) to it, close the logs, upload."""
    if parts.policy is not None:
        parts.policy.close()
    for note in parts.devices.disconnect():  # motors first: finishing the saves takes a while
        emit(m.WarningRaised(now(), note))
    if parts.recorder is not None:
        parts.recorder.close()
        edit_dataset()
    if parts.inference_log is not None:
        parts.inference_log.close()
    ds = cfg.dataset
    if ds.push_to_hub and parts.recorder is not None and parts.recorder.meta.total_episodes > 0:
        upload(cfg, parts, emit, now, hub_api)
    if parts.voice is not None:
        parts.voice.close()


def upload(cfg, parts: SessionParts, emit, now, hub_api) -> None:
    """Push the dataset; an UploadFinished or UploadFailed event says how it went."""
    from core.dataset.hub import push_dataset

    ds = cfg.dataset
    try:
        url = push_dataset(
            parts.recorder.root, ds.repo_id, private=ds.private, tags=ds.tags, api=hub_api
        )
    except Exception as error:  # its message says the dataset is intact and how to retry
        emit(m.UploadFailed(now(), str(error)))
    else:
        emit(m.UploadFinished(now(), url))
