"""LeRobotDataset v3.0, written as lerobot 0.6.1 writes it, with video encoded while recording.

Public API (the session engine drives it; see `recorder`):

- `dataset_features(observation_features, action_features, video)`: the feature table.
- `DatasetRecorder.create(...)` / `DatasetRecorder.resume(...)`, then `start_episode()`,
  `add_frame(state, action, images, task)` (images keyed by camera name, HxWx3 uint8),
  `save_episode() -> SaveHandle`, `discard_episode()`,
  `remove_last_episode()` (re-record after a save: the episode leaves the dataset again, through
  the same crash-safe journal), `wait_saves()`,
  `close()`, `events() -> [EpisodeWritten]`, and the counters `dropped_frames`,
  `encoder_backlog`, `frame_count`, `episodes_saved`.
- `push_dataset(root, repo_id, private, tags)` and the pre-flight `check_hub(repo_id, private)`.
- `default_root(repo_id)`: `$HF_LEROBOT_HOME/<repo_id>` (default `~/.cache/huggingface/lerobot`).

How it works, and what lerobot's image-writer flags mean here:

- One worker thread per camera encodes the episode's frames into its mp4 as they arrive (PyAV;
  libsvtav1, yuv420p, g=2, crf=30, preset 12 as lerobot; `vcodec="h264"` uses libx264, faster).
  PyAV releases the GIL while encoding, so threads are enough and the control thread only pays
  for a queue put. A full queue drops the frame and counts it (`dropped_frames`); the video
  repeats the previous frame in its place so frames and parquet rows stay one-to-one.
- Saving an episode only closes the videos and writes a few small files, on a saver thread, while
  the reset phase runs. After every save the dataset on disk is complete and loadable; a kill at
  any moment loses at most the episode in progress (see `commit`, `episode_files`).
- `--dataset.num_image_writer_processes`: accepted and unnecessary; encoding runs in threads
  (lerobot uses processes to write PNG files, which this design does not produce when video is on).
- `--dataset.num_image_writer_threads_per_camera`: the threads each camera's encoder may use
  (`lp` for SVT-AV1, `threads` for x264), capped at the number of CPU cores.
- `--dataset.video_encoding_batch_size`: accepted and unnecessary; lerobot batches episodes to
  amortise encoding after recording, while here every frame is encoded during the episode.
- While a recorder is open it holds a lock on `<root>/.lerecord/lock`; a second writer or an
  upload of the same folder is refused meanwhile. `.lerecord/` (lock, staging, commit journal)
  is never uploaded and lerobot ignores it.
- On Linux the encoder threads run at nice +5 and give up the right to real-time scheduling
  (`core.priority.forgo_realtime`) before they open a codec: SVT-AV1 asks for SCHED_FIFO 99 for
  its threads when it may (as root), is refused, and starts them normal at the encoder's nice.
  Real-time, they starved the control loop by 100 ms and more (`bench/results/dataset.md`);
  where the right cannot be given up they are returned to normal scheduling once started.
- `--dataset.video=false`: each camera worker writes PNG files (compression level 1, as lerobot)
  to a scratch folder and the saver embeds them in the data parquet as lerobot's `image` feature.
"""

from core.dataset.features import dataset_features
from core.dataset.hub import check_hub, push_dataset
from core.dataset.layout import default_root
from core.dataset.recorder import DatasetRecorder, EpisodeWritten, SaveHandle
from core.dataset.video_encoder import VideoSettings

__all__ = [
    "DatasetRecorder",
    "EpisodeWritten",
    "SaveHandle",
    "VideoSettings",
    "check_hub",
    "dataset_features",
    "default_root",
    "push_dataset",
]
