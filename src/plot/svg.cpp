// SVG scatter and line charts (see svg.hpp). Pixel space: origin top-left, y grows down.
#include "gavamoe/plot/svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace gavamoe::plot {
namespace {

constexpr double kLeft = 70, kRight = 170, kTop = 40, kBottom = 55;  // margins, pixels
constexpr int kTicks = 5;

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", std::abs(value) < 1e-12 ? 0.0 : value);
  return buffer;
}

std::string pixel(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", value);
  return buffer;
}

struct Range {
  double low = std::numeric_limits<double>::infinity();
  double high = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    low = std::min(low, v);
    high = std::max(high, v);
  }
  // Empty or flat ranges get a unit span; others 4% padding on each side.
  void finish() {
    if (low > high) low = 0, high = 1;
    if (high - low < 1e-12) low -= 0.5, high += 0.5;
    const double pad = 0.04 * (high - low);
    low -= pad;
    high += pad;
  }
};

// A round tick step (1, 2 or 5 times a power of ten) giving about kTicks ticks.
double tick_step(const Range& r) {
  const double raw = (r.high - r.low) / kTicks;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (raw <= m * power) return m * power;
  return 10 * power;
}

// Frame, grid, ticks, axis labels and title around the plot area; maps data to pixels.
class Canvas {
 public:
  Canvas(const ChartOptions& options, Range x, Range y) : o_(options), x_(x), y_(y) {
    x_.finish();
    y_.finish();
    out_ << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << o_.width << "\" height=\""
         << o_.height << "\" viewBox=\"0 0 " << o_.width << " " << o_.height
         << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
         << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    const double right = o_.width - kRight, bottom = o_.height - kBottom;
    for (int axis = 0; axis < 2; ++axis) {
      const Range& r = axis == 0 ? x_ : y_;
      const double step = tick_step(r);
      for (double t = std::ceil(r.low / step) * step; t <= r.high; t += step) {
        if (axis == 0) {
          const std::string px = pixel(px_x(t));
          out_ << "<line x1=\"" << px << "\" y1=\"" << kTop << "\" x2=\"" << px << "\" y2=\""
               << bottom << "\" stroke=\"#e5e5e5\"/>\n<text x=\"" << px << "\" y=\"" << bottom + 16
               << "\" text-anchor=\"middle\">" << number(t) << "</text>\n";
        } else {
          const std::string py = pixel(px_y(t));
          out_ << "<line x1=\"" << kLeft << "\" y1=\"" << py << "\" x2=\"" << right << "\" y2=\""
               << py << "\" stroke=\"#e5e5e5\"/>\n<text x=\"" << kLeft - 6 << "\" y=\"" << py
               << "\" dy=\"4\" text-anchor=\"end\">" << number(t) << "</text>\n";
        }
      }
    }
    out_ << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << right - kLeft
         << "\" height=\"" << bottom - kTop << "\" fill=\"none\" stroke=\"#333\"/>\n"
         << "<text x=\"" << (kLeft + right) / 2 << "\" y=\"" << kTop - 14
         << "\" text-anchor=\"middle\" font-size=\"15\">" << escape(o_.title) << "</text>\n"
         << "<text x=\"" << (kLeft + right) / 2 << "\" y=\"" << o_.height - 12
         << "\" text-anchor=\"middle\">" << escape(o_.x_label) << "</text>\n"
         << "<text transform=\"translate(18," << (kTop + bottom) / 2
         << ") rotate(-90)\" text-anchor=\"middle\">" << escape(o_.y_label) << "</text>\n";
  }

  double px_x(double v) const {
    return kLeft + (v - x_.low) / (x_.high - x_.low) * (o_.width - kRight - kLeft);
  }
  double px_y(double v) const {
    return o_.height - kBottom - (v - y_.low) / (y_.high - y_.low) * (o_.height - kBottom - kTop);
  }
  std::ostringstream& out() { return out_; }

  // One legend row: a sample drawn by `sample(x, y)` and the label.
  template <typename Sample>
  void legend(size_t row, const std::string& label, Sample sample) {
    const double x = o_.width - kRight + 16, y = kTop + 10 + 20.0 * row;
    sample(x, y);
    out_ << "<text x=\"" << x + 22 << "\" y=\"" << y << "\" dy=\"4\">" << escape(label)
         << "</text>\n";
  }

  std::string finish() {
    out_ << "</svg>\n";
    return out_.str();
  }

 private:
  ChartOptions o_;
  Range x_, y_;
  std::ostringstream out_;
};

void draw_marker(std::ostringstream& out, Marker marker, double x, double y, double size,
                 const std::string& color, double opacity) {
  const std::string style =
      "fill=\"" + color + "\" fill-opacity=\"" + number(opacity) + "\" stroke=\"none\"";
  switch (marker) {
    case Marker::circle:
      out << "<circle cx=\"" << pixel(x) << "\" cy=\"" << pixel(y) << "\" r=\"" << number(size)
          << "\" " << style << "/>\n";
      break;
    case Marker::square:
      out << "<rect x=\"" << pixel(x - size) << "\" y=\"" << pixel(y - size) << "\" width=\""
          << number(2 * size) << "\" height=\"" << number(2 * size) << "\" " << style << "/>\n";
      break;
    case Marker::triangle:
      out << "<polygon points=\"" << pixel(x) << "," << pixel(y - size) << " " << pixel(x - size)
          << "," << pixel(y + size) << " " << pixel(x + size) << "," << pixel(y + size) << "\" "
          << style << "/>\n";
      break;
    case Marker::cross:
      out << "<path d=\"M" << pixel(x - size) << " " << pixel(y - size) << "L" << pixel(x + size)
          << " " << pixel(y + size) << "M" << pixel(x - size) << " " << pixel(y + size) << "L"
          << pixel(x + size) << " " << pixel(y - size) << "\" stroke=\"" << color
          << "\" stroke-width=\"2.5\" stroke-opacity=\"" << number(opacity) << "\"/>\n";
      break;
  }
}

}  // namespace

const std::string& palette(size_t index) {
  static const std::string colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return colours[index % 10];
}

std::string scatter_svg(const std::vector<ScatterSeries>& series, const ChartOptions& options) {
  Range x, y;
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) x.add(s.x[i]), y.add(s.y[i]);
  Canvas canvas(options, x, y);
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i]))
        draw_marker(canvas.out(), s.marker, canvas.px_x(s.x[i]), canvas.px_y(s.y[i]), s.size,
                    s.color, s.opacity);
    canvas.legend(k, s.label, [&](double lx, double ly) {
      draw_marker(canvas.out(), s.marker, lx + 8, ly, std::max(4.0, s.size), s.color, 1.0);
    });
  }
  return canvas.finish();
}

std::string line_chart_svg(const std::vector<LineSeries>& series, const ChartOptions& options) {
  Range x, y;
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) x.add(s.x[i]), y.add(s.y[i]);
  Canvas canvas(options, x, y);
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const std::string dash = s.dashed ? " stroke-dasharray=\"6 4\"" : "";
    std::string points;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i]))
        points += pixel(canvas.px_x(s.x[i])) + "," + pixel(canvas.px_y(s.y[i])) + " ";
    canvas.out() << "<polyline points=\"" << points << "\" fill=\"none\" stroke=\"" << s.color
                 << "\" stroke-width=\"2\"" << dash << "/>\n";
    canvas.legend(k, s.label, [&](double lx, double ly) {
      canvas.out() << "<line x1=\"" << lx << "\" y1=\"" << ly << "\" x2=\"" << lx + 16 << "\" y2=\""
                   << ly << "\" stroke=\"" << s.color << "\" stroke-width=\"2\"" << dash << "/>\n";
    });
  }
  return canvas.finish();
}

}  // namespace gavamoe::plot
