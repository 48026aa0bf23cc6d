#include "talon/model/draft_method.h"

#include "talon/util/enum_names.h"

namespace talon::model {
namespace {

constexpr util::EnumName<Strategy> kStrategies[] = {
    {Strategy::Eagle3, "eagle3"}, {Strategy::DFlash, "dflash"}, {Strategy::DSpark, "dspark"}};

}  // namespace

Strategy parse_strategy(const std::string& name) { return util::parse_enum(kStrategies, name, "--strategy"); }

const char* strategy_name(Strategy strategy) { return util::enum_name(kStrategies, strategy); }

}  // namespace talon::model
