// Session ids: 128 bits from the kernel's CSPRNG, as 32 lowercase hex digits.
#pragma once

#include <string>

namespace ssebridge::gateway {

/// A new session id. Unpredictable (getrandom), URL-safe, never chosen by a client.
std::string make_session_id();

} // namespace ssebridge::gateway
