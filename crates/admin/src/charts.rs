//! Bar charts as SVG, drawn on the server with plotters' SVG backend (no script, no fonts to
//! ship: the text is SVG `<text>` the browser renders).

use plaza_kernel::admin::Point;
use plotters::prelude::*;

/// Width and height of a chart, in SVG units (the stylesheet scales it to its box).
const SIZE: (u32, u32) = (420, 220);

/// A bar per day of `points`, labelled with the day of the month, values in `unit` (money with
/// cents, counts whole); `None` when plotters fails.
pub fn bars(points: &[Point], unit: &str) -> Option<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let max = points
            .iter()
            .map(|p| p.value)
            .fold(0.0_f64, f64::max)
            .max(1.0);
        let n = points.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(48)
            .build_cartesian_2d(0.0..n as f64, 0.0..max * 1.1)
            .ok()?;
        let label = |x: &f64| {
            let i = x.floor();
            if i < 0.0 || (x - i).abs() > f64::EPSILON {
                return String::new();
            }
            // `i` is a small non-negative integer here.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let index = i as usize;
            points
                .get(index)
                .map(|p| p.day.format("%d %b").to_string())
                .unwrap_or_default()
        };
        let money = unit == "USD";
        let value = |y: &f64| {
            if money {
                format!("{y:.2}")
            } else if (y - y.round()).abs() < 1e-9 {
                format!("{y:.0}")
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.min(7))
            .x_label_formatter(&label)
            .y_labels(5)
            .y_label_formatter(&value)
            .label_style(("sans-serif", 15))
            .draw()
            .ok()?;
        let color = RGBColor(44, 110, 170);
        chart
            .draw_series(points.iter().enumerate().map(|(i, p)| {
                #[allow(clippy::cast_precision_loss)]
                let x = i as f64;
                Rectangle::new([(x + 0.15, 0.0), (x + 0.85, p.value)], color.filled())
            }))
            .ok()?;
        root.present().ok()?;
    }
    Some(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_an_svg_with_a_bar_per_day() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default();
        let points: Vec<Point> = (0..3)
            .map(|i| Point {
                day: day + chrono::Days::new(i),
                value: (i + 1) as f64,
            })
            .collect();
        let svg = bars(&points, "posts").unwrap_or_default();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.matches("<rect").count() >= 3, "{svg}");
    }
}
