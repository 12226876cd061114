#!/usr/bin/env python3
"""Writes the hand-made seed programs of tests/fuzz/corpus (decode() in
chan_fuzz.cpp is the format). Run from anywhere; rewrites seed-*.bin only."""
import os

KINDS = ["send", "recv", "try_send", "try_recv", "close", "len_cap", "select"]


def find(pred):
    return next(b for b in range(256) if pred(b))


def encode(procs, caps, nworkers, ops, lazy=0):
    """caps: list of int or None (nil); ops: (worker, kind, ch) or
    (worker, 'select', [(ch, is_send), ...], has_default). lazy: the driver
    checks an op another op completed only before its worker's next op."""
    n = len(caps)
    out = [find(lambda h: 1 + (h & 1) == procs and 1 + (h >> 1) % 3 == n and 1 + (h >> 3) % 4 == nworkers
                and (h >> 5) & 1 == lazy)]
    for c in caps:
        out.append(0x1C if c is None else c)
    for o in ops:
        w, kind = o[0], KINDS.index(o[1])
        out.append(find(lambda b: b % nworkers == w and (b >> 2) % 7 == kind))
        if o[1] != "select":
            out.append(o[2])
        else:
            cases, dflt = o[2], o[3]
            out.append(find(lambda b: 1 + (b >> 2) % 3 == len(cases) and (b >> 4) & 1 == dflt))
            for ch, snd in cases:
                out.append(find(lambda b: b % n == ch and ((b >> 2) & 1) == snd))
    return bytes(out)


SEEDS = {
    # unbuffered ping-pong, then close: recv sees closed
    "pingpong": (1, [0], 2, [(0, "send", 0), (1, "recv", 0), (1, "send", 0), (0, "recv", 0),
                             (0, "close", 0), (1, "recv", 0), (1, "try_recv", 0)]),
    # a full buffer parks the sender; a recv pulls its value into the buffer (FIFO)
    "buffered": (2, [2], 2, [(0, "send", 0), (0, "send", 0), (0, "send", 0), (1, "len_cap", 0),
                             (1, "recv", 0), (1, "len_cap", 0), (1, "try_send", 0), (1, "recv", 0),
                             (1, "recv", 0), (1, "try_recv", 0)]),
    # close wakes parked receivers (closed) and parked senders (panic); misuse panics
    "close": (1, [0, 1], 4, [(0, "recv", 0), (1, "recv", 0), (2, "send", 1), (2, "send", 1),
                             (3, "close", 0), (3, "close", 0), (2, "close", 1), (0, "send", 1),
                             (1, "try_send", 0), (1, "recv", 1), (1, "recv", 1)]),
    # nil channels: send/recv park forever, try ops fail, close panics, len/cap 0
    "nil": (2, [None, 0], 4, [(0, "send", 0), (1, "recv", 0), (2, "close", 0), (2, "try_send", 0),
                              (2, "try_recv", 0), (2, "len_cap", 0),
                              (3, "select", [(0, 0), (0, 1)], 0)]),
    # a parked select completed through one case; selects with default
    "select": (1, [0, 1, 0], 2, [(0, "select", [(0, 0), (1, 0), (2, 1)], 0), (1, "send", 1),
                                 (0, "select", [(0, 0), (1, 0)], 1), (1, "send", 1),
                                 (0, "select", [(0, 0), (1, 0)], 1), (1, "recv", 2),
                                 (0, "select", [(2, 1)], 0), (1, "recv", 2)]),
    # a select parked on both directions of one channel, woken by close
    "select_close": (2, [0, 2], 4, [(0, "select", [(0, 0), (0, 1)], 0), (1, "close", 0),
                                    (2, "select", [(1, 1), (0, 1)], 0), (3, "recv", 1),
                                    (3, "recv", 1)]),
    # several ready cases: any may be chosen
    "select_ready": (2, [3, 3], 2, [(0, "send", 0), (0, "send", 1), (1, "select", [(0, 0), (1, 0), (0, 1)], 1),
                                    (1, "select", [(0, 0), (1, 0)], 0), (0, "close", 1),
                                    (1, "select", [(1, 0), (1, 1)], 0), (1, "len_cap", 0)]),
}

LAZY_SEEDS = {
    # a select woken through c0 still has a waiter record on c1 until it
    # resumes: the next sender on c1 must skip it and park
    "lazy_select": (2, [0, 0], 4, [(0, "select", [(0, 0), (1, 0)], 0), (1, "send", 0), (2, "send", 1),
                                   (3, "recv", 1), (3, "try_recv", 1), (0, "select", [(0, 1), (1, 1)], 1)]),
    # a full buffer's parked senders released one by one while earlier ones resume
    "lazy_buffered": (1, [1], 4, [(0, "send", 0), (1, "send", 0), (2, "send", 0), (3, "recv", 0),
                                  (3, "recv", 0), (3, "len_cap", 0), (3, "recv", 0), (1, "close", 0),
                                  (0, "recv", 0)]),
}

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
os.makedirs(here, exist_ok=True)
for lazy, seeds in ((0, SEEDS), (1, LAZY_SEEDS)):
    for name, (procs, caps, nw, ops) in seeds.items():
        with open(os.path.join(here, f"seed-{name}.bin"), "wb") as f:
            f.write(encode(procs, caps, nw, ops, lazy))
