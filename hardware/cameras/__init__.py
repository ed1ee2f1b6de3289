"""Cameras: the reader-thread base, OpenCV devices and video files, and finding cameras."""
