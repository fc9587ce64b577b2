#include "base/cancel_token.h"

namespace warden {

const char* CancelToken::ReasonText(Reason reason) {
  switch (reason) {
    case Reason::kNone:
      return "not cancelled";
    case Reason::kTimeout:
      return "timed out";
    case Reason::kReplaced:
      return "replaced by a newer run (overrun = replace)";
    case Reason::kShutdown:
      return "the daemon is shutting down";
    case Reason::kLeaseLost:
      return "lost its lease (another sidecar may have taken over)";
    case Reason::kManual:
      break;
  }
  return "cancelled";
}

}  // namespace warden
