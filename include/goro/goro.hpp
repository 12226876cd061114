// goro/goro.hpp — the umbrella header: everything goro offers.
#pragma once

#include "goro/chan.hpp"
#include "goro/context.hpp"
#include "goro/debug.hpp"
#include "goro/errc.hpp"
#include "goro/errgroup.hpp"
#include "goro/net.hpp"
#include "goro/panic.hpp"
#include "goro/runtime.hpp"
#include "goro/select.hpp"
#include "goro/semaphore.hpp"
#include "goro/sync.hpp"
#include "goro/time.hpp"
#include "goro/trace.hpp"
#include "goro/wait_group.hpp"
