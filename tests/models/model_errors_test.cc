// Bad input to the runtime gets a clear status, never a crash: impossible configs, mismatched
// checkpoints, bad token ids, empty or over-long input, bad interventions; plus cancellation
// through the visitor and reduced-precision loading.
#include <fstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/formats/checkpoint.h"
#include "models/model.h"
#include "tests/models/model_test_util.h"
#include "tests/support/test_support.h"

namespace sinkscope::models {
namespace {

namespace fs = std::filesystem;
using sinkscope::testing::TempDir;

fs::path Tiny(const std::string& name) {
  return sinkscope::testing::FixturesDir() / "tiny" / name;
}

nlohmann::json ReadConfig(const std::string& name) {
  std::ifstream in(Tiny(name) / "config.json");
  return nlohmann::json::parse(in);
}

// A copy of a tiny fixture model with its config edited and/or its tensors edited.
fs::path MakeVariant(const TempDir& tmp, const std::string& name, const nlohmann::json& config,
                     const std::function<void(formats::TensorMap&)>& edit_tensors = nullptr) {
  const fs::path dir = tmp.path() / "model";
  fs::create_directories(dir);
  sinkscope::testing::WriteFile(dir / "config.json", config.dump(2));
  auto tensors = formats::ReadSafetensors(Tiny(name) / "model.safetensors");
  EXPECT_TRUE(tensors.ok()) << tensors.status().ToString();
  if (edit_tensors) edit_tensors(*tensors);
  std::vector<std::pair<std::string, at::Tensor>> list(tensors->begin(), tensors->end());
  EXPECT_TRUE(formats::WriteSafetensors(dir / "model.safetensors", list).ok());
  return dir;
}

void ExpectError(const Status& status, StatusCode code, const std::string& fragment) {
  EXPECT_EQ(status.code(), code) << status.ToString();
  EXPECT_NE(status.message().find(fragment), std::string::npos)
      << "message '" << status.message() << "' lacks '" << fragment << "'";
}

struct ConfigCase {
  const char* name;
  const char* fixture;
  std::function<void(nlohmann::json&)> edit;
  StatusCode code;
  const char* fragment;
};

TEST(ModelErrorsTest, ImpossibleOrUnsupportedConfigsAreRejected) {
  const ConfigCase cases[] = {
      {"heads do not divide hidden", "bert", [](auto& c) { c["num_attention_heads"] = 5; },
       StatusCode::kInvalidArgument, "does not divide"},
      {"zero layers", "llama", [](auto& c) { c["num_hidden_layers"] = 0; },
       StatusCode::kInvalidArgument, "'num_hidden_layers' must be positive"},
      {"negative hidden", "gpt2", [](auto& c) { c["n_embd"] = -32; }, StatusCode::kInvalidArgument,
       "'n_embd' must be positive"},
      {"kv heads do not divide heads", "llama", [](auto& c) { c["num_key_value_heads"] = 3; },
       StatusCode::kInvalidArgument, "'num_key_value_heads' = 3 does not divide"},
      {"missing required key", "llama", [](auto& c) { c.erase("intermediate_size"); },
       StatusCode::kInvalidArgument, "'intermediate_size' is required"},
      {"wrong type", "llama", [](auto& c) { c["rms_norm_eps"] = "small"; },
       StatusCode::kInvalidArgument, "'rms_norm_eps' expected a finite number"},
      {"unknown model_type", "llama", [](auto& c) { c["model_type"] = "mamba"; },
       StatusCode::kUnimplemented, "model_type 'mamba' is not supported (supported: bert"},
      {"missing model_type", "llama", [](auto& c) { c.erase("model_type"); },
       StatusCode::kInvalidArgument, "'model_type' is missing"},
      {"unsupported rope", "llama",
       [](auto& c) {
         c["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 2.0}};
       },
       StatusCode::kUnimplemented, "\"yarn\" is not supported"},
      {"unknown activation", "llama", [](auto& c) { c["hidden_act"] = "swiglu9"; },
       StatusCode::kInvalidArgument, "not a supported activation"},
      {"relative positions", "bert", [](auto& c) { c["position_embedding_type"] = "relative_key"; },
       StatusCode::kInvalidArgument, "position_embedding_type"},
      {"more layers than the checkpoint", "llama", [](auto& c) { c["num_hidden_layers"] = 3; },
       StatusCode::kDataLoss, "missing 'model.layers.2.input_layernorm.weight'"},
      {"hidden size disagrees with tensors", "gpt_neox",
       [](auto& c) { c["intermediate_size"] = 100; }, StatusCode::kDataLoss,
       "'gpt_neox.layers.0.mlp.dense_h_to_4h.weight' has shape"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir tmp;
    nlohmann::json config = ReadConfig(c.fixture);
    c.edit(config);
    auto model = LoadModel(MakeVariant(tmp, c.fixture, config).string(), LoadOptions{});
    ASSERT_FALSE(model.ok());
    ExpectError(model.status(), c.code, c.fragment);
  }
}

TEST(ModelErrorsTest, CheckpointMissingOrMisshapenTensorsAreListedTogether) {
  TempDir tmp;
  auto dir = MakeVariant(tmp, "llama", ReadConfig("llama"), [](formats::TensorMap& t) {
    t.erase("model.layers.1.mlp.up_proj.weight");
    t["model.layers.0.self_attn.k_proj.weight"] = at::zeros({8, 32});
  });
  auto model = LoadModel(dir.string(), LoadOptions{});
  ASSERT_FALSE(model.ok());
  ExpectError(model.status(), StatusCode::kDataLoss, "missing 'model.layers.1.mlp.up_proj.weight'");
  ExpectError(model.status(), StatusCode::kDataLoss,
              "'model.layers.0.self_attn.k_proj.weight' has shape [8,32], expected [16,32]");
}

TEST(ModelErrorsTest, NonFloatingWeightsAreRejected) {
  TempDir tmp;
  auto dir = MakeVariant(tmp, "gpt2", ReadConfig("gpt2"), [](formats::TensorMap& t) {
    t["transformer.ln_f.bias"] = at::zeros({32}, at::kLong);
  });
  auto model = LoadModel(dir.string(), LoadOptions{});
  ASSERT_FALSE(model.ok());
  ExpectError(model.status(), StatusCode::kDataLoss, "'transformer.ln_f.bias' has dtype Long");
}

TEST(ModelErrorsTest, MissingOrCorruptConfigSaysWhere) {
  TempDir tmp;
  auto missing = LoadModel((tmp.path() / "nowhere").string(), LoadOptions{}, tmp.path());
  ASSERT_FALSE(missing.ok());
  ExpectError(missing.status(), StatusCode::kNotFound, (tmp.path() / "nowhere").string());

  auto dir = MakeVariant(tmp, "llama", ReadConfig("llama"));
  sinkscope::testing::WriteFile(dir / "config.json", "{\"model_type\": \"llama\",");
  auto corrupt = LoadModel(dir.string(), LoadOptions{});
  ASSERT_FALSE(corrupt.ok());
  ExpectError(corrupt.status(), StatusCode::kDataLoss, "config.json: not valid JSON");

  fs::remove(dir / "config.json");
  auto absent = LoadModel(dir.string(), LoadOptions{});
  ASSERT_FALSE(absent.ok());
  ExpectError(absent.status(), StatusCode::kNotFound, "config.json");
}

class ModelInputErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto model = LoadModel(Tiny("llama").string(), LoadOptions{});
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    model_ = std::move(model).value();
  }
  Status Run(const std::vector<std::vector<int64_t>>& ids, const ForwardOptions& options = {}) {
    return model_->Forward(MakeBatch(ids, PaddingSide::kRight, 0), options, nullptr).status();
  }
  std::unique_ptr<Model> model_;
};

TEST_F(ModelInputErrorsTest, TokenIdsOutsideVocabulary) {
  ExpectError(Run({{1, 2, 128}}), StatusCode::kInvalidArgument,
              "input 0 token 2: id 128 is outside the vocabulary [0, 128)");
  ExpectError(Run({{1, 2}, {5, -1, 3}}), StatusCode::kInvalidArgument, "input 1 token 1: id -1");
}

TEST_F(ModelInputErrorsTest, EmptyInput) {
  ExpectError(Run({}), StatusCode::kInvalidArgument, "empty input");
  ExpectError(Run({{1, 2}, {}}), StatusCode::kInvalidArgument, "input 1 is empty");
}

TEST_F(ModelInputErrorsTest, InputLongerThanPositions) {
  std::vector<int64_t> long_input(65, 3);
  ExpectError(Run({long_input}), StatusCode::kInvalidArgument,
              "input has 65 tokens but this model supports at most 64 positions");
  long_input.pop_back();
  EXPECT_TRUE(Run({long_input}).ok());
}

TEST_F(ModelInputErrorsTest, RobertaPositionsStartAfterPadding) {
  auto roberta = LoadModel(Tiny("roberta").string(), LoadOptions{});
  ASSERT_TRUE(roberta.ok());
  EXPECT_EQ((*roberta)->info().max_positions, 62);  // 64 − padding_idx(1) − 1
  std::vector<int64_t> ids(63, 5);
  auto out = (*roberta)->Forward(MakeBatch({ids}, PaddingSide::kRight, 1), {}, nullptr);
  ExpectError(out.status(), StatusCode::kInvalidArgument, "at most 62 positions");
}

TEST_F(ModelInputErrorsTest, BadInterventionsAndCaptureLayers) {
  ForwardOptions o1;
  o1.interventions.attention.push_back({.layers = {2}, .heads = {}, .columns = {0}, .scale = 0});
  ExpectError(Run({{1, 2, 3}}, o1), StatusCode::kInvalidArgument, "layer 2 does not exist");
  ForwardOptions o2;
  o2.interventions.attention.push_back({.layers = {0}, .heads = {4}, .columns = {0}, .scale = 0});
  ExpectError(Run({{1, 2, 3}}, o2), StatusCode::kInvalidArgument, "head 4 does not exist");
  ForwardOptions o3;
  o3.interventions.attention.push_back({.layers = {0}, .heads = {}, .columns = {3}, .scale = 0});
  ExpectError(Run({{1, 2, 3}}, o3), StatusCode::kInvalidArgument, "key column 3 is outside");
  ForwardOptions o4;
  o4.interventions.attention.push_back({.layers = {0}, .heads = {}, .columns = {0}, .scale = -1});
  ExpectError(Run({{1, 2, 3}}, o4), StatusCode::kInvalidArgument, "scale must be finite and >= 0");
  ForwardOptions o5;
  MlpIntervention zero{.kind = MlpIntervention::Kind::kAblateDirection,
                       .layers = {0},
                       .tokens = {0},
                       .direction = at::zeros({32}),
                       .scale = 1.0};
  o5.interventions.mlp.push_back(zero);
  ExpectError(Run({{1, 2, 3}}, o5), StatusCode::kInvalidArgument,
              "direction must be finite and non-zero");
  ForwardOptions o6;
  MlpIntervention wrong = zero;
  wrong.direction = at::ones({31});
  o6.interventions.mlp.push_back(wrong);
  ExpectError(Run({{1, 2, 3}}, o6), StatusCode::kInvalidArgument,
              "must have 32 (hidden size) values");
  ForwardOptions o7;
  o7.capture.layers = {-1};
  ExpectError(Run({{1, 2, 3}}, o7), StatusCode::kInvalidArgument, "capture: layer -1");
  ForwardOptions o8;
  o8.compute_logits = true;
  o8.stop_after_captures = true;
  ExpectError(Run({{1, 2, 3}}, o8), StatusCode::kInvalidArgument,
              "do not combine compute_logits with stop_after_captures");
}

TEST_F(ModelInputErrorsTest, VisitorErrorStopsAtLayerBoundary) {
  ForwardOptions options;
  options.capture.Enable(CapturePoint::kAttention);
  int visited = 0;
  auto out = model_->Forward(MakeBatch({{1, 2, 3}}, PaddingSide::kRight, 0), options,
                             [&](const LayerCapture&) {
                               ++visited;
                               return Status(StatusCode::kCancelled, "client went away");
                             });
  EXPECT_EQ(visited, 1);
  ExpectError(out.status(), StatusCode::kCancelled, "client went away");
}

TEST(ModelDtypeTest, ReducedPrecisionWeightsStayCloseToFp32) {
  auto ref_tensors = formats::ReadSafetensors(Tiny("llama") / "reference.safetensors");
  ASSERT_TRUE(ref_tensors.ok());
  sinkscope::testing::Reference ref{std::move(ref_tensors).value()};
  const auto ids = sinkscope::testing::ToIds(ref.Get("s2.input_ids"));
  const bool cuda = at::hasCUDA();
  if (!cuda) {
    auto half = LoadModel(Tiny("llama").string(), LoadOptions{.dtype = c10::kHalf});
    ASSERT_FALSE(half.ok());
    ExpectError(half.status(), StatusCode::kUnimplemented, "fp16 weights need a CUDA device");
  }
  for (auto dtype : {c10::kBFloat16, c10::kHalf}) {
    if (dtype == c10::kHalf && !cuda) continue;
    SCOPED_TRACE(c10::toString(dtype));
    LoadOptions load{.dtype = dtype};
    if (cuda) load.device = c10::Device(c10::kCUDA, 0);
    auto model = LoadModel(Tiny("llama").string(), load);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    EXPECT_EQ((*model)->info().dtype, dtype);
    ForwardOptions options;
    options.capture.Enable(CapturePoint::kAttention);
    std::vector<at::Tensor> attention;
    auto out = (*model)->Forward(MakeBatch({ids}, PaddingSide::kRight, 0), options,
                                 [&](const LayerCapture& c) {
                                   attention.push_back(c.Get(CapturePoint::kAttention));
                                   return OkStatus();
                                 });
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ASSERT_EQ(attention.size(), 2u);
    for (int l = 0; l < 2; ++l) {
      EXPECT_EQ(attention[l].scalar_type(), at::kFloat);  // probabilities are always fp32
      sinkscope::testing::ExpectClose(attention[l][0].cpu(),
                                      ref.Get(fmt::format("s2.layers.{}.attention", l)), 3e-2,
                                      "attention");
      // Rows still sum to one.
      sinkscope::testing::ExpectClose(attention[l][0].sum(-1).cpu(), at::ones({4, 16}), 1e-5,
                                      "row sums");
    }
  }
}

}  // namespace
}  // namespace sinkscope::models
