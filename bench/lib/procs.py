"""Process-tree accounting for the benchmark: which processes make up a server, how much
memory they hold and how much CPU they used. Everything comes from /proc.

A server is started in a session of its own (setsid), so "the server" is every live
process whose session id is the server's. Memory is summed over them: PSS (shared pages
divided among the processes sharing them, so the sum is real usage) and RSS (shared pages
counted in every process, as ps shows it).
"""
import os
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        raw = f.read()
    # the command name is in parentheses and may hold spaces; fields resume after ") "
    return raw[raw.rindex(b")") + 2:].split()


def members(sid, zombies=False):
    """PIDs of the live (non-zombie, unless `zombies`) processes in session `sid`."""
    out = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            f = _stat_fields(entry.name)
        except (OSError, ValueError):
            continue
        # f[0] state, f[1] ppid, f[2] pgrp, f[3] session
        if (zombies or f[0] != b"Z") and int(f[3]) == sid:
            out.append(int(entry.name))
    return out


def memory_kb(pid):
    """(rss_kb, pss_kb) of one process from smaps_rollup; (0, 0) if it is gone."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith(b"Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def tree_memory(sid):
    """(rss_kb, pss_kb, process count) summed over the session."""
    rss = pss = n = 0
    for pid in members(sid):
        r, p = memory_kb(pid)
        if r:
            rss, pss, n = rss + r, pss + p, n + 1
    return rss, pss, n


def settle(sid, count, limit_s=10.0):
    """Waits until the session is back to `count` processes, zombies included: a child's CPU
    time reaches its parent's cutime only once reaped, and a zombie is counted nowhere."""
    end = time.monotonic() + limit_s
    while len(members(sid, zombies=True)) > count and time.monotonic() < end:
        time.sleep(0.05)


def tree_cpu_seconds(sid):
    """User+system CPU seconds of the session's processes, including reaped children
    (cutime/cstime), so a forking server's finished children still count."""
    ticks = 0
    for pid in members(sid):
        try:
            f = _stat_fields(pid)
        except (OSError, ValueError):
            continue
        # utime, stime, cutime, cstime are fields 14-17 of stat; f[0] is field 3
        ticks += sum(int(x) for x in f[11:15])
    return ticks / CLK_TCK


def machine_cpu():
    """(busy, steal, total) jiffies for all CPUs."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = v
    return user + nice + system + irq + softirq, steal, sum(v)


def machine_pct(a, b):
    total = max(1, b[2] - a[2])
    return round(100.0 * (b[0] - a[0]) / total, 1), round(100.0 * (b[1] - a[1]) / total, 1)


class PeakSampler:
    """Samples tree_memory(sid) in a thread until stopped; keeps the peaks."""

    def __init__(self, sid, interval=0.1, limit_s=1200):
        self.sid, self.interval, self.limit_s = sid, interval, limit_s
        self.peak_rss = self.peak_pss = self.peak_procs = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _take(self):
        rss, pss, n = tree_memory(self.sid)
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)
        self.peak_procs = max(self.peak_procs, n)

    def _loop(self):
        end = time.monotonic() + self.limit_s
        while not self._done.is_set() and time.monotonic() < end:
            self._take()
            self._done.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join(timeout=30)
        self._take()
