"""Print lerobot's codec options for encoder settings: argv[1] is a JSON list of
[RGBEncoderConfig keyword arguments, encoder_threads]; prints the list of option dicts.
Run in the lerobot 0.6.1 interop environment (tests/test_video_encoder.py)."""

import json
import sys

from lerobot.configs.video import RGBEncoderConfig

cases = json.loads(sys.argv[1])
print(
    json.dumps(
        [
            RGBEncoderConfig(**kwargs).get_codec_options(encoder_threads=threads, as_strings=True)
            for kwargs, threads in cases
        ]
    )
)
