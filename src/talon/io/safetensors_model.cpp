#include "talon/io/safetensors_model.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "talon/util/error.h"
#include "talon/util/json_file.h"

namespace talon::io {
namespace fs = std::filesystem;

namespace {

constexpr const char* kIndexName = "model.safetensors.index.json";
constexpr const char* kSingleName = "model.safetensors";

// Shards are siblings of the index; a path in the weight map could point
// anywhere, so only plain file names are accepted.
bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos;
}

}  // namespace

SafetensorsModel SafetensorsModel::open(const std::string& dir) {
  SafetensorsModel model;
  model.dir_ = dir;
  std::string index_path = (fs::path(dir) / kIndexName).string();
  std::string single_path = (fs::path(dir) / kSingleName).string();

  if (fs::exists(index_path)) {
    nlohmann::json index = util::load_json_file(index_path);
    auto weight_map = index.is_object() ? index.find("weight_map") : index.end();
    if (!index.is_object() || weight_map == index.end() || !weight_map->is_object()) {
      fail("{}: expected an object with a \"weight_map\" object", index_path);
    }
    std::map<std::string, std::size_t> shard_ids;
    for (const auto& [name, shard_value] : weight_map->items()) {
      if (!shard_value.is_string() || !is_plain_file_name(shard_value.get<std::string>())) {
        fail("{}: tensor \"{}\": shard must be a file name in the same directory, found {}", index_path, name,
             shard_value.dump());
      }
      std::string shard = shard_value.get<std::string>();
      auto [it, inserted] = shard_ids.emplace(shard, model.files_.size());
      if (inserted) {
        try {
          model.files_.push_back(SafetensorsFile::open((fs::path(dir) / shard).string()));
        } catch (const Error& e) {
          fail("{}: shard \"{}\" (listed for tensor \"{}\"): {}", index_path, shard, name, e.what());
        }
      }
      const TensorInfo* info = model.files_[it->second].find(name);
      if (info == nullptr) {
        fail("{}: tensor \"{}\" is listed in shard \"{}\", which does not hold it", index_path, name, shard);
      }
      model.where_.emplace(name, Location{it->second, info});
    }
  } else if (fs::exists(single_path)) {
    model.files_.push_back(SafetensorsFile::open(single_path));
    for (const TensorInfo& t : model.files_.front().tensors()) model.where_.emplace(t.name, Location{0, &t});
  } else {
    fail("{}: neither {} nor {} found", dir, kSingleName, kIndexName);
  }
  return model;
}

std::vector<std::string> SafetensorsModel::names() const {
  std::vector<std::string> names;
  names.reserve(where_.size());
  for (const auto& [name, location] : where_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

const SafetensorsModel::Location& SafetensorsModel::locate(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) fail("{}: the model has no tensor \"{}\"", dir_, name);
  return it->second;
}

const TensorInfo& SafetensorsModel::info(const std::string& name) const { return *locate(name).info; }

at::Tensor SafetensorsModel::tensor(const std::string& name) const { return files_[locate(name).file].tensor(name); }

}  // namespace talon::io
