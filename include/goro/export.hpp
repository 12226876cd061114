// goro/export.hpp — symbol visibility for the goro library.
//
// The library is built with hidden visibility; only declarations marked
// GORO_EXPORT are part of its ABI (in both the static and the shared build).
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define GORO_EXPORT __attribute__((visibility("default")))
#else
#define GORO_EXPORT
#endif
