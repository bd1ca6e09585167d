// RAII for librdkafka handles and configuration.
#pragma once

#include <ssebridge/kafka/settings.hpp>

#include <librdkafka/rdkafka.h>

#include <memory>

namespace ssebridge::kafka::detail {

struct handle_deleter {
    void operator()(rd_kafka_t* rk) const noexcept { rd_kafka_destroy(rk); }
};
using handle = std::unique_ptr<rd_kafka_t, handle_deleter>;

struct queue_deleter {
    void operator()(rd_kafka_queue_t* q) const noexcept { rd_kafka_queue_destroy(q); }
};
using queue_handle = std::unique_ptr<rd_kafka_queue_t, queue_deleter>;

/// A new rd_kafka_conf_t holding `conf`; throws `std::invalid_argument` on
/// the first setting librdkafka rejects.
rd_kafka_conf_t* make_conf(const settings& conf);

/// Creates a client of `type` from `conf` (which it takes over).
handle make_handle(rd_kafka_type_t type, rd_kafka_conf_t* conf);

} // namespace ssebridge::kafka::detail
