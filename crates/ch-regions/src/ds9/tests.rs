//! Reading and writing DS9 files: samples as DS9 8.x writes them, round trips, errors, and a
//! proptest that nothing panics on arbitrary input.

use proptest::prelude::*;

use super::{Ds9Sky, SkyTransform, parse, write};
use crate::{Geometry, MAX_REGIONS, Region, RegionError, RegionSet};

/// A gnomonic (TAN) projection: reference pixel (511.5, 511.5), 1″ per pixel, longitude
/// increasing to the left, north up.
struct Tan {
    lon0: f64,
    lat0: f64,
}

const CRPIX: f64 = 511.5;
const CDELT: f64 = 1.0 / 3600.0;

impl Tan {
    fn to_world(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let xi = (-(x - CRPIX) * CDELT).to_radians();
        let eta = ((y - CRPIX) * CDELT).to_radians();
        let (s0, c0) = self.lat0.to_radians().sin_cos();
        let den = c0 - eta * s0;
        let lon = self.lon0 + xi.atan2(den).to_degrees();
        let lat = (s0 + eta * c0).atan2(xi.hypot(den)).to_degrees();
        Some((lon.rem_euclid(360.0), lat))
    }

    fn to_pixel(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
        let (s0, c0) = self.lat0.to_radians().sin_cos();
        let (s, c) = lat.to_radians().sin_cos();
        let (sd, cd) = (lon - self.lon0).to_radians().sin_cos();
        let cosc = s0 * s + c0 * c * cd;
        if cosc <= 0.0 {
            return None;
        }
        let xi = c * sd / cosc;
        let eta = (c0 * s - s0 * c * cd) / cosc;
        Some((CRPIX - xi.to_degrees() / CDELT, CRPIX + eta.to_degrees() / CDELT))
    }
}

/// Runs `f` with a TAN transform around M51 in `frame`.
fn with_sky<R>(system: Ds9Sky, f: impl FnOnce(&SkyTransform<'_>) -> R) -> R {
    let frame = system.frame();
    let tan = Tan {
        lon0: 202.4696,
        lat0: 47.1952,
    };
    let w2p = |l: f64, b: f64| tan.to_pixel(l, b);
    let p2w = |x: f64, y: f64| tan.to_world(x, y);
    f(&SkyTransform {
        world_to_pixel: &w2p,
        pixel_to_world: &p2w,
        frame: &frame,
    })
}

fn region(n: usize, geometry: Geometry, label: Option<&str>, color: Option<&str>) -> Region {
    Region {
        id: format!("r{n}"),
        geometry,
        label: label.map(str::to_owned),
        color: color.map(str::to_owned),
    }
}

/// One region of every shape, with awkward numbers, labels and colours.
fn sample_set() -> RegionSet {
    RegionSet {
        regions: vec![
            region(
                1,
                Geometry::Circle {
                    x: 511.3,
                    y: 500.123_456_789,
                    r: 25.7,
                },
                Some("Nucleus"),
                None,
            ),
            region(
                2,
                Geometry::Box {
                    x: 400.0,
                    y: 620.5,
                    width: 40.25,
                    height: 0.1,
                    angle: 33.3,
                },
                Some("a}b \"c\""),
                Some("#FF8800"),
            ),
            region(
                3,
                Geometry::Ellipse {
                    x: 700.0 / 3.0,
                    y: 650.0,
                    a: 30.0,
                    b: 15.5,
                    angle: -120.0,
                },
                Some("NGC 5195; the companion #2"),
                Some("#00ffff"),
            ),
            region(
                4,
                Geometry::Polygon {
                    vertices: vec![[100.0, 100.0], [150.1, 100.0], [150.0, 160.7], [99.0, 150.0]],
                },
                None,
                Some("#ff0000"),
            ),
            region(
                5,
                Geometry::Line {
                    x1: 10.0,
                    y1: 10.0,
                    x2: 200.5,
                    y2: 220.0,
                },
                Some("cut"),
                None,
            ),
            region(6, Geometry::Point { x: 255.0, y: -3.5 }, Some("é ü"), None),
        ],
    }
}

fn assert_close(a: &RegionSet, b: &RegionSet, tol: f64) {
    assert_eq!(a.regions.len(), b.regions.len());
    for (ra, rb) in a.regions.iter().zip(&b.regions) {
        assert_eq!((&ra.id, &ra.label, &ra.color), (&rb.id, &rb.label, &rb.color));
        let (ja, jb) = (
            serde_json::to_value(&ra.geometry).unwrap(),
            serde_json::to_value(&rb.geometry).unwrap(),
        );
        let (ma, mb) = (ja.as_object().unwrap(), jb.as_object().unwrap());
        assert_eq!(ma.keys().collect::<Vec<_>>(), mb.keys().collect::<Vec<_>>());
        for (k, va) in ma {
            let flat = |v: &serde_json::Value| -> Vec<f64> {
                match v {
                    serde_json::Value::Number(n) => vec![n.as_f64().unwrap()],
                    serde_json::Value::Array(items) => items
                        .iter()
                        .flat_map(|i| i.as_array().unwrap().iter().map(|n| n.as_f64().unwrap()))
                        .collect(),
                    _ => vec![],
                }
            };
            let (fa, fb) = (flat(va), flat(&mb[k]));
            assert_eq!(fa.len(), fb.len());
            for (x, y) in fa.iter().zip(&fb) {
                assert!((x - y).abs() <= tol, "{}: {k} {x} vs {y}", ra.id);
            }
        }
    }
}

const DS9_IMAGE: &str = r#"# Region file format: DS9 version 4.1
# Filename: m51.fits
global color=green dashlist=8 3 width=1 font="helvetica 10 normal roman" select=1 highlite=1 dash=0 fixed=0 edit=1 move=1 delete=1 include=1 source=1
image
circle(512.5,480.25,25.3) # text={Nucleus}
box(300,310,40,20,30) # color=red width=2
ellipse(700,650,30,15,120) # color=cyan text={Companion NGC 5195}
polygon(100,100,150,100,150,160,120,180,100,150) # color=#ff8800
# vector(400,400,50,45) vector=1 color=yellow
line(10,10,200,220) # line=0 1 color=magenta
point(256,256) # point=x
# text(600,100) text={Annotation}
circle point(50,60) # color=blue
"#;

#[test]
fn reads_a_ds9_8_image_file() {
    let set = parse(DS9_IMAGE, None).unwrap();
    assert_eq!(set.validate(), Ok(()));
    let ids: Vec<&str> = set.regions.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["r1", "r2", "r3", "r4", "r5", "r6", "r7"]);
    assert_eq!(
        set.regions[0].geometry,
        Geometry::Circle {
            x: 511.5,
            y: 479.25,
            r: 25.3
        }
    );
    assert_eq!(set.regions[0].label.as_deref(), Some("Nucleus"));
    assert_eq!(set.regions[0].color, None);
    assert_eq!(
        set.regions[1].geometry,
        Geometry::Box {
            x: 299.0,
            y: 309.0,
            width: 40.0,
            height: 20.0,
            angle: 30.0
        }
    );
    assert_eq!(set.regions[1].color.as_deref(), Some("#ff0000"));
    assert_eq!(set.regions[2].label.as_deref(), Some("Companion NGC 5195"));
    assert_eq!(set.regions[2].color.as_deref(), Some("#00ffff"));
    assert_eq!(set.regions[3].color.as_deref(), Some("#ff8800"));
    assert!(
        matches!(&set.regions[3].geometry, Geometry::Polygon { vertices } if vertices.len() == 5 && vertices[3] == [119.0, 179.0])
    );
    assert_eq!(
        set.regions[4].geometry,
        Geometry::Line {
            x1: 9.0,
            y1: 9.0,
            x2: 199.0,
            y2: 219.0
        }
    );
    assert_eq!(set.regions[4].color.as_deref(), Some("#ff00ff"));
    assert_eq!(set.regions[5].geometry, Geometry::Point { x: 255.0, y: 255.0 });
    assert_eq!(set.regions[6].geometry, Geometry::Point { x: 49.0, y: 59.0 });
    assert_eq!(set.regions[6].color.as_deref(), Some("#0000ff"));
}

#[test]
fn reads_a_ds9_8_fk5_file() {
    let text = r#"# Region file format: DS9 version 4.1
global color=green dashlist=8 3 width=1 font="helvetica 10 normal roman" select=1 highlite=1 dash=0 fixed=0 edit=1 move=1 delete=1 include=1 source=1
fk5
circle(13:29:52.698,+47:11:42.93,30.000") # text={M51}
box(202.4700000,47.1950000,60.000",0.5',45) # color=red
ellipse(13h29m50s,+47d12m00s,20",10",30)
polygon(202.48,47.20,202.47,47.21,202.46,47.20)
line(202.48,47.2,202.46,47.22) # line=0 0
point(202.47,47.2) # point=circle
"#;
    assert_eq!(
        parse(text, None),
        Err(RegionError::Parse {
            line: 4,
            message: "fk5 coordinates need an image with a celestial WCS".to_owned()
        })
    );
    for frame in [Ds9Sky::Fk5, Ds9Sky::Icrs] {
        let set = with_sky(frame, |sky| parse(text, Some(sky))).unwrap();
        assert_eq!(set.regions.len(), 6);
        let Geometry::Circle { x, y, r } = set.regions[0].geometry else {
            panic!("circle expected")
        };
        let ra = (13.0 + 29.0 / 60.0 + 52.698 / 3600.0) * 15.0;
        let dec = 47.0 + 11.0 / 60.0 + 42.93 / 3600.0;
        let (ex, ey) = Tan {
            lon0: 202.4696,
            lat0: 47.1952,
        }
        .to_pixel(ra, dec)
        .unwrap();
        // On the ICRS image the FK5 positions move by the frame bias (≤ 23 mas: 0.023 px here).
        let tol = if frame == Ds9Sky::Fk5 { 1e-9 } else { 0.03 };
        assert!(
            (x - ex).abs() < tol && (y - ey).abs() < tol,
            "{frame:?}: {x} {y} vs {ex} {ey}"
        );
        assert!((r - 30.0).abs() < 1e-3, "r = {r}");
        let Geometry::Box {
            width, height, angle, ..
        } = set.regions[1].geometry
        else {
            panic!("box expected")
        };
        assert!((width - 60.0).abs() < 1e-3 && (height - 30.0).abs() < 1e-3 && angle == 45.0);
        assert!(
            matches!(set.regions[2].geometry, Geometry::Ellipse { a, b, .. } if (a - 20.0).abs() < 1e-3 && (b - 10.0).abs() < 1e-3)
        );
        // RA increases to the left: the line's second end is at larger x.
        assert!(matches!(set.regions[4].geometry, Geometry::Line { x1, x2, .. } if x2 > x1));
    }
    // On a galactic image centred on the same numbers, the FK5 positions are converted to
    // galactic ones first: they land where M51's galactic position projects (far off this
    // image), not at the same numbers read as galactic.
    let galactic = with_sky(Ds9Sky::Galactic, |sky| parse(text, Some(sky))).unwrap();
    let ra = (13.0 + 29.0 / 60.0 + 52.698 / 3600.0) * 15.0;
    let dec = 47.0 + 11.0 / 60.0 + 42.93 / 3600.0;
    let (l, b) = ch_wcs::frames::convert(&Ds9Sky::Fk5.frame(), &Ds9Sky::Galactic.frame(), ra, dec).unwrap();
    let (ex, ey) = Tan {
        lon0: 202.4696,
        lat0: 47.1952,
    }
    .to_pixel(l, b)
    .unwrap();
    let Geometry::Circle { x, y, .. } = galactic.regions[0].geometry else {
        panic!("circle expected")
    };
    assert!((x - ex).abs() < 1e-6 && (y - ey).abs() < 1e-6, "{x} {y} vs {ex} {ey}");
}

#[test]
fn image_round_trip_is_exact() {
    let set = sample_set();
    assert_eq!(set.validate(), Ok(()));
    let text = write(&set, None);
    assert!(text.starts_with("# Region file format: DS9 version 4.1\nglobal color=green\nimage\ncircle("));
    assert!(text.contains("box(401,621.5,40.25,0.1,33.3) # text='a}b \"c\"' color=#FF8800\n"));
    let back = parse(&text, None).unwrap();
    assert_close(&set, &back, 1e-9);
    assert_eq!(
        parse(&write(&RegionSet::default(), None), None),
        Ok(RegionSet::default())
    );
}

#[test]
fn sky_round_trip_in_every_frame() {
    for frame in [Ds9Sky::Fk5, Ds9Sky::Icrs, Ds9Sky::Galactic] {
        with_sky(frame, |sky| {
            let set = sample_set();
            let text = write(&set, Some(sky));
            assert!(text.contains(&format!("\n{}\ncircle(", frame.keyword())), "{text}");
            assert!(!text.contains("\nimage\n"), "{text}");
            assert!(text.contains("\"") && text.contains(",33.3)"));
            let back = parse(&text, Some(sky)).unwrap();
            assert_close(&set, &back, 1e-6);
        });
    }
}

#[test]
fn sky_write_falls_back_to_image_where_the_wcs_fails() {
    with_sky(Ds9Sky::Fk5, |sky| {
        let only_near = |x: f64, y: f64| (x.abs() < 1e4).then(|| (sky.pixel_to_world)(x, y)).flatten();
        let t = SkyTransform {
            pixel_to_world: &only_near,
            ..*sky
        };
        let set = RegionSet {
            regions: vec![
                region(1, Geometry::Point { x: 1.0, y: 1.0 }, None, None),
                region(2, Geometry::Point { x: 2e5, y: 1.0 }, None, None),
                region(3, Geometry::Circle { x: 3.0, y: 4.0, r: 5.0 }, None, None),
            ],
        };
        let text = write(&set, Some(&t));
        let systems: Vec<&str> = text.lines().filter(|l| ["fk5", "image"].contains(l)).collect();
        assert_eq!(systems, ["fk5", "image", "fk5"]);
        assert!(text.contains("image\npoint(200001,2)\n"));
        assert_close(&set, &parse(&text, Some(&t)).unwrap(), 1e-6);
    });
}

#[test]
fn separators_spaces_prefixes_and_global_colour() {
    let text = "physical;circle(10,10,2);box 5 5 2 3 # color=yellow\n\
                global color=red\n+ellipse(1,1,2,1) ; x point 4 4 # text=\"p\"\n\
                global color=green\nPOINT(3,3) ; line(1,1,2,2) # tag={a} text={b}\n";
    let set = parse(text, None).unwrap();
    let got: Vec<(&str, Option<&str>, Option<&str>)> = set
        .regions
        .iter()
        .map(|r| (r.id.as_str(), r.label.as_deref(), r.color.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("r1", None, None),
            ("r2", None, Some("#ffff00")),
            ("r3", None, Some("#ff0000")),
            ("r4", Some("p"), Some("#ff0000")),
            ("r5", None, None),
            ("r6", Some("b"), None),
        ]
    );
    assert_eq!(
        set.regions[1].geometry,
        Geometry::Box {
            x: 4.0,
            y: 4.0,
            width: 2.0,
            height: 3.0,
            angle: 0.0
        }
    );
    assert_eq!(set.regions[3].geometry, Geometry::Point { x: 3.0, y: 3.0 });
}

#[test]
fn sizes_with_units_in_image_and_sky_systems() {
    with_sky(Ds9Sky::Fk5, |sky| {
        let text = "image\ncircle(512.5,512.5,2')\nfk5\ncircle(202.4696,47.1952,4i)\ncircle(202.4696,47.1952,0.01)\n\
                    wcs\ncircle(202.4696d,47.1952d,1d)";
        let set = parse(text, Some(sky)).unwrap();
        let radii: Vec<f64> = set
            .regions
            .iter()
            .map(|r| match r.geometry {
                Geometry::Circle { r, .. } => r,
                _ => f64::NAN,
            })
            .collect();
        assert!((radii[0] - 120.0).abs() < 1e-6 && radii[1] == 4.0, "{radii:?}");
        assert!(
            (radii[2] - 36.0).abs() < 1e-3 && (radii[3] - 3600.0).abs() < 1.0,
            "{radii:?}"
        );
    });
    assert_eq!(
        parse("circle(1,2,3\")", None),
        Err(RegionError::Parse {
            line: 1,
            message: "angular sizes need a WCS".to_owned()
        })
    );
}

fn parse_error(text: &str) -> (usize, String) {
    match parse(text, None) {
        Err(RegionError::Parse { line, message }) => (line, message),
        other => panic!("expected a parse error for {text:?}, got {other:?}"),
    }
}

#[test]
fn errors_name_the_line() {
    let (line, msg) = parse_error("# header\nimage\ncircle(1,1,1)\n-circle(5,5,1)\n");
    assert_eq!(line, 4);
    assert!(msg.contains("exclusion"), "{msg}");
    let (line, msg) = parse_error("image\n\nannulus(5,5,1,2)");
    assert_eq!((line, msg.as_str()), (3, "unsupported shape or keyword 'annulus'"));
    assert_eq!(parse_error("image; circle(1,1,1); -box(1,1,1,1)").0, 1);
    assert!(
        parse_error("fk4\ncircle(1,1,1)")
            .1
            .contains("fk4 coordinates need an image with a celestial WCS")
    );
    assert!(parse_error("linear\ncircle(1,1,1)").1.contains("'linear'"));
    assert!(parse_error("wcsb\ncircle(1,1,1)").1.contains("'wcsb'"));
    assert!(parse_error("circle(1,1,1").1.contains("')'"));
    assert!(parse_error("circle(1,1)").1.contains("circle(x, y, radius)"));
    assert!(parse_error("ellipse(1,1,2,3,4,5,6)").1.contains("annuli"));
    assert!(parse_error("polygon(1,1,2,2,3)").1.contains("polygon"));
    assert!(parse_error("circle(a,1,1)").1.contains("'a'"));
    assert!(parse_error("box(1,1,1,1,north)").1.contains("angle"));
    assert!(parse_error("circle(1,1,nan)").1.contains("size"));
    assert!(parse_error("?").1.contains("unexpected"));
    let (line, msg) = parse_error("circle(1,1,1)\ncircle(1,1,0)");
    assert_eq!(
        (line, msg.as_str()),
        (2, "regions[1].r: must be greater than 0 (got 0)")
    );
    assert!(parse_error("line(1,1,1,1)").1.starts_with("regions[0].x2"));
    let long = format!("point(1,1) # text={{{}}}", "x".repeat(201));
    assert!(parse_error(&long).1.starts_with("regions[0].label"));
    let many = "point(1,1)\n".repeat(MAX_REGIONS + 1);
    assert_eq!(parse_error(&many).0, MAX_REGIONS + 1);
    assert!(parse_error("galactic\npoint(1,1)").1.contains("WCS"));
}

/// Text made of DS9-ish pieces, to reach deep into the parser.
fn ds9_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("circle(".to_owned()),
        Just("box ".to_owned()),
        Just("ellipse(".to_owned()),
        Just("polygon(".to_owned()),
        Just("line(".to_owned()),
        Just("x point".to_owned()),
        Just("fk5\n".to_owned()),
        Just("galactic;".to_owned()),
        Just("image\n".to_owned()),
        Just("global color=".to_owned()),
        Just(" # text={".to_owned()),
        Just(" color=red".to_owned()),
        Just(")".to_owned()),
        Just("}".to_owned()),
        Just(";".to_owned()),
        Just("\n".to_owned()),
        Just(",".to_owned()),
        Just("\"".to_owned()),
        Just("'".to_owned()),
        Just("d".to_owned()),
        Just(":".to_owned()),
        "[-+]?[0-9]{1,3}(\\.[0-9]{0,3})?",
        "[ -~é]{0,4}",
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_never_panics(text in "\\PC{0,200}", structured in ds9_like()) {
        for t in [&text, &structured] {
            if let Ok(set) = parse(t, None) {
                prop_assert_eq!(set.validate(), Ok(()));
            }
            let sky_result = with_sky(Ds9Sky::Fk5, |sky| parse(t, Some(sky)));
            if let Ok(set) = sky_result {
                prop_assert_eq!(set.validate(), Ok(()));
                // What was read can be written and read again.
                prop_assert!(parse(&write(&set, None), None).is_ok());
            }
        }
    }

    #[test]
    fn json_and_validate_never_panic(text in "\\PC{0,200}", x in any::<f64>(), r in any::<f64>(), id in "\\PC{0,70}") {
        if let Ok(set) = serde_json::from_str::<RegionSet>(&text) {
            let _ = set.validate();
        }
        let json = serde_json::json!({"regions": [{"id": id, "shape": "circle", "x": x, "y": 1.0, "r": r, "color": "#00ff00"}]});
        if let Ok(set) = serde_json::from_value::<RegionSet>(json) {
            let _ = set.validate();
            let _ = write(&set, None);
        }
    }
}

#[test]
fn a_frame_without_a_conversion_is_named() {
    let tan = Tan { lon0: 10.0, lat0: 20.0 };
    let w2p = |l: f64, b: f64| tan.to_pixel(l, b);
    let p2w = |x: f64, y: f64| tan.to_world(x, y);
    let planetary = ch_wcs::Frame::Other { name: "PLON".into() };
    let sky = SkyTransform {
        world_to_pixel: &w2p,
        pixel_to_world: &p2w,
        frame: &planetary,
    };
    let result = parse("fk5\npoint(10,20)\n", Some(&sky));
    assert!(
        matches!(&result, Err(RegionError::Parse { line: 2, message }) if message.contains("FK5 (J2000)") && message.contains("PLON")),
        "{result:?}"
    );
    // Its own frame (`wcs`) needs no conversion.
    assert_eq!(parse("wcs\npoint(10,20)\n", Some(&sky)).map(|s| s.regions.len()), Ok(1));
}

#[test]
fn physical_coordinates_apply_ltm_and_ltv() {
    // IRAF: image = LTM · physical + LTV; a 2× block-averaged image offset by 10 pixels.
    let physical = super::Physical {
        ltm: [[0.5, 0.0], [0.0, 0.5]],
        ltv: [-10.0, -10.0],
    };
    let set = super::parse_with("physical\ncircle(41,61,8)\n", None, Some(&physical)).unwrap();
    assert_eq!(
        set.regions[0].geometry,
        Geometry::Circle {
            x: 9.5,
            y: 19.5,
            r: 4.0
        }
    );
    assert_eq!(
        super::Physical::from_keywords(|k| (k == "LTM1_1").then_some(0.0).or((k == "LTM2_2").then_some(0.0))),
        None,
        "a singular LTM is no physical system"
    );
}
