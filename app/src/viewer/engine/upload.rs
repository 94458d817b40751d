//! Getting the layers' planes onto the GPU: at once what the view reads, then the finer
//! resolution levels a slice per animation frame after the frame is shown, and the histogram
//! equalisation tables. The load's full-resolution time is recorded when the last slice lands.

use ch_render::Scale;
use ch_render::stretch::Prepared;

use super::{Engine, Layer, ordered, with_engine};
use crate::viewer::dom;
use crate::viewer::gpu::HISTEQ_SIZE;

/// Bytes of finer resolution levels written per animation frame after a load (a 4096² plane's
/// full-resolution level takes four frames).
const UPLOAD_SLICE_BYTES: usize = 16 << 20;

impl Engine {
    /// Uploads every layer: at once what the current view reads, the finer levels in the
    /// following frames ([`Engine::schedule_uploads`]).
    pub(super) fn upload(&mut self) {
        let planes = planes(&self.layers);
        let (w, h, zoom) = (self.width() as u32, self.height() as u32, self.upload_zoom());
        self.gpu.upload(&planes, w, h, self.tile, zoom);
        self.schedule_uploads();
    }

    /// The zoom whose level (and coarser ones) an upload writes at once; infinite (all
    /// levels) when not progressive.
    pub(super) fn upload_zoom(&self) -> f64 {
        if self.progressive {
            self.camera.zoom
        } else {
            f64::INFINITY
        }
    }

    /// Writes the queued finer levels a slice per animation frame, after the frame is shown,
    /// and redraws as each level becomes resident.
    pub(super) fn schedule_uploads(&mut self) {
        // A new upload retires the task of the previous one.
        self.upload_task += 1;
        if !self.gpu.has_pending() {
            return;
        }
        let task = self.upload_task;
        leptos::task::spawn_local(async move {
            loop {
                dom::after_frame_shown().await;
                let more = with_engine(|e| e.upload_slice(task, UPLOAD_SLICE_BYTES));
                if more != Some(true) {
                    break;
                }
            }
        });
    }

    /// One slice of the queued levels for upload task `task`; false when the task is done or
    /// retired.
    fn upload_slice(&mut self, task: u64, budget: usize) -> bool {
        if task != self.upload_task || !self.gpu.has_pending() {
            return false;
        }
        let planes = planes(&self.layers);
        let width = self.width() as u32;
        if self.gpu.upload_pending(&planes, width, budget) {
            self.render();
        }
        if self.gpu.has_pending() {
            return true;
        }
        if self.load_started > 0.0 {
            let full = dom::now_ms() - self.load_started;
            self.timings.push(("full_resolution".into(), full));
            self.load_started = 0.0;
        }
        false
    }

    /// Writes every queued level now (before reading pixels back at full resolution).
    pub fn finish_uploads(&mut self) {
        self.upload_slice(self.upload_task, usize::MAX);
    }

    /// Writes layer `index`'s histogram-equalisation table when the layer is shown with that
    /// scale.
    pub(super) fn upload_histeq(&self, index: usize) {
        let Some(layer) = self.layers.get(index) else { return };
        if layer.settings.render.scale == Scale::HistEq {
            let (lo, hi) = ordered(layer.limits);
            let table = Prepared::new(Scale::HistEq, &layer.image.data, lo, hi).table(HISTEQ_SIZE);
            self.gpu.set_histeq(index, &table);
        }
    }
}

/// Every layer's current plane, in layer order (what the GPU tiles hold).
fn planes(layers: &[Layer]) -> Vec<&[f32]> {
    layers.iter().map(|l| l.image.data.as_slice()).collect()
}
