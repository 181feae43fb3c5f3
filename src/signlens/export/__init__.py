"""Export and measure trained models.

- `signlens.export.exporter`: checkpoint -> ONNX (dynamic batch, opset 17) or TorchScript, with the
  pre-processing and class names in the file, a parity check, and int8 (ONNX Runtime static QDQ).
- `signlens.export.quantize`: the int8 calibration and quantisation step.
- `signlens.export.bench`: parameters, MACs (forward hooks), latency percentiles, throughput, memory.

Kept import-light: nothing heavy is imported until a submodule is used.
"""
