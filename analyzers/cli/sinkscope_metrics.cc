// sinkscope-metrics: sinkscope's analyzers on matrices from files, results as JSON on stdout.
//
//   sinkscope-metrics ph FILE …           persistent homology (see ph_command.cc)
//   sinkscope-metrics topology FILE …     topology metrics of attention (topology_command.cc)
//   sinkscope-metrics rmt FILE …          random-matrix metrics (see rmt_command.cc)
//   sinkscope-metrics spectral FILE …     Laplacian spectra, star statistics (spectral_command.cc)
//   sinkscope-metrics sink LAYER_FILE …   attention-sink metrics of one sentence (sink_command.cc)
//   sinkscope-metrics massive FILE        massive activations of hidden states (sink_command.cc)
//   sinkscope-metrics kl FILE …           inter-head KL, sink removal, attention-logit Fisher
//                                         trace (infogeo_command.cc)
//   sinkscope-metrics fisher GRADS.json   layer-wise empirical Fisher of the parameters
//                                         (fisher_command.cc)
//   sinkscope-metrics value A X Y         attention–value geometry (value_command.cc)
//   sinkscope-metrics reference-point A V reference-point metrics (value_command.cc)
//   sinkscope-metrics ablation-effect BASE ABLATED --layer L   attention change after an MLP
//   ablation; sinkscope-metrics mlp-subspace RUN --layer L --out dirs.npy (ablation_command.cc)
//
// Matrices come as NumPy .npy (2-D, or 3-D for a layer's heads), CSV, or ripser's text formats.
// Errors go to stderr with the file name; the exit status is 1 (2 for bad usage).
#include <CLI/CLI.hpp>

#include "analyzers/cli/commands.h"
#include "core/allocator.h"

int main(int argc, char** argv) {
  sinkscope::RetainFreedMemoryForReuse();
  CLI::App app{"sinkscope analyzers on matrices from files; JSON on stdout"};
  app.require_subcommand(1);
  sinkscope::cli::AddPhCommand(app);
  sinkscope::cli::AddTopologyCommand(app);
  sinkscope::cli::AddRmtCommand(app);
  sinkscope::cli::AddSpectralCommand(app);
  sinkscope::cli::AddSinkCommands(app);
  sinkscope::cli::AddKlCommand(app);
  sinkscope::cli::AddFisherCommand(app);
  sinkscope::cli::AddValueCommands(app);
  sinkscope::cli::AddAblationCommands(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
