#!/usr/bin/env python3
"""Golden values for tests/failure_detector_test.cpp, from the published formulas alone.

Akka: akka.remote.PhiAccrualFailureDetector (HeartbeatHistory: mean = sum / n,
variance = sum of squares / n - mean^2; phi(timeDiff, mean + acceptable pause,
max(std, min std)) with the logistic approximation). Cassandra: ArrivalWindow.phi =
t / mean, scaled by PHI_FACTOR = 1 / ln 10 in FailureDetector.interpret. Fixed: the number
of missed checks floor(delta / I). Run: python3 tests/data/failure_detector_golden.py
"""
import math


def akka_phi(delta, intervals, pause=3000, min_std=100):
    n = len(intervals)
    mean = sum(intervals) / n
    variance = sum(i * i for i in intervals) / n - mean * mean
    std = max(math.sqrt(max(variance, 0.0)), min_std)
    m = mean + pause
    y = (delta - m) / std
    try:
        e = math.exp(-y * (1.5976 + 0.070566 * y * y))
    except OverflowError:
        e = math.inf
    r = e / (1 + e) if delta > m else 1 - 1 / (1 + e)
    return math.inf if r == 0 else -math.log10(r)


def akka_y_at(level):
    """The y at which Akka's phi reaches `level` (bisection on the formula)."""
    def phi_y(y):
        try:
            e = math.exp(-y * (1.5976 + 0.070566 * y * y))
        except OverflowError:
            e = math.inf
        r = e / (1 + e) if y > 0 else 1 - 1 / (1 + e)
        return math.inf if r == 0 else -math.log10(r)
    lo, hi = -64.0, 64.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if phi_y(mid) >= level:
            hi = mid
        else:
            lo = mid
    return hi


def akka_down_after(intervals, threshold=8, pause=3000, min_std=100):
    n = len(intervals)
    mean = sum(intervals) / n
    variance = sum(i * i for i in intervals) / n - mean * mean
    std = max(math.sqrt(max(variance, 0.0)), min_std)
    return math.ceil(mean + pause + akka_y_at(threshold) * std)


def cassandra_phi(delta, intervals):
    return (1 / math.log(10)) * (delta / (sum(intervals) / len(intervals)))


def cassandra_down_after(intervals, threshold=8):
    return math.ceil(threshold * math.log(10) * sum(intervals) / len(intervals))


seed = [750, 1250]  # Akka's first heartbeat, first-heartbeat-estimate 1 s: mean -+ mean / 4
print("akka y at phi 8:", repr(akka_y_at(8)), " at phi 4:", repr(akka_y_at(4)))
print("akka first heartbeat: phi(1000) =", repr(akka_phi(1000, seed)))
print("akka first heartbeat: phi(4000) =", repr(akka_phi(4000, seed)))
print("akka first heartbeat: phi(5000) =", repr(akka_phi(5000, seed)))
print("akka first heartbeat: down after", akka_down_after(seed),
      " suspected after", akka_down_after(seed, threshold=4))
print("akka pause 0, first heartbeat: phi(1500) =", repr(akka_phi(1500, seed, pause=0)))
h = seed + [900, 1100, 1300]
print("akka 750 1250 900 1100 1300: phi(4500) =", repr(akka_phi(4500, h)),
      " down after", akka_down_after(h))
h = seed + [1000] * 998  # window 1000: the seed is still in it, std 11.18 < 100
print("akka seed + 998 x 1000: phi(4500) =", repr(akka_phi(4500, h)),
      " down after", akka_down_after(h))
h = [1000] * 1000  # two more: the seed is evicted
print("akka 1000 x 1000: phi(4500) =", repr(akka_phi(4500, h)),
      " down after", akka_down_after(h))
h = [1000, 3000, 1000, 3000]  # std 1000 > min std
print("akka 1000 3000 1000 3000 (window 4): phi(7000) =", repr(akka_phi(7000, h)),
      " down after", akka_down_after(h))

print("cassandra first heartbeat: phi(1000) =", repr(cassandra_phi(1000, [2000])),
      " down after", cassandra_down_after([2000]),
      " suspected after", cassandra_down_after([2000], threshold=4))
h = [2000, 1000, 1500, 1000]  # heartbeats 0 1000 2500 7500 8500: 5000 > 2000 not recorded
print("cassandra 2000 1000 1500 1000: phi(3000) =", repr(cassandra_phi(3000, h)),
      " down after", cassandra_down_after(h))
h = [100, 200, 300]  # window 3: the initial 2000 is evicted
print("cassandra 100 200 300: phi(1000) =", repr(cassandra_phi(1000, h)),
      " down after", cassandra_down_after(h))
h = [1000, 2000]  # first_interval 1000: an interval of exactly max_interval is recorded
print("cassandra 1000 2000: phi(2000) =", repr(cassandra_phi(2000, h)),
      " without it:", repr(cassandra_phi(2000, [1000])))
