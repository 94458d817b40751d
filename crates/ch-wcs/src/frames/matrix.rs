//! 3×3 rotation matrices and unit vectors in astropy's conventions, so that products taken in
//! the same order as astropy's transforms round the same way to within a few ulps.

/// A unit vector (x towards lon 0, z towards the pole).
pub(super) type Vec3 = [f64; 3];
/// A row-major 3×3 matrix acting on column vectors.
pub(super) type Mat3 = [[f64; 3]; 3];

pub(super) const IDENTITY: Mat3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

/// Axis of an elementary rotation.
#[derive(Debug, Clone, Copy)]
pub(super) enum Axis {
    X,
    Y,
    Z,
}

/// Passive (coordinate-system) rotation by `angle` radians about `axis`: astropy's
/// `matrix_utilities.rotation_matrix` and ERFA's `eraRx`/`eraRz` (e.g. for Z:
/// `[[c, s, 0], [-s, c, 0], [0, 0, 1]]`).
pub(super) fn rotation(angle: f64, axis: Axis) -> Mat3 {
    let (s, c) = angle.sin_cos();
    let i = match axis {
        Axis::X => 0,
        Axis::Y => 1,
        Axis::Z => 2,
    };
    let (a1, a2) = ((i + 1) % 3, (i + 2) % 3);
    let mut r = [[0.0; 3]; 3];
    r[i][i] = 1.0;
    r[a1][a1] = c;
    r[a1][a2] = s;
    r[a2][a1] = -s;
    r[a2][a2] = c;
    r
}

/// [`rotation`] with the angle in degrees.
pub(super) fn rotation_deg(angle: f64, axis: Axis) -> Mat3 {
    rotation(angle.to_radians(), axis)
}

/// The matrix product `a · b`.
pub(super) fn mul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut r = [[0.0; 3]; 3];
    for (i, row) in r.iter_mut().enumerate() {
        for (j, cell) in row.iter_mut().enumerate() {
            *cell = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
        }
    }
    r
}

/// The product of several matrices, left to right.
pub(super) fn chain(ms: &[Mat3]) -> Mat3 {
    ms.iter().fold(IDENTITY, |acc, m| mul(&acc, m))
}

pub(super) fn transpose(m: &Mat3) -> Mat3 {
    let mut r = [[0.0; 3]; 3];
    for (i, row) in m.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            r[j][i] = *v;
        }
    }
    r
}

/// Element-wise `a + k·b`.
pub(super) fn add_scaled(a: &Mat3, k: f64, b: &Mat3) -> Mat3 {
    let mut r = *a;
    for (row, brow) in r.iter_mut().zip(b) {
        for (cell, bv) in row.iter_mut().zip(brow) {
            *cell += k * bv;
        }
    }
    r
}

/// `m · v`.
pub(super) fn apply(m: &Mat3, v: &Vec3) -> Vec3 {
    [dot(&m[0], v), dot(&m[1], v), dot(&m[2], v)]
}

pub(super) fn dot(a: &Vec3, b: &Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// `v / |v|`; the zero vector stays zero.
pub(super) fn normalised(v: &Vec3) -> Vec3 {
    let n = dot(v, v).sqrt();
    if n > 0.0 { [v[0] / n, v[1] / n, v[2] / n] } else { *v }
}

/// (lon, lat) degrees → unit vector (ERFA `eraS2c`).
pub(super) fn unit_vector(lon: f64, lat: f64) -> Vec3 {
    let (sl, cl) = lon.to_radians().sin_cos();
    let (sb, cb) = lat.to_radians().sin_cos();
    [cb * cl, cb * sl, sb]
}

/// Vector → (lon, lat) degrees, lon in (−180°, 180°] (ERFA `eraC2s`, as astropy uses: lon 0
/// at the poles).
pub(super) fn lon_lat(v: &Vec3) -> (f64, f64) {
    let [x, y, z] = *v;
    let d2 = x * x + y * y;
    let lon = if d2 == 0.0 { 0.0 } else { y.atan2(x) };
    let lat = if z == 0.0 { 0.0 } else { z.atan2(d2.sqrt()) };
    (lon.to_degrees(), lat.to_degrees())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotations_are_passive_and_orthogonal() {
        // A passive rotation of +90° about Z moves the x axis to lon −90°.
        let v = apply(&rotation_deg(90.0, Axis::Z), &[1.0, 0.0, 0.0]);
        let (lon, lat) = lon_lat(&v);
        assert!((lon + 90.0).abs() < 1e-12 && lat.abs() < 1e-12, "{lon} {lat}");
        for axis in [Axis::X, Axis::Y, Axis::Z] {
            let m = rotation(0.3, axis);
            let p = mul(&m, &transpose(&m));
            for (i, row) in p.iter().enumerate() {
                for (j, v) in row.iter().enumerate() {
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((v - want).abs() < 1e-15);
                }
            }
        }
    }

    #[test]
    fn vector_round_trip() {
        let (lon, lat) = lon_lat(&unit_vector(123.4, -56.7));
        assert!((lon - 123.4).abs() < 1e-12 && (lat + 56.7).abs() < 1e-12);
        assert_eq!(lon_lat(&[0.0, 0.0, 1.0]), (0.0, 90.0));
    }
}
