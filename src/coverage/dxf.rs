// Hand-written group-code reader, not the `dxf` crate: dxf 0.6 adds image, uuid, num, itertools, enum_primitive, byteorder and an xmltree code generator to read three entity types.
//! Walls from an architect's DXF drawing (issue 14): the layers of an
//! ASCII DXF file and the line segments on them, in metres, for the admin
//! to pick the wall layers of a floor plan. Pure code: bytes in, values
//! out; nothing here panics on a bad file.
//!
//! An ASCII DXF file is pairs of lines, a group code (an integer) and its
//! value. Only the HEADER (for `$INSUNITS`) and ENTITIES sections are
//! read. From ENTITIES:
//!
//! - `LINE`: one segment;
//! - `LWPOLYLINE`: a segment between consecutive vertices, plus the closing
//!   one when flag 70 has bit 1 (and there are at least 3 vertices); arcs
//!   (bulges, group 42) become straight chords;
//! - `POLYLINE` / `VERTEX` / `SEQEND`: the same for 2-D polylines and for
//!   3-D polylines seen from above (z dropped); polygon and polyface
//!   meshes are skipped, as are spline control points.
//!
//! Everything else (CIRCLE, ARC, TEXT, HATCH, INSERT, ...) is skipped and
//! counted, and so are paper-space entities (group 67 = 1) and polylines
//! not drawn in the XY plane. Block references (INSERT) are not exploded:
//! walls inside blocks must be exploded in the CAD tool before export.
//!
//! Coordinates stay in the drawing's frame, only scaled to metres: DXF Y
//! grows upwards (north), unlike an image's rows, and a drawing is often
//! far from its origin; [`Drawing::bounds`] gives the box so the caller
//! can flip and translate. Layer names are case-insensitive, as in
//! AutoCAD; each layer keeps the first spelling met. Text that is not
//! UTF-8 is read as Latin-1 (close to the ANSI code page of older files).

use std::borrow::Cow;
use std::collections::HashMap;

/// More segments than this is refused: a floor's walls are hundreds to a
/// few thousand; a six-figure count is a whole site or a detail drawing.
pub const MAX_SEGMENTS: usize = 100_000;

/// Segments shorter than this (in metres) are dropped as zero-length.
pub const MIN_LENGTH_M: f64 = 1e-6;

/// Metres per drawing unit when the file does not say: millimetres, the
/// default of architects' drawings.
pub const ASSUMED_METRES_PER_UNIT: f64 = 0.001;

/// A wall candidate: a straight segment in metres, in the drawing's frame
/// (Y up).
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
    /// The layer's name, as listed in [`Drawing::layers`].
    pub layer: String,
}

impl Segment {
    pub fn length(&self) -> f64 {
        (self.x2 - self.x1).hypot(self.y2 - self.y1)
    }
}

/// The box around some segments, in metres, in the drawing's frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    pub min_x: f64,
    pub min_y: f64,
    pub max_x: f64,
    pub max_y: f64,
}

impl Bounds {
    /// None when there are no segments.
    pub fn of<'a>(segments: impl IntoIterator<Item = &'a Segment>) -> Option<Bounds> {
        let mut it = segments.into_iter();
        let first = it.next()?;
        let mut b = Bounds {
            min_x: first.x1.min(first.x2),
            min_y: first.y1.min(first.y2),
            max_x: first.x1.max(first.x2),
            max_y: first.y1.max(first.y2),
        };
        for s in it {
            b.min_x = b.min_x.min(s.x1).min(s.x2);
            b.min_y = b.min_y.min(s.y1).min(s.y2);
            b.max_x = b.max_x.max(s.x1).max(s.x2);
            b.max_y = b.max_y.max(s.y1).max(s.y2);
        }
        Some(b)
    }

    pub fn width(&self) -> f64 {
        self.max_x - self.min_x
    }

    pub fn height(&self) -> f64 {
        self.max_y - self.min_y
    }
}

/// What a DXF file holds for the wall import.
#[derive(Clone, Debug, PartialEq)]
pub struct Drawing {
    /// Every segment read, on every layer, in file order.
    pub segments: Vec<Segment>,
    /// Each layer met in ENTITIES with its number of segments (0 for a
    /// layer holding only skipped entities), sorted by name.
    pub layers: Vec<(String, usize)>,
    /// The scale applied: from the override, `$INSUNITS`, or assumed.
    pub metres_per_unit: f64,
    /// True when neither the caller nor the file gave the units and
    /// millimetres were assumed; the admin should check the size.
    pub assumed_units: bool,
    /// Entities not imported (other types, paper space, meshes, ...).
    pub skipped_entities: usize,
    /// Segments dropped for being shorter than [`MIN_LENGTH_M`].
    pub dropped_zero_length: usize,
}

impl Drawing {
    /// The segments on the named layers (case-insensitive), in file order.
    pub fn on_layers(&self, layers: &[&str]) -> Vec<&Segment> {
        let wanted: Vec<&str> = self
            .layers
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| layers.iter().any(|l| same_layer(l, name)))
            .collect();
        self.segments
            .iter()
            .filter(|s| wanted.contains(&s.layer.as_str()))
            .collect()
    }

    /// The box around the segments on the named layers; None when they
    /// have none.
    pub fn bounds(&self, layers: &[&str]) -> Option<Bounds> {
        Bounds::of(self.on_layers(layers))
    }
}

/// Why a file could not be read. Line numbers count from 1.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DxfError {
    #[error("the file is empty")]
    Empty,
    #[error("binary DXF is not supported; save the drawing as ASCII DXF")]
    Binary,
    #[error("not a DXF text file (it holds NUL bytes)")]
    NotText,
    #[error("line {line}: group code without a value (odd number of lines; truncated file?)")]
    OddLineCount { line: usize },
    #[error("line {line}: group code {text:?} is not a number")]
    BadGroupCode { line: usize, text: String },
    #[error("line {line}: value {text:?} of group {code} is not a finite number")]
    BadNumber {
        line: usize,
        code: i32,
        text: String,
    },
    #[error("line {line}: {entity} without group {code}")]
    MissingValue {
        line: usize,
        entity: &'static str,
        code: i32,
    },
    #[error("line {line}: SECTION without a name (group 2)")]
    UnnamedSection { line: usize },
    #[error("the file ends inside the {section} section (truncated?)")]
    Truncated { section: String },
    #[error("no ENTITIES section: not a DXF drawing")]
    NoEntities,
    #[error("more than {limit} line segments")]
    TooManySegments { limit: usize },
    #[error("drawing units $INSUNITS = {0} are not supported; give the scale")]
    UnsupportedUnits(i64),
    #[error("scale {0} m per unit is not a positive finite number")]
    BadScale(f64),
    #[error("scaled coordinates overflow")]
    Overflow,
}

/// Reads a DXF file. `units_override_m` (metres per drawing unit) wins
/// over the file's `$INSUNITS`; with neither, millimetres are assumed.
pub fn parse(bytes: &[u8], units_override_m: Option<f64>) -> Result<Drawing, DxfError> {
    parse_limited(bytes, units_override_m, MAX_SEGMENTS)
}

/// Metres per unit of a `$INSUNITS` code; None for 0 (unitless) and for
/// units no building is drawn in.
fn metres_per_insunit(code: i64) -> Option<f64> {
    Some(match code {
        1 => 0.0254,           // inches
        2 => 0.3048,           // feet
        3 => 1609.344,         // miles
        4 => 0.001,            // millimetres
        5 => 0.01,             // centimetres
        6 => 1.0,              // metres
        7 => 1000.0,           // kilometres
        10 => 0.9144,          // yards
        14 => 0.1,             // decimetres
        21 => 1200.0 / 3937.0, // US survey feet
        _ => return None,
    })
}

fn same_layer(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || a.to_uppercase() == b.to_uppercase()
}

/// Text of the file: UTF-8 when it is, Latin-1 otherwise; lone CR line
/// ends (old Mac files) become LF.
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
    };
    if !text.contains('\n') && text.contains('\r') {
        Cow::Owned(text.replace('\r', "\n"))
    } else {
        text
    }
}

/// One group code and its value; `line` is the code's line.
#[derive(Clone, Copy, Debug)]
struct Pair<'a> {
    code: i32,
    value: &'a str,
    line: usize,
}

impl Pair<'_> {
    fn number(&self) -> Result<f64, DxfError> {
        match self.value.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(DxfError::BadNumber {
                line: self.line + 1,
                code: self.code,
                text: clip(self.value),
            }),
        }
    }

    fn integer(&self) -> Result<i64, DxfError> {
        self.value.parse::<i64>().map_err(|_| DxfError::BadNumber {
            line: self.line + 1,
            code: self.code,
            text: clip(self.value),
        })
    }

    fn is(&self, code: i32, value: &str) -> bool {
        self.code == code && self.value.eq_ignore_ascii_case(value)
    }
}

/// At most 40 characters of a bad value, for the message.
fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Group code / value pairs, with comments (999) left out.
struct Reader<'a> {
    lines: std::str::Lines<'a>,
    line: usize,
    peeked: Option<Pair<'a>>,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Self {
        Reader {
            lines: text.lines(),
            line: 0,
            peeked: None,
        }
    }

    /// The next pair; None at the end of the text (trailing blank lines
    /// included).
    fn pair(&mut self) -> Result<Option<Pair<'a>>, DxfError> {
        if let Some(p) = self.peeked.take() {
            return Ok(Some(p));
        }
        loop {
            let Some(code_line) = self.lines.next() else {
                return Ok(None);
            };
            self.line += 1;
            let at = self.line;
            let text = code_line.trim();
            if text.is_empty() && self.lines.clone().all(|l| l.trim().is_empty()) {
                return Ok(None);
            }
            let code = text.parse::<i32>().map_err(|_| DxfError::BadGroupCode {
                line: at,
                text: clip(text),
            })?;
            let Some(value) = self.lines.next() else {
                return Err(DxfError::OddLineCount { line: at });
            };
            self.line += 1;
            if code != 999 {
                return Ok(Some(Pair {
                    code,
                    value: value.trim(),
                    line: at,
                }));
            }
        }
    }

    fn peek(&mut self) -> Result<Option<Pair<'a>>, DxfError> {
        if self.peeked.is_none() {
            self.peeked = self.pair()?;
        }
        Ok(self.peeked)
    }
}

/// A segment in drawing units, with the index of its layer.
struct RawSegment {
    a: (f64, f64),
    b: (f64, f64),
    layer: usize,
}

/// Layers met so far, merged case-insensitively, with segments in
/// drawing units.
struct Collector {
    names: Vec<String>,
    index: HashMap<String, usize>,
    segments: Vec<RawSegment>,
    skipped: usize,
    limit: usize,
}

impl Collector {
    fn layer(&mut self, name: &str) -> usize {
        let key = name.to_uppercase();
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        self.names.push(name.to_string());
        self.index.insert(key, self.names.len() - 1);
        self.names.len() - 1
    }

    fn push(&mut self, layer: usize, a: (f64, f64), b: (f64, f64)) -> Result<(), DxfError> {
        if self.segments.len() >= self.limit {
            return Err(DxfError::TooManySegments { limit: self.limit });
        }
        self.segments.push(RawSegment { a, b, layer });
        Ok(())
    }

    /// Segments along `points`, closed when asked and there are 3 or more.
    fn polyline(
        &mut self,
        layer: usize,
        points: &[(f64, f64)],
        closed: bool,
    ) -> Result<(), DxfError> {
        for w in points.windows(2) {
            self.push(layer, w[0], w[1])?;
        }
        if closed && points.len() >= 3 {
            if let (Some(&last), Some(&first)) = (points.last(), points.first()) {
                self.push(layer, last, first)?;
            }
        }
        Ok(())
    }
}

/// The groups every entity may carry that matter here.
struct Common<'a> {
    layer: &'a str,
    paper_space: bool,
    extrusion: (f64, f64, f64),
}

impl<'a> Common<'a> {
    fn read(pairs: &[Pair<'a>]) -> Result<Self, DxfError> {
        let mut c = Common {
            layer: "0",
            paper_space: false,
            extrusion: (0.0, 0.0, 1.0),
        };
        for p in pairs {
            match p.code {
                8 if !p.value.is_empty() => c.layer = p.value,
                67 => c.paper_space = p.integer()? == 1,
                210 => c.extrusion.0 = p.number()?,
                220 => c.extrusion.1 = p.number()?,
                230 => c.extrusion.2 = p.number()?,
                _ => {}
            }
        }
        Ok(c)
    }

    /// For entities drawn in their own coordinate system (polylines):
    /// Some(-1.0) when X is mirrored (extrusion -Z), Some(1.0) for +Z,
    /// None when the entity is not in the XY plane.
    fn x_sign(&self) -> Option<f64> {
        let (x, y, z) = self.extrusion;
        if x.abs() > 1e-9 || y.abs() > 1e-9 || z == 0.0 {
            None
        } else {
            Some(z.signum())
        }
    }
}

/// One 2-D point given by an x group and the matching y group.
fn point(
    pairs: &[Pair],
    x_code: i32,
    entity: &'static str,
    line: usize,
) -> Result<(f64, f64), DxfError> {
    let find = |code: i32| -> Result<f64, DxfError> {
        match pairs.iter().rev().find(|p| p.code == code) {
            Some(p) => p.number(),
            None => Err(DxfError::MissingValue { line, entity, code }),
        }
    };
    Ok((find(x_code)?, find(x_code + 10)?))
}

/// A POLYLINE waiting for its VERTEX entities and SEQEND.
struct OpenPolyline {
    layer: usize,
    closed: bool,
    x_sign: f64,
    /// Skipped (mesh, paper space, not in the XY plane): vertices are
    /// read and dropped.
    skip: bool,
    points: Vec<(f64, f64)>,
}

fn finish(open: &mut Option<OpenPolyline>, out: &mut Collector) -> Result<(), DxfError> {
    if let Some(p) = open.take() {
        if !p.skip {
            out.polyline(p.layer, &p.points, p.closed)?;
        }
    }
    Ok(())
}

/// One entity: its type, where it starts, and its groups.
fn entity(
    kind: &str,
    line: usize,
    pairs: &[Pair],
    open: &mut Option<OpenPolyline>,
    out: &mut Collector,
) -> Result<(), DxfError> {
    let kind = kind.to_ascii_uppercase();
    if kind != "VERTEX" {
        finish(open, out)?;
    }
    let common = Common::read(pairs)?;
    match kind.as_str() {
        "VERTEX" => {
            let Some(poly) = open.as_mut() else {
                out.skipped += 1;
                return Ok(());
            };
            let flags = pairs
                .iter()
                .rev()
                .find(|p| p.code == 70)
                .map(Pair::integer)
                .transpose()?
                .unwrap_or(0);
            // 16: spline control point, not on the curve.
            if poly.skip || flags & 16 != 0 {
                return Ok(());
            }
            if poly.points.len() > out.limit {
                return Err(DxfError::TooManySegments { limit: out.limit });
            }
            let (x, y) = point(pairs, 10, "VERTEX", line)?;
            poly.points.push((x * poly.x_sign, y));
        }
        "SEQEND" => {} // the polyline was finished above
        "LINE" => {
            let layer = out.layer(common.layer);
            if common.paper_space {
                out.skipped += 1;
                return Ok(());
            }
            let a = point(pairs, 10, "LINE", line)?;
            let b = point(pairs, 11, "LINE", line)?;
            out.push(layer, a, b)?;
        }
        "LWPOLYLINE" => {
            let layer = out.layer(common.layer);
            let x_sign = match common.x_sign() {
                Some(s) if !common.paper_space => s,
                _ => {
                    out.skipped += 1;
                    return Ok(());
                }
            };
            let mut closed = false;
            let mut points: Vec<(f64, f64)> = Vec::new();
            let mut y_pending = false;
            for p in pairs {
                match p.code {
                    70 => closed = p.integer()? & 1 != 0,
                    10 => {
                        if y_pending {
                            return Err(DxfError::MissingValue {
                                line,
                                entity: "LWPOLYLINE",
                                code: 20,
                            });
                        }
                        if points.len() > out.limit {
                            return Err(DxfError::TooManySegments { limit: out.limit });
                        }
                        points.push((p.number()? * x_sign, 0.0));
                        y_pending = true;
                    }
                    20 => match points.last_mut() {
                        Some(last) if y_pending => {
                            last.1 = p.number()?;
                            y_pending = false;
                        }
                        _ => {
                            return Err(DxfError::MissingValue {
                                line: p.line,
                                entity: "LWPOLYLINE",
                                code: 10,
                            })
                        }
                    },
                    _ => {}
                }
            }
            if y_pending {
                return Err(DxfError::MissingValue {
                    line,
                    entity: "LWPOLYLINE",
                    code: 20,
                });
            }
            out.polyline(layer, &points, closed)?;
        }
        "POLYLINE" => {
            let layer = out.layer(common.layer);
            let flags = pairs
                .iter()
                .rev()
                .find(|p| p.code == 70)
                .map(Pair::integer)
                .transpose()?
                .unwrap_or(0);
            // 8: 3-D polyline, in world coordinates; 16 and 64: meshes.
            let three_d = flags & 8 != 0;
            let mesh = flags & (16 | 64) != 0;
            let x_sign = if three_d { Some(1.0) } else { common.x_sign() };
            let skip = mesh || common.paper_space || x_sign.is_none();
            if skip {
                out.skipped += 1;
            }
            *open = Some(OpenPolyline {
                layer,
                closed: flags & 1 != 0,
                x_sign: x_sign.unwrap_or(1.0),
                skip,
                points: Vec::new(),
            });
        }
        _ => {
            out.layer(common.layer);
            out.skipped += 1;
        }
    }
    Ok(())
}

/// Skips a section's pairs up to its ENDSEC, calling `each` on them.
fn section<'a>(
    r: &mut Reader<'a>,
    name: &str,
    mut each: impl FnMut(Pair<'a>) -> Result<(), DxfError>,
) -> Result<(), DxfError> {
    loop {
        match r.pair()? {
            None => {
                return Err(DxfError::Truncated {
                    section: name.to_string(),
                })
            }
            Some(p) if p.is(0, "ENDSEC") => return Ok(()),
            Some(p) => each(p)?,
        }
    }
}

fn entities(r: &mut Reader, out: &mut Collector) -> Result<(), DxfError> {
    let truncated = || DxfError::Truncated {
        section: "ENTITIES".to_string(),
    };
    let mut open: Option<OpenPolyline> = None;
    let mut pairs: Vec<Pair> = Vec::new();
    loop {
        let start = r.pair()?.ok_or_else(truncated)?;
        if start.code != 0 {
            continue; // stray group before the first entity
        }
        if start.is(0, "ENDSEC") {
            return finish(&mut open, out);
        }
        pairs.clear();
        loop {
            match r.peek()? {
                None => return Err(truncated()),
                Some(p) if p.code == 0 => break,
                Some(p) => {
                    pairs.push(p);
                    r.pair()?;
                }
            }
        }
        entity(start.value, start.line, &pairs, &mut open, out)?;
    }
}

fn parse_limited(
    bytes: &[u8],
    units_override_m: Option<f64>,
    limit: usize,
) -> Result<Drawing, DxfError> {
    if let Some(s) = units_override_m {
        if !(s.is_finite() && s > 0.0) {
            return Err(DxfError::BadScale(s));
        }
    }
    if bytes.starts_with(b"AutoCAD Binary DXF") || bytes.starts_with(b"AutoCAD DXB") {
        return Err(DxfError::Binary);
    }
    if bytes.contains(&0) {
        return Err(DxfError::NotText);
    }
    let text = decode(bytes);
    if text.trim().is_empty() {
        return Err(DxfError::Empty);
    }

    let mut r = Reader::new(&text);
    let mut out = Collector {
        names: Vec::new(),
        index: HashMap::new(),
        segments: Vec::new(),
        skipped: 0,
        limit,
    };
    let mut insunits: Option<i64> = None;
    let mut seen_entities = false;
    while let Some(p) = r.pair()? {
        if p.is(0, "EOF") {
            break;
        }
        if !p.is(0, "SECTION") {
            continue;
        }
        let name = match r.pair()? {
            Some(n) if n.code == 2 => n.value.to_ascii_uppercase(),
            _ => return Err(DxfError::UnnamedSection { line: p.line }),
        };
        match name.as_str() {
            "HEADER" => {
                let mut var = "";
                section(&mut r, "HEADER", |p| {
                    if p.code == 9 {
                        var = p.value;
                    } else if p.code == 70 && var.eq_ignore_ascii_case("$INSUNITS") {
                        insunits = Some(p.integer()?);
                    }
                    Ok(())
                })?;
            }
            "ENTITIES" => {
                seen_entities = true;
                entities(&mut r, &mut out)?;
            }
            other => section(&mut r, other, |_| Ok(()))?,
        }
    }
    if !seen_entities {
        return Err(DxfError::NoEntities);
    }

    let (metres_per_unit, assumed_units) = match (units_override_m, insunits) {
        (Some(s), _) => (s, false),
        (None, None | Some(0)) => (ASSUMED_METRES_PER_UNIT, true),
        (None, Some(code)) => match metres_per_insunit(code) {
            Some(s) => (s, false),
            None => return Err(DxfError::UnsupportedUnits(code)),
        },
    };

    let mut counts = vec![0usize; out.names.len()];
    let mut segments = Vec::with_capacity(out.segments.len());
    let mut dropped_zero_length = 0;
    for raw in &out.segments {
        let s = Segment {
            x1: raw.a.0 * metres_per_unit,
            y1: raw.a.1 * metres_per_unit,
            x2: raw.b.0 * metres_per_unit,
            y2: raw.b.1 * metres_per_unit,
            layer: out.names.get(raw.layer).cloned().unwrap_or_default(),
        };
        if ![s.x1, s.y1, s.x2, s.y2].iter().all(|v| v.is_finite()) {
            return Err(DxfError::Overflow);
        }
        let length = s.length();
        if !length.is_finite() {
            return Err(DxfError::Overflow);
        }
        if length < MIN_LENGTH_M {
            dropped_zero_length += 1;
            continue;
        }
        if let Some(c) = counts.get_mut(raw.layer) {
            *c += 1;
        }
        segments.push(s);
    }
    let mut layers: Vec<(String, usize)> = out.names.into_iter().zip(counts).collect();
    layers.sort();
    Ok(Drawing {
        segments,
        layers,
        metres_per_unit,
        assumed_units,
        skipped_entities: out.skipped,
        dropped_zero_length,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOOR: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/dxf/floor.dxf"
    ));

    fn floor_text() -> String {
        String::from_utf8(FLOOR.to_vec()).expect("fixture is UTF-8")
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn seg(s: &Segment) -> (f64, f64, f64, f64) {
        (s.x1, s.y1, s.x2, s.y2)
    }

    fn assert_segments(got: &[&Segment], want: &[(f64, f64, f64, f64)]) {
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (g, w) in got.iter().zip(want) {
            let g = seg(g);
            assert!(
                close(g.0, w.0) && close(g.1, w.1) && close(g.2, w.2) && close(g.3, w.3),
                "got {g:?}, want {w:?}"
            );
        }
    }

    /// A minimal drawing: `header` pairs in HEADER, `body` in ENTITIES.
    fn dxf(header: &str, body: &str) -> String {
        format!("0\nSECTION\n2\nHEADER\n{header}0\nENDSEC\n0\nSECTION\n2\nENTITIES\n{body}0\nENDSEC\n0\nEOF\n")
    }

    const ONE_LINE: &str = "0\nLINE\n8\nW\n10\n0\n20\n0\n11\n2\n21\n0\n";

    const WALLS: [(f64, f64, f64, f64); 6] = [
        // The outline, a closed LWPOLYLINE: 20 m x 10 m from (5, 3).
        (5.0, 3.0, 25.0, 3.0),
        (25.0, 3.0, 25.0, 13.0),
        (25.0, 13.0, 5.0, 13.0),
        (5.0, 13.0, 5.0, 3.0),
        // Two interior LINEs.
        (13.0, 3.0, 13.0, 13.0),
        (13.0, 8.0, 25.0, 8.0),
    ];

    #[test]
    fn fixture_walls_in_metres() {
        let d = parse(FLOOR, None).expect("fixture parses");
        assert!(close(d.metres_per_unit, 0.001));
        assert!(!d.assumed_units);
        assert_segments(&d.on_layers(&["A-WALL"]), &WALLS);
        assert!(d.on_layers(&["A-WALL"]).iter().all(|s| s.layer == "A-WALL"));
        assert_segments(&d.on_layers(&["A-GLAZ"]), &[(15.0, 3.0, 18.0, 3.0)]);
    }

    #[test]
    fn fixture_layers_with_counts() {
        let d = parse(FLOOR, None).expect("fixture parses");
        let want = [("A-ANNO", 0), ("A-FURN", 5), ("A-GLAZ", 1), ("A-WALL", 6)];
        let got: Vec<(&str, usize)> = d.layers.iter().map(|(n, c)| (n.as_str(), *c)).collect();
        assert_eq!(got, want);
        assert_eq!(d.segments.len(), 12);
    }

    #[test]
    fn fixture_skips_and_drops_are_counted() {
        let d = parse(FLOOR, None).expect("fixture parses");
        // CIRCLE (a column) and TEXT (a room name).
        assert_eq!(d.skipped_entities, 2);
        // One LINE on A-FURN starts and ends at the same point.
        assert_eq!(d.dropped_zero_length, 1);
    }

    #[test]
    fn fixture_polyline_with_vertices_is_closed() {
        let d = parse(FLOOR, None).expect("fixture parses");
        let furn = d.on_layers(&["A-FURN"]);
        // A desk: POLYLINE with 4 VERTEX, closed; then one LINE.
        assert_segments(
            &furn[..4],
            &[
                (15.0, 10.0, 17.0, 10.0),
                (17.0, 10.0, 17.0, 11.0),
                (17.0, 11.0, 15.0, 11.0),
                (15.0, 11.0, 15.0, 10.0),
            ],
        );
    }

    #[test]
    fn coordinates_are_kept_and_bounds_given() {
        let d = parse(FLOOR, None).expect("fixture parses");
        let b = d.bounds(&["A-WALL"]).expect("walls have a box");
        assert!(close(b.min_x, 5.0) && close(b.min_y, 3.0));
        assert!(close(b.max_x, 25.0) && close(b.max_y, 13.0));
        assert!(close(b.width(), 20.0) && close(b.height(), 10.0));
        assert_eq!(d.bounds(&["NO-SUCH-LAYER"]), None);
        let both = d.bounds(&["A-WALL", "A-FURN"]).expect("box");
        assert!(close(both.max_x, 25.0));
    }

    #[test]
    fn layer_names_match_case_insensitively() {
        let d = parse(FLOOR, None).expect("fixture parses");
        assert_eq!(d.on_layers(&["a-wall"]).len(), 6);
        assert_eq!(d.on_layers(&["a-wall", "A-Glaz"]).len(), 7);
        assert!(d.on_layers(&[]).is_empty());
        // Two spellings in the file are one layer, first spelling kept.
        let text = dxf(
            "",
            &format!("{ONE_LINE}{}", ONE_LINE.replace("\nW\n", "\nw\n")),
        );
        let d = parse(text.as_bytes(), None).expect("parses");
        assert_eq!(d.layers, vec![("W".to_string(), 2)]);
    }

    #[test]
    fn units_override_wins() {
        let d = parse(FLOOR, Some(1.0)).expect("fixture parses");
        assert!(!d.assumed_units);
        assert!(close(d.metres_per_unit, 1.0));
        let walls = d.on_layers(&["A-WALL"]);
        assert!(close(walls[0].x1, 5000.0) && close(walls[0].x2, 25000.0));
    }

    #[test]
    fn bad_override_is_refused() {
        for s in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(parse(FLOOR, Some(s)), Err(DxfError::BadScale(_))));
        }
    }

    #[test]
    fn unitless_drawing_assumes_millimetres() {
        let d = parse(dxf("", ONE_LINE).as_bytes(), None).expect("parses");
        assert!(d.assumed_units);
        assert!(close(d.metres_per_unit, 0.001));
        assert_segments(&d.on_layers(&["W"]), &[(0.0, 0.0, 0.002, 0.0)]);
        let d = parse(dxf("9\n$INSUNITS\n70\n0\n", ONE_LINE).as_bytes(), None).expect("parses");
        assert!(d.assumed_units);
        let d = parse(dxf("", ONE_LINE).as_bytes(), Some(0.5)).expect("parses");
        assert!(!d.assumed_units);
        assert!(close(d.segments[0].x2, 1.0));
    }

    #[test]
    fn insunits_scales() {
        for (code, scale) in [(1, 0.0254), (2, 0.3048), (4, 0.001), (5, 0.01), (6, 1.0)] {
            let header = format!("9\n$INSUNITS\n70\n{code}\n");
            let d = parse(dxf(&header, ONE_LINE).as_bytes(), None).expect("parses");
            assert!(close(d.metres_per_unit, scale), "{code}");
            assert!(close(d.segments[0].x2, 2.0 * scale), "{code}");
            assert!(!d.assumed_units);
        }
        // Light years: refused unless the caller gives the scale.
        let header = "9\n$INSUNITS\n70\n19\n";
        assert_eq!(
            parse(dxf(header, ONE_LINE).as_bytes(), None),
            Err(DxfError::UnsupportedUnits(19))
        );
        assert!(parse(dxf(header, ONE_LINE).as_bytes(), Some(1.0)).is_ok());
    }

    #[test]
    fn line_endings_do_not_matter() {
        let lf = parse(FLOOR, None).expect("LF");
        let crlf = floor_text().replace('\n', "\r\n");
        assert_eq!(parse(crlf.as_bytes(), None).as_ref(), Ok(&lf));
        let cr = floor_text().replace('\n', "\r");
        assert_eq!(parse(cr.as_bytes(), None).as_ref(), Ok(&lf));
        let bom = [b"\xEF\xBB\xBF".as_slice(), FLOOR].concat();
        assert_eq!(parse(&bom, None).as_ref(), Ok(&lf));
    }

    #[test]
    fn open_lwpolyline_and_two_vertex_closed() {
        let open = "0\nLWPOLYLINE\n8\nW\n90\n3\n70\n0\n10\n0\n20\n0\n10\n1000\n20\n0\n42\n0.5\n10\n1000\n20\n1000\n";
        let d = parse(dxf("", open).as_bytes(), None).expect("parses");
        assert_segments(
            &d.on_layers(&["W"]),
            &[(0.0, 0.0, 1.0, 0.0), (1.0, 0.0, 1.0, 1.0)],
        );
        let two = "0\nLWPOLYLINE\n8\nW\n70\n1\n10\n0\n20\n0\n10\n1000\n20\n0\n";
        let d = parse(dxf("", two).as_bytes(), None).expect("parses");
        assert_eq!(d.segments.len(), 1);
    }

    #[test]
    fn mirrored_polyline_negates_x() {
        let body = "0\nLWPOLYLINE\n8\nW\n70\n0\n10\n1000\n20\n0\n10\n2000\n20\n0\n210\n0\n220\n0\n230\n-1\n";
        let d = parse(dxf("", body).as_bytes(), None).expect("parses");
        assert_segments(&d.on_layers(&["W"]), &[(-1.0, 0.0, -2.0, 0.0)]);
        // Not in the XY plane: skipped.
        let tilted = body
            .replace("210\n0\n", "210\n1\n")
            .replace("230\n-1\n", "230\n0\n");
        let d = parse(dxf("", &tilted).as_bytes(), None).expect("parses");
        assert!(d.segments.is_empty());
        assert_eq!(d.skipped_entities, 1);
        assert_eq!(d.layers, vec![("W".to_string(), 0)]);
    }

    #[test]
    fn paper_space_meshes_and_strays_are_skipped() {
        let paper = ONE_LINE.replace("8\nW\n", "8\nW\n67\n1\n");
        let mesh = "0\nPOLYLINE\n8\nM\n66\n1\n70\n16\n0\nVERTEX\n8\nM\n10\n0\n20\n0\n0\nVERTEX\n8\nM\n10\n5\n20\n5\n0\nSEQEND\n";
        let stray = "0\nVERTEX\n8\nW\n10\n0\n20\n0\n0\nSEQEND\n";
        let body = format!("{paper}{mesh}{stray}0\nINSERT\n8\nW\n2\nDOOR\n10\n0\n20\n0\n");
        let d = parse(dxf("", &body).as_bytes(), None).expect("parses");
        assert!(d.segments.is_empty());
        // Paper-space LINE, mesh, stray VERTEX, INSERT.
        assert_eq!(d.skipped_entities, 4);
    }

    #[test]
    fn polyline_without_seqend_and_3d_polyline() {
        // A 3-D polyline seen from above, ended by the next entity.
        let body = "0\nPOLYLINE\n8\nW\n70\n8\n0\nVERTEX\n10\n0\n20\n0\n30\n100\n0\nVERTEX\n10\n0\n20\n3000\n30\n0\n0\nVERTEX\n70\n16\n10\n99\n20\n99\n";
        let body = format!("{body}{ONE_LINE}");
        let d = parse(dxf("", &body).as_bytes(), None).expect("parses");
        assert_segments(
            &d.on_layers(&["W"]),
            &[(0.0, 0.0, 0.0, 3.0), (0.0, 0.0, 0.002, 0.0)],
        );
    }

    #[test]
    fn comments_and_other_sections_are_passed_over() {
        let text = format!(
            "999\nmade by hand\n0\nSECTION\n2\nTABLES\n0\nTABLE\n2\nLAYER\n0\nENDTAB\n0\nENDSEC\n{}",
            dxf("", &format!("999\nwall\n{ONE_LINE}"))
        );
        let d = parse(text.as_bytes(), None).expect("parses");
        assert_eq!(d.segments.len(), 1);
        // Junk after EOF is not read.
        let d2 = parse(format!("{text}junk\n").as_bytes(), None).expect("parses");
        assert_eq!(d, d2);
    }

    #[test]
    fn too_many_segments_is_an_error() {
        let body = ONE_LINE.repeat(4);
        let text = dxf("", &body);
        assert!(parse_limited(text.as_bytes(), None, 4).is_ok());
        assert_eq!(
            parse_limited(text.as_bytes(), None, 3),
            Err(DxfError::TooManySegments { limit: 3 })
        );
        let poly = "0\nLWPOLYLINE\n8\nW\n10\n0\n20\n0\n10\n1\n20\n0\n10\n2\n20\n0\n10\n3\n20\n0\n10\n4\n20\n0\n10\n5\n20\n0\n";
        assert_eq!(
            parse_limited(dxf("", poly).as_bytes(), None, 3),
            Err(DxfError::TooManySegments { limit: 3 })
        );
    }

    #[test]
    fn malformed_inputs_are_errors() {
        assert_eq!(parse(b"", None), Err(DxfError::Empty));
        assert_eq!(parse(b" \n\n", None), Err(DxfError::Empty));
        assert_eq!(
            parse(b"AutoCAD Binary DXF\r\n\x1a\x00\x00\x00SECTION", None),
            Err(DxfError::Binary)
        );
        assert_eq!(parse(b"PK\x03\x04\x00\x00", None), Err(DxfError::NotText));
        assert!(matches!(
            parse(b"hello\nworld\n", None),
            Err(DxfError::BadGroupCode { line: 1, .. })
        ));
        assert_eq!(
            parse(b"0\nSECTION\n2\n", None),
            Err(DxfError::OddLineCount { line: 3 })
        );
        assert_eq!(parse(b"0\nEOF\n", None), Err(DxfError::NoEntities));
        assert_eq!(
            parse(b"0\nSECTION\n2\nHEADER\n0\nENDSEC\n0\nEOF\n", None),
            Err(DxfError::NoEntities)
        );
        assert_eq!(
            parse(b"0\nSECTION\n0\nENDSEC\n", None),
            Err(DxfError::UnnamedSection { line: 1 })
        );
        // Truncated inside an entity and inside the section.
        assert!(matches!(
            parse(b"0\nSECTION\n2\nENTITIES\n0\nLINE\n8\nW\n", None),
            Err(DxfError::Truncated { .. })
        ));
        assert!(matches!(
            parse(b"0\nSECTION\n2\nHEADER\n9\n$INSUNITS\n70\n4\n", None),
            Err(DxfError::Truncated { .. })
        ));
        // A blank group code line in the middle.
        assert!(matches!(
            parse(dxf("", &format!("\n\n{ONE_LINE}")).as_bytes(), None),
            Err(DxfError::BadGroupCode { .. })
        ));
    }

    #[test]
    fn bad_values_are_errors() {
        let bad_x = ONE_LINE.replace("10\n0\n", "10\nabc\n");
        assert!(matches!(
            parse(dxf("", &bad_x).as_bytes(), None),
            Err(DxfError::BadNumber {
                code: 10,
                line: 16,
                ..
            })
        ));
        for v in ["NaN", "inf", "1e400", "1,5"] {
            let t = ONE_LINE.replace("11\n2\n", &format!("11\n{v}\n"));
            assert!(
                matches!(
                    parse(dxf("", &t).as_bytes(), None),
                    Err(DxfError::BadNumber { code: 11, .. })
                ),
                "{v}"
            );
        }
        let no_end = "0\nLINE\n8\nW\n10\n0\n20\n0\n";
        assert_eq!(
            parse(dxf("", no_end).as_bytes(), None),
            Err(DxfError::MissingValue {
                line: 11,
                entity: "LINE",
                code: 11
            })
        );
        let no_y = "0\nLWPOLYLINE\n8\nW\n10\n0\n10\n5\n20\n5\n";
        assert!(matches!(
            parse(dxf("", no_y).as_bytes(), None),
            Err(DxfError::MissingValue { code: 20, .. })
        ));
        let y_first = "0\nLWPOLYLINE\n8\nW\n20\n0\n10\n5\n";
        assert!(matches!(
            parse(dxf("", y_first).as_bytes(), None),
            Err(DxfError::MissingValue { code: 10, .. })
        ));
        let bad_units = dxf("9\n$INSUNITS\n70\nmm\n", ONE_LINE);
        assert!(matches!(
            parse(bad_units.as_bytes(), None),
            Err(DxfError::BadNumber { code: 70, .. })
        ));
        let bad_flags = "0\nLWPOLYLINE\n8\nW\n70\nclosed\n10\n0\n20\n0\n";
        assert!(matches!(
            parse(dxf("", bad_flags).as_bytes(), None),
            Err(DxfError::BadNumber { code: 70, .. })
        ));
        // Huge in inches, overflowing once scaled.
        let huge = ONE_LINE.replace("11\n2\n", "11\n1e308\n");
        assert_eq!(
            parse(dxf("", &huge).as_bytes(), Some(1609.344)),
            Err(DxfError::Overflow)
        );
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        // Cut anywhere before the end of ENTITIES: an error. Cut later
        // (in OBJECTS or before EOF): the walls are all there.
        let text = floor_text();
        let endsec = text
            .find("ENTITIES")
            .and_then(|i| text[i..].find("ENDSEC").map(|j| i + j));
        let endsec = endsec.expect("fixture has ENTITIES ... ENDSEC");
        for cut in 0..FLOOR.len() {
            let r = parse(&FLOOR[..cut], None);
            if cut < endsec {
                assert!(r.is_err(), "cut at {cut} parsed");
            }
        }
        // Latin-1 bytes and random noise never panic either.
        let mut noise = FLOOR.to_vec();
        for (i, b) in noise.iter_mut().enumerate() {
            if i % 37 == 0 {
                *b = 0xE9;
            }
        }
        let _ = parse(&noise, None);
    }

    #[test]
    fn latin1_layer_names() {
        let text = dxf("", &ONE_LINE.replace("\nW\n", "\nMUR-\u{e9}\n"));
        let latin1: Vec<u8> = text.chars().map(|c| c as u8).collect();
        let d = parse(&latin1, None).expect("parses");
        assert_eq!(d.layers[0].0, "MUR-\u{e9}");
        assert_eq!(d.on_layers(&["mur-\u{c9}"]).len(), 1);
    }
}
