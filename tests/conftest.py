"""Every test runs with lerobot's home (datasets, calibration files) and the Hugging Face cache
(where the ONNX exports of policies go) in a private folder, never the user's
`~/.cache/huggingface`."""

import os
import tempfile

_HOME = tempfile.mkdtemp(prefix="lerecord-tests-")
os.environ["HF_LEROBOT_HOME"] = os.path.join(_HOME, "lerobot")
os.environ["HF_HOME"] = os.path.join(_HOME, "huggingface")
os.environ.pop("HF_LEROBOT_CALIBRATION", None)
