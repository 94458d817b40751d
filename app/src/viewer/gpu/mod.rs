//! The typed GPU layer of the Mode B canvas: wgpu device on a `<canvas>` (WebGPU when the
//! browser has an adapter, WebGL2 otherwise), the image pipelines (`pipeline.rs`), float tile
//! textures (`upload.rs`), colormap and histogram-equalisation tables, and pixel read-back for
//! the tests.
//!
//! Nothing here knows about FITS: the engine hands it planes of `f32` and uniform values.

use bytemuck::{Pod, Zeroable};
use ch_render::Colormap;
use wgpu::util::DeviceExt;

mod pipeline;
mod readback;
mod upload;

use pipeline::{Pipelines, Variant};

use crate::viewer::vocab::MAX_LAYERS;

/// Resolution levels per tile: full, ½, ¼ … 1/64 (the viewer's smallest zoom).
pub const MAX_LEVELS: usize = 7;
/// Entries of each layer's histogram-equalisation table.
pub const HISTEQ_SIZE: usize = ch_render::HISTEQ_TABLE_LEN;

#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error("no WebGL2/WebGPU adapter: {0}")]
    Adapter(String),
    #[error("the graphics device could not be created: {0}")]
    Device(String),
    #[error("the canvas cannot be drawn on: {0}")]
    Surface(String),
    #[error("reading pixels back failed: {0}")]
    Readback(String),
}

/// One layer's uniforms; layout matches `Layer` in image.wgsl (std140: four vec4s).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct LayerUniform {
    pub range: [f32; 4],
    pub shape: [f32; 4],
    pub codes: [u32; 4],
    pub nan_rgba: [f32; 4],
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct Globals {
    pub view: [f32; 4],
    pub background: [f32; 4],
    pub counts: [u32; 4],
    pub layers: [LayerUniform; MAX_LAYERS],
}

/// Which part of the image plane is shown: image pixel at the target's centre and zoom
/// (target pixels per image pixel).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    pub centre: [f64; 2],
    pub zoom: f64,
}

/// One tile of one plane set: the same rectangle of every layer.
struct Tile {
    /// First pixel and size: `[x, y, w, h]`.
    rect: [u32; 4],
    uniform: wgpu::Buffer,
    /// One texture per layer, its mip levels the plane's resolution levels.
    textures: Vec<wgpu::Texture>,
    views: Vec<wgpu::TextureView>,
    bind_group: wgpu::BindGroup,
}

pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    pipelines: Pipelines,
    globals: wgpu::Buffer,
    global_group: wgpu::BindGroup,
    tile_layout: wgpu::BindGroupLayout,
    histeq: wgpu::Texture,
    dummy: wgpu::TextureView,
    tiles: Vec<Tile>,
    /// Resolution levels every tile has (the smallest tile has the fewest).
    pub levels: u32,
    /// Finer levels still to be written, coarse to fine; frames read no level they hold.
    pending: std::collections::VecDeque<upload::Pending>,
    pub max_texture: u32,
    pub backend: String,
    /// Draw with pipelines specialised per layer count, scale and blend mode (the default);
    /// off, always the generic pipeline that reads them from the uniforms (the baseline).
    pub specialise: bool,
}

const OFFSCREEN_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

fn texture_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Texture {
            sample_type: wgpu::TextureSampleType::Float { filterable: false },
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    }
}

fn uniform_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// All colormaps as one `256 × N` RGBA8 texture, row = `Colormap::ALL` index.
fn lut_bytes() -> Vec<u8> {
    let mut out = Vec::with_capacity(Colormap::ALL.len() * 256 * 4);
    for c in Colormap::ALL {
        for [r, g, b] in c.lut() {
            out.extend_from_slice(&[r, g, b, 255]);
        }
    }
    out
}

impl Gpu {
    pub async fn new(canvas: web_sys::HtmlCanvasElement) -> Result<Gpu, GpuError> {
        let (width, height) = (canvas.width().max(1), canvas.height().max(1));
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = wgpu::Backends::BROWSER_WEBGPU | wgpu::Backends::GL;
        let instance = wgpu::util::new_instance_with_webgpu_detection(desc).await;
        let surface = instance
            .create_surface(wgpu::SurfaceTarget::Canvas(canvas))
            .map_err(|e| GpuError::Surface(e.to_string()))?;
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                compatible_surface: Some(&surface),
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::Adapter(e.to_string()))?;
        let info = adapter.get_info();
        let backend = format!("{:?} ({})", info.backend, info.name);
        let limits = wgpu::Limits::downlevel_webgl2_defaults().using_resolution(adapter.limits());
        let max_texture = limits.max_texture_dimension_2d;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("mode-b"),
                required_limits: limits,
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::Device(e.to_string()))?;
        // A validation error must never abort the WASM module: log it; the pipeline check
        // below turns a shader the driver refuses into an error message.
        device.on_uncaptured_error(std::sync::Arc::new(|e| {
            leptos::logging::error!("GPU error: {e}");
        }));
        let caps = surface.get_capabilities(&adapter);
        let format = caps
            .formats
            .iter()
            .copied()
            .find(|f| !f.is_srgb())
            .or_else(|| caps.formats.first().copied())
            .ok_or_else(|| GpuError::Surface("no surface format".into()))?;
        let mut config = surface
            .get_default_config(&adapter, width, height)
            .ok_or_else(|| GpuError::Surface("surface not supported by the adapter".into()))?;
        config.format = format;
        config.alpha_mode = if caps.alpha_modes.contains(&wgpu::CompositeAlphaMode::Opaque) {
            wgpu::CompositeAlphaMode::Opaque
        } else {
            config.alpha_mode
        };
        surface.configure(&device, &config);

        let global_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("globals"),
            entries: &[uniform_entry(0), texture_entry(1), texture_entry(2)],
        });
        let tile_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("tile"),
            entries: &[
                uniform_entry(0),
                texture_entry(1),
                texture_entry(2),
                texture_entry(3),
                texture_entry(4),
            ],
        });
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let pipelines = Pipelines::new(&device, &[&global_layout, &tile_layout]);
        // The generic pipeline (drawn while a variant compiles) and what a first image needs;
        // everything else, read-back's offscreen pipelines included, is compiled on first use.
        for variant in [Variant::GENERIC, Variant::ONE_LINEAR] {
            pipelines.get(&device, variant, format);
        }
        if let Some(e) = scope.pop().await {
            return Err(GpuError::Device(format!("the image shader was refused: {e}")));
        }

        let globals = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("globals"),
            size: std::mem::size_of::<Globals>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let lut = device.create_texture_with_data(
            &queue,
            &texture_2d(
                "colormaps",
                256,
                Colormap::ALL.len() as u32,
                wgpu::TextureFormat::Rgba8Unorm,
                wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            ),
            wgpu::util::TextureDataOrder::LayerMajor,
            &lut_bytes(),
        );
        let histeq = device.create_texture(&float_texture("histeq", HISTEQ_SIZE as u32, MAX_LAYERS as u32));
        let dummy = device
            .create_texture(&float_texture("empty layer", 1, 1))
            .create_view(&Default::default());
        let global_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("globals"),
            layout: &global_layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: globals.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(&lut.create_view(&Default::default())),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::TextureView(&histeq.create_view(&Default::default())),
                },
            ],
        });
        Ok(Gpu {
            device,
            queue,
            surface,
            config,
            pipelines,
            globals,
            global_group,
            tile_layout,
            histeq,
            dummy,
            tiles: Vec::new(),
            levels: 1,
            pending: Default::default(),
            max_texture,
            backend,
            specialise: true,
        })
    }

    /// Resizes the drawing buffer (device pixels).
    pub fn resize(&mut self, width: u32, height: u32) {
        let (width, height) = (width.clamp(1, self.max_texture), height.clamp(1, self.max_texture));
        if (width, height) != (self.config.width, self.config.height) {
            self.config.width = width;
            self.config.height = height;
            self.surface.configure(&self.device, &self.config);
        }
    }

    pub fn size(&self) -> (u32, u32) {
        (self.config.width, self.config.height)
    }

    /// Replaces one layer's histogram-equalisation table ([`HISTEQ_SIZE`] entries).
    pub fn set_histeq(&self, layer: usize, table: &[f32]) {
        if layer >= MAX_LAYERS || table.len() != HISTEQ_SIZE {
            return;
        }
        self.queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &self.histeq,
                mip_level: 0,
                origin: wgpu::Origin3d {
                    x: 0,
                    y: layer as u32,
                    z: 0,
                },
                aspect: wgpu::TextureAspect::All,
            },
            bytemuck::cast_slice(table),
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(HISTEQ_SIZE as u32 * 4),
                rows_per_image: Some(1),
            },
            wgpu::Extent3d {
                width: HISTEQ_SIZE as u32,
                height: 1,
                depth_or_array_layers: 1,
            },
        );
    }

    /// Encodes one frame. `wait` compiles the exact pipeline variant if it is missing
    /// (read-back); otherwise a missing one is drawn generically and compiled later.
    fn encode(
        &self,
        target: &wgpu::TextureView,
        format: wgpu::TextureFormat,
        globals: &Globals,
        wait: bool,
    ) -> wgpu::CommandBuffer {
        let variant = if self.specialise {
            Variant::of(globals)
        } else {
            Variant::GENERIC
        };
        let pipeline = if wait {
            self.pipelines.get(&self.device, variant, format)
        } else {
            self.pipelines.ready(&self.device, variant, format)
        };
        self.queue.write_buffer(&self.globals, 0, bytemuck::bytes_of(globals));
        let mut encoder = self.device.create_command_encoder(&Default::default());
        {
            let [r, g, b, a] = globals.background;
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("image"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: target,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color {
                            r: f64::from(r),
                            g: f64::from(g),
                            b: f64::from(b),
                            a: f64::from(a),
                        }),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &self.global_group, &[]);
            for tile in &self.tiles {
                pass.set_bind_group(1, &tile.bind_group, &[]);
                pass.draw(0..6, 0..1);
            }
        }
        encoder.finish()
    }

    /// Compiles the pipeline variant the last frame had to draw generically; true when there
    /// was one (the caller then redraws).
    pub fn compile_wanted(&self) -> bool {
        match self.pipelines.take_wanted() {
            Some((variant, format)) => {
                self.pipelines.get(&self.device, variant, format);
                true
            }
            None => false,
        }
    }

    /// True when the last frame drew generically while its own pipeline variant is missing.
    pub fn wants_compile(&self) -> bool {
        self.pipelines.has_wanted()
    }

    /// Pipeline variants compiled so far.
    pub fn pipeline_count(&self) -> usize {
        self.pipelines.len()
    }

    /// Draws one frame on the canvas.
    pub fn draw(&mut self, globals: &Globals) -> Result<(), GpuError> {
        let frame = match self.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(f) | wgpu::CurrentSurfaceTexture::Suboptimal(f) => f,
            wgpu::CurrentSurfaceTexture::Outdated | wgpu::CurrentSurfaceTexture::Lost => {
                self.surface.configure(&self.device, &self.config);
                return Ok(());
            }
            other => return Err(GpuError::Surface(format!("{other:?}"))),
        };
        let view = frame.texture.create_view(&Default::default());
        let commands = self.encode(&view, self.config.format, globals, false);
        self.queue.submit([commands]);
        self.queue.present(frame);
        Ok(())
    }
}

/// A one-level 2-D texture description.
fn texture_2d(
    label: &'static str,
    width: u32,
    height: u32,
    format: wgpu::TextureFormat,
    usage: wgpu::TextureUsages,
) -> wgpu::TextureDescriptor<'static> {
    wgpu::TextureDescriptor {
        label: Some(label),
        size: wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage,
        view_formats: &[],
    }
}

/// An `R32Float` texture the shader reads with `textureLoad` (planes, hist-eq tables).
fn float_texture(label: &'static str, width: u32, height: u32) -> wgpu::TextureDescriptor<'static> {
    texture_2d(
        label,
        width,
        height,
        wgpu::TextureFormat::R32Float,
        wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
    )
}
