// The metrics object of evaluate.hpp as a plain-text table for the terminal.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace gavamoe::eval {

// One line per metric: name, value (4 decimals, as the PEPLER logs print them; n as an
// integer) and what it measures.
std::string format_metrics_table(const nlohmann::ordered_json& metrics);

}  // namespace gavamoe::eval
