// Runs a built example program through /bin/sh, with files for its input and output, so tests
// can check what only a real process shows: exit codes, aborts, write errors on /dev/full and
// memory limits.
#ifndef RINGPLAN_TESTS_EXAMPLES_RUN_PROGRAM_HPP
#define RINGPLAN_TESTS_EXAMPLES_RUN_PROGRAM_HPP

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace example_test {

struct ProgramResult {
    int exit_code = -1;  ///< the exit status, or 128 + the signal that ended the program
    std::string out;     ///< stdout, unless it went elsewhere
    std::string err;     ///< stderr
};

/// A scratch directory, removed with its files at the end of the scope.
class TempDir {
public:
    TempDir() {
        std::string pattern = "/tmp/ringplan_example_test.XXXXXX";
        if (mkdtemp(&pattern[0]) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = pattern;
    }
    ~TempDir() { (void)std::system(("rm -rf '" + path_ + "'").c_str()); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }
    std::string write(const std::string& name, const std::string& content) const {
        std::ofstream(file(name), std::ios::binary) << content;
        return file(name);
    }

private:
    std::string path_;
};

inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream all;
    all << in.rdbuf();
    return all.str();
}

/// Runs `program args` with `input` on stdin. stdout goes to `stdout_path` when given (e.g.
/// "/dev/full"), else it is captured. `prefix` is shell text run first in the same shell
/// (e.g. "ulimit -v 1000000;").
inline ProgramResult run_program(const std::string& program, const std::string& args,
                                 const std::string& input, const std::string& stdout_path = "",
                                 const std::string& prefix = "") {
    TempDir dir;
    const std::string in = dir.write("stdin", input);
    const std::string out = stdout_path.empty() ? dir.file("stdout") : stdout_path;
    const std::string err = dir.file("stderr");
    // Not exec'd: the shell reports a program killed by a signal as 128 + the signal.
    const std::string command =
        prefix + " '" + program + "' " + args + " < '" + in + "' > '" + out + "' 2> '" + err + "'";
    const int status = std::system(command.c_str());
    ProgramResult r;
    if (status != -1 && WIFEXITED(status)) {
        r.exit_code = WEXITSTATUS(status);
    }
    if (stdout_path.empty()) {
        r.out = slurp(out);
    }
    r.err = slurp(err);
    return r;
}

}  // namespace example_test

#endif  // RINGPLAN_TESTS_EXAMPLES_RUN_PROGRAM_HPP
