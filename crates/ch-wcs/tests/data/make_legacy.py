"""Writes legacy.json: headers in deprecated / AIPS-era / non-standard forms and what astropy
(WCSLIB, through wcsfix) makes of them. Run with astropy installed:
    python make_legacy.py > legacy.json
"""
import json
import warnings

import astropy
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS


def card_text(v):
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    if isinstance(v, bool):
        return "T" if v else "F"
    return repr(float(v)) if isinstance(v, float) else str(v)


TAN = [("CTYPE1", "RA---TAN"), ("CTYPE2", "DEC--TAN"), ("CRVAL1", 150.0), ("CRVAL2", 2.0),
       ("CRPIX1", 50.0), ("CRPIX2", 50.0), ("CDELT1", -0.01), ("CDELT2", 0.01)]


def with_(base, extra, drop=()):
    keys = {k for k, _ in extra} | set(drop)
    return [c for c in base if c[0] not in keys] + extra


CASES = {
    "crota2": with_(TAN, [("CROTA2", 30.0)]),
    "crota1_only_is_ignored": with_(TAN, [("CROTA1", 30.0)]),
    "crota_both_uses_latitude": with_(TAN, [("CROTA1", 10.0), ("CROTA2", 30.0)]),
    "crota_dec_first": [("CTYPE1", "DEC--TAN"), ("CTYPE2", "RA---TAN"), ("CRVAL1", 2.0), ("CRVAL2", 150.0),
                        ("CRPIX1", 50.0), ("CRPIX2", 50.0), ("CDELT1", 0.01), ("CDELT2", -0.01), ("CROTA1", 20.0)],
    "pc_aips_form": with_(TAN, [("PC001001", 0.9), ("PC001002", -0.3), ("PC002001", 0.3), ("PC002002", 0.9)]),
    "cd_aips_form": with_(TAN, [("CD001001", -0.009), ("CD001002", 0.003), ("CD002001", 0.003), ("CD002002", 0.009)],
                          drop=("CDELT1", "CDELT2")),
    "projp_sin": with_(TAN, [("CTYPE1", "RA---SIN"), ("CTYPE2", "DEC--SIN"), ("PROJP1", 0.1), ("PROJP2", 0.05)]),
    "projp_zpn": with_(TAN, [("CTYPE1", "RA---ZPN"), ("CTYPE2", "DEC--ZPN"), ("PROJP0", 0.0), ("PROJP1", 1.0),
                             ("PROJP3", 0.2)]),
    "radecsys_epoch_fk4": with_(TAN, [("RADECSYS", "FK4"), ("EPOCH", 1950.0)]),
    "epoch_only": with_(TAN, [("EPOCH", 1950.0)]),
    "date_obs_ddmmyy": with_(TAN, [("DATE-OBS", "12/03/94")]),
    "junk_auxiliary_values": with_(TAN, [("EQUINOX", "abc"), ("LONPOLE", "x"), ("LATPOLE", "?"), ("RADESYS", "FK5"),
                                         ("MJD-OBS", "soon")]),
    "cunit_upper_arcsec": with_(TAN, [("CUNIT1", "ARCSEC"), ("CUNIT2", "arcsecs"), ("CDELT1", -36.0),
                                      ("CDELT2", 36.0), ("CRVAL1", 540000.0), ("CRVAL2", 7200.0)]),
    "nvss_like": [("CTYPE1", "RA---SIN"), ("CTYPE2", "DEC--SIN"), ("CTYPE3", "FREQ"), ("CTYPE4", "STOKES"),
                  ("CRVAL1", 210.0), ("CRVAL2", -12.0), ("CRVAL3", 1.4e9), ("CRVAL4", 1.0),
                  ("CRPIX1", 513.0), ("CRPIX2", 513.0), ("CRPIX3", 1.0), ("CRPIX4", 1.0),
                  ("CDELT1", -0.004166667), ("CDELT2", 0.004166667), ("CDELT3", 5e7), ("CDELT4", 1.0),
                  ("CROTA1", 0.0), ("CROTA2", 0.0), ("CROTA3", 0.0), ("CROTA4", 0.0), ("EPOCH", 2000.0)],
    "twomass_like": with_(TAN, [("CROTA2", -0.4), ("CDELT1", -0.000277778), ("CDELT2", 0.000277778),
                                ("CTYPE1", "RA---SIN"), ("CTYPE2", "DEC--SIN")]),
    "iraf_cd_radecsys": with_(TAN, [("CD1_1", -2.8e-4), ("CD1_2", 1e-6), ("CD2_1", 1e-6), ("CD2_2", 2.8e-4),
                                    ("RADECSYS", "FK5"), ("EQUINOX", 2000.0), ("LTV1", -10.0), ("LTM1_1", 1.0)],
                              drop=("CDELT1", "CDELT2")),
    "galactic_car_projp": [("CTYPE1", "GLON-CAR"), ("CTYPE2", "GLAT-CAR"), ("CRVAL1", 30.0), ("CRVAL2", 0.0),
                           ("CRPIX1", 50.0), ("CRPIX2", 50.0), ("CDELT1", -0.05), ("CDELT2", 0.05),
                           ("CUNIT1", "Degrees"), ("CUNIT2", "DEGREES")],
}

PIXELS = [[0.0, 0.0], [49.0, 49.0], [99.0, 0.0], [12.5, 80.25], [99.0, 99.0]]


def main():
    out = {"astropy": astropy.__version__, "cases": []}
    for name, cards in CASES.items():
        h = fits.Header()
        h["NAXIS"] = max(2, sum(1 for k, _ in cards if k.startswith("CTYPE")))
        for k, v in cards:
            h[k] = v
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            w = WCS(h)
            cel = w.celestial
            world = cel.wcs_pix2world(np.array(PIXELS), 0)
            back = cel.wcs_world2pix(world, 0)
        out["cases"].append({
            "name": name,
            "cards": [[k, card_text(v)] for k, v in cards],
            "pixels": PIXELS,
            "world": world.tolist(),
            "pixel_back": back.tolist(),
            "radesys": w.wcs.radesys,
            "equinox": None if np.isnan(w.wcs.equinox) else w.wcs.equinox,
            "dateobs": w.wcs.dateobs,
            "astropy_warned": len(caught) > 0,
        })
    print(json.dumps(out, indent=1))


main()
