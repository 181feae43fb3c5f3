"""Pipeline layer: hand detection and landmarks (MediaPipe), the recogniser, smoothing and live video."""
