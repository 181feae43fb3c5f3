"""Export and measure trained models.

- `signlens.export.exporter`: checkpoint -> ONNX (dynamic batch, opset 17) or TorchScript, with the
  pre-processing and class names in the file, a parity check, and int8 (ONNX Runtime static QDQ).
- `signlens.export.quantize`: the int8 calibration and quantisation step.
- `signlens.export.recognizer_graph`: a landmark recogniser as one ONNX graph, for the browser.
- `signlens.export.bench`: the benchmark's orchestration, over `runners` (one per format, built with
  the exporter's own functions), `timing` (the harness), `memory` (peak RSS) and `tables`.

Parameters and MACs are counted in `signlens.models.describe`; exports are read back through
`signlens.inference`. Kept import-light: nothing heavy is imported until a submodule is used.
"""
