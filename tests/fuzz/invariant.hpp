// What the fuzz targets share: how an invariant fails, and whether a request validates.
#pragma once

#include <cstdio>
#include <cstdlib>

#include "loyalty/common/errors.hpp"

// Stops with abort() when an invariant does not hold, naming it, so that libFuzzer saves the
// input and its log says which promise broke.
#define REQUIRE(invariant)                                                                   \
  ((invariant) ? void(0)                                                                     \
               : (std::fprintf(stderr, "invariant failed at %s:%d: %s\n", __FILE__, __LINE__, \
                               #invariant),                                                  \
                  std::abort()))

// Whether `check(validator)` records no violation: the request would be accepted.
template <class Check>
bool Passes(const Check& check) {
  loyalty::common::Validator v;
  check(v);
  try {
    v.ThrowIfInvalid();
  } catch (const loyalty::common::ApiError&) {
    return false;
  }
  return true;
}
