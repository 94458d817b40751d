//! Plane textures. Each tile of each layer is an `R32Float` texture whose mip levels are the
//! plane's reduced-resolution levels (`ch_render::pyramid`), so a zoomed-out view reads one
//! texel per pixel.
//!
//! Upload is progressive: the level the current view reads and every coarser one are written
//! at once; the finer levels — most of the bytes of a large image (a 4096² plane is 64 MiB at
//! full resolution, 5 MiB from ¼ down) — wait in a queue and are written a slice at a time
//! after the first frame is on screen ([`Gpu::upload_pending`]). Until a level is resident
//! every tile of it, frames read the finest level that is ([`Gpu::level_for`]), so a view
//! zoomed in early is blurred for a few frames, never wrong or empty.

use std::cmp::Reverse;
use std::ops::Range;

use wgpu::util::DeviceExt;

use super::{Gpu, MAX_LEVELS, Tile, float_texture};
use crate::viewer::vocab::MAX_LAYERS;

/// A resolution level of one tile of one layer not yet written, or only partly.
pub(super) struct Pending {
    tile: usize,
    layer: usize,
    level: u32,
    /// The level's values; `None` for level 0, read from the plane when it is written.
    data: Option<Vec<f32>>,
    /// Width and height of the level.
    size: (u32, u32),
    /// First row not yet written.
    row: u32,
}

impl Gpu {
    /// The resolution level a frame at `zoom` reads: the one whose texels are at most one
    /// target pixel wide, or the finest resident one when that is not on the GPU yet.
    pub fn level_for(&self, zoom: f64) -> u32 {
        let zoom = zoom.max(1e-6);
        let wanted = if zoom >= 1.0 {
            0
        } else {
            ((1.0 / zoom).log2().floor() as u32).min(self.levels.saturating_sub(1))
        };
        wanted.max(self.resident_level())
    }

    /// Uploads the planes of all layers (each `width × height`, row 0 = FITS row 1) as float
    /// tiles no larger than `tile` (≤ MAX_TEXTURE_SIZE), replacing what was uploaded before.
    /// Levels finer than a view at `zoom` reads are queued for [`Gpu::upload_pending`].
    pub fn upload(&mut self, planes: &[&[f32]], width: u32, height: u32, tile: u32, zoom: f64) {
        let tile = tile.clamp(1, self.max_texture);
        self.tiles.clear();
        self.pending.clear();
        let rects: Vec<[u32; 4]> = (0..height)
            .step_by(tile as usize)
            .flat_map(|ty| {
                (0..width)
                    .step_by(tile as usize)
                    .map(move |tx| [tx, ty, tile.min(width - tx), tile.min(height - ty)])
            })
            .collect();
        self.levels = rects
            .iter()
            .map(|r| ch_render::pyramid::level_count(r[2] as usize, r[3] as usize, MAX_LEVELS) as u32)
            .min()
            .unwrap_or(1);
        let first = self.level_for(zoom);
        for (index, rect) in rects.into_iter().enumerate() {
            let textures: Vec<wgpu::Texture> = planes
                .iter()
                .take(MAX_LAYERS)
                .enumerate()
                .map(|(layer, plane)| self.plane_texture(plane, width, rect, (index, layer), first))
                .collect();
            let views: Vec<wgpu::TextureView> = textures.iter().map(|t| t.create_view(&Default::default())).collect();
            let uniform = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("tile"),
                contents: bytemuck::cast_slice(&rect.map(|v| v as f32)),
                usage: wgpu::BufferUsages::UNIFORM,
            });
            let bind_group = self.bind_tile(&uniform, &views);
            self.tiles.push(Tile {
                rect,
                uniform,
                textures,
                views,
                bind_group,
            });
        }
        self.order_pending();
    }

    /// Replaces one layer's plane (same size as uploaded) in every tile, leaving the other
    /// layers' textures as they are: what a cube's plane change needs. Progressive like
    /// [`Gpu::upload`].
    pub fn replace_layer(&mut self, layer: usize, plane: &[f32], width: u32, zoom: f64) {
        self.pending.retain(|p| p.layer != layer);
        let first = self.level_for(zoom);
        for i in 0..self.tiles.len() {
            if layer >= self.tiles[i].textures.len() {
                continue;
            }
            let texture = self.plane_texture(plane, width, self.tiles[i].rect, (i, layer), first);
            let tile = &mut self.tiles[i];
            tile.views[layer] = texture.create_view(&Default::default());
            tile.textures[layer] = texture;
            let tile = &self.tiles[i];
            let bind_group = self.bind_tile(&tile.uniform, &tile.views);
            self.tiles[i].bind_group = bind_group;
        }
        self.order_pending();
    }

    /// The finest resolution level every tile holds (0 once the upload is complete): one
    /// above the finest still queued.
    pub fn resident_level(&self) -> u32 {
        self.pending.iter().map(|p| p.level + 1).max().unwrap_or(0)
    }

    /// True while finer levels wait to be written.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Writes up to about `budget` bytes of the queued levels (`usize::MAX`: all of them);
    /// `planes` and `width` as given to [`Gpu::upload`]. True when a finer level became
    /// resident, so the caller redraws.
    pub fn upload_pending(&mut self, planes: &[&[f32]], width: u32, budget: usize) -> bool {
        let before = self.resident_level();
        let mut spent = 0usize;
        while spent < budget {
            let Some(p) = self.pending.front_mut() else { break };
            let (w, h) = p.size;
            let row_bytes = w as usize * 4;
            let rows = ((budget - spent) / row_bytes).clamp(1, (h - p.row) as usize) as u32;
            let rows = p.row..p.row + rows;
            let tile = self.tiles.get(p.tile);
            let texture = tile.and_then(|t| t.textures.get(p.layer));
            match (texture, &p.data, planes.get(p.layer)) {
                (Some(texture), Some(data), _) => {
                    write_rows(&self.queue, texture, p.level, (data, w, 0), w, rows.clone())
                }
                (Some(texture), None, Some(plane)) => {
                    let [x, y, ..] = tile.map_or([0; 4], |t| t.rect);
                    let start = u64::from(y) * u64::from(width) + u64::from(x);
                    write_rows(&self.queue, texture, 0, (plane, width, start), w, rows.clone());
                }
                // The tile or the plane is gone (a new upload replaced them): drop the work.
                _ => {
                    self.pending.pop_front();
                    continue;
                }
            }
            spent += rows.len() * row_bytes;
            p.row = rows.end;
            if p.row >= h {
                self.pending.pop_front();
            }
        }
        // Hands the writes to the GPU now rather than with the next frame.
        self.queue.submit([]);
        self.resident_level() != before
    }

    pub fn tile_count(&self) -> usize {
        self.tiles.len()
    }

    /// Coarse levels first, so each finished level lowers the resident level.
    fn order_pending(&mut self) {
        self.pending.make_contiguous().sort_by_key(|p| Reverse(p.level));
    }

    fn bind_tile(&self, uniform: &wgpu::Buffer, views: &[wgpu::TextureView]) -> wgpu::BindGroup {
        let view = |i: usize| wgpu::BindingResource::TextureView(views.get(i).unwrap_or(&self.dummy));
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: uniform.as_entire_binding(),
        }];
        entries.extend((0..MAX_LAYERS).map(|i| wgpu::BindGroupEntry {
            binding: i as u32 + 1,
            resource: view(i),
        }));
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("tile"),
            layout: &self.tile_layout,
            entries: &entries,
        })
    }

    /// One tile of one plane with all its resolution levels: levels from `first` down are
    /// written now, finer ones queued as `(tile, layer)`.
    fn plane_texture(
        &mut self,
        plane: &[f32],
        width: u32,
        [x, y, w, h]: [u32; 4],
        (tile, layer): (usize, usize),
        first: u32,
    ) -> wgpu::Texture {
        let levels = ch_render::pyramid::level_count(w as usize, h as usize, MAX_LEVELS) as u32;
        let mut desc = float_texture("plane tile", w, h);
        desc.mip_level_count = levels;
        let texture = self.device.create_texture(&desc);
        let deferred = |level: u32, data: Option<Vec<f32>>, size: (u32, u32)| Pending {
            tile,
            layer,
            level,
            data,
            size,
            row: 0,
        };
        if first == 0 {
            let start = u64::from(y) * u64::from(width) + u64::from(x);
            write_rows(&self.queue, &texture, 0, (plane, width, start), w, 0..h);
        } else {
            self.pending.push_back(deferred(0, None, (w, h)));
        }
        if levels > 1 {
            // The first halving reads the tile in place; later ones halve the previous level.
            let rect = [x, y, w, h].map(|v| v as usize);
            let (mut data, mut lw, mut lh) = ch_render::pyramid::halve_rect(plane, width as usize, rect);
            for level in 1..levels {
                let next = (level + 1 < levels).then(|| ch_render::pyramid::halve(&data, lw, lh));
                let size = (lw as u32, lh as u32);
                if level >= first {
                    write_rows(&self.queue, &texture, level, (&data, size.0, 0), size.0, 0..size.1);
                } else {
                    self.pending.push_back(deferred(level, Some(data), size));
                }
                match next {
                    Some(n) => (data, lw, lh) = n,
                    None => break,
                }
            }
        }
        texture
    }
}

/// Writes `rows` of mip `level` (`width` texels each) from `source`: values, their row
/// stride, and the index of the level's first texel in them.
fn write_rows(
    queue: &wgpu::Queue,
    texture: &wgpu::Texture,
    level: u32,
    (values, stride, start): (&[f32], u32, u64),
    width: u32,
    rows: Range<u32>,
) {
    queue.write_texture(
        wgpu::TexelCopyTextureInfo {
            texture,
            mip_level: level,
            origin: wgpu::Origin3d {
                x: 0,
                y: rows.start,
                z: 0,
            },
            aspect: wgpu::TextureAspect::All,
        },
        bytemuck::cast_slice(values),
        wgpu::TexelCopyBufferLayout {
            offset: (start + u64::from(rows.start) * u64::from(stride)) * 4,
            bytes_per_row: Some(stride * 4),
            rows_per_image: Some(rows.len() as u32),
        },
        wgpu::Extent3d {
            width,
            height: rows.len() as u32,
            depth_or_array_layers: 1,
        },
    );
}
