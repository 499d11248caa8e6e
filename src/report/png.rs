//! The PNG charts, as pure functions from a summary to bytes.
//!
//! Charts are drawn with plotters into an RGB buffer and encoded in memory with the `png`
//! crate, so no file is touched and equal inputs give equal bytes. Text uses DejaVu Sans,
//! embedded in the binary: nothing depends on the fonts of the machine.

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Summary, SweepPoint};
use crate::scenario::{ActionKind, DAY_MS, HOUR_MS, MINUTE_MS, Millis, Scenario, human_duration};
use crate::stats::Spread;

mod sweep;

/// Chart size in pixels.
const WIDTH: u32 = 1600;
/// Chart size in pixels.
const HEIGHT: u32 = 900;
/// vSwitch panels at most in `vswitch_usage.png`; beyond that, the most used are shown.
const MAX_PANELS: usize = 12;

const FONT: &str = "sans-serif";
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
/// Whether the embedded font was registered with plotters (once per process).
static FONT_REGISTERED: OnceLock<bool> = OnceLock::new();

/// Why a chart could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot draw a chart: {message}")]
pub struct ChartError {
    /// What went wrong.
    pub message: String,
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ChartError {
    fn from(error: DrawingAreaErrorKind<E>) -> Self {
        ChartError {
            message: error.to_string(),
        }
    }
}

/// Every chart of a run with its file name: `vswitch_usage.png`, `pods.png`, `pool_idle.png`.
pub fn charts(
    scenario: &Scenario,
    summary: &Summary,
) -> Result<Vec<(&'static str, Vec<u8>)>, ChartError> {
    let named = |name: &'static str, rgb: Result<Vec<u8>, ChartError>| {
        rgb.and_then(|rgb| encode_png(WIDTH, HEIGHT, &rgb))
            .map(|png| (name, png))
            .map_err(|e| ChartError {
                message: format!("{name}: {}", e.message),
            })
    };
    Ok(vec![
        named("vswitch_usage.png", vswitch_usage_rgb(scenario, summary))?,
        named("pods.png", pods_rgb(scenario, summary))?,
        named("pool_idle.png", pool_idle_rgb(scenario, summary))?,
    ])
}

/// `sweep.png` for `planner sweep`: per combination, the first shortage (p50 with a p10-p90
/// whisker) and the peak vSwitch utilisation (p90).
pub fn sweep_chart(scenario_name: &str, points: &[SweepPoint]) -> Result<Vec<u8>, ChartError> {
    sweep::sweep_rgb(scenario_name, points)
        .and_then(|rgb| encode_png(WIDTH, HEIGHT, &rgb))
        .map_err(|e| ChartError {
            message: format!("sweep.png: {}", e.message),
        })
}

// ---------------------------------------------------------------------------------------------
// Drawing helpers

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

const INK: RGBColor = RGBColor(30, 30, 30);
const GRID: RGBColor = RGBColor(225, 225, 225);
const USED: RGBColor = RGBColor(31, 119, 180);
const LIMIT: RGBColor = RGBColor(214, 39, 40);
const SHORTAGE: RGBColor = RGBColor(255, 127, 14);
const ACTION: RGBColor = RGBColor(148, 103, 189);
const NEVER: RGBColor = RGBColor(170, 170, 170);
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const BAND_ALPHA: f64 = 0.22;

fn font(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&INK)
}

fn anchored(size: u32, h: HPos, v: VPos) -> TextStyle<'static> {
    font(size).pos(Pos::new(h, v))
}

/// Draws into a white 1600x900 RGB buffer and returns it.
fn render(draw: impl FnOnce(&Area) -> Result<(), ChartError>) -> Result<Vec<u8>, ChartError> {
    let registered = FONT_REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, DEJAVU_SANS).is_ok()
    });
    if !registered {
        return Err(ChartError {
            message: "the embedded font does not parse".into(),
        });
    }
    let mut rgb = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    Ok(rgb)
}

/// The chart title across the top; returns the area below it.
fn titled<'a>(root: &Area<'a>, title: &str) -> Result<Area<'a>, ChartError> {
    let (top, rest) = root.split_vertically(52);
    let size = fit_font(&top, title, 30, WIDTH as i32 - 40)?;
    top.draw(&Text::new(
        title.to_string(),
        (WIDTH as i32 / 2, 14),
        anchored(size, HPos::Center, VPos::Top),
    ))?;
    Ok(rest)
}

/// The largest font size up to `size` at which `text` fits `width` pixels (at least 14).
fn fit_font(area: &Area, text: &str, size: u32, width: i32) -> Result<u32, ChartError> {
    let mut size = size;
    while size > 14 && text_width(area, text, size)? > width {
        size -= 1;
    }
    Ok(size)
}

fn text_width(area: &Area, text: &str, size: u32) -> Result<i32, ChartError> {
    Ok(area.estimate_text_size(text, &font(size))?.0 as i32)
}

/// What a legend entry shows before its text.
#[derive(Clone, Copy)]
enum Swatch {
    Line(RGBColor),
    Dashed(RGBColor),
    Band(RGBColor),
    Bar(RGBColor),
}

const LEGEND_SIZE: u32 = 21;
const LEGEND_ROW: i32 = 32;

/// A legend strip below the title, entries centred and wrapped to rows; returns the area below.
fn legend<'a>(area: &Area<'a>, entries: &[(Swatch, String)]) -> Result<Area<'a>, ChartError> {
    let swatch = 44;
    let max_width = WIDTH as i32 - 60;
    let mut rows: Vec<Vec<(Swatch, &str, i32)>> = vec![Vec::new()];
    let mut row_width = 0;
    for (mark, text) in entries {
        let width = swatch + 10 + text_width(area, text, LEGEND_SIZE)? + 36;
        if row_width + width > max_width && !rows.last().is_none_or(Vec::is_empty) {
            rows.push(Vec::new());
            row_width = 0;
        }
        row_width += width;
        rows.last_mut()
            .expect("a row")
            .push((*mark, text.as_str(), width));
    }
    let height = LEGEND_ROW * rows.len() as i32 + 8;
    let (strip, rest) = area.split_vertically(height);
    for (index, row) in rows.iter().enumerate() {
        let total: i32 = row.iter().map(|e| e.2).sum::<i32>() - 36;
        let mut x = (WIDTH as i32 - total) / 2;
        let y = LEGEND_ROW * index as i32 + LEGEND_ROW / 2 + 2;
        for &(mark, text, width) in row {
            draw_swatch(&strip, mark, x, y, swatch)?;
            strip.draw(&Text::new(
                text.to_string(),
                (x + swatch + 10, y),
                anchored(LEGEND_SIZE, HPos::Left, VPos::Center),
            ))?;
            x += width;
        }
    }
    Ok(rest)
}

fn draw_swatch(area: &Area, mark: Swatch, x: i32, y: i32, w: i32) -> Result<(), ChartError> {
    match mark {
        Swatch::Line(color) => {
            area.draw(&PathElement::new(
                vec![(x, y), (x + w, y)],
                color.stroke_width(4),
            ))?;
        }
        Swatch::Dashed(color) => {
            for start in [0, 16, 32] {
                area.draw(&PathElement::new(
                    vec![(x + start, y), (x + start + 10, y)],
                    color.stroke_width(3),
                ))?;
            }
        }
        Swatch::Band(color) => {
            area.draw(&Rectangle::new(
                [(x, y - 10), (x + w, y + 10)],
                color.mix(BAND_ALPHA).filled(),
            ))?;
        }
        Swatch::Bar(color) => {
            area.draw(&Rectangle::new(
                [(x + 8, y - 11), (x + w - 8, y + 11)],
                color.filled(),
            ))?;
        }
    }
    Ok(())
}

/// A number on an axis: whole numbers without decimals.
fn tick(value: f64) -> String {
    if (value - value.round()).abs() < 1e-6 {
        format!("{}", value.round() as i64)
    } else if value.abs() >= 10.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// The time unit of an x axis: days from 2 days on, hours from 2 hours, else minutes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct TimeUnit {
    ms: f64,
    name: &'static str,
}

fn time_unit(span_ms: Millis) -> TimeUnit {
    if span_ms >= 2 * DAY_MS {
        TimeUnit {
            ms: DAY_MS as f64,
            name: "days",
        }
    } else if span_ms >= 2 * HOUR_MS {
        TimeUnit {
            ms: HOUR_MS as f64,
            name: "hours",
        }
    } else {
        TimeUnit {
            ms: MINUTE_MS as f64,
            name: "minutes",
        }
    }
}

/// Sizes that depend on how many panels share the picture.
#[derive(Clone, Copy)]
struct Fonts {
    caption: u32,
    label: u32,
    desc: u32,
}

const FONTS_LARGE: Fonts = Fonts {
    caption: 24,
    label: 20,
    desc: 21,
};

/// What a time-series panel shows besides its series.
struct Panel<'s> {
    /// Above the panel; empty for none.
    caption: &'s str,
    /// Top of the y axis.
    y_top: f64,
    /// The y axis description; empty to leave it out.
    y_desc: &'s str,
    /// Whether to describe the x axis (bottom panels only).
    x_desc: bool,
    fonts: Fonts,
}

/// A time-series panel from 0 to the horizon: axes, grid, labels.
fn time_panel<'a, 'b>(
    area: &'a Area<'b>,
    unit: TimeUnit,
    horizon_ms: Millis,
    panel: &Panel,
) -> Result<Chart<'a, 'b>, ChartError> {
    time_panel_from(area, unit, 0, horizon_ms, panel)
}

/// A time panel whose axis starts `before_ms` before day 0 (for the history).
fn time_panel_from<'a, 'b>(
    area: &'a Area<'b>,
    unit: TimeUnit,
    before_ms: Millis,
    horizon_ms: Millis,
    panel: &Panel,
) -> Result<Chart<'a, 'b>, ChartError> {
    let Panel {
        caption,
        y_top,
        y_desc,
        x_desc: show_x_desc,
        fonts,
    } = *panel;
    let x_max = (horizon_ms.max(1) as f64) / unit.ms;
    let digits = tick(y_top).len() as u32 + 1;
    let y_area = digits * fonts.label * 62 / 100
        + 12
        + if y_desc.is_empty() {
            0
        } else {
            fonts.desc + 14
        };
    let x_area = fonts.label + 14 + if show_x_desc { fonts.desc + 12 } else { 0 };
    let mut builder = ChartBuilder::on(area);
    builder
        .margin_top(6)
        .margin_bottom(6)
        .margin_left(10)
        .margin_right(28)
        .x_label_area_size(x_area)
        .y_label_area_size(y_area);
    if !caption.is_empty() {
        builder.caption(caption, font(fonts.caption));
    }
    // Not -0.0: charts without history keep their bytes.
    let x_min = if before_ms == 0 {
        0.0
    } else {
        -(before_ms as f64) / unit.ms
    };
    let mut chart = builder.build_cartesian_2d(x_min..x_max, 0f64..y_top)?;
    let x_desc = format!("time ({})", unit.name);
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(9)
        .y_labels(7)
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .label_style(font(fonts.label))
        .axis_desc_style(font(fonts.desc))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(INK.stroke_width(1));
    if show_x_desc {
        mesh.x_desc(x_desc);
    }
    if !y_desc.is_empty() {
        mesh.y_desc(y_desc);
    }
    mesh.draw()?;
    Ok(chart)
}

/// Top of a y axis showing values up to `max`, with head room; at least 5.
fn y_top(max: f64) -> f64 {
    (max * 1.12).max(5.0)
}

fn xs(times_ms: &[Millis], unit: TimeUnit) -> Vec<f64> {
    times_ms.iter().map(|&t| t as f64 / unit.ms).collect()
}

/// A p10..p90 band and a p50 line.
fn draw_spread(
    chart: &mut Chart,
    x: &[f64],
    values: &[Spread],
    color: RGBColor,
    band: bool,
) -> Result<(), ChartError> {
    if band && !values.is_empty() {
        let mut outline: Vec<(f64, f64)> = x
            .iter()
            .zip(values)
            .map(|(&x, s)| (x, f64::from(s.p90)))
            .collect();
        outline.extend(
            x.iter()
                .zip(values)
                .rev()
                .map(|(&x, s)| (x, f64::from(s.p10))),
        );
        chart.draw_series(std::iter::once(Polygon::new(
            outline,
            color.mix(BAND_ALPHA).filled(),
        )))?;
    }
    chart.draw_series(LineSeries::new(
        x.iter().zip(values).map(|(&x, s)| (x, f64::from(s.p50))),
        color.stroke_width(3),
    ))?;
    Ok(())
}

/// A vertical line at a time, with label lines at the top of the panel.
#[derive(Debug, Clone, PartialEq)]
struct Marker {
    at_ms: Millis,
    lines: Vec<String>,
    color: RGBColor,
    dashed: bool,
}

fn action_label(kind: &ActionKind) -> &'static str {
    match kind {
        ActionKind::AddVSwitch(_) => "vSwitch added",
        ActionKind::SetTerway(_) => "eni-config changed",
        ActionKind::RestartTerway => "Terway restarted",
        ActionKind::ScaleNodePool { .. } => "node pool resized",
    }
}

/// One marker per group of actions close in time (within 1/50 of the horizon).
fn action_markers(scenario: &Scenario, horizon_ms: Millis) -> Vec<Marker> {
    let close = horizon_ms / 50;
    let mut markers: Vec<Marker> = Vec::new();
    let mut last_ms = 0;
    for action in &scenario.actions {
        let label = action_label(&action.kind).to_string();
        match markers.last_mut() {
            Some(marker) if action.at_ms - last_ms <= close => {
                if !marker.lines.contains(&label) {
                    marker.lines.push(label);
                }
            }
            _ => markers.push(Marker {
                at_ms: action.at_ms,
                lines: vec![label],
                color: ACTION,
                dashed: true,
            }),
        }
        last_ms = action.at_ms;
    }
    markers
}

/// A rectangle in backend pixels: left, top, right, bottom.
type Rect = (i32, i32, i32, i32);

fn overlaps(a: Rect, b: Rect) -> bool {
    a.0 <= b.2 && b.0 <= a.2 && a.1 <= b.3 && b.1 <= a.3
}

/// Draws markers: first every line, then the labels.
fn draw_markers(
    chart: &mut Chart,
    markers: &[Marker],
    unit: TimeUnit,
    y_top: f64,
    size: u32,
) -> Result<(), ChartError> {
    draw_marker_lines(chart, markers, unit, y_top)?;
    draw_marker_labels(chart, markers, unit, y_top, size, &[])
}

fn draw_marker_lines(
    chart: &mut Chart,
    markers: &[Marker],
    unit: TimeUnit,
    y_top: f64,
) -> Result<(), ChartError> {
    for marker in markers {
        let x = marker.at_ms as f64 / unit.ms;
        let style = marker.color.stroke_width(if marker.dashed { 2 } else { 3 });
        if marker.dashed {
            chart.draw_series(DashedLineSeries::new(
                vec![(x, 0.0), (x, y_top)],
                9,
                6,
                style,
            ))?;
        } else {
            chart.draw_series(LineSeries::new(vec![(x, 0.0), (x, y_top)], style))?;
        }
    }
    Ok(())
}

/// Labels go right of their line (left of it near the right edge), each block in the highest
/// rows where it overlaps no other label and nothing in `avoid`.
fn draw_marker_labels(
    chart: &mut Chart,
    markers: &[Marker],
    unit: TimeUnit,
    y_top: f64,
    size: u32,
    avoid: &[Rect],
) -> Result<(), ChartError> {
    let mut sorted: Vec<&Marker> = markers.iter().collect();
    sorted.sort_by_key(|m| m.at_ms);
    let (left, right) = {
        let range = chart.plotting_area().get_pixel_range();
        (range.0.start, range.0.end)
    };
    let line_height = size as i32 + 5;
    let mut taken: Vec<Rect> = avoid.to_vec();
    for marker in sorted {
        let x = marker.at_ms as f64 / unit.ms;
        let area = chart.plotting_area();
        let mut width = 0;
        for line in &marker.lines {
            width = width.max(area.estimate_text_size(line, &font(size))?.0 as i32);
        }
        let (px, top) = chart.backend_coord(&(x, y_top));
        let to_left = px + 8 + width > right && px - 8 - width >= left;
        let (x0, x1) = if to_left {
            (px - 11 - width, px - 5)
        } else {
            (px + 5, px + 11 + width)
        };
        let row_rect = |row: usize| -> Rect {
            let y = top + 6 + line_height * row as i32;
            (x0, y - 2, x1, y + size as i32 + 1)
        };
        let count = marker.lines.len();
        let start = (0..64)
            .find(|&row| {
                (row..row + count).all(|r| taken.iter().all(|&t| !overlaps(t, row_rect(r))))
            })
            .unwrap_or(0);
        let ink = darker(marker.color);
        for (index, line) in marker.lines.iter().enumerate() {
            let rect = row_rect(start + index);
            taken.push(rect);
            let (dx, h) = if to_left {
                (-8, HPos::Right)
            } else {
                (8, HPos::Left)
            };
            let element = EmptyElement::at((x, y_top))
                + Rectangle::new(
                    [(rect.0 - px, rect.1 - top), (rect.2 - px, rect.3 - top)],
                    WHITE.mix(0.85).filled(),
                )
                + Text::new(
                    line.clone(),
                    (dx, rect.1 + 2 - top),
                    anchored(size, h, VPos::Top).color(&ink),
                );
            chart.draw_series(std::iter::once(element))?;
        }
    }
    Ok(())
}

/// Darker text for a marker color, so labels stay readable on white.
fn darker(color: RGBColor) -> RGBColor {
    RGBColor(
        (f64::from(color.0) * 0.75) as u8,
        (f64::from(color.1) * 0.75) as u8,
        (f64::from(color.2) * 0.75) as u8,
    )
}

// ---------------------------------------------------------------------------------------------
// vswitch_usage.png

fn grid(panels: usize) -> (usize, usize) {
    match panels {
        0 | 1 => (1, 1),
        2 => (1, 2),
        3 => (1, 3),
        4 => (2, 2),
        5 | 6 => (2, 3),
        7 | 8 => (2, 4),
        9 => (3, 3),
        _ => (3, 4),
    }
}

/// Which vSwitches get a panel: all, or the most used (peak p90, then scenario order), shown in
/// scenario order.
fn shown_vswitches(summary: &Summary) -> Vec<usize> {
    let mut order: Vec<usize> = (0..summary.vswitches.len()).collect();
    if order.len() > MAX_PANELS {
        order.sort_by_key(|&i| (std::cmp::Reverse(summary.vswitches[i].peak_used_p90), i));
        order.truncate(MAX_PANELS);
        order.sort_unstable();
    }
    order
}

fn vswitch_usage_rgb(scenario: &Scenario, summary: &Summary) -> Result<Vec<u8>, ChartError> {
    render(|root| {
        let shown = shown_vswitches(summary);
        let mut title = format!(
            "{}: vSwitch addresses used (p10-p90 band, p50 line)",
            summary.scenario
        );
        if shown.len() < summary.vswitches.len() {
            title.push_str(&format!(
                ", {} most used of {}",
                shown.len(),
                summary.vswitches.len()
            ));
        }
        let rest = titled(root, &title)?;
        let mut entries = vec![
            (Swatch::Line(USED), "used p50".to_string()),
            (Swatch::Band(USED), "used p10-p90".to_string()),
            (Swatch::Dashed(LIMIT), "usable addresses".to_string()),
        ];
        let any_shortage = shown
            .iter()
            .any(|&i| zone_shortage_p50(summary, &summary.vswitches[i].zone).is_some());
        if any_shortage {
            entries.push((
                Swatch::Line(SHORTAGE),
                "first shortage in the zone (p50)".into(),
            ));
        }
        let actions = action_markers(scenario, summary.horizon_ms);
        if !actions.is_empty() {
            entries.push((Swatch::Dashed(ACTION), "operator action".into()));
        }
        let body = legend(&rest, &entries)?;
        if shown.is_empty() {
            return no_data(&body, "no vSwitches");
        }
        let (rows, cols) = grid(shown.len());
        let fonts = match shown.len() {
            1..=2 => FONTS_LARGE,
            3..=6 => Fonts {
                caption: 22,
                label: 18,
                desc: 20,
            },
            _ => Fonts {
                caption: 20,
                label: 17,
                desc: 18,
            },
        };
        let marker_size = fonts.label;
        let unit = time_unit(summary.horizon_ms);
        let x = xs(&summary.times_ms, unit);
        let panels = body.margin(0, 6, 6, 6).split_evenly((rows, cols));
        for (slot, &index) in shown.iter().enumerate() {
            let area = &panels[slot];
            let row = &summary.vswitches[index];
            let series: Vec<Spread> = summary.vswitch_used.iter().map(|s| s[index]).collect();
            let peak = series.iter().map(|s| s.p90).max().unwrap_or(0);
            let top = y_top(f64::from(peak.max(row.usable_ips)));
            let mut caption = format!("{} ({}, {})", row.vswitch, row.zone, row.cidr);
            if let Some(at) = row.created_at_ms {
                caption.push_str(&format!(", added at {}", human_duration(at)));
            }
            let caption_size = fit_font(
                area,
                &caption,
                fonts.caption,
                area.dim_in_pixel().0 as i32 - 20,
            )?;
            let panel_fonts = Fonts {
                caption: caption_size,
                ..fonts
            };
            let mut chart = time_panel(
                area,
                unit,
                summary.horizon_ms,
                &Panel {
                    caption: &caption,
                    y_top: top,
                    y_desc: if slot % cols == 0 { "addresses" } else { "" },
                    x_desc: slot / cols == rows - 1 || slot + cols >= shown.len(),
                    fonts: panel_fonts,
                },
            )?;
            let start = row
                .created_at_ms
                .map_or(0, |at| summary.times_ms.partition_point(|&t| t < at));
            draw_spread(&mut chart, &x[start..], &series[start..], USED, true)?;
            let mut markers = actions.clone();
            if let Some(at) = zone_shortage_p50(summary, &row.zone) {
                markers.push(Marker {
                    at_ms: at,
                    lines: vec![format!("zone short p50: {}", human_duration(at))],
                    color: SHORTAGE,
                    dashed: false,
                });
            }
            draw_marker_lines(&mut chart, &markers, unit, top)?;
            let usable = f64::from(row.usable_ips);
            let x_max = summary.horizon_ms.max(1) as f64 / unit.ms;
            chart.draw_series(DashedLineSeries::new(
                vec![(0.0, usable), (x_max, usable)],
                12,
                7,
                LIMIT.stroke_width(2),
            ))?;
            let label = format!("usable {}", row.usable_ips);
            let label_width = text_width(area, &label, marker_size)?;
            let (px, py) = chart.backend_coord(&(x_max, usable));
            let label_rect = (
                px - 12 - label_width,
                py - 6 - marker_size as i32,
                px - 2,
                py - 2,
            );
            chart.draw_series(std::iter::once(
                EmptyElement::at((x_max, usable))
                    + Rectangle::new(
                        [
                            (label_rect.0 - px, label_rect.1 - py),
                            (label_rect.2 - px, label_rect.3 - py),
                        ],
                        WHITE.mix(0.85).filled(),
                    )
                    + Text::new(
                        label,
                        (-6, -4),
                        anchored(marker_size, HPos::Right, VPos::Bottom).color(&darker(LIMIT)),
                    ),
            ))?;
            // Many small panels: operator actions are named in the first panel only.
            if slot > 0 && shown.len() > 3 {
                markers.retain(|m| m.color != ACTION);
            }
            draw_marker_labels(&mut chart, &markers, unit, top, marker_size, &[label_rect])?;
        }
        Ok(())
    })
}

fn zone_shortage_p50(summary: &Summary, zone: &str) -> Option<Millis> {
    summary
        .zones
        .iter()
        .find(|z| z.zone == zone)
        .and_then(|z| z.first_shortage_p50_ms)
}

fn no_data(area: &Area, text: &str) -> Result<(), ChartError> {
    let (w, h) = area.dim_in_pixel();
    area.draw(&Text::new(
        text.to_string(),
        (w as i32 / 2, h as i32 / 2),
        anchored(28, HPos::Center, VPos::Center),
    ))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// pods.png

const RUNNING: RGBColor = RGBColor(31, 119, 180);
const WAITING: RGBColor = RGBColor(214, 39, 40);

fn shortage_markers(summary: &Summary) -> Vec<Marker> {
    summary
        .zones
        .iter()
        .filter_map(|zone| {
            zone.first_shortage_p50_ms.map(|at| Marker {
                at_ms: at,
                lines: vec![format!("{} short p50: {}", zone.zone, human_duration(at))],
                color: SHORTAGE,
                dashed: false,
            })
        })
        .collect()
}

fn pods_rgb(scenario: &Scenario, summary: &Summary) -> Result<Vec<u8>, ChartError> {
    render(|root| {
        let title = format!(
            "{}: pods running and pods waiting for an address",
            summary.scenario
        );
        let rest = titled(root, &title)?;
        let actions = action_markers(scenario, summary.horizon_ms);
        let shortages = shortage_markers(summary);
        let mut entries = vec![
            (Swatch::Line(RUNNING), "pods running p50".to_string()),
            (
                Swatch::Line(WAITING),
                "pods waiting for an address p50".to_string(),
            ),
            (Swatch::Band(WAITING), "waiting p10-p90".to_string()),
        ];
        if !shortages.is_empty() {
            entries.push((Swatch::Line(SHORTAGE), "first shortage (p50)".into()));
        }
        if !actions.is_empty() {
            entries.push((Swatch::Dashed(ACTION), "operator action".into()));
        }
        let history = History::of(scenario);
        if let Some(history) = &history {
            entries.push((Swatch::Line(HISTORY), history.legend.clone()));
        }
        let before_ms = history.as_ref().map_or(0, |h| h.before_ms);
        let body = legend(&rest, &entries)?.margin(0, 6, 6, 6);
        let (upper, lower) = body.split_vertically(body.dim_in_pixel().1 * 52 / 100);
        let unit = time_unit(summary.horizon_ms + before_ms);
        let x = xs(&summary.times_ms, unit);
        let mut markers = actions.clone();
        markers.extend(shortages);

        let running_top = y_top(
            f64::from(
                summary
                    .pods_running
                    .iter()
                    .map(|s| s.p50)
                    .max()
                    .unwrap_or(0),
            )
            .max(history.as_ref().map_or(0.0, |h| h.top)),
        );
        let mut chart = time_panel_from(
            &upper,
            unit,
            before_ms,
            summary.horizon_ms,
            &Panel {
                caption: "pods running (with an address)",
                y_top: running_top,
                y_desc: "pods",
                x_desc: false,
                fonts: FONTS_LARGE,
            },
        )?;
        draw_spread(&mut chart, &x, &summary.pods_running, RUNNING, false)?;
        if let Some(history) = &history {
            history.draw(&mut chart, unit, running_top)?;
        }
        draw_markers(&mut chart, &markers, unit, running_top, 19)?;

        let waiting_top = y_top(f64::from(
            summary
                .pods_pending_ip
                .iter()
                .map(|s| s.p90)
                .max()
                .unwrap_or(0),
        ));
        let mut chart = time_panel_from(
            &lower,
            unit,
            before_ms,
            summary.horizon_ms,
            &Panel {
                caption: "pods waiting for an address (CNI ADD failed or stalled)",
                y_top: waiting_top,
                y_desc: "pods",
                x_desc: true,
                fonts: FONTS_LARGE,
            },
        )?;
        draw_spread(&mut chart, &x, &summary.pods_pending_ip, WAITING, true)?;
        draw_markers(&mut chart, &markers, unit, waiting_top, 19)?;
        Ok(())
    })
}

/// The pods of the history the scenario's growth was fitted to (`[scenario] history`), drawn
/// before day 0 so that the fit can be judged against the forecast.
struct History {
    /// Runs without gaps of (ms relative to day 0, pods summed over the series).
    runs: Vec<Vec<(i64, f64)>>,
    before_ms: Millis,
    top: f64,
    legend: String,
}

const HISTORY: RGBColor = RGBColor(120, 120, 120);

impl History {
    fn of(scenario: &Scenario) -> Option<History> {
        let history = scenario.history.as_ref()?;
        let runs = history.total();
        if runs.is_empty() {
            return None;
        }
        // `total` sums the workload series, or the zone series when there are none.
        let workloads = history
            .series
            .iter()
            .filter(|s| s.name.contains('/'))
            .count();
        let (series, what) = match workloads {
            0 => (history.series.len(), "zone"),
            n => (n, "workload"),
        };
        Some(History {
            before_ms: history.span_ms(),
            top: runs.iter().flatten().map(|p| p.1).fold(0.0, f64::max),
            legend: format!(
                "history before day 0 ({series} {what} series{})",
                if series > 1 { ", summed" } else { "" }
            ),
            runs,
        })
    }

    /// The history as a thin grey line (broken at outages), and a dashed line at day 0 where
    /// the forecast starts.
    fn draw(&self, chart: &mut Chart, unit: TimeUnit, y_top: f64) -> Result<(), ChartError> {
        for run in &self.runs {
            chart.draw_series(LineSeries::new(
                run.iter().map(|&(t, v)| (t as f64 / unit.ms, v)),
                HISTORY.stroke_width(1),
            ))?;
        }
        chart.draw_series(DashedLineSeries::new(
            vec![(0.0, 0.0), (0.0, y_top)],
            5,
            5,
            HISTORY.stroke_width(2),
        ))?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// pool_idle.png

fn pool_idle_rgb(scenario: &Scenario, summary: &Summary) -> Result<Vec<u8>, ChartError> {
    render(|root| {
        let title = format!(
            "{}: idle addresses held in node pools, per zone (p10-p90 band, p50 line)",
            summary.scenario
        );
        let rest = titled(root, &title)?;
        let actions = action_markers(scenario, summary.horizon_ms);
        let mut entries: Vec<(Swatch, String)> = summary
            .zones
            .iter()
            .enumerate()
            .map(|(i, zone)| (Swatch::Line(PALETTE[i % PALETTE.len()]), zone.zone.clone()))
            .collect();
        if !actions.is_empty() {
            entries.push((Swatch::Dashed(ACTION), "operator action".into()));
        }
        let body = legend(&rest, &entries)?.margin(0, 6, 6, 6);
        let unit = time_unit(summary.horizon_ms);
        let x = xs(&summary.times_ms, unit);
        let peak = summary
            .zone_idle
            .iter()
            .flat_map(|sample| sample.iter().map(|s| s.p90))
            .max()
            .unwrap_or(0);
        let top = y_top(f64::from(peak));
        let mut chart = time_panel(
            &body,
            unit,
            summary.horizon_ms,
            &Panel {
                caption: "",
                y_top: top,
                y_desc: "idle addresses",
                x_desc: true,
                fonts: FONTS_LARGE,
            },
        )?;
        for zone in 0..summary.zones.len() {
            let series: Vec<Spread> = summary.zone_idle.iter().map(|s| s[zone]).collect();
            draw_spread(&mut chart, &x, &series, PALETTE[zone % PALETTE.len()], true)?;
        }
        draw_markers(&mut chart, &actions, unit, top, 20)?;
        Ok(())
    })
}

/// Encodes a `width x height` 8-bit RGB buffer as PNG.
///
/// Charts are flat areas, axis-parallel lines and text, so the Up filter alone turns most of
/// each row into zeros, and deflate's fastest level (1) then takes the long runs and repeats
/// well: the files are a third smaller than with the crate's `Compression::Fast` (fdeflate
/// with adaptive filters), in half the time. Higher levels or adaptive filters cut the size by
/// a quarter at two to three times the cost. Bytes depend only on the pixels and the locked
/// versions of `png` and its deflate backend (miniz_oxide through flate2).
fn encode_png(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>, ChartError> {
    let failed = |error: ::png::EncodingError| ChartError {
        message: format!("cannot encode the PNG: {error}"),
    };
    let mut out = Vec::new();
    let mut encoder = ::png::Encoder::new(&mut out, width, height);
    encoder.set_color(::png::ColorType::Rgb);
    encoder.set_depth(::png::BitDepth::Eight);
    encoder.set_deflate_compression(::png::DeflateCompression::Level(1));
    encoder.set_filter(::png::Filter::Up);
    let mut writer = encoder.write_header().map_err(failed)?;
    writer.write_image_data(rgb).map_err(failed)?;
    writer.finish().map_err(failed)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::sweep::sweep_rgb;
    use super::*;
    use crate::scenario::parse;

    const TINY: &str = r#"
[scenario]
name = "tiny"
horizon = "6h"
runs = 3
sample_interval = "5m"

[[vswitch]]
id = "vsw-a"
zone = "z-a"
cidr = "10.0.0.0/26"

[[vswitch]]
id = "vsw-b"
zone = "z-b"
cidr = "10.0.1.0/25"

[terway]
vswitches = { "z-a" = ["vsw-a"], "z-b" = ["vsw-b"] }

[[nodepool]]
name = "workers"
instance_type = "ecs.g7.xlarge"
zones = ["z-a", "z-b"]
nodes = 4
max_nodes = 8

[[workload]]
name = "web"
kind = "deployment"
cpu = "250m"
replicas = [["0h", 20], ["1h", 140], ["4h", 140], ["5h", 40]]

[[action]]
at = "3h"
add_vswitch = { id = "vsw-c", zone = "z-a", cidr = "10.0.2.0/24" }

[[action]]
at = "3h"
set_terway = { vswitches = { "z-a" = ["vsw-a", "vsw-c"], "z-b" = ["vsw-b"] } }

[[action]]
at = "3h 5m"
restart_terway = true
"#;

    fn run(text: &str) -> (Scenario, Summary) {
        let (scenario, _) = parse(Path::new("t.toml"), text).expect("a valid scenario");
        let runs = crate::sweep::run_all(&scenario, &|_| {});
        let summary = super::super::summarize(&scenario, &runs);
        (scenario, summary)
    }

    /// Decodes `bytes` with the `png` crate's decoder, which checks the signature, every
    /// chunk's CRC and the zlib checksum; returns the pixels after checking the header.
    fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let decoder = ::png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("a PNG header");
        let mut rgb = vec![0u8; reader.output_buffer_size().expect("a buffer size")];
        let frame = reader.next_frame(&mut rgb).expect("a PNG frame");
        assert_eq!(frame.color_type, ::png::ColorType::Rgb);
        assert_eq!(frame.bit_depth, ::png::BitDepth::Eight);
        rgb.truncate(frame.buffer_size());
        (frame.width, frame.height, rgb)
    }

    /// Decodes a chart: 1600x900, small enough to keep in a report folder.
    fn check_png(bytes: &[u8]) -> Vec<u8> {
        assert!(bytes.len() < 300_000, "size {}", bytes.len());
        let (width, height, rgb) = decode(bytes);
        assert_eq!((width, height), (WIDTH, HEIGHT));
        rgb
    }

    fn pixel(rgb: &[u8], x: u32, y: u32) -> [u8; 3] {
        let at = ((y * WIDTH + x) * 3) as usize;
        [rgb[at], rgb[at + 1], rgb[at + 2]]
    }

    /// Pixels that are not white.
    fn inked(rgb: &[u8]) -> usize {
        rgb.chunks(3).filter(|p| p != &[255, 255, 255]).count()
    }

    fn assert_drawn(rgb: &[u8]) {
        assert_eq!(rgb.len(), (WIDTH * HEIGHT * 3) as usize);
        // Axes, text and lines: well over 1% of the picture.
        assert!(inked(rgb) > 20_000, "only {} pixels inked", inked(rgb));
    }

    #[test]
    fn the_encoder_round_trips() {
        // Noise, runs and repeats, so literals, short and long matches all occur.
        let (width, height) = (37u32, 23u32);
        let mut state = 7u32;
        let rgb: Vec<u8> = (0..width * height * 3)
            .map(|i| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                if i % 97 < 40 {
                    255
                } else {
                    (state >> 24) as u8 & 0xf0
                }
            })
            .collect();
        let png = encode_png(width, height, &rgb).expect("encoded");
        assert_eq!(decode(&png), (width, height, rgb.clone()));
        assert_eq!(encode_png(width, height, &rgb).unwrap(), png);
    }

    #[test]
    fn a_buffer_of_the_wrong_size_is_an_error() {
        let error = encode_png(4, 4, &[0; 10]).unwrap_err();
        assert!(
            error.message.starts_with("cannot encode the PNG"),
            "{error}"
        );
    }

    #[test]
    fn run_charts_are_valid_deterministic_and_drawn() {
        let (scenario, summary) = run(TINY);
        let first = charts(&scenario, &summary).expect("charts");
        let names: Vec<&str> = first.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["vswitch_usage.png", "pods.png", "pool_idle.png"]);
        let drawn = [
            vswitch_usage_rgb(&scenario, &summary).unwrap(),
            pods_rgb(&scenario, &summary).unwrap(),
            pool_idle_rgb(&scenario, &summary).unwrap(),
        ];
        for ((name, bytes), drawn) in first.iter().zip(&drawn) {
            let rgb = check_png(bytes);
            assert_drawn(&rgb);
            // Lossless: the file holds exactly the pixels plotters drew.
            assert!(
                rgb == *drawn,
                "{name}: decoded pixels differ from the drawing"
            );
            // The corners are margin, left white.
            for (x, y) in [
                (0, 0),
                (WIDTH - 1, 0),
                (0, HEIGHT - 1),
                (WIDTH - 1, HEIGHT - 1),
            ] {
                assert_eq!(pixel(&rgb, x, y), [255, 255, 255], "{name} at ({x}, {y})");
            }
        }
        // The title is drawn in ink across the top strip.
        let title = check_png(&first[0].1);
        let inked_in_title = (0..52)
            .flat_map(|y| (0..WIDTH).map(move |x| (x, y)))
            .filter(|&(x, y)| pixel(&title, x, y) != [255, 255, 255])
            .count();
        assert!(inked_in_title > 500, "{inked_in_title} pixels of title");
        assert_eq!(charts(&scenario, &summary).expect("charts again"), first);
    }

    fn sweep_points() -> Vec<SweepPoint> {
        let point = |label: &str, p50: Option<Millis>, utilisation: f64| SweepPoint {
            label: label.into(),
            first_shortage_p10_ms: p50.map(|t| t * 8 / 10),
            first_shortage_p50_ms: p50,
            first_shortage_p90_ms: p50.and_then(|t| (t < 5 * DAY_MS).then_some(t * 12 / 10)),
            shortage_runs: if p50.is_some() { 0.9 } else { 0.1 },
            peak_used_p90: 240,
            peak_utilization_p90: utilisation,
            idle_at_peak_p50: 30,
            ip_wait_p50_ms: Some(1_300),
            ip_wait_p99_ms: Some(120_000),
            ip_wait: Default::default(),
        };
        vec![
            point("terway.max_pool_size=0", Some(6 * DAY_MS), 1.0),
            point(
                "terway.max_pool_size=5",
                Some(4 * DAY_MS + 3 * HOUR_MS),
                1.0,
            ),
            point(
                "terway.max_pool_size=5 vswitch.vsw-aaa.cidr=10.0.0.0/22 nodepool.workers.max_nodes=80",
                None,
                0.42,
            ),
            point("terway.max_pool_size=10", Some(2 * DAY_MS), 1.0),
        ]
    }

    #[test]
    fn sweep_chart_is_valid_deterministic_and_drawn() {
        let points = sweep_points();
        let bytes = sweep_chart("expansion", &points).expect("sweep chart");
        let rgb = check_png(&bytes);
        assert!(rgb == sweep_rgb("expansion", &points).unwrap());
        assert_drawn(&rgb);
        assert_eq!(sweep_chart("expansion", &points).unwrap(), bytes);
        // No point at all still gives a picture.
        check_png(&sweep_chart("empty", &[]).unwrap());
        let never: Vec<SweepPoint> = points
            .into_iter()
            .map(|p| SweepPoint {
                first_shortage_p10_ms: None,
                first_shortage_p50_ms: None,
                first_shortage_p90_ms: None,
                ..p
            })
            .collect();
        assert_drawn(&sweep_rgb("never", &never).unwrap());
    }

    #[test]
    fn time_axis_units_follow_the_horizon() {
        assert_eq!(time_unit(2 * DAY_MS).name, "days");
        assert_eq!(time_unit(2 * DAY_MS - 1).name, "hours");
        assert_eq!(time_unit(2 * HOUR_MS).name, "hours");
        assert_eq!(time_unit(2 * HOUR_MS - 1).name, "minutes");
    }

    #[test]
    fn close_actions_share_one_marker() {
        let (scenario, _) = parse(Path::new("t.toml"), TINY).unwrap();
        let markers = action_markers(&scenario, scenario.horizon_ms);
        assert_eq!(markers.len(), 1);
        assert_eq!(
            markers[0].lines,
            ["vSwitch added", "eni-config changed", "Terway restarted"]
        );
        assert_eq!(markers[0].at_ms, 3 * HOUR_MS);
    }

    #[test]
    fn at_most_twelve_panels_show_the_most_used() {
        let (_, mut summary) = run(TINY);
        let template = summary.vswitches[0].clone();
        summary.vswitches = (0..15).map(|i| VSwitchRowLike::row(&template, i)).collect();
        let shown = shown_vswitches(&summary);
        assert_eq!(shown.len(), MAX_PANELS);
        // Peak p90 grows with the index: the three least used (0, 1, 2) are left out.
        assert_eq!(shown, (3..15).collect::<Vec<_>>());
    }

    struct VSwitchRowLike;
    impl VSwitchRowLike {
        fn row(template: &super::super::VSwitchRow, i: u32) -> super::super::VSwitchRow {
            super::super::VSwitchRow {
                vswitch: format!("vsw-{i}"),
                peak_used_p90: i * 10,
                ..template.clone()
            }
        }
    }
}
