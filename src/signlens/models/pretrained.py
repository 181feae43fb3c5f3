"""Starting weights for the transfer backbones, and the pieces they share.

- `imagenet_state_dict`: torchvision's published ImageNet checkpoint, read from torch.hub's cache
  (downloaded there when a network is reachable; offline, an error says which file to put where).
- `read_state_dict`: any state dict file or signlens checkpoint (domain pretraining, e.g. Sign MNIST).
- `load_compatible`: copies every tensor whose name and shape fit, adapts the stem between 1 and 3
  input channels, and returns what it loaded, skipped, and could not find, so nothing is silent.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from signlens.errors import SignlensError
from signlens.io import torch_load_safely

# torchvision's published IMAGENET1K_V1 checkpoints (file names carry the hash prefix torch.hub checks).
TORCHVISION_URLS = {
    "resnet18": "https://download.pytorch.org/models/resnet18-f37072fd.pth",
    "mobilenetv2": "https://download.pytorch.org/models/mobilenet_v2-b0353104.pth",
}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_stats(in_chans: int) -> tuple[list[float], list[float]]:
    """ImageNet normalisation; for gray input the luma-weighted mix of the RGB statistics."""
    if in_chans == 3:
        return list(IMAGENET_MEAN), list(IMAGENET_STD)
    luma = (0.299, 0.587, 0.114)
    return [sum(w * m for w, m in zip(luma, IMAGENET_MEAN, strict=True))], [
        sum(w * s for w, s in zip(luma, IMAGENET_STD, strict=True))
    ]


def imagenet_url(model_name: str, model_args: dict) -> str:
    base = model_name.removesuffix("-se")
    width = float(model_args.get("width", 1.0))
    if base not in TORCHVISION_URLS or (base == "mobilenetv2" and width != 1.0):
        what = f"{model_name} width {width}" if base == "mobilenetv2" else model_name
        raise SignlensError(
            f"torchvision publishes no ImageNet checkpoint for {what} "
            f"(available: resnet18, resnet18-se, mobilenetv2 and mobilenetv2-se at width 1.0)"
        )
    return TORCHVISION_URLS[base]


def imagenet_state_dict(model_name: str, model_args: dict) -> tuple[dict, str]:
    """(state dict, file path) for the model's torchvision checkpoint, from the hub cache or the network."""
    url = imagenet_url(model_name, model_args)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[1]
    if cached.is_file():
        return read_state_dict(cached), str(cached)
    try:
        # torch.hub announces the download on stdout even when it then fails; the error below says it all.
        with contextlib.redirect_stdout(io.StringIO()):
            state = torch.hub.load_state_dict_from_url(
                url, map_location="cpu", progress=False, weights_only=True
            )
    except Exception as exc:  # urllib raises many types offline; the message is what helps
        raise SignlensError(
            f"ImageNet weights {cached.name} are not in {cached.parent} and could not be downloaded "
            f"({exc.__class__.__name__}); fetch {url} and save it as {cached}"
        ) from None
    return state, str(cached)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A plain state dict, a {'state_dict': ...} / {'model': ...} wrapper, or a signlens checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise SignlensError(f"initial weights not found: {path}")
    payload = torch_load_safely(path, f"{path}: not a loadable state dict")
    if isinstance(payload, dict):
        for key in ("state_dict", "model"):
            if isinstance(payload.get(key), dict) and _is_tensor_map(payload[key]):
                payload = payload[key]
                break
    if not isinstance(payload, dict) or not payload or not _is_tensor_map(payload):
        raise SignlensError(f"{path}: holds no state dict (a mapping of parameter names to tensors)")
    # Weights saved from nn.DataParallel carry a "module." prefix on every name.
    return {k.removeprefix("module."): v for k, v in payload.items()}


def _is_tensor_map(obj: dict) -> bool:
    return all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


@dataclass
class LoadReport:
    source: str
    loaded: list[str] = field(default_factory=list)
    adapted: list[str] = field(default_factory=list)  # stem summed to gray, or gray spread to RGB
    skipped: list[str] = field(default_factory=list)  # "name: theirs -> ours" shape mismatches
    missing: list[str] = field(default_factory=list)  # in the model, not in the file: kept as initialised
    unexpected: list[str] = field(default_factory=list)  # in the file, not in the model: ignored

    def to_dict(self) -> dict:
        return {
            k: getattr(self, k) for k in ("source", "loaded", "adapted", "skipped", "missing", "unexpected")
        }

    def summary(self) -> str:
        parts = [
            f"loaded {len(self.loaded)} of {len(self.loaded) + len(self.missing) + len(self.skipped)} tensors"
        ]
        for label, names in (
            ("adapted", self.adapted),
            ("skipped (shape)", self.skipped),
            ("missing (kept new)", self.missing),
            ("unexpected (ignored)", self.unexpected),
        ):
            if names:
                shown = ", ".join(names[:6]) + (f", ... ({len(names)} in all)" if len(names) > 6 else "")
                parts.append(f"{label}: {shown}")
        return f"init from {self.source}: " + "; ".join(parts)


def load_compatible(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> LoadReport:
    """Copy what fits into `model`; report the rest. BN's num_batches_tracked is bookkeeping, not weights."""
    report = LoadReport(source)
    own = model.state_dict()
    stem = getattr(model, "stem_key", None)
    updates = {}
    for name, theirs in state.items():
        if name not in own:
            if not name.endswith("num_batches_tracked"):
                report.unexpected.append(name)
            continue
        ours = own[name]
        if theirs.shape == ours.shape:
            updates[name] = theirs.to(ours.dtype)
            report.loaded.append(name)
        elif name == stem and _stem_fits(theirs.shape, ours.shape):
            updates[name] = adapt_stem(theirs, ours.shape[1]).to(ours.dtype)
            report.adapted.append(f"{name}: {list(theirs.shape)} -> {list(ours.shape)}")
            report.loaded.append(name)
        else:
            report.skipped.append(f"{name}: {list(theirs.shape)} -> {list(ours.shape)}")
    report.missing = [n for n in own if n not in state and not n.endswith("num_batches_tracked")]
    model.load_state_dict(updates, strict=False)
    return report


def _stem_fits(theirs: torch.Size, ours: torch.Size) -> bool:
    same_filters = theirs[0] == ours[0] and theirs[2:] == ours[2:]
    return len(theirs) == 4 and same_filters and {theirs[1], ours[1]} == {1, 3}


def adapt_stem(weight: torch.Tensor, in_chans: int) -> torch.Tensor:
    """RGB -> gray sums the colour filters (a gray image is R = G = B, so the response is unchanged);
    gray -> RGB spreads the filter over the channels in thirds, for the same reason."""
    if weight.shape[1] == 3 and in_chans == 1:
        return weight.sum(1, keepdim=True)
    if weight.shape[1] == 1 and in_chans == 3:
        return weight.expand(-1, 3, -1, -1) / 3.0
    raise SignlensError(f"cannot adapt a stem with {weight.shape[1]} input channels to {in_chans}")
