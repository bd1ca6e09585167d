#include "support/process.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <poll.h>
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

} // namespace ssebridge::test
