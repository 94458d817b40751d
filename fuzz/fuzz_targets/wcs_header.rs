//! Header-text fuzzing of `ch-wcs`: arbitrary bytes as header text (80-column cards or one per
//! line) → `Wcs`, then transforms at ordinary and extreme coordinates.
#![no_main]

use ch_wcs::{Stokes, Wcs};
use libfuzzer_sys::fuzz_target;

const PIXELS: [f64; 10] = [
    0.0,
    99.5,
    -1.0,
    1e-300,
    1e9,
    -1e300,
    f64::MAX,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
];
const WORLD: [(f64, f64); 9] = [
    (0.0, 0.0),
    (83.633, 22.0145),
    (359.999, -89.999),
    (180.0, 90.0),
    (-720.0, -90.0),
    (1e308, 45.0),
    (10.0, 1e308),
    (f64::INFINITY, 0.0),
    (f64::NAN, f64::NAN),
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for key in [None, Some('A')] {
        let Ok(wcs) = Wcs::from_header_text_with_key(&text, key) else {
            continue;
        };
        let _ = wcs.summary();
        let _ = (
            wcs.ctype(),
            wcs.cd_matrix(),
            wcs.pixel_scale(),
            wcs.poles(),
            wcs.projection(),
        );
        for (i, &x) in PIXELS.iter().enumerate() {
            let y = PIXELS[PIXELS.len() - 1 - i];
            if let Some((lon, lat)) = wcs.pixel_to_world(x, y) {
                let _ = wcs.world_to_pixel(lon, lat);
                let _ = ch_wcs::format::ra_hms(lon, 3);
                let _ = ch_wcs::format::dec_dms(lat, 2);
            }
            let _ = wcs.pixel_to_world(x, x);
            let _ = wcs.pixel_to_galactic(x, y);
            let _ = wcs.pixel_to_equatorial(x, y);
        }
        for &(lon, lat) in &WORLD {
            let _ = wcs.world_to_pixel(lon, lat);
        }
        if let Some(spec) = wcs.spectral() {
            for &p in &PIXELS {
                if let Some(w) = spec.pixel_to_world(p) {
                    let _ = spec.world_to_pixel(w);
                }
                let _ = spec.world_to_pixel(p);
            }
        }
        if let Some(stokes) = wcs.stokes() {
            for &p in &PIXELS {
                let _ = stokes.pixel_to_stokes(p);
            }
            let _ = stokes.stokes_to_pixel(Stokes::I);
        }
    }
});
