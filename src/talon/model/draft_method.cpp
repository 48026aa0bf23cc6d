#include "talon/model/draft_method.h"

#include "talon/util/error.h"

namespace talon::model {
namespace {

struct StrategyName {
  Strategy strategy;
  const char* name;
};
constexpr StrategyName kStrategies[] = {
    {Strategy::Eagle3, "eagle3"}, {Strategy::DFlash, "dflash"}, {Strategy::DSpark, "dspark"}};

}  // namespace

Strategy parse_strategy(const std::string& name) {
  for (const StrategyName& s : kStrategies) {
    if (name == s.name) return s.strategy;
  }
  fail("unknown --strategy '{}': expected eagle3, dflash or dspark", name);
}

const char* strategy_name(Strategy strategy) {
  for (const StrategyName& s : kStrategies) {
    if (strategy == s.strategy) return s.name;
  }
  return "?";
}

}  // namespace talon::model
