// One redis-server for every test case of a test program: started before the
// first, stopped after the last (Boost.Test global fixture).
#pragma once

#include "support/process.hpp"

#include <boost/test/unit_test.hpp>

#include <memory>

namespace ssebridge::test {

struct shared_redis {
    shared_redis() { server = std::make_unique<redis_server>(); }
    ~shared_redis() { server.reset(); }
    static inline std::unique_ptr<redis_server> server;
};

inline redis_server& shared_server() {
    return *shared_redis::server;
}

} // namespace ssebridge::test
