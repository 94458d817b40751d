//! What the viewer's controls do. In the browser each call reaches the engine (`boot`, `web`,
//! `interact`, `regions`); on the server, where nothing is interactive, they do nothing.

use leptos::prelude::*;

use super::state::LayerSettings;
use super::ui::Ui;
use super::vocab::fmt_value;

/// Colour bar tick labels: position (percent of the bar) and text with the unit.
pub fn colorbar_labels(ui: Ui) -> Vec<(f64, String)> {
    ui.layers.with(|layers| {
        let Some(l) = layers.get(ui.active.get()) else {
            return Vec::new();
        };
        let (lo, hi) = l.limits;
        let unit = if l.bunit.is_empty() {
            String::new()
        } else {
            format!(" {}", l.bunit)
        };
        (0..=4)
            .map(|i| {
                let f = f64::from(i) / 4.0;
                (f * 100.0, format!("{}{unit}", fmt_value(lo + (hi - lo) * f)))
            })
            .collect()
    })
}

macro_rules! facade {
    ($(#[$m:meta])* $name:ident ( $($arg:ident : $ty:ty),* ) => $path:path) => {
        $(#[$m])*
        #[allow(unused_variables)]
        pub fn $name(ui: Ui, $($arg: $ty),*) {
            #[cfg(feature = "hydrate")]
            $path(ui, $($arg),*);
        }
    };
}

facade!(/// Creates the GPU surface and loads what the URL names.
    start() => super::boot::start);
facade!(/// Opens a same-origin URL, replacing the layers or adding one.
    open_url(url: String, replace: bool) => super::web::open_url);
facade!(open_file(ev: web_sys_event::Event) => super::web::open_file);
facade!(set_settings(index: usize, settings: LayerSettings) => super::web::set_settings);
facade!(remove_layer(index: usize) => super::web::remove_layer);
facade!(/// Red, green and blue colormaps with additive blending on the first three layers.
    rgb_composite() => super::web::rgb_composite);
facade!(set_plane(plane: usize) => super::web::set_plane);
facade!(/// Shows another image HDU of a layer's file.
    set_hdu(index: usize, hdu: usize) => super::web::set_hdu);
facade!(toggle_play() => super::web::toggle_play);
facade!(fit() => super::web::fit);
facade!(one_to_one() => super::web::one_to_one);
facade!(zoom(factor: f64) => super::web::zoom);
facade!(set_grid(on: bool) => super::web::set_grid);
facade!(share() => super::web::share);
facade!(wheel(ev: web_sys_event::WheelEvent) => super::interact::wheel);
facade!(pointer_down(ev: web_sys_event::PointerEvent) => super::interact::pointer_down);
facade!(pointer_move(ev: web_sys_event::PointerEvent) => super::interact::pointer_move);
facade!(pointer_up(ev: web_sys_event::PointerEvent) => super::interact::pointer_up);
facade!(double_click(ev: web_sys_event::MouseEvent) => super::interact::double_click);
facade!(key(ev: web_sys_event::KeyboardEvent) => super::interact::key);
facade!(delete_selected() => super::interact::delete_selected);
facade!(import_ds9(ev: web_sys_event::Event) => super::regions::import_ds9);
facade!(export_ds9() => super::regions::export_ds9);

/// The DOM event types as leptos re-exports them (the same on server and browser).
mod web_sys_event {
    pub use leptos::ev::{Event, KeyboardEvent, MouseEvent, PointerEvent, WheelEvent};
}
