"""int8 by ONNX Runtime static quantisation, QDQ format, calibrated on real training images.

Why static and not dynamic: dynamic quantisation computes activation scales at run time and, in ONNX
Runtime, only replaces MatMul/Gemm-style ops with integer kernels; convolutions either stay fp32 or go
through ConvInteger, which is slower than the fp32 convolution on CPU. Nearly all the time in these
models is in convolutions, so dynamic quantisation would add quantise/dequantise work and save none.
Static quantisation fixes activation scales from calibration images, so ORT fuses each
DequantizeLinear -> Conv -> QuantizeLinear group into one QLinearConv (u8 activations, s8 per-channel
weights, VNNI on recent x86).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np

from signlens.errors import SignlensError
from signlens.inference.metadata import INPUT_NAME

CALIBRATION_METHODS = ("minmax", "percentile", "entropy")


class _ArrayReader:
    """CalibrationDataReader over a float32 NCHW array, in batches."""

    def __init__(self, input_name: str, x: np.ndarray, batch_size: int = 64):
        self.input_name, self.x, self.batch_size, self.i = input_name, x, batch_size, 0

    def get_next(self):
        if self.i >= len(self.x):
            return None
        batch = self.x[self.i : self.i + self.batch_size]
        self.i += self.batch_size
        return {self.input_name: np.ascontiguousarray(batch, np.float32)}

    def rewind(self):
        self.i = 0


def quantize_int8(
    fp32_path: str | Path,
    out_path: str | Path,
    calibration: np.ndarray,
    method: str = "minmax",
    per_channel: bool = True,
) -> dict:
    """Write a QDQ int8 copy of `fp32_path` to `out_path`; returns the settings used (for metadata).

    calibration: float32 NCHW, already normalised exactly as the model's input.
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if method not in CALIBRATION_METHODS:
        raise SignlensError(f"calibration method must be one of {CALIBRATION_METHODS}, got {method!r}")
    if len(calibration) == 0:
        raise SignlensError("int8 calibration needs at least one image")
    calibrate = {
        "minmax": CalibrationMethod.MinMax,
        "percentile": CalibrationMethod.Percentile,
        "entropy": CalibrationMethod.Entropy,
    }[method]
    with tempfile.TemporaryDirectory(prefix="signlens-quant-") as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Shape inference and graph clean-up first, as ORT's quantisation guide recommends.
            quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
            quantize_static(
                str(prepared),
                str(out_path),
                _ArrayReader(INPUT_NAME, calibration),
                quant_format=QuantFormat.QDQ,
                per_channel=per_channel,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=calibrate,
                extra_options={"CalibTensorRangeSymmetric": False},
            )
    return {
        "scheme": "onnxruntime static quantisation, QDQ format",
        "activations": "uint8 (asymmetric, per tensor)",
        "weights": "int8 (symmetric, per channel)" if per_channel else "int8 (symmetric, per tensor)",
        "calibration_method": method,
        "calibration_images": int(len(calibration)),
    }
