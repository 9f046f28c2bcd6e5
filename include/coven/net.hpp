#pragma once
// Everything of coven's I/O (B4, docs/net.md): sockets, addresses, name resolution, buffered
// streams, readiness of foreign fds, signals and files.

#include <coven/file.hpp>
#include <coven/net/address.hpp>
#include <coven/net/async_fd.hpp>
#include <coven/net/buffered.hpp>
#include <coven/net/datagram.hpp>
#include <coven/net/listener.hpp>
#include <coven/net/resolve.hpp>
#include <coven/net/serve.hpp>
#include <coven/net/stream.hpp>
#include <coven/signal_set.hpp>
