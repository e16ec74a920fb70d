// A child process for tests: started with posix_spawn, its standard output read through a pipe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace ocean::test {

/// A running program whose stdout the test reads line by line. Its stderr is inherited, so the
/// child's log appears in the test output. The destructor kills (SIGKILL) and reaps a child that
/// is still running, so a failing test leaves no process behind.
class child_process {
public:
    /// Starts `program` with `arguments` (argv[1...]). `environment` entries (`NAME=value`) are
    /// added to the test's own environment. Throws std::system_error when the spawn fails.
    child_process(std::string program, std::vector<std::string> arguments, std::vector<std::string> environment = {});
    ~child_process();

    child_process(child_process const&) = delete;
    child_process& operator=(child_process const&) = delete;
    child_process(child_process&& other) noexcept;
    child_process& operator=(child_process&& other) noexcept;

    /// Reads stdout until a line that starts with `prefix` arrives and returns that line without
    /// its newline; earlier lines are skipped. Throws std::runtime_error, quoting the output read
    /// so far, when `timeout` passes or the child closes its stdout first.
    std::string wait_for_line(std::string_view prefix, std::chrono::milliseconds timeout);

    /// Sends SIGTERM and waits for the exit; returns what wait() returns. Throws
    /// std::runtime_error (after SIGKILL) when the child outlives `timeout`.
    int terminate(std::chrono::milliseconds timeout = std::chrono::seconds(10));

    /// Waits for the child to exit and returns its exit status, or 128 + the signal number when a
    /// signal ended it. Throws std::runtime_error (after SIGKILL) when `timeout` passes first.
    int wait(std::chrono::milliseconds timeout);

    /// True until the child has exited and been reaped.
    bool running();

    pid_t pid() const noexcept { return pid_; }

private:
    void kill_and_reap() noexcept;

    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    int exit_status_ = -1;
    std::string pending_;
    std::string seen_;
};

} // namespace ocean::test
