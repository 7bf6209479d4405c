#!/usr/bin/env python3
"""Writes protocol/vectors/*.json from the rules in PROTOCOL.md.

This is a second, independent implementation of the pure rules (decomposition, backoff bounds,
header validation, outcome order, id-keys, dead-letter headers). The Java, Go and Rust test suites
read the JSON it writes; a disagreement between any of them is a bug in one of the four.
Protobuf encodings are produced with protoc --encode (see protobuf.json's "text" fields).
"""
import hashlib
import json
import math
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "vectors")

ID_RE = re.compile(r"^[\x21-\x7e]{1,128}$")
TYPE_RE = re.compile(r"^[A-Za-z0-9_./-]{1,256}$")
INT_RE = re.compile(r"^[1-9][0-9]*$")


def write(name, doc):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(doc, f, indent=2, sort_keys=False)
        f.write("\n")


# ---------------------------------------------------------------- credits
def decompose(c, b):
    out = [b] * (c // b)
    r = c % b
    p = b
    while r:
        while p > r:
            p //= 2
        out.append(p)
        r -= p
    return out


def reconcile(w, backlog, tokens, held_spent, owed, previous, live_producers=0, token_batch=32, held_tokens=0):
    d = w - (backlog + tokens - held_spent + owed)
    if d > 0 and previous > 0:
        return d, {"action": "mint", "credits": min(d, previous), "burn": 0}
    if d < 0 and previous < 0:
        c = min(-d, -previous)
        # [v1.2] the tolerance uses the queue's token batch b, never a worker's b';
        # [v1.3] plus what the producers hold and have not reported spent, while some producer
        # is live (a crashed producer's token, held until redelivered, covers nothing).
        unreported = max(0, held_tokens * token_batch - held_spent) if live_producers > 0 else 0
        tolerance = live_producers * token_batch + unreported
        return d, {"action": "burn", "credits": c, "burn": max(0, c - tolerance)}
    return d, {"action": "none", "credits": 0, "burn": 0}


def debt_rules(debt, backlog, owed, burn, burned_unheld):
    """[v1.3] §5.5: what a confirmed surplus of `burn` credits becomes once `burned_unheld` were
    burned from unheld tokens. A debt is paid only by withholding the credits of what the workers
    still finish, so no more than max(0, B + O - debt) is announced; when that is 0 (an idle
    queue) the surplus is fetched instead, with no time budget. A mint is held back while a debt is
    pending and B + O > 0 (something left to finish)."""
    payable = max(0, backlog + owed - debt)
    return {"payable": payable, "fetch_all": payable == 0,
            "announce": 0 if payable == 0 else min(burn - burned_unheld, payable),
            "mint_blocked": debt > 0 and backlog + owed > 0}


def linger_ms(batch, rate):
    """[v1.2] §5.4: floor(clamp(1000 b' / rate, 2, 20)) ms; 20 ms while the rate is 0."""
    if rate <= 0:
        return 20
    return int(max(2.0, min(20.0, batch / rate * 1000)))


def service_rate(previous, completed, dt_s):
    """[v1.2] §5.2: the EWMA of completions per second, updated at each heartbeat."""
    inst = completed / dt_s
    return inst if previous == 0 else 0.3 * inst + 0.7 * previous


TOKEN_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}\.[0-9a-f]{8,32}\.[1-9][0-9]*$")


DEFAULT_MAX_WORKER_CAPACITY = 10000
DEFAULT_MAX_WINDOW = 10000


def window(standing, adverts, now, max_worker_capacity=0, max_window=0):
    # [v1.1] bounds: 0 means the default.
    per_worker = max_worker_capacity or DEFAULT_MAX_WORKER_CAPACITY
    total_cap = max_window or DEFAULT_MAX_WINDOW
    total = 0
    for a in adverts:
        live = a["heartbeat_unix_ms"] + a["ttl_ms"] >= now
        if live and a["state"] == "RUNNING":
            total += min(a["capacity"], per_worker)
    return max(standing, min(total_cap, total))


def credits():
    dec = []
    for c, b in [(0, 32), (1, 32), (31, 32), (32, 32), (33, 32), (45, 16), (64, 32), (100, 32),
                 (255, 64), (1000, 128), (7, 1), (5, 8), (96, 32), (13, 4)]:
        dec.append({"credits": c, "batch": b, "tokens": decompose(c, b)})
    win = []
    now = 1_700_000_010_000
    a_live = {"worker_id": "a", "capacity": 16, "state": "RUNNING", "heartbeat_unix_ms": now - 1000, "ttl_ms": 6000}
    b_live = {"worker_id": "b", "capacity": 24, "state": "RUNNING", "heartbeat_unix_ms": now - 5999, "ttl_ms": 6000}
    c_dead = {"worker_id": "c", "capacity": 100, "state": "RUNNING", "heartbeat_unix_ms": now - 6001, "ttl_ms": 6000}
    d_open = {"worker_id": "d", "capacity": 50, "state": "CIRCUIT_OPEN", "heartbeat_unix_ms": now, "ttl_ms": 6000}
    e_edge = {"worker_id": "e", "capacity": 8, "state": "RUNNING", "heartbeat_unix_ms": now - 6000, "ttl_ms": 6000}
    f_huge = {"worker_id": "f", "capacity": 2_000_000, "state": "RUNNING", "heartbeat_unix_ms": now, "ttl_ms": 6000}
    for name, standing, ads, mwc, mw in [
        ("two live workers", 0, [a_live, b_live], 0, 0),
        ("expired advert ignored", 0, [a_live, c_dead], 0, 0),
        ("circuit open counts zero", 0, [a_live, d_open], 0, 0),
        ("advert live exactly at heartbeat + ttl", 0, [e_edge], 0, 0),
        ("no workers: standing buffer", 20, [], 0, 0),
        ("standing buffer is a floor", 20, [a_live], 0, 0),
        ("live capacity above the floor", 20, [a_live, b_live], 0, 0),
        ("[v1.1] a huge advert counts for the default per-worker bound", 0, [a_live, f_huge], 0, 0),
        ("[v1.1] a huge advert counts for max_worker_capacity", 0, [a_live, f_huge], 20, 0),
        ("[v1.1] one advert above max_worker_capacity", 0, [a_live, b_live], 20, 0),
        ("[v1.1] the sum is clamped to max_window", 0, [a_live, b_live], 0, 32),
        ("[v1.1] both bounds", 0, [a_live, b_live, f_huge], 20, 50),
        ("[v1.1] the standing buffer is not clamped", 64, [a_live, b_live], 0, 32),
    ]:
        win.append({"name": name, "now_unix_ms": now, "standing_buffer": standing,
                    "max_worker_capacity": mwc, "max_window": mw, "adverts": ads,
                    "window": window(standing, ads, now, mwc, mw)})
    rec = []
    for name, args in [
        ("balanced", (64, 30, 34, 0, 0, 0)),
        ("first deficit only observed", (64, 30, 20, 0, 0, 0)),
        ("deficit confirmed: mint the smaller", (64, 30, 20, 0, 0, 20)),
        ("deficit shrank: mint the current", (64, 30, 26, 0, 0, 14)),
        ("held spent is subtracted", (64, 40, 32, 8, 0, 0)),
        ("owed credits count as circulating", (64, 30, 30, 0, 4, 0)),
        ("surplus confirmed: burn", (32, 10, 54, 0, 0, -20)),
        ("surplus after deficit: nothing", (32, 10, 54, 0, 0, 5)),
        ("deficit after surplus: nothing", (64, 10, 20, 0, 0, -3)),
        ("crashed producer's redelivered token", (64, 40, 32, 0, 0, -8)),
        ("[v1.2] surplus within one token per live producer: nothing burned", (32, 10, 54, 0, 0, -20, 1, 32)),
        ("[v1.2] surplus beyond the tolerance: the excess is burned", (32, 10, 94, 0, 0, -70, 1, 32)),
        ("[v1.2] tolerance with the queue's batch b, not a worker's b'", (64, 10, 90, 0, 0, -40, 2, 16)),
        ("[v1.2] three live producers, batch 8", (64, 30, 60, 0, 0, -26, 3, 8)),
        ("[v1.2] surplus exactly at the tolerance: nothing burned", (64, 30, 66, 0, 0, -40, 1, 32)),
        ("[v1.2] live producers do not change a mint", (64, 30, 20, 0, 0, 20, 4, 32)),
        ("[v1.3] tokens held and not reported spent: nothing burned", (256, 100, 224, 0, 60, -120, 1, 32, 7)),
        ("[v1.3] a surplus beyond what producers hold unreported is burned", (64, 10, 180, 20, 0, -110, 1, 32, 2)),
        ("[v1.3] held tokens mostly reported spent: their rest beside the token per producer", (64, 40, 200, 120, 0, -60, 1, 32, 4)),
        ("[v1.3] held tokens do not change a mint", (256, 20, 64, 0, 0, 100, 1, 32, 6)),
        ("[v1.3] held tokens with no live producer (a crashed producer's token): burned", (8, 0, 10, 0, 0, -2, 0, 4, 1)),
        ("[v1.3] a crashed producer's token beside a live producer: within the tolerance", (64, 20, 60, 4, 0, -16, 1, 4, 3)),
    ]:
        d, act = reconcile(*args)
        w, bl, t, s, o, p = args[:6]
        lp = args[6] if len(args) > 6 else 0
        tb = args[7] if len(args) > 7 else 32
        ht = args[8] if len(args) > 8 else 0
        rec.append({"name": name, "window": w, "backlog": bl, "tokens": t, "held_spent": s, "owed": o,
                    "previous_deficit": p, "live_producers": lp, "token_batch": tb, "held_tokens": ht,
                    "deficit": d, **act})
    debts = []
    for name, (debt, bl, o, burn, unheld) in [
        ("a busy queue announces what the unheld tokens did not cover", (0, 1000, 4, 900, 40)),
        ("the announcement stops at what is left to finish", (0, 30, 2, 200, 10)),
        ("a pending debt is paid first by the same finishes", (25, 30, 0, 50, 0)),
        ("a pending debt as large as the backlog: fetch", (30, 30, 0, 50, 0)),
        ("an idle queue announces nothing: fetch", (0, 0, 0, 996, 0)),
        ("owed credits alone still pay a debt", (0, 0, 8, 20, 0)),
        ("an idle queue with a debt: a deficit is minted", (20, 0, 0, 0, 0)),
    ]:
        debts.append({"name": name, "debt": debt, "backlog": bl, "owed": o, "burn": burn,
                      "burned_unheld": unheld, **debt_rules(debt, bl, o, burn, unheld)})
    lin = [{"batch": b, "service_rate": r, "linger_ms": linger_ms(b, r)}
           for b, r in [(32, 0.0), (32, 1000.0), (32, 16000.0), (32, 1600.0), (32, 1500.0), (8, 100.0),
                        (1, 1000.0), (16, 3.5), (32, 2133.3333333333335), (4, 250.0)]]
    rates = []
    for name, beats in [
        ("first heartbeat takes the instant rate", [(2000, 200)]),
        ("then 0.3 x instant + 0.7 x previous", [(2000, 200), (2000, 400), (2000, 0)]),
        ("a rate that fell to 0 restarts from the instant rate", [(2000, 0), (2000, 50), (1000, 30)]),
        ("uneven heartbeats", [(1500, 3), (2500, 10), (2000, 7), (1999, 1)]),
    ]:
        r = 0.0
        steps = []
        for dt_ms, c in beats:
            r = service_rate(r, c, dt_ms / 1000)
            steps.append({"dt_ms": dt_ms, "completed": c, "service_rate": r})
        rates.append({"name": name, "heartbeats": steps})
    eff = []
    for b, cap in [(32, 64), (32, 8), (32, 9), (32, 7), (8, 8), (32, 1), (32, 0), (32, 3), (16, 1000), (1, 4)]:
        half = max(1, cap // 2)
        p = 1
        while p * 2 <= half:
            p *= 2
        eff.append({"batch": b, "capacity": cap, "effective_batch": min(b, p)})
    ids = []
    for minter, nonce, counter in [("java-w1", "9f3a01bc", 1), ("go-w2", "00000000", 17),
                                   ("provision", "a1b2c3d4e5f60718", 3), ("w_1-x", "0123456789abcdef0123456789abcdef", 1000)]:
        i = f"{minter}.{nonce}.{counter}"
        ids.append({"minter_id": minter, "nonce": nonce, "counter": counter, "msg_id": i, "valid": bool(TOKEN_ID_RE.match(i))})
    for bad in ["mint.orders.go-w2.NUIDxyz.1", "java-w1.9f3a01bc.0", "java-w1.9F3A01BC.1", "java-w1.9f3a01.1",
                "java-w1.9f3a01bc.01", "java w1.9f3a01bc.1"]:
        ids.append({"msg_id": bad, "valid": bool(TOKEN_ID_RE.match(bad))})
    back = []
    for v, need, b in [(32, 20, 32), (32, 31, 32), (16, 5, 32), (32, 1, 8), (64, 7, 16)]:
        back.append({"token": v, "need": need, "batch": b, "burned": need, "mint_back": decompose(v - need, b)})
    subj = []
    for q, n in [("orders", 32), ("a-b_c", 1), ("Q1", 1024)]:
        subj.append({"queue": q, "credits": n, "subject": f"sluice.credit.{q}.{n}",
                     "consumer": f"credits-{q}", "work_stream": f"SLUICE_Q_{q}",
                     "work_subject": f"sluice.q.{q}", "dlq_subject": f"sluice.dlq.{q}"})
    write("credits.json", {
        "description": "PROTOCOL.md §5: token decomposition (§5.3), the window (§5.1), reconciler "
                       "decisions (§5.5; 'burn' is what is burned after the tolerance live_producers x "
                       "token_batch [v1.3] + max(0, held_tokens x token_batch - held_spent) when live_producers > 0), names (§2), [v1.2] the linger in whole ms (§5.4), the service-rate "
                       "average (§5.2; compare with a relative tolerance of 1e-9), token ids (§5.4), b' "
                       "(§5.4: min(b, the largest power of two <= max(1, capacity / 2)), integer division) and the "
                       "RETURN mint of a burn (§5.4, decomposed with the queue's batch); [v1.3] 'debt': how much of a "
                       "confirmed surplus is announced as a debt and when a pending debt holds back a mint (§5.5).",
        "decompose": dec, "window": win, "reconcile": rec, "names": subj,
        "linger": lin, "service_rate": rates, "token_ids": ids, "effective_batch": eff,
        "token_id_pattern": TOKEN_ID_RE.pattern, "mint_back": back, "debt": debts,
        "fairness": fairness_cases(),
        "rate_limit": rate_limit()})


def fair_order(weights, arrivals, grants):
    """§15.3 grant order: deficit round robin over per-key FIFO lanes, quantum = weight, cost 1."""
    lanes, ring, deficit = {}, [], {}
    for k in arrivals:
        lanes.setdefault(k, 0)
        if lanes[k] == 0:
            ring.append(k)
        lanes[k] += 1
    out = []
    while len(out) < grants and ring:
        k = ring.pop(0)
        if deficit.get(k, 0) < 1:
            deficit[k] = deficit.get(k, 0) + weights.get(k, 1)
        deficit[k] -= 1
        lanes[k] -= 1
        out.append(k)
        if lanes[k] == 0:
            deficit[k] = 0
        elif deficit[k] >= 1:
            ring.insert(0, k)
        else:
            ring.append(k)
    return out


def fairness_cases():
    cases = []
    def case(name, weights, arrivals, grants):
        cases.append({"name": name, "weights": weights, "arrivals": arrivals, "grants": grants,
                      "order": fair_order(weights, arrivals, grants)})
    case("one key: arrival order", {}, ["a"] * 4, 4)
    case("a quiet key is not queued behind a flood", {}, ["flood"] * 10 + ["quiet"] * 2, 6)
    case("weights 3:1", {"heavy": 3}, ["heavy"] * 12 + ["light"] * 12, 12)
    case("the empty key is sends without a key", {}, [""] * 3 + ["t"] * 3, 6)
    case("a key asking less than its share gets all it asks", {"a": 2},
         ["a"] * 20 + ["b"] * 20 + ["small"] * 2, 14)
    case("more grants than sends: every send, then none", {"x": 5}, ["x", "y", "x"], 10)
    return cases


# ---------------------------------------------------------------- rate limit (§15.2 [v1.3])
DEPTH_S = 0.02
PACING_S = 0.05


def rate_share(rate, own, others):
    total = own + sum(others)
    return 0.0 if own <= 0 or total <= 0 or rate <= 0 else rate * own / total


def rate_window(window, rate, burst, live_workers):
    if not rate > 0:
        return window
    pacing = math.ceil(rate * PACING_S) + max(0, live_workers)
    return min(window, max(1, burst - pacing))


def rate_bucket(share, steps):
    """The per-worker bucket: configured at t=0 full to its depth; each step asks for `wanted` of
    the `owed` credits the worker owes (owed >= wanted; whole batches may be asked for first)."""
    depth = max(1.0, share * DEPTH_S)
    allowance, last, idle = depth, 0, True
    out = []
    for step in steps:
        at_ms, wanted = step[0], step[1]
        owed = step[2] if len(step) > 2 else wanted
        allowance += share * (at_ms - last) / 1000.0
        last = at_ms
        if idle:
            allowance = min(allowance, depth)
        m = max(0, min(wanted, math.floor(allowance)))
        allowance -= m
        idle = owed - m == 0
        if idle:
            allowance = min(allowance, depth)
        out.append({"at_ms": at_ms, "wanted": wanted, "owed": owed, "allowed": m})
    return out


def rate_limit():
    shares = []
    for name, rate, own, others in [
        ("alone: the whole rate", 500.0, 16, []),
        ("four equal workers", 500.0, 16, [16, 16, 16]),
        ("by capacity", 300.0, 8, [16]),
        ("no capacity: no share", 500.0, 0, [16, 16]),
        ("fractional", 10.0, 3, [4]),
    ]:
        shares.append({"name": name, "rate": rate, "own_capacity": own,
                       "other_capacities": others, "share": rate_share(rate, own, others)})
    windows = []
    for window, rate, burst, n in [
        (64, 0.0, 0, 2), (64, 500.0, 100, 4), (64, 500.0, 50, 4), (200, 500.0, 100, 4),
        (64, 100.0, 5, 3), (1000, 10.0, 1000, 1), (64, 0.5, 1, 1),
    ]:
        windows.append({"window": window, "rate": rate, "burst": burst, "live_workers": n,
                        "pacing": (math.ceil(rate * PACING_S) + n) if rate > 0 else 0,
                        "rate_window": rate_window(window, rate, burst, n)})
    buckets = []
    for name, share, steps in [
        ("a full bucket lets its depth through at once", 500.0,
         [(0, 32), (20, 32), (40, 32), (60, 0), (100, 32)]),
        ("paced to the share while credits wait", 100.0,
         [(0, 5), (10, 5), (20, 5), (30, 5), (40, 5), (50, 5)]),
        ("a round run late loses nothing while credits wait", 100.0,
         [(0, 10), (10, 10), (110, 20), (120, 20)]),
        ("idle time does not accrue beyond the depth", 100.0,
         [(0, 1), (1000, 50), (1010, 50)]),
        ("depth at least one credit", 10.0,
         [(0, 3), (50, 3), (100, 3), (250, 3)]),
        ("a round that got all it asked while a remainder waits keeps accruing", 100.0,
         [(0, 2, 10), (100, 8, 8), (200, 8, 8)]),
    ]:
        buckets.append({"name": name, "share": share, "steps": rate_bucket(share, steps)})
    return {"description": "§15.2 [v1.3]: a worker's share rate x own / (own + others), compare with a "
                           "relative tolerance of 1e-9; the window while a rate is set, "
                           "min(window, max(1, burst - (ceil(rate x 0.05) + live_workers))); the "
                           "per-worker bucket, configured at at_ms 0 full to its depth max(1, share x "
                           "0.02), each step asking to mint `wanted` of the `owed` credits and allowed "
                           "`allowed` (the cap at the depth applies after a step that left nothing owed).",
            "share": shares, "window": windows, "bucket": buckets}


# ---------------------------------------------------------------- backoff
def at_u(p, d, u):
    ms = min(p["max_delay_ms"], max(0.0, d * (1 + p["jitter"] * (2 * u - 1))))
    # [v1.2] the NAK carries floor(ms x 10^6) nanoseconds, computed in double precision.
    return {"u": u, "delay_ms": round(ms, 6), "delay_ns": int(ms * 1e6)}


def backoff():
    cases = []
    for p in [
        {"initial_ms": 1000, "multiplier": 2.0, "max_delay_ms": 60000, "jitter": 0.2},
        {"initial_ms": 100, "multiplier": 3.0, "max_delay_ms": 5000, "jitter": 0.0},
        {"initial_ms": 250, "multiplier": 1.5, "max_delay_ms": 2000, "jitter": 0.5},
        {"initial_ms": 10, "multiplier": 2.0, "max_delay_ms": 10, "jitter": 1.0},
    ]:
        rows = []
        for k in range(1, 11):
            d = min(p["max_delay_ms"], p["initial_ms"] * p["multiplier"] ** (k - 1))
            lo = max(0.0, d * (1 - p["jitter"]))
            hi = min(p["max_delay_ms"], d * (1 + p["jitter"]))
            rows.append({"attempt": k, "delay_ms": round(d, 6), "min_ms": round(lo, 6), "max_ms": round(hi, 6),
                         "at_u": [at_u(p, d, u) for u in (0.0, 0.25, 0.5, 0.75)]})
        cases.append({"params": p, "attempts": rows})
    write("backoff.json", {
        "description": "PROTOCOL.md §7.3: d(k) = min(max, initial * multiplier^(k-1)); "
                       "delay = clamp(d(k) * (1 + jitter * (2u - 1)), 0, max). Compare with a tolerance of 1e-6 ms. "
                       "[v1.2] delay_ns is the NAK's delay: floor(delay_ms * 1e6), exact.",
        "cases": cases})


# ---------------------------------------------------------------- headers
def validate(h, supported_protocol=1):
    for name in ("Nats-Msg-Id", "Sluice-Protocol", "Sluice-Type", "Sluice-Type-Version"):
        if not h.get(name):
            return {"valid": False, "reason": "missing-header", "header": name}
    checks = [("Nats-Msg-Id", ID_RE), ("Sluice-Protocol", INT_RE), ("Sluice-Type", TYPE_RE),
              ("Sluice-Type-Version", INT_RE)]
    for name, rx in checks:
        if not rx.match(h[name]):
            return {"valid": False, "reason": "bad-header", "header": name}
    if int(h["Sluice-Type-Version"]) > 2147483647:
        return {"valid": False, "reason": "bad-header", "header": "Sluice-Type-Version"}
    if int(h["Sluice-Protocol"]) > 2147483647:
        return {"valid": False, "reason": "bad-header", "header": "Sluice-Protocol"}
    tp = h.get("traceparent")
    trace_ok = bool(tp and re.match(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$", tp)
                    and tp[3:35] != "0" * 32 and tp[36:52] != "0" * 16)
    out = {"valid": True, "protocol": int(h["Sluice-Protocol"]), "type": h["Sluice-Type"],
           "version": int(h["Sluice-Type-Version"]), "trace_valid": trace_ok}
    if int(h["Sluice-Protocol"]) > supported_protocol:
        out["not_handled_reason"] = "unsupported-protocol"
    return out


def headers():
    base = {"Nats-Msg-Id": "01HZX3K9Q7", "Sluice-Protocol": "1", "Sluice-Type": "acme.orders.v1.Order",
            "Sluice-Type-Version": "2", "Content-Type": "application/x-protobuf",
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    cases = []

    def case(name, **changes):
        h = dict(base)
        for k, v in changes.items():
            k = k.replace("_", "-")
            if v is None:
                h.pop(k, None)
            else:
                h[k] = v
        cases.append({"name": name, "headers": h, "expect": validate(h)})

    case("complete")
    case("minimal: no optional headers", **{"Content-Type": None, "traceparent": None})
    case("missing message id", **{"Nats-Msg-Id": None})
    case("empty message id", **{"Nats-Msg-Id": ""})
    case("message id with a space", **{"Nats-Msg-Id": "a b"})
    case("message id of 128 characters", **{"Nats-Msg-Id": "x" * 128})
    case("message id of 129 characters", **{"Nats-Msg-Id": "x" * 129})
    case("missing protocol", **{"Sluice-Protocol": None})
    case("protocol not a number", **{"Sluice-Protocol": "one"})
    case("protocol zero", **{"Sluice-Protocol": "0"})
    case("protocol with leading zero", **{"Sluice-Protocol": "01"})
    case("newer protocol", **{"Sluice-Protocol": "2"})
    case("protocol too large", **{"Sluice-Protocol": "2147483648"})
    case("missing header reported before an earlier malformed one",
         **{"Nats-Msg-Id": "a b", "Sluice-Type-Version": None})
    case("missing type", **{"Sluice-Type": None})
    case("type with a space", **{"Sluice-Type": "acme order"})
    case("type with slash and dash", **{"Sluice-Type": "type.googleapis.com/acme.v1-beta.Order"})
    case("missing type version", **{"Sluice-Type-Version": None})
    case("type version negative", **{"Sluice-Type-Version": "-1"})
    case("type version zero", **{"Sluice-Type-Version": "0"})
    case("type version too large", **{"Sluice-Type-Version": "2147483648"})
    case("type version max", **{"Sluice-Type-Version": "2147483647"})
    case("type version with plus sign", **{"Sluice-Type-Version": "+3"})
    case("malformed traceparent is not an error", **{"traceparent": "garbage"})
    case("uppercase traceparent is malformed", **{"traceparent": "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01"})
    case("all-zero trace id is malformed", **{"traceparent": "00-" + "0" * 32 + "-00f067aa0ba902b7-01"})
    # [v1.2] repeated headers: a worker that sees every value uses the first one.
    rep = []

    def repeated(name, pairs):
        first = {}
        for k, v in pairs:
            first.setdefault(k, v)
        rep.append({"name": name, "headers": [[k, v] for k, v in pairs], "expect": validate(first)})

    req = [(k, base[k]) for k in ("Nats-Msg-Id", "Sluice-Protocol", "Sluice-Type", "Sluice-Type-Version")]
    repeated("repeated version: the first value is used", req + [("Sluice-Type-Version", "x")])
    repeated("repeated version: a malformed first value is bad-header",
             req[:3] + [("Sluice-Type-Version", "x"), ("Sluice-Type-Version", "2")])
    repeated("repeated protocol: the first value decides",
             [req[0], ("Sluice-Protocol", "2"), ("Sluice-Protocol", "1")] + req[2:])
    repeated("repeated type: the first value is used", req + [("Sluice-Type", "acme.Other")])
    repeated("an empty first value is missing even when a later one is set",
             [("Nats-Msg-Id", ""), ("Nats-Msg-Id", "01HZX3K9Q7")] + req[1:])
    # [v1.2] §2.2: what the work stream can store (header block and payload count together).
    sizes = []
    mib = 1048576
    small = {k: v for k, v in req}
    hs = header_size({k: [v] for k, v in small.items()})
    for name, length in [("payload of exactly 1 MiB never fits: the headers count too", mib),
                         ("payload of 1 MiB minus the header block fits", mib - hs),
                         ("one byte more does not", mib - hs + 1),
                         ("an empty payload fits", 0)]:
        sizes.append({"name": name, "headers": small, "payload_length": length, "max_msg_size": mib,
                      "header_size": hs, "fits": hs + length <= mib})
    write("headers.json", {
        "description": "PROTOCOL.md §3: worker-side header validation. The worker implements protocol 1. "
                       "'header' names the first failing header; checks run in the order of §3; the error "
                       "text is 'missing header <header>' or 'malformed header <header>' [v1.2]. "
                       "'repeated' [v1.2]: headers as [name, value] pairs in wire order. "
                       "'message_size' [v1.2] (§2.2): header_size is the canonical size of §8.4; the message "
                       "is stored only when header_size + payload_length <= max_msg_size.",
        "supported_protocol": 1, "cases": cases, "repeated": rep, "message_size": sizes,
        "fairness_key": fairness_keys()})


FAIRNESS_KEY_RE = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")


def fairness_keys():
    """[v1.3] §15.3: the Sluice-Fairness-Key format a producer enforces (a worker never does)."""
    out = []
    for name, key in [("a tenant id", "tenant-42"), ("every allowed character", "aZ09_.:@-"),
                      ("64 characters", "k" * 64), ("65 characters", "k" * 65), ("empty", ""),
                      ("a space", "a b"), ("a slash", "a/b"), ("non-ASCII", "t\u00e9nant"),
                      ("a star", "t*"), ("one character", "x")]:
        out.append({"name": name, "key": key, "valid": bool(FAIRNESS_KEY_RE.match(key))})
    return out


# ---------------------------------------------------------------- outcomes
def outcome(c):
    s = c["settings"]
    v = validate(c["headers"])
    if not v["valid"]:
        return {"outcome": "dlq", "reason": v["reason"], "handler_runs": False,
                "error": ("missing header " if v["reason"] == "missing-header" else "malformed header ") + v["header"]}
    if c["payload_size"] > s["max_payload_bytes"]:
        return {"outcome": "dlq", "reason": "oversize", "handler_runs": False}
    k = c["delivery_count"]
    not_handled = v.get("not_handled_reason")
    if not not_handled:
        types = [h for h in c["handled"] if h["type"] == v["type"]]
        if not types:
            not_handled = "unknown-type"
        elif not any(h["min_version"] <= v["version"] <= h["max_version"] for h in types):
            not_handled = "unsupported-version"
    others_handle = c.get("fleet_handles", False)
    others_decline = c.get("fleet_declines", False)
    mixed = others_handle if not_handled else others_decline
    if k > s["max_deliveries"] and not mixed:
        return {"outcome": "dlq", "reason": "max-deliveries", "handler_runs": False}
    if c["processed_before"]:
        return {"outcome": "ack", "handler_runs": False, "duplicate": True}
    if not_handled:
        if c["age_ms"] < s["grace_ms"] or others_handle:
            return {"outcome": "nak", "delay_ms": s["grace_delay_ms"], "handler_runs": False}
        return {"outcome": "dlq", "reason": not_handled, "handler_runs": False}
    if c["decodes"] is False:
        return {"outcome": "dlq", "reason": "decode-error", "handler_runs": False}
    r = c["handler_result"]
    if r == "success":
        return {"outcome": "ack", "handler_runs": True}
    if r == "reject":
        return {"outcome": "dlq", "reason": "rejected", "handler_runs": True}
    if k >= s["max_attempts"]:
        return {"outcome": "dlq", "reason": "max-attempts", "handler_runs": True}
    b = s["backoff"]
    d = min(b["max_delay_ms"], b["initial_ms"] * b["multiplier"] ** (k - 1))
    return {"outcome": "nak", "handler_runs": True,
            "delay_min_ms": round(max(0.0, d * (1 - b["jitter"])), 6),
            "delay_max_ms": round(min(b["max_delay_ms"], d * (1 + b["jitter"])), 6)}


def outcomes():
    settings = {"max_attempts": 5, "max_deliveries": 10, "grace_ms": 25000, "grace_delay_ms": 5000,
                "max_payload_bytes": 1048576,
                "backoff": {"initial_ms": 1000, "multiplier": 2.0, "max_delay_ms": 60000, "jitter": 0.2}}
    handled = [{"type": "acme.orders.v1.Order", "min_version": 1, "max_version": 2}]
    good = {"Nats-Msg-Id": "m-1", "Sluice-Protocol": "1", "Sluice-Type": "acme.orders.v1.Order",
            "Sluice-Type-Version": "2"}
    cases = []

    def case(name, headers=None, payload_size=100, delivery_count=1, age_ms=0, processed_before=False,
             decodes=True, handler_result="success", fleet_handles=None, fleet_declines=None,
             max_payload_bytes=None):
        st = settings if max_payload_bytes is None else {**settings, "max_payload_bytes": max_payload_bytes}
        c = {"name": name, "settings": st, "handled": handled, "headers": headers or good,
             "payload_size": payload_size, "delivery_count": delivery_count, "age_ms": age_ms,
             "processed_before": processed_before, "decodes": decodes, "handler_result": handler_result}
        if fleet_handles is not None:
            c["fleet_handles"] = fleet_handles
        if fleet_declines is not None:
            c["fleet_declines"] = fleet_declines
        c["expect"] = outcome(c)
        cases.append(c)

    case("success acks")
    case("first failure naks with backoff", handler_result="fail")
    case("third failure naks with longer backoff", delivery_count=3, handler_result="fail")
    case("failure on the last attempt dead-letters", delivery_count=5, handler_result="fail")
    case("rejection dead-letters at once", handler_result="reject")
    case("decode error dead-letters at once", decodes=False)
    case("missing type", headers={k: v for k, v in good.items() if k != "Sluice-Type"})
    case("bad version", headers={**good, "Sluice-Type-Version": "v2"})
    case("oversize", payload_size=65537, max_payload_bytes=65536)
    case("payload exactly at the worker's limit is fine", payload_size=65536, max_payload_bytes=65536)
    case("[v1.2] a newer protocol with an unknown type is unsupported-protocol",
         headers={**good, "Sluice-Protocol": "2", "Sluice-Type": "acme.Other"}, age_ms=60000)
    case("[v1.2] an unknown type with an unhandled version is unknown-type",
         headers={**good, "Sluice-Type": "acme.Other", "Sluice-Type-Version": "9"}, age_ms=60000)
    case("too many deliveries (ack timeouts)", delivery_count=11)
    case("at the delivery limit still runs", delivery_count=10)
    case("duplicate acks without running", processed_before=True)
    case("duplicate check after header check", headers={**good, "Sluice-Protocol": "x"}, processed_before=True)
    case("newer version within grace naks", headers={**good, "Sluice-Type-Version": "3"}, age_ms=1000)
    case("newer version after grace dead-letters", headers={**good, "Sluice-Type-Version": "3"}, age_ms=25000)
    case("unknown type within grace naks", headers={**good, "Sluice-Type": "acme.Other"}, age_ms=24999)
    case("unknown type after grace dead-letters", headers={**good, "Sluice-Type": "acme.Other"}, age_ms=30000)
    case("newer protocol after grace", headers={**good, "Sluice-Protocol": "2"}, age_ms=60000)
    case("older handled version runs", headers={**good, "Sluice-Type-Version": "1"})
    case("after grace, another live worker handles it: nak again",
         headers={**good, "Sluice-Type-Version": "3"}, age_ms=60000, fleet_handles=True)
    case("after grace, nobody handles it: dead-letter",
         headers={**good, "Sluice-Type-Version": "3"}, age_ms=60000, fleet_handles=False)
    case("too many deliveries in a mixed fleet: they may have been declines, the handler runs",
         delivery_count=14, fleet_declines=True)
    case("too many deliveries, not handled here, another worker handles it: nak",
         headers={**good, "Sluice-Type-Version": "3"}, delivery_count=14, age_ms=60000, fleet_handles=True)
    case("too many deliveries, nobody else declines: dead-letter",
         delivery_count=14, fleet_handles=True, fleet_declines=False)
    write("outcomes.json", {
        "description": "PROTOCOL.md §7.2: the outcome of one delivery. 'handler_result' is what the "
                       "handler would do if run; nak delays are bounds (jitter). 'fleet_handles' (absent = "
                       "false): another live worker advertises the type and version (§4.2). 'fleet_declines' (absent = false): "
                       "another live worker does not (§7.2 step 3).",
        "cases": cases})


# ---------------------------------------------------------------- idempotency
def id_key(i):
    if re.match(r"^[A-Za-z0-9_-]{1,200}$", i):
        return i
    return "=" + hashlib.sha256(i.encode("utf-8")).hexdigest()


def idempotency():
    ids = ["01HZX3K9Q7", "order-42_b", "a.b", "with space", "ünïcode", "x" * 200, "x" * 201,
           "=abc", "e1b1c0d2-8a9f-4b57-9d2c-3f2e1a0b9c8d"]
    write("idempotency.json", {
        "description": "PROTOCOL.md §9: the id-key of a message id; the processed-store key is '<queue>.<id-key>'.",
        "queue": "orders",
        "cases": [{"msg_id": i, "id_key": id_key(i), "store_key": "orders." + id_key(i)} for i in ids]})


# ---------------------------------------------------------------- dead letters
def dlq():
    orig = {"Nats-Msg-Id": "m-7", "Sluice-Protocol": "1", "Sluice-Type": "acme.orders.v1.Order",
            "Sluice-Type-Version": "1", "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "Sluice-Producer": "p-1", "Nats-Expected-Stream": "SLUICE_Q_orders"}
    rec = {k: v for k, v in orig.items() if not k.startswith("Nats-Expected-")}
    rec.update({"Nats-Msg-Id": "dlq.SLUICE_Q_orders.17", "Sluice-Dlq-Msg-Id": "m-7",
                "Sluice-Dlq-Reason": "max-attempts", "Sluice-Dlq-Error": "boom",
                "Sluice-Dlq-Attempts": "5", "Sluice-Dlq-Stream": "SLUICE_Q_orders",
                "Sluice-Dlq-Stream-Seq": "17", "Sluice-Dlq-Subject": "sluice.q.orders",
                "Sluice-Dlq-Worker": "java-w1", "Sluice-Dlq-At": "1700000000123"})
    no_id = {"Sluice-Protocol": "1"}
    rec2 = dict(no_id)
    rec2.update({"Nats-Msg-Id": "dlq.SLUICE_Q_orders.3", "Sluice-Dlq-Reason": "missing-header",
                 "Sluice-Dlq-Error": "missing header Nats-Msg-Id", "Sluice-Dlq-Attempts": "1",
                 "Sluice-Dlq-Stream": "SLUICE_Q_orders", "Sluice-Dlq-Stream-Seq": "3",
                 "Sluice-Dlq-Subject": "sluice.q.orders", "Sluice-Dlq-Worker": "java-w1",
                 "Sluice-Dlq-At": "1700000000123"})
    replay = {k: v for k, v in orig.items() if not k.startswith("Nats-Expected-")}
    replay.update({"Nats-Msg-Id": "replay.42", "Sluice-Replay-Of": "m-7"})
    write("dlq.json", {
        "description": "PROTOCOL.md §8: dead-letter records and replay. Payload bytes are unchanged.",
        "reasons": ["missing-header", "bad-header", "oversize", "max-deliveries", "unknown-type",
                    "unsupported-version", "unsupported-protocol", "decode-error", "rejected", "max-attempts"],
        "records": [
            {"name": "handler failed on every attempt", "queue": "orders", "stream": "SLUICE_Q_orders",
             "stream_seq": 17, "subject": "sluice.q.orders", "delivery_count": 5, "worker_id": "java-w1",
             "at_unix_ms": 1700000000123, "reason": "max-attempts", "error": "boom",
             "original_headers": orig, "record_subject": "sluice.dlq.orders", "record_headers": rec},
            {"name": "message without an id", "queue": "orders", "stream": "SLUICE_Q_orders",
             "stream_seq": 3, "subject": "sluice.q.orders", "delivery_count": 1, "worker_id": "java-w1",
             "at_unix_ms": 1700000000123, "reason": "missing-header", "error": "missing header Nats-Msg-Id",
             "original_headers": no_id, "record_subject": "sluice.dlq.orders", "record_headers": rec2},
        ],
        "replays": [{"name": "replay of record 42", "dlq_stream_seq": 42, "record_headers": rec,
                     "replay_subject": "sluice.q.orders", "replay_headers": replay}],
        "error_max_chars": 1024})


# ---------------------------------------------------------------- reduced dead-letter records
HEADER_LIMIT = 65535  # nats-server refuses a JetStream message whose header block is larger
PROTECTED = ("Sluice-Dlq-",)


def header_size(headers):
    """Canonical size of a header block: 'NATS/1.0\r\n' + per value 'Name: value\r\n' + '\r\n'."""
    return 12 + sum(len(k.encode()) + len(v.encode()) + 4 for k, vs in headers.items() for v in vs)


def reduce_record(headers, body, max_payload):
    """§8.4: the record as published. headers: name -> list of values (the full §8.1 record)."""
    h = {k: list(v) for k, v in headers.items()}
    limit = min(HEADER_LIMIT, max_payload)
    dropped = []
    truncating = False

    def block():
        out = dict(h)
        if dropped:
            out["Sluice-Dlq-Dropped-Headers"] = [",".join(dropped)[:1024]]
        if truncating:
            out["Sluice-Dlq-Payload-Length"] = [str(len(body))]
            out["Sluice-Dlq-Payload-Sha256"] = [hashlib.sha256(body).hexdigest()]
        return out

    while True:
        b = block()
        if header_size(b) > limit:
            cands = [k for k in h if k != "Nats-Msg-Id" and not k.startswith(PROTECTED)]
            if not cands:
                raise ValueError("the Sluice-Dlq headers alone exceed the limit")
            size = lambda k: sum(len(k.encode()) + len(v.encode()) + 4 for v in h[k])
            victim = sorted(cands, key=lambda k: (-size(k), k.encode()))[0]
            dropped.append(victim)
            del h[victim]
            continue
        if not truncating and header_size(b) + len(body) > max_payload:
            truncating = True
            continue
        break
    b = block()
    kept = body[:max(0, max_payload - header_size(b))] if truncating else body
    return b, kept, dropped


def fill(pattern, n):
    return (pattern * (n // len(pattern) + 1))[:n].encode()


def reduced_records():
    base = {"Nats-Msg-Id": ["dlq.SLUICE_Q_orders.17"], "Sluice-Protocol": ["1"],
            "Sluice-Type": ["acme.orders.v1.Order"], "Sluice-Type-Version": ["1"],
            "Sluice-Dlq-Msg-Id": ["m-7"], "Sluice-Dlq-Reason": ["max-attempts"], "Sluice-Dlq-Error": ["boom"],
            "Sluice-Dlq-Attempts": ["1"], "Sluice-Dlq-Stream": ["SLUICE_Q_orders"],
            "Sluice-Dlq-Stream-Seq": ["17"], "Sluice-Dlq-Subject": ["sluice.q.orders"],
            "Sluice-Dlq-Worker": ["java-w1"], "Sluice-Dlq-At": ["1700000000123"]}
    cases = []

    def case(name, max_payload, extra, payload_length, pattern="0123456789abcdef"):
        hs = dict(base)
        for k, v in extra.items():
            hs[k] = [fill(v[0], v[1]).decode()] if isinstance(v, tuple) else [v]
        body = fill(pattern, payload_length)
        out, kept, dropped = reduce_record(hs, body, max_payload)
        fills = {k: {"pattern": v[0], "length": v[1]} for k, v in extra.items() if isinstance(v, tuple)}
        cases.append({"name": name, "max_payload": max_payload,
                      "header_limit": min(HEADER_LIMIT, max_payload),
                      "record_headers": {k: v[0] for k, v in hs.items() if k not in fills},
                      "record_header_fills": fills,
                      "payload_pattern": pattern, "payload_length": payload_length,
                      "payload_sha256": hashlib.sha256(body).hexdigest(),
                      "header_size": header_size(hs),
                      "published_headers": {k: v[0] for k, v in out.items() if k not in fills},
                      "published_header_names": sorted(out),
                      "published_header_size": header_size(out),
                      "dropped_headers": dropped,
                      "published_payload_length": len(kept),
                      "published_payload_sha256": hashlib.sha256(kept).hexdigest()})

    case("fits: published unchanged", 1048576, {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, 1000)
    case("fits exactly at the limit", 4096, {}, 4096 - header_size(base))
    case("one byte over: payload truncated", 4096, {}, 4096 - header_size(base) + 1)
    case("payload within 200 bytes of 1 MiB: truncated, length and digest kept", 1048576, {}, 1048576 - 200)
    case("payload over the limit with a large header: payload truncated, header kept", 1048576,
         {"X-Big": ("h", 60000)}, 1048576 - 1000)
    case("headers over the header limit: the largest dropped first", 1048576,
         {"X-Big": ("h", 40000), "X-Bigger": ("g", 30000), "X-Small": "s"}, 100)
    case("equal sizes: dropped in name order", 4096,
         {"X-B": ("b", 1500), "X-A": ("a", 1500), "X-C": ("c", 1500)}, 10)
    case("headers and payload both cut", 4096, {"X-Big": ("h", 5000)}, 4000)
    write("dlq_reduced.json", {
        "description": "PROTOCOL.md §8.4: a dead-letter record that would exceed the server's limits is published "
                       "reduced. header_size is the canonical size: 12 + sum over values of "
                       "(len(name) + len(value) + 4), in UTF-8 bytes. The payload is payload_pattern repeated and cut to payload_length "
                       "bytes; the published payload is its first published_payload_length bytes. A header in "
                       "record_header_fills has the value pattern repeated and cut to length characters; "
                       "published_headers lists the published values of the other headers, "
                       "published_header_names every published name.",
        "header_limit": HEADER_LIMIT,
        "dropped_list_max_chars": 1024,
        "cases": cases})


# ---------------------------------------------------------------- protobuf
def protobuf():
    proto_dir = os.path.join(HERE, "..")
    protoc = os.environ.get("PROTOC", "protoc")
    msgs = [
        ("CreditToken", {"credits": 32, "minted_by": "java-w1", "minted_unix_ms": 1700000000123,
                         "reason": "MINT_REASON_REPLENISH"}),
        ("CreditToken", {"credits": 1}),
        ("CapacityAdvert", {"worker_id": "go-w2", "queue": "orders", "protocol_version": 1, "capacity": 40,
                            "in_flight": 3, "service_rate": 812.5,
                            "handled": [{"type": "acme.orders.v1.Order", "min_version": 1, "max_version": 2}],
                            "heartbeat_unix_ms": 1700000000000, "ttl_ms": 6000, "state": "WORKER_STATE_RUNNING",
                            "owed_credits": 7, "language": "go", "completed_total": 1000, "minted_total": 993,
                            "token_batch": 32, "debt": 12, "debt_seen": 1700000004000, "absorbs_debt": True}),
        # [v1.2] §5.2: a failing worker's advert, two problems (one line each).
        ("CapacityAdvert", {"worker_id": "rust-w3", "queue": "orders", "protocol_version": 1, "capacity": 8,
                            "service_rate": 0.5, "heartbeat_unix_ms": 1700000000000, "ttl_ms": 6000,
                            "state": "WORKER_STATE_RUNNING", "language": "rust",
                            "problem": "dlq-unwritable: dead-letter records cannot be written to SLUICE_DLQ"
                                       " (no responders)\nidempotency-store: sluice-processed has no leader"}),
        # [v1.3] §15.1: an advert lowered by pushback, 3 of 16.
        ("CapacityAdvert", {"worker_id": "java-w4", "queue": "orders", "protocol_version": 1, "capacity": 3,
                            "in_flight": 3, "heartbeat_unix_ms": 1700000000000, "ttl_ms": 6000,
                            "state": "WORKER_STATE_RUNNING", "language": "java", "nominal_capacity": 16,
                            "pushbacks_total": 42, "pushback_decreases_total": 3,
                            "lowered_since_unix_ms": 1699999990000}),
        ("ProducerReport", {"producer_id": "p-1", "queue": "orders", "held_spent": 12, "held_unspent": 20,
                            "waiting": 2, "heartbeat_unix_ms": 1700000000000, "ttl_ms": 3000, "language": "rust",
                            "sent_total": 5000}),
        ("ReconcilerLease", {"holder": "java-w1", "expires_unix_ms": 1700000006000,
                             "last": {"window": 64, "backlog": 30, "tokens": 38, "deficit": -4, "live_workers": 2,
                                      "audit_unix_ms": 1700000000000},
                             "previous_deficit": -4}),
        ("ReconcilerLease", {"holder": "java-w1", "expires_unix_ms": 1700000006000,
                             "last": {"window": 64, "backlog": 1030, "tokens": 40, "deficit": -1006,
                                      "live_workers": 2, "debt": 12, "debt_announced": 1002,
                                      "audit_unix_ms": 1700000004000},
                             "previous_deficit": -4, "debt_id": 1700000004000,
                             "debts": {"java-w1": 1002}}),  # one entry: map order is not fixed on the wire
        ("QueueSettings", {"queue": "orders", "standing_buffer": 16, "token_batch": 32}),
        ("QueueSettings", {"queue": "orders", "standing_buffer": 16, "token_batch": 32,
                           "max_worker_capacity": 64, "max_window": 256}),
        # [v1.3] §15.2: a rate limit, an advert that mints within it, a ledger that records it.
        ("QueueSettings", {"queue": "orders", "token_batch": 32, "rate_per_second": 500.0, "rate_burst": 100}),
        ("CapacityAdvert", {"worker_id": "go-w4", "queue": "orders", "protocol_version": 1, "capacity": 32,
                            "heartbeat_unix_ms": 1700000000000, "ttl_ms": 6000, "state": "WORKER_STATE_RUNNING",
                            "owed_credits": 20, "language": "go", "rate_limited": True, "rate_share": 125.0}),
        ("ReconcilerLease", {"holder": "java-w1", "expires_unix_ms": 1700000006000,
                             "last": {"window": 71, "backlog": 3, "tokens": 2, "owed": 66, "live_workers": 4,
                                      "audit_unix_ms": 1700000000000, "rate_per_second": 500.0,
                                      "capacity_window": 128, "unlimited_workers": 1}}),
    ]

    def to_text(d):
        parts = []
        for k, v in d.items():
            if k == "debts":  # a map<string, uint64>: one entry message per key
                parts.extend(f'{k} {{ key: "{key}" value: {val} }}' for key, val in v.items())
                continue
            for item in (v if isinstance(v, list) else [v]):
                if isinstance(item, bool):
                    parts.append(f"{k}: {str(item).lower()}")
                elif isinstance(item, dict):
                    parts.append(f"{k} {{ {to_text(item)} }}")
                elif isinstance(item, str) and re.match(r"^[A-Z_]+$", item):
                    parts.append(f"{k}: {item}")
                elif isinstance(item, str):
                    quoted = item.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                    parts.append(f'{k}: "{quoted}"')
                else:
                    parts.append(f"{k}: {item}")
        return " ".join(parts)

    out = []
    for name, fields in msgs:
        text = to_text(fields)
        data = subprocess.run([protoc, f"--proto_path={proto_dir}", f"--encode=sluice.v1.{name}",
                               "sluice/v1/control.proto"], input=text.encode(), capture_output=True, check=True).stdout
        out.append({"message": "sluice.v1." + name, "fields": fields, "text": text, "hex": data.hex()})
    write("protobuf.json", {
        "description": "Encodings of control messages. 'fields' uses the .proto field names (enums by name, "
                       "nested messages as objects, repeated fields as lists; absent = default); 'text' is the same in "
                       "protobuf text format. Decoding 'hex' must give 'fields'; encoding 'fields' must give 'hex'.",
        "cases": out})


# ---------------------------------------------------------------- pushback [v1.3]
class Aimd:
    """§15.1: the capacity limit under pushback (None = not lowered)."""

    def __init__(self, decrease, floor, decrease_interval_ms, increase_interval_ms):
        self.decrease, self.floor = decrease, floor
        self.dec_ms, self.inc_ms = decrease_interval_ms, increase_interval_ms
        self.limit = None
        self.last_decrease = self.last_increase = 0
        self.success = self.pushed = False

    def pushback(self, nominal, t):
        self.pushed = True
        if self.limit is not None and t - self.last_decrease < self.dec_ms:
            return False
        current = nominal if self.limit is None else min(nominal, self.limit)
        self.limit = max(self.floor, int(current * self.decrease))  # floor() of a non-negative double
        self.last_decrease = self.last_increase = t
        self.success = self.pushed = False
        return True

    def tick(self, nominal, t, idle):
        if self.limit is None:
            return
        if self.limit >= nominal:
            self.limit = None
            return
        if t - self.last_increase < self.inc_ms:
            return
        if (self.success or idle) and not self.pushed:
            self.limit += 1
            if self.limit >= nominal:
                self.limit = None
        self.last_increase = t
        self.success = self.pushed = False

    def capacity(self, nominal):
        return nominal if self.limit is None else min(nominal, self.limit)


def pushback():
    def run(params, events):
        a = Aimd(params["decrease"], params["floor"], params["decrease_interval_ms"], params["increase_interval_ms"])
        out = []
        for e in events:
            e = dict(e)
            nominal = e.get("nominal", params["nominal"])
            if e["event"] == "pushback":
                e["decreased"] = a.pushback(nominal, e["at_ms"])
            elif e["event"] == "success":
                a.success = True
            else:
                a.tick(nominal, e["at_ms"], e.get("idle", False))
            e["capacity"] = a.capacity(nominal)
            e["lowered"] = a.limit is not None
            out.append(e)
        return out

    default = {"nominal": 16, "decrease": 0.5, "floor": 1, "decrease_interval_ms": 1000, "increase_interval_ms": 1000}
    def ev(kind, t, **kw):
        return dict(event=kind, at_ms=t, **kw)
    cases = []
    def case(name, params, events):
        cases.append({"name": name, "params": params, "events": run(params, events)})
    case("halve, a burst counts once", default,
         [ev("pushback", 1000), ev("pushback", 1001), ev("pushback", 1999), ev("pushback", 2000)])
    case("down to the floor and no lower", default,
         [ev("pushback", 1000 * i) for i in range(1, 8)])
    case("floor 3", dict(default, floor=3),
         [ev("pushback", 1000 * i) for i in range(1, 6)])
    case("additive increase while handlers succeed", default,
         [ev("pushback", 1000), ev("pushback", 2000), ev("success", 2500), ev("tick", 2999), ev("tick", 3000),
          ev("tick", 4000), ev("success", 4100), ev("tick", 5000), ev("success", 5100), ev("tick", 6000)])
    case("a pushback in the interval blocks the increase", default,
         [ev("pushback", 1000), ev("success", 1200), ev("pushback", 1500), ev("tick", 2000), ev("success", 2100),
          ev("tick", 3000)])
    case("an idle worker recovers", dict(default, nominal=4),
         [ev("pushback", 1000), ev("tick", 2000, idle=True), ev("tick", 3000, idle=True), ev("tick", 4000, idle=True)])
    case("back to nominal is no longer lowered", dict(default, nominal=3),
         [ev("pushback", 1000), ev("success", 1500), ev("tick", 2000), ev("success", 2500), ev("tick", 3000),
          ev("pushback", 3001)])
    case("factor 0.7 rounds down", dict(default, decrease=0.7, nominal=10),
         [ev("pushback", 0), ev("pushback", 1000), ev("pushback", 2000), ev("pushback", 3000)])
    case("nominal shrinks below the limit", default,
         [ev("pushback", 1000), ev("tick", 1500, nominal=6), ev("pushback", 2000, nominal=6)])
    write("pushback.json", {
        "description": "PROTOCOL.md §15.1 [v1.3]: AIMD capacity under downstream pushback. Replay the events in "
                       "order on a fresh state with the case's params: 'pushback' (a handler pushed back at at_ms; "
                       "'decreased' = whether it lowered), 'success' (a handler succeeded), 'tick' (the periodic step "
                       "at at_ms, 'idle' = nothing in hand). 'nominal' on an event overrides the case's configured "
                       "capacity for that event. After each event the advertised capacity is 'capacity' and "
                       "'lowered' says whether the limit is lowered.",
        "cases": cases})


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    credits(); backoff(); pushback(); headers(); outcomes(); idempotency(); dlq(); reduced_records()
    if "--no-protobuf" not in sys.argv:
        protobuf()
