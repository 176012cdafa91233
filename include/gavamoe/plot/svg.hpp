// Small self-contained SVG charts: a scatter plot and a line chart with axes, ticks, labels
// and a legend. Plain C++; the output is a complete SVG document any browser shows.
//
// Coordinates are data units; the axes span the finite points of all series (NaN and inf
// points are skipped) with a little padding. Series colours come from `palette`.
#pragma once

#include <string>
#include <vector>

namespace gavamoe::plot {

enum class Marker { circle, square, triangle, cross };

struct ScatterSeries {
  std::string label;
  std::vector<double> x, y;
  std::string color;  // any SVG colour
  Marker marker = Marker::circle;
  double size = 2.5;  // marker radius in pixels
  double opacity = 0.6;
};

struct LineSeries {
  std::string label;
  std::vector<double> x, y;
  std::string color;
  bool dashed = false;
};

struct ChartOptions {
  std::string title;
  std::string x_label;
  std::string y_label;
  int width = 760;
  int height = 500;
};

// Ten well-separated colours, repeating.
const std::string& palette(size_t index);

std::string scatter_svg(const std::vector<ScatterSeries>& series, const ChartOptions& options);
std::string line_chart_svg(const std::vector<LineSeries>& series, const ChartOptions& options);

}  // namespace gavamoe::plot
