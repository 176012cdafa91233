// gavamoe: one binary, one subcommand per stage of the pipeline.
//
//   data        make, import and inspect datasets; train tokenizers
//   pretrain-vae  cluster (user, item) pairs with the VAE-GMM
//   train       train the cluster-gated mixture-of-experts explainer
//   infer       generate explanations for a data subset
//   retrieve    the retrieval baseline's explanations for a data subset
//   eval        BLEU, ROUGE and explainability metrics
//   generate    run a plain Hugging Face Llama folder on a prompt
//   export      write a trained model back in the Hugging Face layout
//   rec         RecExplainer's target recommenders: train, eval, label
//
// Every user error is one line on stderr and exit code 2. A training stopped by SIGINT or SIGTERM
// (with a checkpoint) says so in one line and exits as the shell reports the signal (130, 143).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "gavamoe/cli/command.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/interrupt.hpp"
#include "gavamoe/core/log.hpp"

namespace gavamoe::cli {
void register_data(CLI::App& root, CommonOptions& common);
void register_eval(CLI::App& root, CommonOptions& common);
void register_pretrain_vae(CLI::App& root, CommonOptions& common);
void register_generate(CLI::App& root, CommonOptions& common);
void register_train(CLI::App& root, CommonOptions& common);
void register_export(CLI::App& root, CommonOptions& common);
void register_infer(CLI::App& root, CommonOptions& common);
void register_retrieve(CLI::App& root, CommonOptions& common);
void register_rec(CLI::App& root, CommonOptions& common);
void register_align(CLI::App& root, CommonOptions& common);
}  // namespace gavamoe::cli

namespace {

constexpr int kUserErrorExit = 2;

}  // namespace

int main(int argc, char** argv) {
  using namespace gavamoe;
  CLI::App app{"gavamoe: personalised explanations from a cluster-gated mixture-of-experts Llama"};
  app.set_version_flag("--version", "gavamoe 0.1.0");
  app.require_subcommand(1);
  // One line, as every other user error: CLI11's default adds a second one pointing at --help.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string(e.what()) + " (see --help)\n";
  });
  cli::CommonOptions common;
  common.argv.assign(argv, argv + argc);
  cli::register_data(app, common);
  cli::register_pretrain_vae(app, common);
  cli::register_train(app, common);
  cli::register_infer(app, common);
  cli::register_retrieve(app, common);
  cli::register_rec(app, common);
  cli::register_align(app, common);
  cli::register_eval(app, common);
  cli::register_generate(app, common);
  cli::register_export(app, common);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kUserErrorExit;
  } catch (const cli::CommandStatus& status) {
    return status.code;
  } catch (const Interrupted& e) {
    if (*e.what()) log::error("%s", e.what());  // empty: a rank other than 0
    return e.exit_code();
  } catch (const Error& e) {
    log::error("%s", e.what());
    return kUserErrorExit;
  } catch (const std::bad_alloc&) {
    log::error("out of memory");
    return kUserErrorExit;
  } catch (const std::exception& e) {
    log::error("internal error: %s", e.what());
    return 1;
  }
  return 0;
}
