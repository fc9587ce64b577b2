#pragma once

#include "scheduler/job_type.h"

namespace warden {

// Every job type Warden has, and the jobs [[cache]] entries declare (job_types.cc: one line a
// type). `warden daemon`, `warden job` and `warden config check` read warden.toml with it.
const JobTypeRegistry& BuiltinJobTypes();

}  // namespace warden
