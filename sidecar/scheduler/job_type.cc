#include "scheduler/job_type.h"

#include <stdexcept>

namespace warden {

void JobTypeRegistry::Add(JobType type) {
  if (Find(type.name) != nullptr) {
    throw std::logic_error("job type \"" + type.name + "\" is registered twice");
  }
  types_.push_back(std::move(type));
}

void JobTypeRegistry::AddSource(JobSource source) { sources_.push_back(std::move(source)); }

const JobType* JobTypeRegistry::Find(std::string_view name) const {
  for (const JobType& type : types_) {
    if (type.name == name) return &type;
  }
  return nullptr;
}

std::string JobTypeRegistry::Names() const {
  std::string names;
  for (const JobType& type : types_) names += (names.empty() ? "" : ", ") + type.name;
  return names;
}

}  // namespace warden
