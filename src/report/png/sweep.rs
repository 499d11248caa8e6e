//! `sweep.png`: per combination of a sweep, the first shortage (p50 with a p10-p90 whisker) and
//! the peak vSwitch utilisation (p90), with a key of the combinations under the bars.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    Area, Chart, ChartError, GRID, INK, LIMIT, NEVER, Swatch, WIDTH, anchored, darker, font,
    legend, no_data, render, text_width, tick, time_unit, titled,
};
use crate::report::SweepPoint;
use crate::scenario::{DAY_MS, Millis, human_duration};

const BAR: RGBColor = RGBColor(31, 119, 180);
const UTIL: RGBColor = RGBColor(44, 160, 44);

/// Shortens `text` with an ellipsis until it fits `width` pixels.
fn fit_text(area: &Area, text: &str, size: u32, width: i32) -> Result<String, ChartError> {
    if text_width(area, text, size)? <= width {
        return Ok(text.to_string());
    }
    let chars: Vec<char> = text.chars().collect();
    let mut keep = chars.len();
    while keep > 1 {
        keep -= 1;
        let candidate: String = chars[..keep].iter().collect::<String>() + "…";
        if text_width(area, &candidate, size)? <= width {
            return Ok(candidate);
        }
    }
    Ok("…".into())
}

/// The key under the sweep bars: "1: label" per combination.
struct SweepKey {
    header: Option<String>,
    entries: Vec<String>,
    columns: usize,
    size: u32,
}

/// When every label is `key=value` pairs with the same keys in the same order: the keys and,
/// per label, the values.
fn factor_labels(points: &[SweepPoint]) -> Option<(Vec<String>, Vec<Vec<String>>)> {
    let split = |label: &str| -> Option<Vec<(String, String)>> {
        label
            .split_whitespace()
            .map(|pair| {
                pair.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect()
    };
    let first = split(&points.first()?.label)?;
    let keys: Vec<String> = first.iter().map(|(k, _)| k.clone()).collect();
    if keys.is_empty() {
        return None;
    }
    let mut values = Vec::new();
    for point in points {
        let pairs = split(&point.label)?;
        if pairs.iter().map(|(k, _)| k).ne(keys.iter()) {
            return None;
        }
        values.push(pairs.into_iter().map(|(_, v)| v).collect());
    }
    Some((keys, values))
}

/// Chooses the key's form, font size and columns: the largest font at which the full labels,
/// or else the values under a header naming the keys, fit in at most four columns and
/// `max_height` pixels; failing that, the smallest font in four columns, shortened.
fn sweep_key(area: &Area, points: &[SweepPoint], max_height: i32) -> Result<SweepKey, ChartError> {
    let full: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{}: {}", i + 1, p.label))
        .collect();
    let mut forms = vec![(None, full)];
    if let Some((keys, values)) = factor_labels(points) {
        forms.push((
            Some(format!("combination: {}", keys.join(", "))),
            values
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{}: {}", i + 1, v.join(", ")))
                .collect(),
        ));
    }
    for size in (14..=20).rev() {
        for (header, entries) in &forms {
            for columns in 1..=4usize {
                let rows = header.iter().count() + entries.len().div_ceil(columns);
                if (size as i32 + 6) * rows as i32 + 20 > max_height {
                    continue;
                }
                let column_width = (WIDTH as i32 - 80) / columns as i32;
                let mut fits = match header {
                    Some(header) => text_width(area, header, size)? <= WIDTH as i32 - 80,
                    None => true,
                };
                for entry in entries {
                    fits = fits && text_width(area, entry, size)? <= column_width - 20;
                }
                if fits {
                    return Ok(SweepKey {
                        header: header.clone(),
                        entries: entries.clone(),
                        columns,
                        size,
                    });
                }
            }
        }
    }
    // Too many to list: the smallest font, four columns, as many as fit.
    let (header, mut entries) = forms.pop().expect("a form");
    let size = 13u32;
    let columns = 4;
    let rows = ((max_height - 20) / (size as i32 + 6)).max(2) as usize - header.iter().count();
    if entries.len() > rows * columns {
        let shown = rows * columns - 1;
        let more = entries.len() - shown;
        entries.truncate(shown);
        entries.push(format!("... {more} more in sweep.csv"));
    }
    Ok(SweepKey {
        header,
        entries,
        columns,
        size,
    })
}

pub(super) fn sweep_rgb(scenario_name: &str, points: &[SweepPoint]) -> Result<Vec<u8>, ChartError> {
    render(|root| {
        let title = format!(
            "{scenario_name}: what-if sweep, {} combinations",
            points.len()
        );
        let rest = titled(root, &title)?;
        let entries = vec![
            (
                Swatch::Bar(BAR),
                "first shortage p50 (whisker: p10-p90)".to_string(),
            ),
            (Swatch::Bar(NEVER), "never short (p50)".to_string()),
            (
                Swatch::Bar(UTIL),
                "peak vSwitch utilisation p90".to_string(),
            ),
        ];
        let body = legend(&rest, &entries)?;
        if points.is_empty() {
            return no_data(&body, "no sweep points");
        }
        let body_height = body.dim_in_pixel().1 as i32;
        let key = sweep_key(&body, points, body_height * 2 / 5)?;
        let key_row = key.size as i32 + 6;
        let rows = key.header.iter().count() + key.entries.len().div_ceil(key.columns);
        let key_height = key_row * rows as i32 + 20;
        let (plots, key_area) = body.split_vertically(body_height - key_height);
        let column_width = (WIDTH as i32 - 80) / key.columns as i32;
        let mut y = 12;
        if let Some(header) = &key.header {
            let text = fit_text(&key_area, header, key.size, WIDTH as i32 - 80)?;
            key_area.draw(&Text::new(
                text,
                (40, y),
                anchored(key.size, HPos::Left, VPos::Top),
            ))?;
            y += key_row;
        }
        let per_column = key.entries.len().div_ceil(key.columns);
        for (index, entry) in key.entries.iter().enumerate() {
            let column = index / per_column;
            let row = index % per_column;
            let text = fit_text(&key_area, entry, key.size, column_width - 20)?;
            key_area.draw(&Text::new(
                text,
                (40 + column as i32 * column_width, y + row as i32 * key_row),
                anchored(key.size, HPos::Left, VPos::Top),
            ))?;
        }
        let (left, right) = plots.split_horizontally(WIDTH / 2);
        sweep_shortage_panel(&left, points)?;
        sweep_utilisation_panel(&right, points)?;
        Ok(())
    })
}

/// Category labels "1".."n" under the bars of a sweep panel.
fn category_labels(area: &Area, chart: &Chart, count: usize) -> Result<(), ChartError> {
    let base = area.get_base_pixel();
    let size = if count > 30 {
        14
    } else if count > 16 {
        17
    } else {
        20
    };
    let step = if count > 60 { count.div_ceil(30) } else { 1 };
    for index in (0..count).step_by(step) {
        let (px, py) = chart.backend_coord(&(index as f64 + 1.0, 0.0));
        area.draw(&Text::new(
            format!("{}", index + 1),
            (px - base.0, py - base.1 + 8),
            anchored(size, HPos::Center, VPos::Top),
        ))?;
    }
    Ok(())
}

fn category_panel<'a, 'b>(
    area: &'a Area<'b>,
    caption: &str,
    count: usize,
    y_max: f64,
    y_desc: &str,
    y_format: &dyn Fn(&f64) -> String,
) -> Result<Chart<'a, 'b>, ChartError> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, font(24))
        .margin_top(6)
        .margin_left(10)
        .margin_right(24)
        .x_label_area_size(64)
        .y_label_area_size(100)
        .build_cartesian_2d(0.4f64..count as f64 + 0.6, 0f64..y_max)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(7)
        .y_label_formatter(y_format)
        .x_desc("combination (see the key below)")
        .y_desc(y_desc)
        .label_style(font(20))
        .axis_desc_style(font(21))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(INK.stroke_width(1))
        .draw()?;
    category_labels(area, &chart, count)?;
    Ok(chart)
}

fn bar_half_width(count: usize) -> f64 {
    if count == 1 { 0.25 } else { 0.36 }
}

fn sweep_shortage_panel(area: &Area, points: &[SweepPoint]) -> Result<(), ChartError> {
    let finite = points
        .iter()
        .flat_map(|p| {
            [
                p.first_shortage_p10_ms,
                p.first_shortage_p50_ms,
                p.first_shortage_p90_ms,
            ]
        })
        .flatten()
        .max();
    let unit = time_unit(finite.unwrap_or(2 * DAY_MS));
    let finite_max = finite.map_or(1.0, |t| t as f64 / unit.ms).max(1e-3);
    // "never" bars reach the top band of the axis.
    let never = finite_max * 1.18;
    let y_max = finite_max * 1.32;
    let desc = format!("first shortage ({} from start)", unit.name);
    let chart_caption = "first shortage in any zone";
    let mut chart = category_panel(area, chart_caption, points.len(), y_max, &desc, &|v| {
        if *v > finite_max * 1.09 {
            String::new()
        } else {
            tick(*v)
        }
    })?;
    let half = bar_half_width(points.len());
    let at = |t: Option<Millis>| t.map_or(never, |t| t as f64 / unit.ms);
    // A light band marks "never" at the top of the axis.
    chart.draw_series(DashedLineSeries::new(
        vec![(0.4, never), (points.len() as f64 + 0.6, never)],
        8,
        6,
        NEVER.stroke_width(2),
    ))?;
    chart.draw_series(std::iter::once(
        EmptyElement::at((0.4, never))
            + Text::new(
                "never",
                (8, -4),
                anchored(20, HPos::Left, VPos::Bottom).color(&RGBColor(110, 110, 110)),
            ),
    ))?;
    for (index, point) in points.iter().enumerate() {
        let x = index as f64 + 1.0;
        let value = at(point.first_shortage_p50_ms);
        let color = if point.first_shortage_p50_ms.is_some() {
            BAR
        } else {
            NEVER
        };
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x - half, 0.0), (x + half, value)],
            color.filled(),
        )))?;
        let (low, high) = (
            at(point.first_shortage_p10_ms),
            at(point.first_shortage_p90_ms),
        );
        let label_at = if point.first_shortage_p10_ms.is_some() {
            value.max(high)
        } else {
            value
        };
        if point.first_shortage_p10_ms.is_some() && points.len() <= 40 {
            let whisker = INK.stroke_width(2);
            let cap = half * 0.45;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x, low), (x, high)],
                whisker,
            )))?;
            for y in [low, high] {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(x - cap, y), (x + cap, y)],
                    whisker,
                )))?;
            }
        }
        if points.len() <= 16 {
            let text = point
                .first_shortage_p50_ms
                .map_or_else(|| "never".to_string(), human_duration);
            chart.draw_series(std::iter::once(
                EmptyElement::at((x, label_at))
                    + Text::new(text, (0, -6), anchored(18, HPos::Center, VPos::Bottom)),
            ))?;
        }
    }
    Ok(())
}

fn sweep_utilisation_panel(area: &Area, points: &[SweepPoint]) -> Result<(), ChartError> {
    let peak = points
        .iter()
        .map(|p| p.peak_utilization_p90 * 100.0)
        .fold(0.0, f64::max);
    let y_max = (peak * 1.15).max(115.0);
    let mut chart = category_panel(
        area,
        "peak vSwitch utilisation (fullest vSwitch, p90 run)",
        points.len(),
        y_max,
        "peak used / usable (%)",
        &|v| format!("{}%", tick(*v)),
    )?;
    chart.draw_series(DashedLineSeries::new(
        vec![(0.4, 100.0), (points.len() as f64 + 0.6, 100.0)],
        12,
        7,
        LIMIT.stroke_width(2),
    ))?;
    chart.draw_series(std::iter::once(
        EmptyElement::at((points.len() as f64 + 0.6, 100.0))
            + Text::new(
                "full",
                (-6, -4),
                anchored(20, HPos::Right, VPos::Bottom).color(&darker(LIMIT)),
            ),
    ))?;
    let half = bar_half_width(points.len());
    for (index, point) in points.iter().enumerate() {
        let x = index as f64 + 1.0;
        let value = point.peak_utilization_p90 * 100.0;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x - half, 0.0), (x + half, value)],
            UTIL.filled(),
        )))?;
        if points.len() <= 16 {
            chart.draw_series(std::iter::once(
                EmptyElement::at((x, value))
                    + Text::new(
                        format!("{value:.0}%"),
                        (0, -6),
                        anchored(18, HPos::Center, VPos::Bottom),
                    ),
            ))?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// PNG encoding
