#include "common/run_command.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace ocean::test {

namespace {

std::string read_all(std::filesystem::path const& path)
{
    std::ifstream file(path, std::ios::binary);
    std::ostringstream buffer;
    buffer << file.rdbuf();
    return buffer.str();
}

} // namespace

std::string shell_quote(std::string const& text)
{
    std::string out = "'";
    for (char c : text) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    out += "'";
    return out;
}

command_result run_command(std::string const& command)
{
    // Output goes to files rather than pipes so a chatty child cannot block on a full pipe.
    auto const directory = std::filesystem::temp_directory_path();
    auto const stem = "ocean-test-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand());
    auto const out_path = directory / (stem + ".out");
    auto const err_path = directory / (stem + ".err");

    auto const full = "( " + command + " ) </dev/null >" + shell_quote(out_path.string()) + " 2>" +
                      shell_quote(err_path.string());
    int const status = std::system(full.c_str());

    command_result result;
    if (status != -1 && WIFEXITED(status))
        result.exit_code = WEXITSTATUS(status);
    result.out = read_all(out_path);
    result.err = read_all(err_path);
    std::filesystem::remove(out_path);
    std::filesystem::remove(err_path);
    return result;
}

} // namespace ocean::test
