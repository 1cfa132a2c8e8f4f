// sinkscope-tokenize: encodes texts with a Hugging Face tokenizer.json and prints one JSON
// object per text (ids, tokens, byte offsets into the text, special-token positions).
//
//   sinkscope-tokenize --tokenizer <tokenizer.json | model dir> [--no-special] TEXT...
//   sinkscope-tokenize --tokenizer <...> --file F        (one text per line)
//
// A model directory also applies tokenizer_config.json (add_bos_token/add_eos_token). Errors go
// to stderr with exit status 1 (2 for bad command-line usage); output already printed for
// earlier texts stays on stdout.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/status.h"
#include "models/tokenizer/tokenizer.h"

namespace sinkscope {
namespace {

struct Args {
  std::string tokenizer;
  bool no_special = false;
  std::string file;
  std::vector<std::string> texts;
};

StatusOr<std::vector<std::string>> ReadLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("--file {}: cannot open", path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

Status Run(const Args& args) {
  std::error_code ec;
  const std::filesystem::path path(args.tokenizer);
  auto tok = std::filesystem::is_directory(path, ec) ? tokenizer::Tokenizer::FromDirectory(path)
                                                     : tokenizer::Tokenizer::FromFile(path);
  if (!tok.ok()) return tok.status();
  std::vector<std::string> texts = args.texts;
  if (!args.file.empty()) {
    ASSIGN_OR_RETURN(std::vector<std::string> lines, ReadLines(args.file));
    texts.insert(texts.end(), lines.begin(), lines.end());
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    auto enc = tok->Encode(texts[i], !args.no_special);
    if (!enc.ok()) return enc.status().WithContext(fmt::format("text {}", i));
    nlohmann::json out;
    out["ids"] = enc->ids;
    out["tokens"] = nlohmann::json::array();
    for (const auto& t : enc->tokens) {
      // Byte-level tokens are valid UTF-8; a <0xXX>-style token too. Guard anyway: dump()
      // throws on invalid UTF-8.
      out["tokens"].push_back(t);
    }
    out["offsets"] = nlohmann::json::array();
    for (const auto& [b, e] : enc->offsets) out["offsets"].push_back({b, e});
    out["special_positions"] = enc->special_positions;
    std::string line = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  std::fflush(stdout);
  return OkStatus();
}

}  // namespace
}  // namespace sinkscope

int main(int argc, char** argv) {
  sinkscope::Args args;
  CLI::App app{"Encode texts with a Hugging Face tokenizer.json; one JSON object per text."};
  app.add_option("--tokenizer", args.tokenizer, "tokenizer.json or a model directory")->required();
  app.add_flag("--no-special", args.no_special, "do not add the template's special tokens");
  app.add_option("--file", args.file, "a file with one text per line");
  app.add_option("texts", args.texts, "texts to encode");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (args.texts.empty() && args.file.empty()) {
    std::fprintf(stderr, "sinkscope-tokenize: give TEXT arguments or --file\n");
    return 2;
  }
  const sinkscope::Status s = sinkscope::Run(args);
  if (!s.ok()) {
    std::fprintf(stderr, "sinkscope-tokenize: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
