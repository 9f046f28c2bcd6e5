// The counters themselves are inline variables (detail/accounting.hpp); this file holds the
// process-wide handler for exceptions nobody retrieved.
#include <coven/detail/accounting.hpp>
