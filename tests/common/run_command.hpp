// Runs a child process through the shell and captures what it prints.
#pragma once

#include <string>

namespace ocean::test {

/// What a finished command printed and how it exited.
struct command_result {
    /// The exit status, or -1 when the command was killed by a signal or could not start.
    int exit_code = -1;
    std::string out;
    std::string err;
};

/// Runs `command` with /bin/sh, stdin from /dev/null, and returns its stdout, stderr and exit
/// status. The caller quotes arguments (see shell_quote).
command_result run_command(std::string const& command);

/// Returns `text` quoted for /bin/sh as one word.
std::string shell_quote(std::string const& text);

} // namespace ocean::test
