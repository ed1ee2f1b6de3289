"""lerobot's depth quantiser on a depth map: argv[1] an .npy of uint16 millimetres, argv[2] a
JSON dict of DepthEncoderConfig quantiser arguments, argv[3] where to save lerobot's codes and
argv[4] where to save those codes dequantised to millimetres (both .npy).
Run in the lerobot 0.6.1 interop environment (tests/test_depth.py)."""

import json
import sys

import numpy as np
from lerobot.datasets.depth_utils import dequantize_depth, quantize_depth

depth = np.load(sys.argv[1])
settings = json.loads(sys.argv[2])
codes = quantize_depth(depth, video_backend=None, **settings)
np.save(sys.argv[3], codes)
back = dequantize_depth(codes, output_tensor=False, output_channel_last=True, **settings)
np.save(sys.argv[4], back)
