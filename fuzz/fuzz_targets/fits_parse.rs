//! Whole-file fuzzing of `ch-fits`: parse (plain or gzip), then decode the first and last plane
//! of every HDU (f64 and f32 paths) and run the statistics on what decodes.
#![no_main]

use ch_fits::stats::{self, BinScale, Stats};
use ch_fits::{Fits, Limits, Region, Shape};
use libfuzzer_sys::fuzz_target;

/// Small limits so a hostile header cannot push the fuzzer past its RSS limit.
const LIMITS: Limits = Limits {
    max_inflated_bytes: 64 << 20,
    max_plane_pixels: 1 << 22,
};

fuzz_target!(|data: &[u8]| {
    let Ok(fits) = Fits::parse_with_limits(data, LIMITS) else {
        return;
    };
    let _ = fits.infos();
    let _ = fits.first_image();
    for hdu in fits.hdus() {
        let index = hdu.index();
        let _ = fits.data_unit(index);
        let _ = ch_fits::plane_index(hdu.shape(), &[1, 1]);
        let planes = match fits.image(index, 0) {
            Ok(image) => {
                exercise(&image.data);
                let _ = image.get(image.width.saturating_sub(1), image.height.saturating_sub(1));
                let region = Region::new(Shape::Circle { x: 1.0, y: 1.0, r: 3.0 }).excluding(Shape::Box {
                    x: 0.0,
                    y: 0.0,
                    width: 1.0,
                    height: 1.0,
                    angle: 30.0,
                });
                let _ = region.measure(&image, hdu.header());
                image.planes
            }
            Err(_) => continue,
        };
        let last = planes.saturating_sub(1);
        if last > 0 {
            if let Ok(image) = fits.image_f32(index, last) {
                exercise(&image.data);
                let _ = stats::histogram_f32(&image.data, 64, None, BinScale::Log);
            }
        }
        // One past the end must be an error, not a panic.
        let _ = fits.image_f32(index, planes);
    }
});

fn exercise<T: ch_fits::Sample>(values: &[T]) {
    let _ = Stats::compute(values);
    let _ = stats::zscale(values);
    let _ = stats::percentiles(values, &[0.0, 0.5, 50.0, 99.5, 100.0]);
    let _ = stats::histogram(values, 256, None, BinScale::Linear);
    let _ = stats::histogram(values, 16, None, BinScale::Log);
    let _ = stats::histogram(values, 7, Some((-1.0, 1.0)), BinScale::Linear);
}
