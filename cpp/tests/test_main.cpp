#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"

namespace edgesdk_test {
namespace {

struct Entry {
    const char* name;
    TestFunction fn;
};

std::vector<Entry>& registry() {
    static std::vector<Entry> entries;
    return entries;
}

int failures = 0;
std::string golden;

}  // namespace

Registration::Registration(const char* name, TestFunction fn) { registry().push_back({name, fn}); }

void record_failure(const char* file, int line, const std::string& what) {
    ++failures;
    std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, what.c_str());
}

const std::string& golden_dir() { return golden; }

}  // namespace edgesdk_test

// Usage: edgesdk_core_tests GOLDEN_DIR [NAME_SUBSTRING]
int main(int argc, char** argv) {
    using namespace edgesdk_test;
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s GOLDEN_DIR [FILTER]\n", argv[0]);
        return 2;
    }
    golden = argv[1];
    const char* filter = argc > 2 ? argv[2] : "";
    int run = 0, failed_tests = 0;
    for (const Entry& entry : registry()) {
        if (std::strstr(entry.name, filter) == nullptr) continue;
        const int before = failures;
        entry.fn();
        ++run;
        const bool ok = failures == before;
        failed_tests += ok ? 0 : 1;
        std::printf("[%s] %s\n", ok ? "pass" : "FAIL", entry.name);
    }
    std::printf("%d passed, %d failed\n", run - failed_tests, failed_tests);
    return failed_tests == 0 && run > 0 ? 0 : 1;
}
