"""The console's camera thumbnail, made on the control thread: small, aspect kept, colours true."""

import numpy as np

from core.telemetry import thumbnail


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
