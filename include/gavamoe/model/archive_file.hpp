// LibTorch archives (optimizer state, VAE checkpoints) written the way every other output is:
// whole or not at all, and a full disk is one error line.
//
// LibTorch's stream writer reports a failed write by throwing from a destructor, which aborts
// the process; the archive is therefore serialised into memory first and then written through
// the project's atomic file.
#pragma once

#include <torch/serialize/output-archive.h>

#include <string>

namespace gavamoe {

// The archive's bytes (the zip LibTorch writes, readable by torch::load / InputArchive).
std::string archive_bytes(torch::serialize::OutputArchive& archive);
// Writes the archive to `path` atomically; errors name the file.
void save_archive(torch::serialize::OutputArchive& archive, const std::string& path);

}  // namespace gavamoe
