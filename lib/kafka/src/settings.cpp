#include "handle.hpp"

#include <stdexcept>

namespace ssebridge::kafka::detail {

rd_kafka_conf_t* make_conf(const settings& conf) {
    rd_kafka_conf_t* c = rd_kafka_conf_new();
    char err[512];
    for (const auto& [key, value] : conf) {
        if (rd_kafka_conf_set(c, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(c);
            throw std::invalid_argument("Kafka setting " + key + ": " + err);
        }
    }
    return c;
}

handle make_handle(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
    char err[512];
    rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        throw std::invalid_argument(std::string("Kafka client: ") + err);
    }
    return handle(rk);
}

} // namespace ssebridge::kafka::detail
