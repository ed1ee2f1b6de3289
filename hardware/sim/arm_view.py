"""Pictures of a simulated SO-100/SO-101 arm drawn from its joint angles: a side and a top view.

The kinematics are a simple model of the SO-101 (link lengths in metres, measured roughly on the
real arm), good enough for recorded video to show every joint move. Angles are lerobot's
calibrated degrees: every joint at 0 is the calibration's middle pose, the upper arm straight up
and the forearm pointing forward. Arms driven with `use_degrees=False` report body joints in
±100 instead, which spans about ±110° on an SO arm, so those values are drawn as degrees too. The
gripper is 0 (closed) to 100 (open).

World axes: x forward from the base, y to the arm's left, z up; the table top is z = 0.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

JOINTS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
SHORT = dict(zip(JOINTS, ("pan", "lift", "elbow", "wrist", "roll", "grip"), strict=True))
REST_POSE = {f"{joint}.pos": 0.0 for joint in JOINTS}  # the middle pose, gripper closed

SHOULDER = (0.03, 0.12)  # lift axis: forward of and above the base (r, z)
UPPER_ARM, FOREARM, HAND, JAW = 0.116, 0.135, 0.06, 0.05
JAW_OPEN = 0.035  # half-opening of the jaws with the gripper at 100
CUBE_AT, CUBE_SIZE = (0.22, 0.10), 0.03

VIEWS = ("side", "top", "side+top")
# world window each view shows: (horizontal min, max, vertical min, max) in metres
WINDOWS = {"side": (-0.15, 0.45, -0.1, 0.55), "top": (-0.35, 0.35, -0.15, 0.5)}

BACKGROUND, GRID, TABLE = (236, 238, 242), (214, 218, 226), (190, 160, 120)
FAR_MM, NEAR_MM, ARM_MM = 1500, 500, 400  # the sim depth camera's scene
CUBE, BASE, TEXT = (220, 60, 50), (70, 70, 80), (30, 30, 40)
LINKS = (("base", "shoulder"), ("shoulder", "elbow"), ("elbow", "wrist"), ("wrist", "hand"))
LINK_COLOURS = ((70, 70, 80), (60, 110, 200), (40, 160, 110), (230, 150, 30))  # RGB
JAWS = (60, 60, 60)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def arm_points(pose: dict[str, float]) -> dict[str, np.ndarray]:
    """3D positions (metres) of the arm's joints and jaw tips for a pose of `<motor>.pos`."""
    q = {joint: float(pose.get(f"{joint}.pos", 0.0)) for joint in JOINTS}
    pan = math.radians(q["shoulder_pan"])
    e1 = math.radians(90.0 - q["shoulder_lift"])  # elevation of each link above the horizontal
    e2 = e1 - math.radians(90.0 + q["elbow_flex"])
    e3 = e2 - math.radians(q["wrist_flex"])
    roll = math.radians(q["wrist_roll"])
    heading = np.array([math.cos(pan), math.sin(pan), 0.0])
    up = np.array([0.0, 0.0, 1.0])

    def along(elevation: float) -> np.ndarray:
        return heading * math.cos(elevation) + up * math.sin(elevation)

    shoulder = heading * SHOULDER[0] + up * SHOULDER[1]
    elbow = shoulder + UPPER_ARM * along(e1)
    wrist = elbow + FOREARM * along(e2)
    hand = wrist + HAND * along(e3)
    side = np.array([-math.sin(pan), math.cos(pan), 0.0])  # across the arm's plane
    opening = math.cos(roll) * side + math.sin(roll) * along(e3 + math.pi / 2)
    half = JAW_OPEN * min(max(q["gripper"], 0.0), 100.0) / 100.0
    tip = JAW * along(e3)
    return {
        "base": np.zeros(3),
        "shoulder": shoulder,
        "elbow": elbow,
        "wrist": wrist,
        "hand": hand,
        "jaw_a": hand + opening * half,
        "jaw_b": hand - opening * half,
        "tip_a": hand + opening * half + tip,
        "tip_b": hand - opening * half + tip,
    }


class _Panel:
    """One view in its own columns of the image: maps world points to pixels in them."""

    def __init__(self, view: str, x0: int, width: int, height: int):
        self.view, self.x0, self.width, self.height = view, x0, width, height
        h0, h1, v0, v1 = WINDOWS[view]
        self.scale = min(width / (h1 - h0), height / (v1 - v0))
        self.origin = (
            width / 2 - self.scale * (h0 + h1) / 2,
            height / 2 + self.scale * (v0 + v1) / 2,
        )

    def px(self, point: np.ndarray) -> tuple[int, int]:
        if self.view == "side":  # seen from the arm's right: forward to the right, up is up
            u, v = point[0], point[2]
        else:  # seen from above: forward is up, the arm's left on the left
            u, v = -point[1], point[0]
        return (round(self.origin[0] + self.scale * u), round(self.origin[1] - self.scale * v))

    def size(self, metres: float) -> int:
        return max(1, round(self.scale * metres))

    def region(self, image: np.ndarray) -> np.ndarray:
        """The panel's columns of `image`, as a view that clips what is drawn on it."""
        return image[:, self.x0 : self.x0 + self.width]


class ArmView:
    """Draws `width`x`height` RGB pictures of the arm; the static scenery is drawn once."""

    def __init__(self, width: int, height: int, view: str = "side+top"):
        names = view.split("+")
        panel_width = width // len(names)
        self.width, self.height = width, height
        self.panels = [
            _Panel(name, i * panel_width, panel_width, height) for i, name in enumerate(names)
        ]
        self.font_scale = max(0.3, min(width, height) / 960)
        self.background = np.empty((height, width, 3), np.uint8)
        self.background[:] = BACKGROUND
        self._scene_depth: np.ndarray | None = None  # drawn with the first depth map
        for panel in self.panels:
            self._draw_scenery(panel)

    def draw(self, pose: dict[str, float], caption: str = "") -> np.ndarray:
        """A new image of the arm in `pose` (`<motor>.pos` values), with `caption` on top."""
        image = self.background.copy()
        points = arm_points(pose)
        for panel in self.panels:
            self._draw_arm(panel.region(image), panel, points)
        line = round(30 * self.font_scale)
        if caption:
            self._text(image, caption, (6, line))
        values = "  ".join(
            f"{short} {pose.get(f'{joint}.pos', 0.0):.1f}" for joint, short in SHORT.items()
        )
        self._text(image, values, (6, self.height - line // 2))
        return image

    def depth(self, pose: dict[str, float]) -> np.ndarray:
        """The depth map (H, W, 1) uint16 millimetres of the arm in `pose`, as a depth camera
        beside the colour one would see it: the table slanting away from FAR_MM at the top of
        the picture to NEAR_MM at the bottom, the arm in front of it at ARM_MM."""
        if self._scene_depth is None:
            rows = np.linspace(FAR_MM, NEAR_MM, self.height).round().astype(np.uint16)
            self._scene_depth = np.repeat(rows[:, None], self.width, axis=1)[..., None]
        arm = np.zeros_like(self.background)
        points = arm_points(pose)
        for panel in self.panels:
            self._draw_arm(panel.region(arm), panel, points)
        depth = self._scene_depth.copy()
        depth[arm.any(axis=2)] = ARM_MM
        return depth

    def _draw_scenery(self, panel: _Panel) -> None:
        image, px, s = panel.region(self.background), panel.px, panel.size
        cube = np.array([*CUBE_AT, 0.0])
        if panel.view == "side":
            table_top = px(np.zeros(3))[1]
            cv2.rectangle(image, (0, table_top), (panel.width, self.height), TABLE, -1)
            cv2.rectangle(
                image,
                px(cube - [CUBE_SIZE / 2, 0, 0]),
                px(cube + [CUBE_SIZE / 2, 0, CUBE_SIZE]),
                CUBE,
                -1,
            )
            cv2.rectangle(
                image, px(np.array([-0.04, 0, 0])), px(np.array([0.06, 0, 0.03])), BASE, -1
            )
        else:
            for k in range(-5, 6):  # a 10 cm grid on the table
                cv2.line(
                    image, px(np.array([k / 10, -1, 0])), px(np.array([k / 10, 1, 0])), GRID, 1
                )
                cv2.line(
                    image, px(np.array([-1, k / 10, 0])), px(np.array([1, k / 10, 0])), GRID, 1
                )
            half = np.array([CUBE_SIZE / 2, CUBE_SIZE / 2, 0.0])
            cv2.rectangle(image, px(cube - half), px(cube + half), CUBE, -1)
            cv2.circle(image, px(np.zeros(3)), s(0.05), BASE, -1, cv2.LINE_AA)
        cv2.line(image, (0, 0), (0, self.height), GRID, 1)
        label_width = cv2.getTextSize(panel.view, FONT, self.font_scale, 1)[0][0]
        self._text(image, panel.view, (panel.width - label_width - 6, round(30 * self.font_scale)))

    def _draw_arm(self, image: np.ndarray, panel: _Panel, points: dict[str, np.ndarray]) -> None:
        px = {name: panel.px(point) for name, point in points.items()}
        thick = panel.size(0.022)
        for (a, b), colour in zip(LINKS, LINK_COLOURS, strict=True):
            cv2.line(image, px[a], px[b], colour, thick, cv2.LINE_AA)
        for a, b in (("jaw_a", "tip_a"), ("jaw_b", "tip_b"), ("jaw_a", "jaw_b")):
            cv2.line(image, px[a], px[b], JAWS, max(1, thick // 2), cv2.LINE_AA)
        for name in ("shoulder", "elbow", "wrist"):
            cv2.circle(image, px[name], max(2, thick * 2 // 3), TEXT, -1, cv2.LINE_AA)

    def _text(self, image: np.ndarray, text: str, at: tuple[int, int]) -> None:
        cv2.putText(image, text, at, FONT, self.font_scale, TEXT, 1, cv2.LINE_AA)
