#include "common/child_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace ocean::test {
namespace {

int decode_status(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

} // namespace

child_process::child_process(std::string program, std::vector<std::string> arguments, std::vector<std::string> environment)
{
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe2 for the stdout of " + program);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);

    std::vector<std::string> argument_storage;
    argument_storage.push_back(program);
    argument_storage.insert(argument_storage.end(), arguments.begin(), arguments.end());
    std::vector<char*> argv;
    for (auto& argument : argument_storage)
        argv.push_back(argument.data());
    argv.push_back(nullptr);

    std::vector<std::string> environment_storage;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry)
        environment_storage.emplace_back(*entry);
    environment_storage.insert(environment_storage.end(), environment.begin(), environment.end());
    std::vector<char*> envp;
    for (auto& entry : environment_storage)
        envp.push_back(entry.data());
    envp.push_back(nullptr);

    int const result = ::posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (result != 0) {
        ::close(fds[0]);
        pid_ = -1;
        throw std::system_error(result, std::generic_category(), "posix_spawn of " + program);
    }
    stdout_fd_ = fds[0];
}

child_process::~child_process()
{
    kill_and_reap();
    if (stdout_fd_ >= 0)
        ::close(stdout_fd_);
}

child_process::child_process(child_process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      stdout_fd_(std::exchange(other.stdout_fd_, -1)),
      exit_status_(other.exit_status_),
      pending_(std::move(other.pending_)),
      seen_(std::move(other.seen_))
{
}

child_process& child_process::operator=(child_process&& other) noexcept
{
    if (this != &other) {
        kill_and_reap();
        if (stdout_fd_ >= 0)
            ::close(stdout_fd_);
        pid_ = std::exchange(other.pid_, -1);
        stdout_fd_ = std::exchange(other.stdout_fd_, -1);
        exit_status_ = other.exit_status_;
        pending_ = std::move(other.pending_);
        seen_ = std::move(other.seen_);
    }
    return *this;
}

std::string child_process::wait_for_line(std::string_view prefix, std::chrono::milliseconds timeout)
{
    auto const deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        for (auto newline = pending_.find('\n'); newline != std::string::npos; newline = pending_.find('\n')) {
            std::string line = pending_.substr(0, newline);
            pending_.erase(0, newline + 1);
            if (line.starts_with(prefix))
                return line;
        }

        auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || stdout_fd_ < 0)
            break;
        pollfd descriptor{stdout_fd_, POLLIN, 0};
        int const ready = ::poll(&descriptor, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            break;
        char buffer[4096];
        auto const count = ::read(stdout_fd_, buffer, sizeof buffer);
        if (count < 0 && errno == EINTR)
            continue;
        if (count <= 0) {
            ::close(stdout_fd_);
            stdout_fd_ = -1;
            break;
        }
        pending_.append(buffer, static_cast<std::size_t>(count));
        seen_.append(buffer, static_cast<std::size_t>(count));
    }
    throw std::runtime_error("no stdout line starting with '" + std::string(prefix) + "' from pid " +
                             std::to_string(pid_) + " within " + std::to_string(timeout.count()) +
                             " ms; stdout so far: '" + seen_ + "'");
}

int child_process::wait(std::chrono::milliseconds timeout)
{
    if (pid_ < 0)
        return exit_status_;
    auto const deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        pid_t const done = ::waitpid(pid_, &status, WNOHANG);
        if (done == pid_) {
            pid_ = -1;
            exit_status_ = decode_status(status);
            return exit_status_;
        }
        if (done < 0 && errno != EINTR)
            throw std::system_error(errno, std::generic_category(), "waitpid");
        if (std::chrono::steady_clock::now() >= deadline)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto const pid = pid_;
    kill_and_reap();
    throw std::runtime_error("pid " + std::to_string(pid) + " did not exit within " + std::to_string(timeout.count()) +
                             " ms; it was killed");
}

int child_process::terminate(std::chrono::milliseconds timeout)
{
    if (pid_ < 0)
        return exit_status_;
    ::kill(pid_, SIGTERM);
    return wait(timeout);
}

bool child_process::running()
{
    if (pid_ < 0)
        return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        exit_status_ = decode_status(status);
        return false;
    }
    return true;
}

void child_process::kill_and_reap() noexcept
{
    if (pid_ < 0)
        return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    exit_status_ = decode_status(status);
    pid_ = -1;
}

} // namespace ocean::test
