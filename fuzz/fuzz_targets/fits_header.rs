//! Header-level fuzzing: parse a FITS file's HDU structure, read every card through the typed
//! accessors, and build a WCS from each HDU's header (the ch-fits → ch-wcs path of the viewer).
#![no_main]

use ch_fits::{Fits, Limits};
use ch_wcs::Wcs;
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits {
    max_inflated_bytes: 64 << 20,
    max_plane_pixels: 1 << 22,
};

fuzz_target!(|data: &[u8]| {
    let Ok(fits) = Fits::parse_with_limits(data, LIMITS) else {
        return;
    };
    for hdu in fits.hdus() {
        let header = hdu.header();
        for card in header.card_list() {
            let _ = (
                card.value.as_f64(),
                card.value.as_i64(),
                card.keyword.len(),
                card.raw_value.len(),
            );
        }
        for key in [
            "NAXIS", "BITPIX", "BSCALE", "BZERO", "BLANK", "EXTNAME", "SIMPLE", "BMAJ",
        ] {
            let _ = (
                header.get_f64(key),
                header.get_i64(key),
                header.get_str(key),
                header.get_bool(key),
            );
        }
        let _ = header.history().count();
        let _ = header.comments().count();
        let _ = ch_fits::region::beam_area_pixels(header);
        let _ = ch_fits::region::flux_density(1.0, header);
        let _ = hdu.stored_header().len();
        if let Ok(wcs) = Wcs::from_cards(header.cards()) {
            let _ = wcs.summary();
            let _ = wcs.pixel_to_world(0.0, 0.0);
            let _ = wcs.world_to_pixel(10.0, -20.0);
        }
        for key in ['A', 'Z'] {
            let _ = Wcs::from_cards_with_key(header.cards(), Some(key));
        }
    }
});
