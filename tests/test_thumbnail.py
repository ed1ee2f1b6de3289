"""The console's camera thumbnail, made on the control thread: small, aspect kept, colours true."""

import numpy as np

from core.telemetry import depth_thumbnail, thumbnail


def quadrants(h: int, w: int) -> np.ndarray:
    image = np.zeros((h, w, 3), np.uint8)
    image[: h // 2, : w // 2] = (255, 0, 0)
    image[: h // 2, w // 2 :] = (0, 255, 0)
    image[h // 2 :, : w // 2] = (0, 0, 255)
    image[h // 2 :, w // 2 :] = (200, 200, 40)
    return image


def test_a_full_size_picture_becomes_a_thumbnail_with_its_colours():
    thumb = thumbnail("front", quadrants(480, 640), age_ms=12.0)
    assert (thumb.width, thumb.height, thumb.age_ms) == (80, 60, 12.0)
    small = np.frombuffer(thumb.rgb, np.uint8).reshape(60, 80, 3)
    assert small[10, 10].tolist() == [255, 0, 0] and small[10, 70].tolist() == [0, 255, 0]
    assert small[50, 10].tolist() == [0, 0, 255] and small[50, 70].tolist() == [200, 200, 40]


def test_odd_sizes_keep_the_aspect_and_smaller_pictures_their_size():
    thumb = thumbnail("wrist", quadrants(241, 333))
    assert (thumb.width, thumb.height) == (80, round(241 * 80 / 333))
    assert len(thumb.rgb) == thumb.width * thumb.height * 3
    tiny = thumbnail("tiny", quadrants(40, 60))
    assert (tiny.width, tiny.height) == (60, 40)
    assert np.array_equal(np.frombuffer(tiny.rgb, np.uint8).reshape(40, 60, 3), quadrants(40, 60))


def bands(*mm: int) -> np.ndarray:
    """A 48x64 depth map (H, W, 1) uint16 of horizontal bands, one per distance."""
    rows = np.repeat(np.array(mm, np.uint16), 48 // len(mm))
    return np.repeat(rows[:, None], 64, axis=1)[..., None]


def test_a_depth_map_becomes_a_false_colour_thumbnail_on_one_fixed_scale():
    thumb = depth_thumbnail("top_depth", bands(0, 300, 1500, 6000), age_ms=5.0)
    assert (thumb.name, thumb.width, thumb.height, thumb.age_ms) == ("top_depth", 64, 48, 5.0)
    rgb = np.frombuffer(thumb.rgb, np.uint8).reshape(48, 64, 3).astype(int)
    none, near, middle, far = rgb[6, 32], rgb[18, 32], rgb[30, 32], rgb[42, 32]
    assert none.tolist() == [0, 0, 0]  # no reading: black, not "near"
    assert near[0] > near[2] + 50 and far[2] > far[0] + 50  # near red, far blue
    assert len({tuple(near), tuple(middle), tuple(far)}) == 3
    # the scale is fixed: 1.5 m is the same colour whatever else the camera sees
    alone = depth_thumbnail("top_depth", bands(1500, 1500, 1500, 1500))
    assert np.frombuffer(alone.rgb, np.uint8).reshape(48, 64, 3)[30, 32].tolist() == middle.tolist()


def test_a_full_size_depth_map_keeps_its_edges_and_aspect():
    depth = np.full((480, 640, 1), 3000, np.uint16)
    depth[:, :320] = 400
    thumb = depth_thumbnail("top_depth", depth)
    rgb = np.frombuffer(thumb.rgb, np.uint8).reshape(thumb.height, thumb.width, 3)
    assert (thumb.width, thumb.height) == (80, 60)
    assert len({tuple(p) for p in rgb.reshape(-1, 3)}) == 2  # no blend of 0.4 m and 3 m
