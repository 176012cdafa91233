// The Python of the test venv (torch, transformers, safetensors, sentencepiece), used to check
// this library against the reference implementations. GAVAMOE_PYTHON names it; otherwise
// ~/.cache/gavamoe/venv/bin/python when it exists. "" means: skip the cross-check.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace gavamoe::test {

inline std::string venv_python() {
  if (const char* python = std::getenv("GAVAMOE_PYTHON")) return python;
  const char* home = std::getenv("HOME");
  if (!home) return "";
  const std::string path = std::string(home) + "/.cache/gavamoe/venv/bin/python";
  return std::filesystem::exists(path) ? path : "";
}

}  // namespace gavamoe::test
