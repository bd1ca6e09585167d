// Real servers for tests: child processes on free loopback ports.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

namespace ssebridge::test {

/// A free TCP port on 127.0.0.1 (bound and released; good enough for tests).
std::uint16_t free_port();

/// True once something accepts TCP connections on 127.0.0.1:port.
bool wait_for_port(std::uint16_t port, std::chrono::milliseconds timeout);

/// A child process with its stdout captured line by line.
class child_process {
public:
    child_process(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    /// Reads stdout until a line starting with `prefix`; returns that line
    /// (or "" after `timeout` or at end of output).
    std::string wait_for_line(const std::string& prefix, std::chrono::milliseconds timeout);
    /// Every stdout line read so far.
    [[nodiscard]] const std::vector<std::string>& lines() const { return lines_; }

    void signal(int sig);
    /// Waits for exit; returns the exit status, 128+signal if killed, -1 on timeout.
    int wait(std::chrono::milliseconds timeout);
    [[nodiscard]] pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    std::string pending_;
    std::vector<std::string> lines_;
    bool exited_ = false;
    int status_ = 0;
};

/// A private redis-server: temp dir, random port, no persistence.
class redis_server {
public:
    redis_server();
    ~redis_server();

    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
    /// Its private working directory, removed with it: room for test files.
    [[nodiscard]] std::string dir() const { return dir_.string(); }

    void stop();
    void start(); ///< again, on the same port
    /// SIGSTOP: a hung server (a long fork, a partition without a reset): the
    /// kernel still accepts connections, nothing answers.
    void pause();
    void resume(); ///< SIGCONT

private:
    std::uint16_t port_;
    std::filesystem::path dir_;
    std::unique_ptr<child_process> process_;
};

/// The stdout lines of `redis-cli -p PORT ARGS…` (raw output, one value a line).
std::vector<std::string> redis_cli(std::uint16_t port, const std::vector<std::string>& args);

/// A Redis Cluster of private redis-server processes (cluster bus on free
/// ports too): `masters` masters with `replicas` replicas each, slots spread
/// by `redis-cli --cluster create`; ready (every node says cluster_state:ok
/// and every replica is attached) when the constructor returns.
class redis_cluster {
public:
    explicit redis_cluster(int masters = 3, int replicas = 1);
    ~redis_cluster();

    /// Every node, `127.0.0.1:PORT,…`: what --redis-cluster takes.
    [[nodiscard]] std::string seeds() const;
    [[nodiscard]] const std::vector<std::uint16_t>& ports() const { return ports_; }
    /// The ports of the current masters.
    [[nodiscard]] std::vector<std::uint16_t> masters() const;
    /// The port of the master serving `slot` now.
    [[nodiscard]] std::uint16_t master_of(std::uint16_t slot) const;
    /// A master other than the one on `port`.
    [[nodiscard]] std::uint16_t other_master(std::uint16_t port) const;
    [[nodiscard]] std::string node_id(std::uint16_t port) const;

    /// SIGKILL of one node: a crash.
    void kill(std::uint16_t port);
    /// Waits until a replica has taken over every slot of the killed
    /// `port` and the surviving nodes agree; returns how long that took.
    std::chrono::milliseconds wait_for_failover(std::uint16_t port);
    /// Moves `slot` with its keys from its master to the master on `to`
    /// (SETSLOT IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE), as
    /// `redis-cli --cluster reshard` does.
    void migrate_slot(std::uint16_t slot, std::uint16_t to);

private:
    std::filesystem::path dir_;
    std::vector<std::uint16_t> ports_;
    std::vector<std::unique_ptr<child_process>> nodes_;
};

} // namespace ssebridge::test
