// ssebridge-floor: the thinnest relay this machine can run, as a yardstick
// for ssebridge (docs/benchmarks.md, "the floor"). One thread, epoll, one
// Redis connection, ssebridge's RESP parser, a channel → client table, and
// after each Redis read one non-blocking write per client that got events.
// It speaks just enough of ssebridge's API for `ssebridge-bench --target
// ssebridge`: POST /v1/react/sessions subscribes `sse_session:<id>`, answers
// 200 with X-Session-Id once Redis confirmed, relays every message as an SSE
// frame in an HTTP chunk, and ends after FinalAnswerStreamEnd. No timeouts,
// no limits, no Kafka, no error handling beyond closing: not a server, a floor.
#include <ssebridge/redis/resp.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

using namespace ssebridge;

namespace {

struct client {
    int fd = -1;
    std::string in;      ///< the request, until it is whole
    std::string channel; ///< once subscribed
    std::string out;     ///< bytes not yet written
    bool streaming = false;
    bool dirty = false;   ///< has bytes queued since the last flush
    bool closing = false; ///< close once `out` is written
};

int must(int rc, const char* what) {
    if (rc < 0) {
        std::perror(what);
        std::exit(1);
    }
    return rc;
}

void nonblocking(int fd) {
    must(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), "fcntl");
}

class relay {
public:
    relay(std::uint16_t port, std::uint16_t redis_port) {
        ep_ = must(epoll_create1(0), "epoll_create1");
        listener_ = must(socket(AF_INET, SOCK_STREAM, 0), "socket");
        int one = 1;
        setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        must(bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a), "bind");
        must(listen(listener_, 4096), "listen");
        nonblocking(listener_);
        watch(listener_, EPOLLIN);
        redis_ = must(socket(AF_INET, SOCK_STREAM, 0), "socket");
        a.sin_port = htons(redis_port);
        must(connect(redis_, reinterpret_cast<sockaddr*>(&a), sizeof a), "connect to Redis");
        setsockopt(redis_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        nonblocking(redis_);
        watch(redis_, EPOLLIN);
        redis_in_.resize(1 << 20);
    }

    [[noreturn]] void run() {
        std::vector<epoll_event> events(1024);
        for (;;) {
            int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), -1);
            for (int i = 0; i < n; ++i) {
                int fd = events[i].data.fd;
                if (fd == listener_)
                    accept_all();
                else if (fd == redis_)
                    read_redis();
                else if (auto it = clients_.find(fd); it != clients_.end())
                    on_client(it->second, events[i].events);
            }
            flush_dirty();
        }
    }

private:
    void watch(int fd, std::uint32_t what) {
        epoll_event e{};
        e.events = what;
        e.data.fd = fd;
        must(epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &e), "epoll_ctl");
    }

    void accept_all() {
        for (;;) {
            int fd = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK);
            if (fd < 0)
                return;
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            clients_[fd].fd = fd;
            watch(fd, EPOLLIN | EPOLLRDHUP);
        }
    }

    void on_client(client& c, std::uint32_t what) {
        if (what & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
            drop(c);
            return;
        }
        if (what & EPOLLOUT) {
            write_out(c);
            return;
        }
        char buf[4096];
        ssize_t n = read(c.fd, buf, sizeof buf);
        if (n <= 0) {
            drop(c);
            return;
        }
        if (c.streaming)
            return; // a streaming client has nothing to say
        c.in.append(buf, static_cast<std::size_t>(n));
        std::size_t head_end = c.in.find("\r\n\r\n");
        if (head_end == std::string::npos)
            return;
        std::size_t length = 0;
        if (auto at = c.in.find("Content-Length:"); at != std::string::npos && at < head_end)
            length = std::strtoul(c.in.c_str() + at + 15, nullptr, 10);
        if (c.in.size() < head_end + 4 + length)
            return;
        char id[33];
        std::snprintf(id, sizeof id, "%032llx", static_cast<unsigned long long>(++next_id_));
        c.channel = std::string("sse_session:") + id;
        c.in.clear();
        by_channel_[c.channel] = c.fd;
        redis::append_command(redis_out_, {"SUBSCRIBE", c.channel});
        write_redis();
    }

    void read_redis() {
        for (;;) {
            ssize_t n = read(redis_, redis_in_.data() + redis_end_, redis_in_.size() - redis_end_);
            if (n <= 0)
                break;
            redis_end_ += static_cast<std::size_t>(n);
            std::size_t begin = 0;
            boost::system::error_code ec;
            for (;;) {
                std::string_view view(redis_in_.data() + begin, redis_end_ - begin);
                std::size_t used = redis::parse(view, nodes_, ec);
                if (ec) {
                    std::cerr << "ssebridge-floor: bad reply from Redis\n";
                    std::exit(1);
                }
                if (used == 0)
                    break;
                begin += used;
                on_push();
            }
            std::memmove(redis_in_.data(), redis_in_.data() + begin, redis_end_ - begin);
            redis_end_ -= begin;
            if (redis_end_ == redis_in_.size())
                redis_in_.resize(redis_in_.size() * 2);
        }
    }

    // [kind, channel, payload or count]
    void on_push() {
        if (nodes_.size() != 4)
            return;
        std::string_view kind = nodes_[1].value;
        auto it = by_channel_.find(nodes_[2].value);
        if (it == by_channel_.end())
            return;
        client& c = clients_[it->second];
        if (kind == "subscribe") {
            c.streaming = true;
            c.out += "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     "Transfer-Encoding: chunked\r\nX-Session-Id: ";
            c.out += std::string_view(c.channel).substr(12);
            c.out += "\r\n\r\n";
        } else if (kind == "message") {
            std::string_view payload = nodes_[3].value;
            char size[24];
            int len = std::snprintf(size, sizeof size, "%zx\r\n", payload.size() + 8);
            c.out.append(size, static_cast<std::size_t>(len));
            c.out += "data: ";
            c.out += payload;
            c.out += "\n\n\r\n";
            if (payload.find("FinalAnswerStreamEnd") != std::string_view::npos) {
                c.out += "0\r\n\r\n";
                c.closing = true;
            }
        } else {
            return;
        }
        if (!c.dirty) {
            c.dirty = true;
            dirty_.push_back(c.fd);
        }
    }

    // One write per client after each batch of Redis reads.
    void flush_dirty() {
        for (int fd : dirty_) {
            auto it = clients_.find(fd);
            if (it == clients_.end())
                continue;
            it->second.dirty = false;
            write_out(it->second);
        }
        dirty_.clear();
    }

    void write_out(client& c) {
        while (!c.out.empty()) {
            ssize_t n = write(c.fd, c.out.data(), c.out.size());
            if (n < 0) {
                if (errno == EAGAIN) { // full: wait for room
                    epoll_event e{};
                    e.events = EPOLLIN | EPOLLRDHUP | EPOLLOUT;
                    e.data.fd = c.fd;
                    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &e);
                    return;
                }
                drop(c);
                return;
            }
            c.out.erase(0, static_cast<std::size_t>(n));
        }
        if (c.closing) {
            drop(c);
            return;
        }
        epoll_event e{};
        e.events = EPOLLIN | EPOLLRDHUP;
        e.data.fd = c.fd;
        epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &e);
    }

    void write_redis() {
        while (!redis_out_.empty()) {
            ssize_t n = write(redis_, redis_out_.data(), redis_out_.size());
            if (n <= 0)
                return; // the next command retries; a floor, not a server
            redis_out_.erase(0, static_cast<std::size_t>(n));
        }
    }

    void drop(client& c) {
        int fd = c.fd;
        if (!c.channel.empty()) {
            by_channel_.erase(c.channel);
            redis::append_command(redis_out_, {"UNSUBSCRIBE", c.channel});
            write_redis();
        }
        close(fd);
        clients_.erase(fd);
    }

    int ep_ = -1;
    int listener_ = -1;
    int redis_ = -1;
    std::string redis_in_;
    std::size_t redis_end_ = 0;
    std::string redis_out_;
    std::vector<redis::node> nodes_;
    std::unordered_map<int, client> clients_;
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    std::unordered_map<std::string, int, string_hash, std::equal_to<>> by_channel_;
    std::vector<int> dirty_;
    unsigned long long next_id_ = 0;
};

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "Usage: ssebridge-floor PORT REDIS_PORT\n"
                     "The thinnest SSE relay of Redis Pub/Sub this machine can run (a yardstick\n"
                     "for ssebridge-bench --target ssebridge; see docs/benchmarks.md).\n";
        return 2;
    }
    relay r(static_cast<std::uint16_t>(std::atoi(argv[1])),
            static_cast<std::uint16_t>(std::atoi(argv[2])));
    std::cout << "listening" << std::endl;
    r.run();
}
