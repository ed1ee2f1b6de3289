"""The camera videos' encoder settings: lerobot 0.6.1's `--dataset.rgb_encoder.*`.

Same names, defaults and meaning as lerobot's `RGBEncoderConfig`: a codec name as lerobot
spells it (`libsvtav1`, `h264`, `hevc`, `libaom-av1`, a hardware encoder, or `auto`), then the
tuning fields, which `options()` turns into the codec's own options the way lerobot does
(`crf` is `qp` for NVENC and VAAPI, `global_quality` for Quick Sync …), `extra_options` last.
The one difference: `preset` left unset is 12 for libsvtav1 (as lerobot) and `ultrafast` for
libx264/libx265, whose own default is too slow to keep up on a small computer.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from hardware.errors import ConfigError
from hardware.option import option

logger = logging.getLogger(__name__)

HARDWARE_CODECS = (  # `auto` takes the first that opens here, in this order (lerobot's)
    "h264_videotoolbox",
    "hevc_videotoolbox",
    "h264_nvenc",
    "hevc_nvenc",
    "h264_vaapi",
    "h264_qsv",
)
# lerobot's codec name -> the PyAV (FFmpeg) encoder that writes it
ENCODERS = {
    "libsvtav1": "libsvtav1",
    "h264": "libx264",
    "hevc": "libx265",
    "libaom-av1": "libaom-av1",
    **{name: name for name in HARDWARE_CODECS},
}
ALIASES = {"av1": "libsvtav1"}  # lerobot's, the name a stream reports
VCODECS = ("auto", *ENCODERS, *ALIASES)
SVTAV1_PRESET = 12
X26X_PRESET = "ultrafast"
# Software codecs one core cannot afford for a rig's cameras: per 640x480 frame with one thread,
# SVT-AV1 preset 12 took ~25 ms of CPU (preset 13 no less), libx264 ultrafast ~3.6 ms
# (`python -m bench.bench_encode`): two cameras at 30 fps need 1.5 cores in AV1, 0.2 in h264.
HEAVY_ON_ONE_CORE = ("libsvtav1", "hevc", "libaom-av1")
ONE_CORE_CODEC = "h264"


@dataclass(frozen=True, kw_only=True)
class VideoSettings:
    """How camera frames become MP4 video (`--dataset.rgb_encoder.*`)."""

    vcodec: str = option(
        "libsvtav1",
        help="video codec; auto: the first hardware encoder that opens here, else libsvtav1",
        choices=VCODECS,
    )
    pix_fmt: str = option("yuv420p", help="pixel format of the video")
    g: int | None = option(2, help="keyframe interval (GOP size)", unit="frames")
    crf: int | float | None = option(30, help="quality: lower is better and bigger")
    preset: int | str | None = option(
        None, help="the codec's speed/quality preset (none: 12 for libsvtav1, else ultrafast)"
    )
    fast_decode: int = option(0, help="fast-decode tuning, 0: off (libsvtav1: 1 or 2)")
    video_backend: str = option("pyav", help="encoding library", choices=("pyav",))
    extra_options: dict[str, Any] = option(
        default_factory=dict, help='more codec options, merged last: \'{"tune": "film"}\''
    )

    def __post_init__(self) -> None:
        vcodec = ALIASES.get(self.vcodec, self.vcodec)
        if vcodec not in VCODECS:
            raise ConfigError(f"vcodec: got {self.vcodec!r}; expected one of {', '.join(VCODECS)}")
        if vcodec == "auto":
            vcodec = next((c for c in HARDWARE_CODECS if encoder_opens(c)), "libsvtav1")
            logger.info("video codec auto: %s", vcodec)
        object.__setattr__(self, "vcodec", vcodec)
        if self.video_backend != "pyav":
            raise ConfigError(f"video_backend: got {self.video_backend!r}; expected pyav")
        formats = _pixel_formats(self.encoder)
        if formats is None:
            raise ConfigError(
                f"vcodec: {vcodec} is not in this FFmpeg build (PyAV); use libsvtav1 or h264"
            )
        if formats and self.pix_fmt not in formats:
            raise ConfigError(
                f"pix_fmt: {self.pix_fmt!r} is not one {self.encoder} writes; "
                f"expected one of {', '.join(formats)}"
            )

    @property
    def encoder(self) -> str:
        return ENCODERS[self.vcodec]

    @property
    def resolved_preset(self) -> int | str | None:
        if self.preset is not None:
            return self.preset
        if self.vcodec == "libsvtav1":
            return SVTAV1_PRESET
        return X26X_PRESET if self.vcodec in ("h264", "hevc") else None

    def options(self, threads: int | None = None) -> dict[str, str]:
        """The codec's options, as lerobot passes them to PyAV's `add_stream`; `threads` is
        `--dataset.encoder_threads` (hardware encoders ignore it)."""
        opts: dict[str, Any] = {"g": self.g}
        quality = {"h264_nvenc": "qp", "hevc_nvenc": "qp", "h264_vaapi": "qp"}
        if self.vcodec in ("h264_videotoolbox", "hevc_videotoolbox"):
            opts["q:v"] = None if self.crf is None else max(1, min(100, 100 - self.crf * 2))
        elif self.vcodec == "h264_qsv":
            opts["global_quality"] = self.crf
        else:
            opts[quality.get(self.vcodec, "crf")] = self.crf
        if self.vcodec in ("h264_nvenc", "hevc_nvenc"):
            opts["rc"] = 0
        if self.vcodec not in ("h264_vaapi", "h264_videotoolbox", "hevc_videotoolbox"):
            opts["preset"] = self.resolved_preset
        if self.vcodec == "libsvtav1":
            params = [f"fast-decode={max(0, min(2, self.fast_decode))}"]
            params += [f"lp={threads}"] if threads else []
            opts["svtav1-params"] = ":".join(params)
        elif self.vcodec in ("h264", "hevc"):
            if self.fast_decode:
                opts["tune"] = "fastdecode"
            opts["threads"] = threads
        elif self.vcodec == "libaom-av1" and threads:
            opts.update({"threads": threads, "row-mt": 1})
        opts = {key: value for key, value in opts.items() if value is not None}
        for key, value in self.extra_options.items():
            opts.setdefault(key, value)  # never over a structured field
        return {key: str(value) for key, value in opts.items()}

    def info(self) -> dict:
        """The encoder part of the `video.*` block lerobot writes into info.json."""
        return {
            "video.g": self.g,
            "video.crf": self.crf,
            "video.preset": self.resolved_preset,
            "video.fast_decode": self.fast_decode,
            "video.video_backend": self.video_backend,
            "video.extra_options": dict(self.extra_options),
        }

    @classmethod
    def from_info(cls, info: dict) -> VideoSettings:
        """The settings a video was encoded with, from its feature's `info` block (as lerobot's
        `encoder_config_from_video_info`: re-encoding keeps the dataset's metadata true)."""
        codec = info.get("video.codec", "av1")
        return cls(
            vcodec=codec if codec in VCODECS else "libsvtav1",
            pix_fmt=info.get("video.pix_fmt", "yuv420p"),
            g=info.get("video.g", 2),
            crf=info.get("video.crf", 30),
            preset=info.get("video.preset"),
            fast_decode=info.get("video.fast_decode", 0),
            extra_options=dict(info.get("video.extra_options") or {}),
        )

    def with_codec(self, vcodec: str) -> VideoSettings:
        return dataclasses.replace(self, vcodec=vcodec)

    def on_one_core(self) -> VideoSettings:
        """What a single core can encode: h264 ultrafast in place of an untuned heavy codec
        (no preset nor extra options given); these settings unchanged otherwise."""
        untuned = self.preset is None and not self.extra_options
        if self.vcodec not in HEAVY_ON_ONE_CORE or not untuned:
            return self
        return dataclasses.replace(self, vcodec=ONE_CORE_CODEC)

    def describe(self) -> str:
        preset = self.resolved_preset
        return self.vcodec if preset is None else f"{self.vcodec} preset {preset}"


def _pixel_formats(encoder: str) -> list[str] | None:
    """The pixel formats PyAV's `encoder` takes ([] when it does not say), None if absent."""
    import av

    try:
        codec = av.Codec(encoder, "w")
    except Exception:  # av.codec.codec.UnknownCodecError and kin
        return None
    return [f.name for f in codec.video_formats or ()]


def encoder_opens(encoder: str) -> bool:
    """Whether a hardware encoder really encodes here (in the build is not enough: NVENC
    without an NVIDIA GPU fails at the first frame)."""
    import av
    import numpy as np

    if _pixel_formats(encoder) is None:
        return False
    try:
        context: Any = av.CodecContext.create(encoder, "w")  # a video encoder's context
        context.width, context.height, context.pix_fmt = 64, 64, "yuv420p"
        context.time_base = "1/30"
        context.open()
        frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
        context.encode(frame.reformat(format="yuv420p"))
        context.encode(None)
    except Exception:  # no device, no driver: not this one
        return False
    return True


@dataclass(frozen=True, kw_only=True)
class DepthSettings(VideoSettings):
    """lerobot's DepthEncoderConfig (`--dataset.depth_encoder.*`): the codec of the depth-map
    videos and the quantiser's range (`core.dataset.depth` quantises as lerobot does)."""

    vcodec: str = option("hevc", help="video codec of the depth maps", choices=VCODECS)
    pix_fmt: str = option("gray12le", help="pixel format of the depth maps")
    extra_options: dict[str, Any] = option(
        default_factory=lambda: {"x265-params": "lossless=1"}, help="more codec options"
    )
    depth_min: float = option(0.01, help="depth of the lowest quantum", unit="m")
    depth_max: float = option(10.0, help="depth of the highest quantum", unit="m")
    shift: float = option(3.5, help="offset before the logarithm", unit="m")
    use_log: bool = option(True, help="quantise the logarithm of the depth (else linear)")

    def __post_init__(self) -> None:
        super().__post_init__()
        import av

        components = av.VideoFormat(self.pix_fmt).components
        if len(components) != 1 or components[0].bits < 12:
            raise ConfigError(
                f"depth_encoder.pix_fmt: {self.pix_fmt!r} is not a one-channel format of 12 bits "
                "or more; the 12-bit depth codes need one such as gray12le (the default)"
            )
        if not self.depth_max > self.depth_min:
            raise ConfigError(
                f"depth_encoder.depth_max: {self.depth_max} m is not beyond depth_min "
                f"({self.depth_min} m); give a range, e.g. depth_min=0.01 depth_max=10"
            )
        if self.use_log and self.depth_min + self.shift <= 0:
            raise ConfigError(
                f"depth_encoder.shift: depth_min + shift is {self.depth_min + self.shift} m; "
                "the logarithm needs it above 0 (raise shift, or use_log=false)"
            )

    def info(self) -> dict:
        """The encoder's `video.*` entries, quantiser included (lerobot dequantises with them)."""
        return {
            **super().info(),
            "video.depth_min": self.depth_min,
            "video.depth_max": self.depth_max,
            "video.shift": self.shift,
            "video.use_log": self.use_log,
        }
