/* A minimal C test harness for the kernels: CHECK counts failures, main returns their count. */
#ifndef GW_TEST_H
#define GW_TEST_H
#include <stdio.h>
static int gw_failures = 0;
#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
            gw_failures++;                                                               \
        }                                                                                \
    } while (0)
#define CHECK_EQ(a, b)                                                                   \
    do {                                                                                 \
        long long _a = (long long)(a), _b = (long long)(b);                              \
        if (_a != _b) {                                                                  \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, \
                    #a, #b, _a, _b);                                                     \
            gw_failures++;                                                               \
        }                                                                                \
    } while (0)
#define GW_TEST_END() (printf("%s: %s\n", __FILE__, gw_failures ? "FAILED" : "ok"), gw_failures != 0)
#endif
