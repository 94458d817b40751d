"""Writes ds9_export.json: astropy's sky position, in each DS9 system, of points on
ds9_fk4_image.fits (an FK4 B1950 TAN image). Run: python make_ds9_export.py > ds9_export.json"""
import json

import astropy
from astropy.coordinates import FK4, FK5, ICRS, BarycentricMeanEcliptic, Galactic
from astropy.io import fits
from astropy.time import Time
from astropy.wcs import WCS
from astropy.wcs.utils import pixel_to_skycoord

w = WCS(fits.getheader("ds9_fk4_image.fits"))
frames = {
    "fk5": FK5(equinox=Time("J2000")),
    "fk4": FK4(equinox=Time("B1950")),
    "icrs": ICRS(),
    "galactic": Galactic(),
    "ecliptic": BarycentricMeanEcliptic(equinox=Time("J2000")),
}
points = [[79.0, 79.0], [10.0, 150.0], [150.0, 10.0], [54.112997806, 103.998978449]]
out = {"astropy": astropy.__version__, "image": "ds9_fk4_image.fits", "points": []}
for x, y in points:
    c = pixel_to_skycoord(x, y, w, origin=0)
    entry = {"pixel": [x, y]}
    for name, frame in frames.items():
        t = c.transform_to(frame)
        sph = t.spherical
        entry[name] = [sph.lon.deg, sph.lat.deg]
    out["points"].append(entry)
print(json.dumps(out, indent=1))
