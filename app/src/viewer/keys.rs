//! The canvas's keyboard shortcuts: which key asks for what. Pure (no browser, no engine), the
//! same on the server and in the browser; `interact` carries the commands out.

use super::vocab::Tool;

/// What a key pressed on the focused canvas asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KeyCommand {
    /// Fit the image in the canvas (`f`).
    Fit,
    /// One image pixel per device pixel (`1`).
    OneToOne,
    /// Zoom about the canvas centre by this factor (`+` or `=` in, `-` out).
    Zoom(f64),
    /// Show or hide the coordinate grid (`g`).
    ToggleGrid,
    /// Invert the active layer's colormap (`i`).
    Invert,
    /// Copy the share link (`s`).
    Share,
    /// Play or pause the cube (space).
    TogglePlay,
    /// The next plane (`]`, forward) or the previous one (`[`), wrapping around.
    StepPlane {
        /// Towards higher plane numbers.
        forward: bool,
    },
    /// Delete the selected region (Delete, Backspace).
    DeleteSelected,
    /// Back to the pan tool with no region selected (Escape).
    Escape,
    /// Move the view by (x, y) pan steps, each of 40 CSS pixels (the arrow keys).
    Pan(f64, f64),
    /// Pick a drawing tool: the first letter of its name; `v` for pan, `o` for point.
    Tool(Tool),
}

/// What `key` (a `KeyboardEvent.key`) asks for; `None` for a key without a shortcut, which the
/// canvas leaves to the browser.
pub fn command(key: &str) -> Option<KeyCommand> {
    Some(match key {
        "f" => KeyCommand::Fit,
        "1" => KeyCommand::OneToOne,
        "+" | "=" => KeyCommand::Zoom(1.25),
        "-" => KeyCommand::Zoom(0.8),
        "g" => KeyCommand::ToggleGrid,
        "i" => KeyCommand::Invert,
        "s" => KeyCommand::Share,
        " " => KeyCommand::TogglePlay,
        "[" | "]" => KeyCommand::StepPlane { forward: key == "]" },
        "Delete" | "Backspace" => KeyCommand::DeleteSelected,
        "Escape" => KeyCommand::Escape,
        "ArrowLeft" => KeyCommand::Pan(1.0, 0.0),
        "ArrowRight" => KeyCommand::Pan(-1.0, 0.0),
        "ArrowUp" => KeyCommand::Pan(0.0, 1.0),
        "ArrowDown" => KeyCommand::Pan(0.0, -1.0),
        k => KeyCommand::Tool(tool(k)?),
    })
}

/// The tool whose key is `key`.
fn tool(key: &str) -> Option<Tool> {
    Tool::ALL.iter().find_map(|&(t, name, _)| {
        let first = match name {
            "pan" => "v",
            "point" => "o",
            n => &n[..1],
        };
        (first == key).then_some(t)
    })
}

/// The plane a [`KeyCommand::StepPlane`] shows after `plane` in a cube of `planes`.
pub fn step_plane(plane: usize, planes: usize, forward: bool) -> usize {
    if forward {
        (plane + 1) % planes
    } else {
        (plane + planes - 1) % planes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_are_picked_by_their_letter() {
        let picked: Vec<_> = ["v", "c", "b", "e", "p", "l", "o"].map(command).into_iter().collect();
        let tools: Vec<_> = Tool::ALL.iter().map(|&(t, _, _)| Some(KeyCommand::Tool(t))).collect();
        assert_eq!(picked, tools);
    }

    #[test]
    fn view_keys_and_unknown_keys() {
        assert_eq!(command("f"), Some(KeyCommand::Fit));
        assert_eq!(command("="), command("+"));
        assert_eq!(command("-"), Some(KeyCommand::Zoom(0.8)));
        assert_eq!(command("ArrowLeft"), Some(KeyCommand::Pan(1.0, 0.0)));
        assert_eq!(command("]"), Some(KeyCommand::StepPlane { forward: true }));
        assert_eq!(command("Backspace"), Some(KeyCommand::DeleteSelected));
        assert_eq!(command("x"), None);
        assert_eq!(command("Enter"), None);
    }

    #[test]
    fn planes_wrap_around() {
        assert_eq!(step_plane(2, 3, true), 0);
        assert_eq!(step_plane(0, 3, false), 2);
        assert_eq!(step_plane(1, 3, false), 0);
    }
}
