//! The image pipelines: one shader (`image.wgsl`) specialised per layer count, scale and blend
//! mode through pipeline-overridable constants, so the driver compiles each fragment program
//! without the branches it does not take (on SwiftShader a frame of the generic shader costs
//! 2.5× more; docs/benchmarks.md). Pipelines are made on first use and cached; the
//! values a user drags (limits, colormap, bias/contrast, gamma, opacity, NaN colour) stay
//! uniforms.
//!
//! Compiling a variant takes from a few milliseconds (hardware) to a few hundred (SwiftShader),
//! so the canvas never waits for one: until a variant is ready it is drawn with the generic
//! pipeline (compiled at start-up, same output), and the variant is compiled after the frame
//! is shown ([`Pipelines::ready`] / [`Pipelines::take_wanted`]). Read-back for the tests always
//! compiles the exact variant.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

use super::Globals;
use crate::viewer::vocab::MAX_LAYERS;

/// What a pipeline is specialised for; unused layers are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Variant {
    /// Layer count, scales and blend modes read from the uniforms.
    generic: bool,
    layers: u32,
    scales: [u32; MAX_LAYERS],
    blends: [u32; MAX_LAYERS],
}

impl Variant {
    /// One image, linear scale, normal blending: what a viewer draws first.
    pub const ONE_LINEAR: Variant = Variant {
        generic: false,
        layers: 1,
        scales: [0; MAX_LAYERS],
        blends: [0; MAX_LAYERS],
    };

    /// One pipeline for every setting, reading layer count, scales and blend modes from the
    /// uniforms: drawn while a variant compiles, and the benchmark's baseline.
    pub const GENERIC: Variant = Variant {
        generic: true,
        layers: 0,
        scales: [0; MAX_LAYERS],
        blends: [0; MAX_LAYERS],
    };

    /// The variant that draws these uniforms (scale code in `codes.x`, blend code in `codes.w`).
    pub fn of(globals: &Globals) -> Variant {
        let layers = globals.counts[0].min(MAX_LAYERS as u32);
        let mut v = Variant {
            layers,
            ..Variant::default()
        };
        for (i, l) in globals.layers.iter().take(layers as usize).enumerate() {
            v.scales[i] = l.codes[0];
            v.blends[i] = l.codes[3];
        }
        v
    }

    /// The shader's override constants for this variant.
    fn constants(&self) -> Vec<(&'static str, f64)> {
        const SCALES: [&str; MAX_LAYERS] = ["SCALE_0", "SCALE_1", "SCALE_2", "SCALE_3"];
        const BLENDS: [&str; MAX_LAYERS] = ["BLEND_0", "BLEND_1", "BLEND_2", "BLEND_3"];
        let mut out = vec![
            ("GENERIC", f64::from(u8::from(self.generic))),
            ("LAYERS", f64::from(self.layers)),
        ];
        for i in 0..MAX_LAYERS {
            out.push((SCALES[i], f64::from(self.scales[i])));
            out.push((BLENDS[i], f64::from(self.blends[i])));
        }
        out
    }
}

/// Cached pipelines beyond this many are dropped (a user cycling through every combination of
/// four layers would otherwise keep them all).
const MAX_CACHED: usize = 64;

pub(super) struct Pipelines {
    shader: wgpu::ShaderModule,
    layout: wgpu::PipelineLayout,
    cache: RefCell<HashMap<(Variant, wgpu::TextureFormat), wgpu::RenderPipeline>>,
    /// A variant a frame wanted but drew generically; compiled later by the caller.
    wanted: RefCell<Option<(Variant, wgpu::TextureFormat)>>,
}

impl Pipelines {
    pub(super) fn new(device: &wgpu::Device, bind_groups: &[&wgpu::BindGroupLayout]) -> Pipelines {
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("image.wgsl"),
            source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(include_str!("image.wgsl"))),
        });
        let groups: Vec<Option<&wgpu::BindGroupLayout>> = bind_groups.iter().copied().map(Some).collect();
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("image"),
            bind_group_layouts: &groups,
            immediate_size: 0,
        });
        Pipelines {
            shader,
            layout,
            cache: RefCell::default(),
            wanted: RefCell::default(),
        }
    }

    /// The pipeline for `variant` if it is compiled; the generic one otherwise, noting the
    /// variant as wanted.
    pub(super) fn ready(
        &self,
        device: &wgpu::Device,
        variant: Variant,
        target: wgpu::TextureFormat,
    ) -> wgpu::RenderPipeline {
        if let Some(p) = self.cached(variant, target) {
            return p;
        }
        *self.wanted.borrow_mut() = Some((variant, target));
        self.get(device, Variant::GENERIC, target)
    }

    fn cached(&self, variant: Variant, target: wgpu::TextureFormat) -> Option<wgpu::RenderPipeline> {
        self.cache.borrow().get(&(variant, target)).cloned()
    }

    /// How many pipelines are compiled (all targets).
    pub(super) fn len(&self) -> usize {
        self.cache.borrow().len()
    }

    pub(super) fn has_wanted(&self) -> bool {
        self.wanted.borrow().is_some()
    }

    /// The variant the last frame drew generically, if any (cleared).
    pub(super) fn take_wanted(&self) -> Option<(Variant, wgpu::TextureFormat)> {
        self.wanted.borrow_mut().take()
    }

    /// The pipeline drawing `variant` into `target`, compiled on first use.
    pub(super) fn get(
        &self,
        device: &wgpu::Device,
        variant: Variant,
        target: wgpu::TextureFormat,
    ) -> wgpu::RenderPipeline {
        if let Some(p) = self.cached(variant, target) {
            return p;
        }
        let constants = variant.constants();
        let options = wgpu::PipelineCompilationOptions {
            constants: &constants,
            ..Default::default()
        };
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("image"),
            layout: Some(&self.layout),
            vertex: wgpu::VertexState {
                module: &self.shader,
                entry_point: Some("vs_main"),
                compilation_options: options.clone(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &self.shader,
                entry_point: Some("fs_main"),
                compilation_options: options,
                targets: &[Some(wgpu::ColorTargetState {
                    format: target,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        });
        let mut cache = self.cache.borrow_mut();
        if cache.len() >= MAX_CACHED {
            // Keep the generic pipelines: they are the fallback while a variant compiles.
            cache.retain(|(v, _), _| v.generic);
        }
        cache.insert((variant, target), pipeline.clone());
        pipeline
    }
}
