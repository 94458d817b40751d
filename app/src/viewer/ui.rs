//! What the viewer's controls read and write: the [`Ui`] signals, shared through the Leptos
//! context, and the panel's view of a layer.

use ch_regions::RegionSet;
use leptos::prelude::*;

use super::state::LayerSettings;
use super::vocab::{ReadoutText, RegionReport, Status, Tool};

/// One loaded layer as the panel shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerInfo {
    pub name: String,
    pub src: String,
    pub width: usize,
    pub height: usize,
    pub planes: usize,
    /// Image HDUs of the file (index, label) and the one shown.
    pub hdus: Vec<(usize, String)>,
    pub hdu: usize,
    /// Spectral value / Stokes product of the shown plane.
    pub plane_label: String,
    pub bunit: String,
    pub limits: (f64, f64),
    pub reprojected: bool,
    pub settings: LayerSettings,
    /// What the FITS reader tolerated in this HDU's header and WCS (astropy's
    /// FITSFixedWarning / CARTA's header warnings), shown in the panel.
    pub warnings: Vec<String>,
}

/// Everything the viewer's controls read and write.
#[derive(Clone, Copy)]
pub struct Ui {
    pub status: RwSignal<Status>,
    pub layers: RwSignal<Vec<LayerInfo>>,
    pub active: RwSignal<usize>,
    pub plane: RwSignal<usize>,
    pub playing: RwSignal<bool>,
    pub grid: RwSignal<bool>,
    pub readout: RwSignal<Option<ReadoutText>>,
    pub tool: RwSignal<Tool>,
    pub regions: RwSignal<RegionSet>,
    pub selected: RwSignal<Option<String>>,
    /// Region statistics and profile text for the selected region.
    pub region_report: RwSignal<Option<RegionReport>>,
    pub regions_saved: RwSignal<String>,
    /// What the last DS9 import could not place (empty when it placed everything).
    pub regions_import: RwSignal<String>,
    pub share: RwSignal<String>,
}

/// The viewer's [`Ui`], from the context the viewer page provides.
pub fn use_ui() -> Ui {
    expect_context::<Ui>()
}
