// The subcommands of sinkscope-metrics, one file each (ph_command.cc, …). Each Add*Command
// registers its CLI11 subcommand with a callback that prints JSON on stdout, or reports the error
// on stderr and exits with status 1 (cli::Fail).
#pragma once

#include <CLI/CLI.hpp>

namespace sinkscope::cli {

/// `ph`: persistent homology of a distance matrix; the ripser-comparable contract of issue 4.
void AddPhCommand(CLI::App& app);

/// `topology`: CORRECTED or PAPER topology metrics of attention matrices (topology_command.cc).
void AddTopologyCommand(CLI::App& app);
/// `rmt`: singular-value spectra, Marchenko-Pastur fit, sink concentration and row entropy of
/// attention matrices (CORRECTED or PAPER mode; rmt_command.cc).
void AddRmtCommand(CLI::App& app);
/// `spectral`: Laplacian spectra and star statistics of attention graphs (CORRECTED or PAPER).
void AddSpectralCommand(CLI::App& app);

/// `sink` (attention-sink metrics of one sentence) and `massive` (massive activations).
void AddSinkCommands(CLI::App& app);

/// `kl`: inter-head KL, sink removal and the attention-logit Fisher trace.
void AddKlCommand(CLI::App& app);

/// `fisher`: layer-wise empirical Fisher trace of the parameters from per-sentence gradient
/// norms (sinkscope-run --parameter-gradients; fisher_command.cc).
void AddFisherCommand(CLI::App& app);

/// `value` (attention–value geometry) and `reference-point`.
void AddValueCommands(CLI::App& app);

/// `ablation-effect` (attention change after an MLP-output ablation) and `mlp-subspace` (top-r
/// directions of a token's MLP outputs, written for sinkscope-run; ablation_command.cc).
void AddAblationCommands(CLI::App& app);

}  // namespace sinkscope::cli
