// Minimal test harness: the core must build and test without third-party libraries
// (firmware toolchains, qemu cross runs).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace edgesdk_test {

using TestFunction = void (*)();

struct Registration {
    Registration(const char* name, TestFunction fn);
};

void record_failure(const char* file, int line, const std::string& what);
const std::string& golden_dir();

// Deterministic generator for test data (xorshift64*), identical on every platform.
class Random {
public:
    explicit Random(uint64_t seed) : state_(seed ? seed : 1) {}
    uint64_t next() {
        state_ ^= state_ >> 12;
        state_ ^= state_ << 25;
        state_ ^= state_ >> 27;
        return state_ * 0x2545F4914F6CDD1DULL;
    }
    // Uniform in [0, bound).
    uint64_t below(uint64_t bound) { return next() % bound; }

private:
    uint64_t state_;
};

}  // namespace edgesdk_test

#define TEST_CASE(name)                                                            \
    static void name();                                                            \
    static const ::edgesdk_test::Registration name##_registration(#name, &name);   \
    static void name()

#define CHECK(condition)                                                                    \
    do {                                                                                    \
        if (!(condition)) ::edgesdk_test::record_failure(__FILE__, __LINE__, #condition);   \
    } while (0)

#define CHECK_STATUS(expression, expected)                                                          \
    do {                                                                                            \
        const ::edgesdk::Status check_status_ = (expression);                                       \
        if (check_status_ != (expected))                                                            \
            ::edgesdk_test::record_failure(__FILE__, __LINE__,                                      \
                                           std::string(#expression " returned ") +                  \
                                               ::edgesdk::status_name(check_status_) + ", expected " + \
                                               ::edgesdk::status_name(expected));                   \
    } while (0)
