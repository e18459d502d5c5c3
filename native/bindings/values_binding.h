// The one JS <-> value tree codec (docs/values.md): how the Python value tree of pt/value.h
// appears in JS, used by .pt load/save, PtArchive.get, module arguments and results (through
// pt/ivalue.h) and checkpoints. Runs on the JS thread only.
#pragma once
#include <napi.h>

#include <string>
#include <unordered_map>

#include "core/common.h"
#include "pt/value.h"

namespace jepa {

// Python str (UTF-8 with lone surrogates, "surrogatepass") <-> JS string, exactly both ways.
Napi::Value StrToJs(Napi::Env env, const std::string& s);
std::string StrFromJs(Napi::Env env, napi_value v);

// A value tree as JS. At the top level an integral float becomes a jepa.Float (it has no
// container to record it in); inside containers, FLOAT_KEYS marks it. Shared and cyclic
// references give the same JS object.
Napi::Value ValueToJs(Napi::Env env, const pt::Value* v);

// Converts the values of one tree: shared and cyclic references give the same JS object.
// (ValueToJs is Top of a fresh writer; PtArchive.entries converts the keys of many paths with
// one.)
class JsWriter {
 public:
  explicit JsWriter(Napi::Env env);
  // `v` at the top level (an integral float becomes a jepa.Float).
  Napi::Value Top(const pt::Value* v);
  // `v` inside a container, `depth` levels down (checked against pt::kMaxDepth).
  Napi::Value Convert(const pt::Value* v, int depth);

 private:
  Napi::Value Sequence(const pt::Value* v, int depth);
  Napi::Value Set(const pt::Value* v, int depth);
  Napi::Value Dict(const pt::Value* v, int depth);
  Napi::Value Key(const pt::Value* k, int depth);
  void Mark(Napi::Object container, Napi::Object* marks, Napi::Value key);
  void Remember(const pt::Value* v, Napi::Object js) { memo_.emplace(v, static_cast<napi_value>(js)); }

  Napi::Env env_;
  const JsClasses& c_;
  std::unordered_map<const pt::Value*, napi_value> memo_;
};

// How a JS value that has no Python form is reported: `cannot save `value.a`: a function ...`
// for a file, `cannot pass `x.a` to forward(): a function ...` for a module argument.
struct JsReadContext {
  std::string action;              // "cannot save" / "cannot pass"
  std::string root;                // "value" / the argument's name
  std::string target;              // "" / " to forward()"
  bool undefined_is_none = false;  // module arguments: undefined is None, as a missing optional
};

// A JS value as a value tree owned by `doc` (tensors are shared, not copied). Throws a
// kInvalidArgument TypeError naming the path of a value that has no Python form; kPtLimit for
// nesting deeper than pt::kMaxDepth.
pt::Value* ValueFromJs(Napi::Env env, const Napi::Value& value, pt::Document& doc, const JsReadContext& ctx);

}  // namespace jepa
