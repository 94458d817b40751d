//! Pixel read-back for the tests: render offscreen at a given size and copy the result out.

use super::{Globals, Gpu, GpuError, OFFSCREEN_FORMAT, texture_2d};

impl Gpu {
    /// Renders into an offscreen RGBA8 target of `width × height` and reads it back, rows
    /// top-down as drawn on screen.
    pub async fn read_back(&self, globals: &Globals, width: u32, height: u32) -> Result<Vec<u8>, GpuError> {
        let (width, height) = (width.clamp(1, self.max_texture), height.clamp(1, self.max_texture));
        let target = self.device.create_texture(&texture_2d(
            "read-back",
            width,
            height,
            OFFSCREEN_FORMAT,
            wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        ));
        let padded = (width * 4).div_ceil(256) * 256;
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("read-back"),
            size: u64::from(padded) * u64::from(height),
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        let draw = self.encode(
            &target.create_view(&Default::default()),
            OFFSCREEN_FORMAT,
            globals,
            true,
        );
        let mut encoder = self.device.create_command_encoder(&Default::default());
        encoder.copy_texture_to_buffer(
            target.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: &buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(padded),
                    rows_per_image: Some(height),
                },
            },
            wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
        );
        self.queue.submit([draw, encoder.finish()]);
        map_read(&self.device, &buffer).await?;
        let mapped = buffer
            .get_mapped_range(..)
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        let mut out = Vec::with_capacity((width * height * 4) as usize);
        for row in mapped.chunks_exact(padded as usize) {
            out.extend_from_slice(&row[..(width * 4) as usize]);
        }
        drop(mapped);
        buffer.unmap();
        Ok(out)
    }
}

/// Polls the device, yielding to the browser between polls, until the mapping finished.
async fn map_read(device: &wgpu::Device, buffer: &wgpu::Buffer) -> Result<(), GpuError> {
    // wasm32 without atomics: callbacks need not be `Send`, so a local cell carries the result.
    let done: std::rc::Rc<std::cell::RefCell<Option<Result<(), String>>>> = Default::default();
    let slot = done.clone();
    buffer.map_async(wgpu::MapMode::Read, .., move |r| {
        *slot.borrow_mut() = Some(r.map_err(|e| e.to_string()));
    });
    for _ in 0..2000 {
        let _ = device.poll(wgpu::PollType::Poll);
        if let Some(r) = done.borrow_mut().take() {
            return r.map_err(GpuError::Readback);
        }
        crate::viewer::dom::sleep_ms(5).await;
    }
    Err(GpuError::Readback("timed out waiting for the GPU".into()))
}
