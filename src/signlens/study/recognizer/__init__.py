"""Building the bundled recogniser: photo sets read through predict's path (extract), leave-one-signer-out
folds and the calibration record (loso), figures with every rule chosen without the scored signer
(holdout), and the pixel member's crops and fusion rule (pixel_member). scripts/build_recognizer.py and
the benchmarks drive it; the runtime (predict, live, serve) never imports it."""
