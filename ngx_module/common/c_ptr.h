#pragma once

#include <memory>

namespace warden {

// Calls a C library's free function on a handle it owns; null is left alone.
template <auto Free>
struct CFree {
  template <class T>
  void operator()(T* handle) const {
    if (handle != nullptr) Free(handle);
  }
};

// An owned C handle, freed by the library's own function: CPtr<redisReply, freeReplyObject>,
// CPtr<MYSQL_RES, mysql_free_result>. The one way Warden holds a C handle.
template <class T, auto Free>
using CPtr = std::unique_ptr<T, CFree<Free>>;

}  // namespace warden
