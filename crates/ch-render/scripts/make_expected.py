#!/usr/bin/env python3
"""Writes tests/data/expected.json: astropy.visualization stretches and a full
ImageNormalize + matplotlib colormap pipeline, which tests/astropy.rs compares against.

Run from crates/ch-render: `python3 scripts/make_expected.py` (needs astropy and matplotlib).
"""
import json
import pathlib

import astropy
import matplotlib
import numpy as np
from astropy.visualization import (AsinhStretch, AsymmetricPercentileInterval, HistEqStretch,
                                   ImageNormalize, LinearStretch, LogStretch, MinMaxInterval,
                                   PowerStretch, SinhStretch, SqrtStretch, SquaredStretch,
                                   ZScaleInterval)

x = np.linspace(0.0, 1.0, 101)
stretches = {
    "linear": LinearStretch(),
    "log": LogStretch(),
    "sqrt": SqrtStretch(),
    "squared": SquaredStretch(),
    "power": PowerStretch(2.2),
    "asinh": AsinhStretch(),
    "sinh": SinhStretch(),
}
out = {
    "versions": {"astropy": astropy.__version__, "matplotlib": matplotlib.__version__},
    "x": x.tolist(),
    "stretch": {k: s(x.copy()).tolist() for k, s in stretches.items()},
}

# A small deterministic image: a smooth ramp plus a Gaussian source and a blank pixel.
yy, xx = np.mgrid[0:24, 0:32]
image = (0.37 * xx + 0.11 * yy + 200.0 * np.exp(-((xx - 20) ** 2 + (yy - 9) ** 2) / 8.0)).astype(np.float32)
image[3, 5] = np.nan
out["image"] = {"width": 32, "height": 24,
                "values": [None if not np.isfinite(v) else float(v) for v in image.ravel()]}

finite = image[np.isfinite(image)]
histeq = HistEqStretch(finite)
cases = [
    ("minmax", "log", "viridis", MinMaxInterval(), LogStretch()),
    ("percentile", "sqrt", "inferno", AsymmetricPercentileInterval(1.0, 99.0), SqrtStretch()),
    ("zscale", "asinh", "magma", ZScaleInterval(), AsinhStretch()),
    ("minmax", "histeq", "cubehelix", MinMaxInterval(), histeq),
    ("minmax", "sinh", "turbo", MinMaxInterval(), SinhStretch()),
    ("percentile", "power", "twilight", AsymmetricPercentileInterval(1.0, 99.0), PowerStretch(2.2)),
]
renders = []
for limits, scale, cmap_name, interval, stretch in cases:
    vmin, vmax = interval.get_limits(image)
    norm = ImageNormalize(vmin=vmin, vmax=vmax, stretch=stretch, clip=True)
    scaled = np.ma.masked_invalid(norm(image))
    rgba = matplotlib.colormaps[cmap_name].resampled(256)(scaled.filled(0.0), bytes=True)
    rgba[~np.isfinite(image)] = 0
    renders.append({"limits": limits, "scale": scale, "colormap": cmap_name,
                    "vmin": float(vmin), "vmax": float(vmax),
                    "rgba": [int(v) for v in rgba.ravel()]})
out["renders"] = renders
out["cubehelix"] = [int(v) for v in matplotlib.colormaps["cubehelix"].resampled(256)(np.arange(256), bytes=True)[:, :3].ravel()]

path = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "expected.json"
path.write_text(json.dumps(out, separators=(",", ":")) + "\n")
print("wrote", path)
