#!/usr/bin/env python3
"""Generate the synthetic FITS corpus and expected.json for the ch-fits tests.

Run from this directory:  python3 make_expected.py
Needs astropy and numpy. Every expected value comes from astropy (reading the files back)
and numpy over the finite physical values, so the Rust tests check against an independent
implementation. Synthetic files are deterministic (fixed seed) and small.
"""

import gzip
import io
import json
import math
import os

import numpy as np
from astropy.io import fits
from astropy.visualization import ZScaleInterval

HERE = os.path.dirname(os.path.abspath(__file__))
RNG = np.random.default_rng(20261126)
PERCENTILES = [0.0, 0.5, 1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0, 99.5, 100.0]


def path(name):
    return os.path.join(HERE, name)


def write_raw(name, cards, raw):
    """Write a single-HDU file byte by byte, so scaling keywords stay exactly as given."""
    header = fits.Header()
    header["SIMPLE"] = True
    header["BITPIX"] = {np.dtype(">u1"): 8, np.dtype(">i2"): 16, np.dtype(">i4"): 32, np.dtype(">i8"): 64,
                        np.dtype(">f4"): -32, np.dtype(">f8"): -64}[raw.dtype]
    header["NAXIS"] = raw.ndim
    for i, n in enumerate(reversed(raw.shape)):
        header[f"NAXIS{i + 1}"] = n
    for key, value in cards:
        header[key] = value
    body = raw.tobytes()
    pad = (-len(body)) % 2880
    with open(path(name), "wb") as f:
        f.write(header.tostring().encode("ascii"))
        f.write(body + b"\0" * pad)


def synthetic():
    ny, nx = 16, 20
    write_raw("bitpix8.fits", [], RNG.integers(0, 256, (ny, nx)).astype(">u1"))
    write_raw("bitpix16.fits", [], RNG.integers(-32768, 32768, (ny, nx)).astype(">i2"))
    write_raw("bitpix32.fits", [("BUNIT", "count")], RNG.integers(-2**31, 2**31, (ny, nx)).astype(">i4"))
    write_raw("bitpix64.fits", [], RNG.integers(-2**62, 2**62, (ny, nx)).astype(">i8"))
    f32 = (RNG.normal(10.0, 3.0, (ny, nx))).astype(">f4")
    f32[3, 4] = np.nan
    f32[10, 0] = np.nan
    write_raw("bitpix-32.fits", [], f32)
    f64 = (RNG.normal(-1e5, 1e3, (ny, nx))).astype(">f8")
    f64[0, 0] = np.nan
    write_raw("bitpix-64.fits", [], f64)

    # Unsigned / signed-byte conventions: astropy writes BZERO itself from the dtype.
    fits.PrimaryHDU(RNG.integers(0, 2**16, (ny, nx)).astype(np.uint16)).writeto(path("uint16.fits"), overwrite=True)
    fits.PrimaryHDU(RNG.integers(0, 2**32, (ny, nx)).astype(np.uint32)).writeto(path("uint32.fits"), overwrite=True)
    u64 = RNG.integers(0, 2**64, (ny, nx), dtype=np.uint64)
    u64[0, 0] = 2**64 - 1
    u64[0, 1] = 0
    u64[0, 2] = 2**63
    fits.PrimaryHDU(u64).writeto(path("uint64.fits"), overwrite=True)
    i8 = RNG.integers(-128, 128, (ny, nx)).astype(np.int8)
    write_raw("int8.fits", [("BZERO", -128), ("BSCALE", 1)], (i8.astype(np.int16) + 128).astype(">u1"))

    raw = RNG.integers(-30000, 30000, (ny, nx)).astype(">i2")
    raw[2, 3] = -32768
    raw[15, 19] = -32768
    write_raw("scaled16_blank.fits", [("BSCALE", 0.5), ("BZERO", 100.0), ("BLANK", -32768), ("BUNIT", "K")], raw)
    raw32 = RNG.integers(-1000, 1000, (ny, nx)).astype(">i4")
    raw32[5, 5] = 999999
    write_raw("blank32.fits", [("BLANK", 999999)], raw32)

    cube = RNG.normal(0.0, 1.0, (3, 10, 12)).astype(">f4")
    cube[1, 2, 3] = np.nan
    write_raw("cube3d.fits", [("CTYPE3", "FREQ")], cube)
    cube4 = RNG.integers(-2000, 2000, (1, 4, 8, 9)).astype(">i2")
    write_raw("cube4d.fits", [("BSCALE", 1e-3), ("BZERO", 0.0), ("BUNIT", "JY/BEAM"), ("BMAJ", 4e-3),
                              ("BMIN", 2.5e-3), ("BPA", 30.0), ("CDELT1", -1e-3), ("CDELT2", 1e-3),
                              ("CTYPE3", "FREQ"), ("CTYPE4", "STOKES")], cube4)

    hdr = fits.Header()
    hdr["LONGSTR"] = "This is a long string value that needs CONTINUE cards; it's over 68 chars " * 3
    hdr["QUOTED"] = "O'Brien's ''pair''"
    hdr["HIERARCH ESO DET CHIP NAME"] = "CCD-44"
    hdr["HIERARCH ESO TEL AIRM START"] = 1.234
    hdr["LOGT"] = True
    hdr["LOGF"] = False
    hdr["UNDEF"] = None
    hdr["CPLX"] = complex(1.5, -2.0)
    hdr["BIGINT"] = 123456789012345678
    hdr["NEGFLT"] = -0.000125
    hdr.append(fits.Card.fromstring("DEXP    =             1.5D+03 / D exponent".ljust(80)))
    hdr["CTYPE1"] = "RA---TAN"
    hdr.add_history("first history")
    hdr.add_comment("a comment")
    hdr.append(fits.Card("", "blank keyword text"), bottom=True)
    fits.PrimaryHDU(np.arange(12, dtype=np.int16).reshape(3, 4), header=hdr).writeto(
        path("header_cards.fits"), overwrite=True)

    hist = fits.Header()
    for i in range(40000):
        hist.add_history(f"step {i} of the pipeline")
    buf = io.BytesIO()
    fits.PrimaryHDU(np.arange(6, dtype=np.float32).reshape(2, 3), header=hist).writeto(buf)
    with open(path("history40k.fits.gz"), "wb") as f:
        f.write(gzip.compress(buf.getvalue(), mtime=0))

    yy, xx = np.mgrid[0:100, 0:120]
    img = (0.05 * xx + 0.02 * yy + RNG.normal(100.0, 2.0, (100, 120))).astype(np.float32)
    img[50, 60] += 500.0
    img[20:23, 30:33] += 80.0
    img[7, 8] = np.nan
    hdu = fits.PrimaryHDU(img)
    hdu.header["BUNIT"] = "JY/BEAM"
    hdu.header["BMAJ"] = 5e-4
    hdu.header["BMIN"] = 4e-4
    hdu.header["CD1_1"] = -1e-4
    hdu.header["CD1_2"] = 0.0
    hdu.header["CD2_1"] = 0.0
    hdu.header["CD2_2"] = 1e-4
    hdu.writeto(path("zscale.fits"), overwrite=True)

    primary = fits.PrimaryHDU()
    sci = fits.ImageHDU(np.arange(30, dtype=np.float64).reshape(5, 6), name="SCI")
    cols = fits.ColDefs([fits.Column(name="a", format="J", array=np.arange(4)),
                         fits.Column(name="b", format="D", array=np.linspace(0, 1, 4))])
    btab = fits.BinTableHDU.from_columns(cols, name="CAT")
    atab = fits.TableHDU.from_columns([fits.Column(name="c", format="I5", array=np.arange(3))], name="ASC")
    fits.HDUList([primary, sci, btab, atab]).writeto(path("multi.fits"), overwrite=True)

    ints16 = (RNG.normal(1000.0, 50.0, (30, 40))).astype(np.int16)
    fl = (RNG.normal(5.0, 1.0, (30, 40))).astype(np.float32)
    fl[4, 5] = np.nan
    fl[29, 39] = np.nan
    u8 = RNG.integers(0, 256, (12, 10)).astype(np.uint8)
    i32 = RNG.integers(-10**8, 10**8, (12, 10)).astype(np.int32)
    fits.HDUList([
        fits.PrimaryHDU(),
        fits.CompImageHDU(ints16, compression_type="RICE_1", tile_shape=(16, 16), name="RICE_I16"),
        fits.CompImageHDU(fl, compression_type="RICE_1", tile_shape=(8, 40), quantize_level=16.0,
                          quantize_method=1, dither_seed=17, name="RICE_F32_D1"),
        fits.CompImageHDU(u8, compression_type="RICE_1", name="RICE_U8"),
        fits.CompImageHDU(i32, compression_type="RICE_1", name="RICE_I32"),
    ]).writeto(path("rice.fits"), overwrite=True)

    fl2 = fl.copy()
    fl2[10, 10:20] = 0.0
    f64c = RNG.normal(-3.0, 0.5, (12, 10))
    fits.HDUList([
        fits.PrimaryHDU(),
        fits.CompImageHDU(fl, compression_type="GZIP_2", quantize_level=0.0, name="GZIP2_F32_LOSSLESS"),
        fits.CompImageHDU(i32, compression_type="GZIP_2", tile_shape=(5, 10), name="GZIP2_I32"),
        fits.CompImageHDU(f64c, compression_type="GZIP_1", quantize_level=8.0, quantize_method=-1,
                          name="GZIP1_F64_NODITHER"),
        fits.CompImageHDU(fl2, compression_type="GZIP_2", quantize_level=4.0, quantize_method=2,
                          dither_seed=9999, name="GZIP2_F32_D2"),
        fits.CompImageHDU(ints16[:, :8].astype(np.uint16) + 40000, compression_type="GZIP_1", name="GZIP1_U16"),
    ]).writeto(path("gzip2.fits"), overwrite=True)


KIND = {"PrimaryHDU": "primary", "ImageHDU": "image", "BinTableHDU": "bintable", "TableHDU": "table",
        "CompImageHDU": "compressed_image", "GroupsHDU": "random_groups"}


def jnum(v):
    v = float(v)
    return None if not math.isfinite(v) else v


def jsonable(value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, str):
        return value
    return None


def image_entry(hdu_index, plane, plane_data, header):
    data = np.asarray(plane_data)
    phys = data.astype(np.float64)
    finite = phys[np.isfinite(phys)]
    h, w = data.shape
    positions = {(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1), (w // 2, h // 2), (w // 3, h // 4)}
    for y, x in zip(*np.nonzero(~np.isfinite(phys))):
        positions.add((int(x), int(y)))
    entry = {
        "hdu": hdu_index,
        "plane": plane,
        "width": w,
        "height": h,
        "samples": [[x, y, jnum(phys[y, x])] for x, y in sorted(positions)],
    }
    if finite.size:
        counts, edges = np.histogram(finite, bins=10)
        entry["stats"] = {
            "count": int(finite.size),
            "nan_count": int(phys.size - finite.size),
            "min": float(finite.min()),
            "max": float(finite.max()),
            "mean": float(finite.mean()),
            "std": float(finite.std()),
            "rms": float(np.sqrt(np.mean(finite * finite))),
            "sum": float(finite.sum()),
            "median": float(np.median(finite)),
        }
        entry["percentiles"] = [[q, float(np.percentile(finite, q))] for q in PERCENTILES]
        entry["histogram10"] = {"counts": [int(c) for c in counts], "edges": [float(e) for e in edges]}
        entry["zscale"] = [float(v) for v in ZScaleInterval().get_limits(data)]
    entry["regions"] = region_entries(phys, header)
    return entry


def region_entries(phys, header):
    """Region statistics with the crate's convention: a pixel belongs to a shape when its centre
    (integer 0-based coordinates) is inside or on the boundary."""
    h, w = phys.shape
    if h < 8 or w < 8:
        return []
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cx, cy = (w - 1) / 2.0 + 0.3, (h - 1) / 2.0 - 0.2
    r = min(w, h) / 3.0
    out = []
    circle = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    out.append(({"shape": "circle", "x": cx, "y": cy, "r": r}, circle))
    ang = math.radians(30.0)
    dx, dy = xx - cx, yy - cy
    u = dx * math.cos(ang) + dy * math.sin(ang)
    v = -dx * math.sin(ang) + dy * math.cos(ang)
    bw, bh = w / 2.0, h / 3.0
    box = (np.abs(u) <= bw / 2) & (np.abs(v) <= bh / 2)
    out.append(({"shape": "box", "x": cx, "y": cy, "width": bw, "height": bh, "angle": 30.0}, box))
    a, b = w / 3.0, h / 5.0
    ell = (u / a) ** 2 + (v / b) ** 2 <= 1.0
    out.append(({"shape": "ellipse", "x": cx, "y": cy, "a": a, "b": b, "angle": 30.0}, ell))
    result = []
    beam = None
    bunit = str(header.get("BUNIT", "")).strip().upper()
    if bunit == "JY/BEAM" and "BMAJ" in header and "BMIN" in header:
        if "CD1_1" in header:
            area = abs(header["CD1_1"] * header["CD2_2"] - header.get("CD1_2", 0.0) * header.get("CD2_1", 0.0))
        else:
            area = abs(header["CDELT1"] * header["CDELT2"])
        beam = math.pi * header["BMAJ"] * header["BMIN"] / (4.0 * math.log(2.0)) / area
    for shape, mask in out:
        vals = phys[mask]
        fin = vals[np.isfinite(vals)]
        e = {"region": shape, "count": int(fin.size), "nan_count": int(vals.size - fin.size),
             "sum": float(fin.sum()), "mean": float(fin.mean()), "median": float(np.median(fin))}
        if beam is not None:
            e["beam_area_pixels"] = beam
            e["flux_jy"] = float(fin.sum()) / beam
        result.append(e)
    return result


def describe(name, header_keys=None):
    entry = {"hdus": [], "images": [], "headers": {}}
    with fits.open(path(name)) as hdul:
        for i, hdu in enumerate(hdul):
            hdr = hdu.header
            kind = KIND[type(hdu).__name__]
            naxis = hdr.get("NAXIS", 0)
            shape = [hdr[f"NAXIS{k}"] for k in range(naxis, 0, -1)]
            ext = hdr.get("EXTNAME") if i > 0 or "EXTNAME" in hdr else None
            entry["hdus"].append({"index": i, "kind": kind, "bitpix": hdr["BITPIX"], "shape": shape,
                                  "extname": ext.strip() if isinstance(ext, str) else None})
            if header_keys and i in header_keys:
                entry["headers"][str(i)] = {k: jsonable(hdr[k]) for k in header_keys[i]}
            if kind in ("primary", "image", "compressed_image") and naxis >= 1 and all(shape):
                data = hdu.data
                if data.ndim == 1:
                    data = data.reshape(1, -1)
                planes = data.reshape(-1, data.shape[-2], data.shape[-1])
                for p in range(planes.shape[0]):
                    entry["images"].append(image_entry(i, p, planes[p], hdr))
    return entry


def main():
    synthetic()
    files = {}
    for name in ["bitpix8.fits", "bitpix16.fits", "bitpix32.fits", "bitpix64.fits", "bitpix-32.fits",
                 "bitpix-64.fits", "uint16.fits", "uint32.fits", "uint64.fits", "int8.fits",
                 "scaled16_blank.fits", "blank32.fits", "cube3d.fits", "cube4d.fits", "zscale.fits",
                 "multi.fits", "rice.fits", "gzip2.fits", "history40k.fits.gz", "test0.fits",
                 "m13_gzip.fits", "m13_rice.fits", "m13_plio.fits", "ie6d07ujq_wcs.fits",
                 "dist_lookup.fits.gz", "checksum.fits", "compressed_with_nan.fits", "compressed_float_bzero.fits",
                 "blank.fits", "scale.fits", "random_groups.fits", "zerowidth.fits"]:
        files[name] = describe(name)
    hc = describe("header_cards.fits", {0: ["LONGSTR", "QUOTED", "ESO DET CHIP NAME", "ESO TEL AIRM START",
                                            "LOGT", "LOGF", "BIGINT", "NEGFLT", "DEXP", "CTYPE1"]})
    files["header_cards.fits"] = hc
    with fits.open(path("m13_gzip.fits")) as hdul:
        files["m13_gzip.fits"]["headers"]["1"] = {k: jsonable(hdul[1].header[k])
                                                  for k in ["CTYPE1", "CRVAL1", "CDELT2", "NAXIS1", "BITPIX"]}
    with open(path("expected.json"), "w") as f:
        json.dump({"generator": "make_expected.py", "files": files}, f, indent=1, allow_nan=False)
        f.write("\n")


if __name__ == "__main__":
    main()
