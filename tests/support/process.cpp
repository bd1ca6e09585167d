#include "support/process.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <poll.h>
#include <set>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace ssebridge::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono;

std::uint16_t free_port() {
    asio::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

bool wait_for_port(std::uint16_t port, milliseconds timeout) {
    auto deadline = steady_clock::now() + timeout;
    asio::io_context ioc;
    while (steady_clock::now() < deadline) {
        tcp::socket s(ioc);
        boost::system::error_code ec;
        s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
        if (!ec)
            return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

child_process::child_process(const std::vector<std::string>& argv,
                             const std::vector<std::string>& env) {
    int out[2];
    if (::pipe(out) != 0)
        throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0)
        throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        ::dup2(out[1], STDOUT_FILENO);
        ::close(out[0]);
        ::close(out[1]);
        for (const auto& e : env)
            ::putenv(const_cast<char*>(e.c_str()));
        std::vector<char*> args;
        for (const auto& a : argv)
            args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
        ::_exit(127);
    }
    ::close(out[1]);
    stdout_fd_ = out[0];
}

child_process::~child_process() {
    if (!exited_) {
        signal(SIGKILL);
        wait(5000ms);
    }
    if (stdout_fd_ >= 0)
        ::close(stdout_fd_);
}

std::string child_process::wait_for_line(const std::string& prefix, milliseconds timeout) {
    for (const auto& l : lines_)
        if (l.rfind(prefix, 0) == 0)
            return l;
    auto deadline = steady_clock::now() + timeout;
    for (;;) {
        auto left = duration_cast<milliseconds>(deadline - steady_clock::now()).count();
        if (left <= 0)
            return {};
        pollfd p{stdout_fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left)) <= 0)
            return {};
        char buf[4096];
        ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
        if (n <= 0)
            return {};
        pending_.append(buf, static_cast<std::size_t>(n));
        std::size_t nl;
        std::string found;
        while ((nl = pending_.find('\n')) != std::string::npos) {
            lines_.push_back(pending_.substr(0, nl));
            pending_.erase(0, nl + 1);
            if (found.empty() && lines_.back().rfind(prefix, 0) == 0)
                found = lines_.back();
        }
        if (!found.empty())
            return found;
    }
}

void child_process::signal(int sig) {
    if (!exited_)
        ::kill(pid_, sig);
}

int child_process::wait(milliseconds timeout) {
    auto deadline = steady_clock::now() + timeout;
    while (!exited_) {
        int status = 0;
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            exited_ = true;
            status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        if (steady_clock::now() >= deadline)
            return -1;
        std::this_thread::sleep_for(10ms);
    }
    return status_;
}

redis_server::redis_server()
    : port_(free_port()) {
    char tmpl[] = "/tmp/ssebridge-redis-XXXXXX";
    if (!::mkdtemp(tmpl))
        throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    start();
}

redis_server::~redis_server() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

void redis_server::start() {
    process_ = std::make_unique<child_process>(std::vector<std::string>{
        "redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", dir_.string(), "--logfile", (dir_ / "redis.log").string()});
    if (!wait_for_port(port_, 10s))
        throw std::runtime_error("redis-server did not start on port " + std::to_string(port_));
}

void redis_server::pause() {
    process_->signal(SIGSTOP);
}

void redis_server::resume() {
    process_->signal(SIGCONT);
}

void redis_server::stop() {
    if (process_) {
        process_->signal(SIGKILL); // abrupt, like a crash: what reconnection must survive
        process_->wait(5s);
        process_.reset();
    }
}

std::vector<std::string> redis_cli(std::uint16_t port, const std::vector<std::string>& args) {
    std::vector<std::string> argv{"redis-cli", "-p", std::to_string(port)};
    argv.insert(argv.end(), args.begin(), args.end());
    child_process cli(argv);
    cli.wait_for_line("\x01", 10s); // (no such line: reads to the end)
    cli.wait(10s);
    return cli.lines();
}

namespace {
bool cluster_ok(std::uint16_t port) {
    for (const auto& line : redis_cli(port, {"CLUSTER", "INFO"}))
        if (line.rfind("cluster_state:ok", 0) == 0)
            return true;
    return false;
}

} // namespace

redis_cluster::redis_cluster(int masters, int replicas) {
    char tmpl[] = "/tmp/ssebridge-cluster-XXXXXX";
    if (!::mkdtemp(tmpl))
        throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    int total = masters * (1 + replicas);
    std::vector<std::string> create{"--cluster", "create"};
    std::set<std::uint16_t> taken; // (free_port may answer the same port twice)
    auto fresh_port = [&taken] {
        for (;;)
            if (std::uint16_t p = free_port(); taken.insert(p).second)
                return p;
    };
    for (int i = 0; i < total; ++i) {
        std::uint16_t port = fresh_port();
        std::uint16_t bus = fresh_port();
        auto node_dir = dir_ / std::to_string(port);
        std::filesystem::create_directories(node_dir);
        nodes_.push_back(std::make_unique<child_process>(std::vector<std::string>{
            "redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1",
            "--cluster-enabled", "yes", "--cluster-port", std::to_string(bus),
            "--cluster-config-file", (node_dir / "nodes.conf").string(), "--cluster-node-timeout",
            "1000",
            // A replica takes over however long ago it heard from its master
            // (a young cluster's replica may not have synced yet).
            "--cluster-replica-validity-factor", "0",
            // Replicas sync at once (the default waits 5 s to batch them).
            "--repl-diskless-sync-delay", "0", "--save", "", "--appendonly", "no", "--dir",
            node_dir.string(), "--logfile", (node_dir / "redis.log").string()}));
        ports_.push_back(port);
        create.push_back("127.0.0.1:" + std::to_string(port));
    }
    for (auto port : ports_)
        if (!wait_for_port(port, 10s))
            throw std::runtime_error("a cluster node did not start on " + std::to_string(port));
    create.insert(create.end(), {"--cluster-replicas", std::to_string(replicas), "--cluster-yes"});
    redis_cli(ports_.front(), create);
    auto deadline = std::chrono::steady_clock::now() + 30s;
    for (;;) {
        bool ready = true;
        for (auto port : ports_)
            ready = ready && cluster_ok(port);
        // Replicas in sync: what a master writes from now on reaches them
        // (a replica still loading its first copy would lose it in a failover).
        if (ready) {
            std::size_t synced = 0;
            for (auto port : ports_)
                for (const auto& line : redis_cli(port, {"INFO", "replication"}))
                    if (line.rfind("master_link_status:up", 0) == 0)
                        ++synced;
            ready = synced == std::size_t(masters * replicas);
        }
        if (ready)
            break;
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("the Redis Cluster did not become ready");
        std::this_thread::sleep_for(50ms);
    }
}

redis_cluster::~redis_cluster() {
    for (auto& n : nodes_) {
        if (!n)
            continue; // killed already
        n->signal(SIGKILL);
        n->wait(5s);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

std::string redis_cluster::seeds() const {
    std::string out;
    for (auto port : ports_)
        out += (out.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(port);
    return out;
}

std::string redis_cluster::node_id(std::uint16_t port) const {
    auto lines = redis_cli(port, {"CLUSTER", "MYID"});
    return lines.empty() ? "" : lines.front();
}

std::vector<std::uint16_t> redis_cluster::masters() const {
    // CLUSTER NODES: "<id> <ip:port@bus> <flags> <master> … <state> <slots>…"
    std::vector<std::uint16_t> out;
    for (std::size_t i = 0; i < ports_.size(); ++i) {
        std::uint16_t port = ports_[i];
        if (nodes_[i] == nullptr)
            continue;
        for (const auto& line : redis_cli(port, {"CLUSTER", "NODES"})) {
            if (line.find("myself") == std::string::npos)
                continue;
            if (line.find("master") != std::string::npos &&
                line.find(" connected ") != std::string::npos)
                out.push_back(port);
        }
    }
    return out;
}

std::uint16_t redis_cluster::master_of(std::uint16_t slot) const {
    for (auto port : masters()) {
        for (const auto& line : redis_cli(port, {"CLUSTER", "NODES"})) {
            if (line.find("myself") == std::string::npos)
                continue;
            // Slot ranges are the words after the 8th: "a-b" or "a".
            std::istringstream words(line);
            std::string word;
            for (int i = 0; i < 8 && words >> word; ++i) {
            }
            while (words >> word) {
                if (word.front() == '[')
                    continue; // a migrating/importing mark
                auto dash = word.find('-');
                int first = std::stoi(word.substr(0, dash));
                int last = dash == std::string::npos ? first : std::stoi(word.substr(dash + 1));
                if (slot >= first && slot <= last)
                    return port;
            }
        }
    }
    throw std::runtime_error("no master serves slot " + std::to_string(slot));
}

std::uint16_t redis_cluster::other_master(std::uint16_t port) const {
    for (auto master : masters())
        if (master != port)
            return master;
    throw std::runtime_error("no other master than " + std::to_string(port));
}

void redis_cluster::kill(std::uint16_t port) {
    for (std::size_t i = 0; i < ports_.size(); ++i) {
        if (ports_[i] == port && nodes_[i]) {
            nodes_[i]->signal(SIGKILL);
            nodes_[i]->wait(5s);
            nodes_[i].reset();
        }
    }
}

std::chrono::milliseconds redis_cluster::wait_for_failover(std::uint16_t port) {
    auto start = std::chrono::steady_clock::now();
    auto deadline = start + 30s;
    for (;;) {
        bool done = true;
        for (std::size_t i = 0; i < ports_.size(); ++i) {
            if (!nodes_[i])
                continue;
            done = done && cluster_ok(ports_[i]);
            for (const auto& line : redis_cli(ports_[i], {"CLUSTER", "NODES"}))
                if (line.find(":" + std::to_string(port) + "@") != std::string::npos &&
                    line.find("fail") == std::string::npos)
                    done = false; // not yet seen as failed
        }
        if (done)
            return std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start);
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("no failover of " + std::to_string(port));
        std::this_thread::sleep_for(50ms);
    }
}

void redis_cluster::migrate_slot(std::uint16_t slot, std::uint16_t to) {
    std::uint16_t from = master_of(slot);
    std::string s = std::to_string(slot);
    std::string from_id = node_id(from);
    std::string to_id = node_id(to);
    redis_cli(to, {"CLUSTER", "SETSLOT", s, "IMPORTING", from_id});
    redis_cli(from, {"CLUSTER", "SETSLOT", s, "MIGRATING", to_id});
    for (;;) {
        auto keys = redis_cli(from, {"CLUSTER", "GETKEYSINSLOT", s, "100"});
        keys.erase(std::remove(keys.begin(), keys.end(), ""), keys.end());
        if (keys.empty())
            break;
        std::vector<std::string> migrate{"MIGRATE", "127.0.0.1", std::to_string(to), "", "0",
                                         "5000",    "KEYS"};
        migrate.insert(migrate.end(), keys.begin(), keys.end());
        redis_cli(from, migrate);
    }
    // The new owner first, then the old one, then everyone else.
    redis_cli(to, {"CLUSTER", "SETSLOT", s, "NODE", to_id});
    redis_cli(from, {"CLUSTER", "SETSLOT", s, "NODE", to_id});
    for (auto port : masters())
        if (port != to && port != from)
            redis_cli(port, {"CLUSTER", "SETSLOT", s, "NODE", to_id});
}

} // namespace ssebridge::test
