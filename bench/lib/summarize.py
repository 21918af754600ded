#!/usr/bin/env python3
"""Turns the JSON lines written by bench/lib/bench.py into Markdown: medians per server and
scenario, same-run ratios (ours ÷ each peer, computed per repetition, then the median), and
the issue's targets marked met or missed.

usage: summarize.py RESULTS.jsonl [MORE.jsonl ...]
"""
import json
import statistics
import sys
from collections import defaultdict

OURS = ["ours-maildir", "ours-discard"]
PEERS = ["smtp-sink", "postfix", "qpsmtpd-forkserver", "aiosmtpd"]
LOADS = ["par20_reuse", "par20_conn", "seq1_reuse", "par20_100k"]
SCEN_TEXT = {
    "par20_reuse": "smtp-source -s 20 -m 5000 -l 4096 -d",
    "par20_conn": "smtp-source -s 20 -m 2000 -l 4096",
    "seq1_reuse": "smtp-source -s 1 -m 1000 -l 4096 -d",
    "par20_100k": "smtp-source -s 20 -m 1000 -l 102400 -d",
    "big50m": "one 50 MiB message (own client)",
    "idle": "N sessions: connect, EHLO, hold (own client)",
}
BACKEND_SERVERS = ["ours-maildir", "qpsmtpd-forkserver", "ours-forward", "qpsmtpd-forward",
                   "ours-postfixq", "qpsmtpd-postfixq", "ours-discard", "smtp-sink", "postfix", "aiosmtpd"]
# (ours, the Perl qpsmtpd with the same queue plugin, the plugin)
BACKEND_PAIRS = [("ours-maildir", "qpsmtpd-forkserver", "queue/maildir"),
                 ("ours-forward", "qpsmtpd-forward", "queue/smtp-forward"),
                 ("ours-postfixq", "qpsmtpd-postfixq", "queue/postfix-queue")]


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, digits=0):
    if x is None:
        return "–"
    return f"{x:,.{digits}f}"


def load(paths):
    meta, rows, end = [], [], []
    for p in paths:
        for line in open(p):
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            {"meta": meta, "result": rows, "end": end}.get(r.get("kind"), []).append(r)
    return meta, rows, end


def main(paths):
    meta, rows, end = load(paths)
    by = defaultdict(list)                      # (server, scenario) -> rows
    for r in rows:
        by[(r["server"], r["scenario"])].append(r)
    servers = [s for s in OURS + PEERS if any(k[0] == s for k in by)]
    scens = [s for s in LOADS + ["big50m", "idle"] if any(k[1] == s for k in by)]
    out = []
    w = out.append
    if meta:
        m = meta[0]
        w(f"Run started {m['started']} on {m['host']}: {m['nproc']} CPUs, "
          f"{m['mem_total_kb'] // 1024} MiB, kernel {m['kernel']}; postfix {m['postfix']}, "
          f"qpsmtpd {m['qpsmtpd']}; reps {m['reps']}, scale {m['scale']}, idle N {m['idle_n']} "
          f"(peers {min(m['idle_n'], m['peer_idle_n'])}), loglevel {m['loglevel']}.")
    if end:
        w(f"Packets sent on non-loopback interfaces during the run (whole machine): "
          f"{end[-1]['non_loopback_tx_packets']}.")
    w("")
    if not scens:                   # e.g. SCENARIOS=backend, dns or scan alone
        dns_section(by, w)
        backend_section(by, w)
        scan_section(by, w)
        print("\n".join(out))
        return

    def rate(srv, sc):
        return med(r.get("rate") for r in by[(srv, sc)] if r.get("status") == "ok")

    # ---- headline
    w("### Messages/second (median; idle: KB PSS per session; big50m: RSS growth)")
    w("")
    w("| scenario | " + " | ".join(servers) + " |")
    w("|---|" + "---:|" * len(servers))
    for sc in scens:
        cells = []
        for s in servers:
            rs = by[(s, sc)]
            if not rs:
                cells.append("–")
            elif sc == "idle":
                cells.append(f"{fmt(med(r['sessions'] for r in rs))} held, "
                             f"{fmt(med(r['pss_per_session_kb'] for r in rs), 1)} KB/sess")
            elif sc == "big50m":
                cells.append(f"+{fmt(med(r.get('rss_growth_kb') for r in rs) / 1024, 1)} MB RSS"
                             if med(r.get('rss_growth_kb') for r in rs) is not None else "–")
            else:
                v = rate(s, sc)
                bad = sum(1 for r in rs if r.get("status") != "ok")
                cells.append(fmt(v) + (f" ({bad} failed)" if bad else ""))
        w(f"| {sc} | " + " | ".join(cells) + " |")
    w("")

    # ---- ratios, same repetition
    def ratio(ours, peer, sc):
        reps = defaultdict(dict)
        for r in by[(ours, sc)] + by[(peer, sc)]:
            if r.get("status") == "ok" and r.get("rate"):
                reps[r["rep"]][r["server"]] = r["rate"]
        vals = [d[ours] / d[peer] for d in reps.values() if ours in d and peer in d]
        return (med(vals), min(vals), max(vals), len(vals)) if vals else None

    w("### Ratios, ours ÷ peer (computed per repetition, median [min–max])")
    w("")
    peers = [p for p in PEERS if p in servers]
    ours = [o for o in OURS if o in servers]
    w("| scenario | ours | " + " | ".join(peers) + " |")
    w("|---|---|" + "---:|" * len(peers))
    for sc in [s for s in scens if s in LOADS]:
        for o in ours:
            cells = []
            for p in peers:
                x = ratio(o, p, sc)
                cells.append("–" if x is None else f"{x[0]:.2f}× [{x[1]:.2f}–{x[2]:.2f}]")
            w(f"| {sc} | {o} | " + " | ".join(cells) + " |")
    w("")

    # ---- detail
    w("### Detail (medians over repetitions)")
    w("")
    w("| server | scenario | reps | msgs | msg/s | min–max | p50/p90/p99 ms | peak PSS MB | "
      "server CPU ms/msg | machine busy % | steal % | status |")
    w("|---|---|---:|---:|---:|---|---|---:|---:|---:|---:|---|")
    for s in servers:
        for sc in scens:
            rs = by[(s, sc)]
            if not rs:
                continue
            rates = [r.get("rate") for r in rs if r.get("rate")]
            lat = "–"
            if any("lat_p50_ms" in r for r in rs):
                lat = "/".join(fmt(med(r.get(k) for r in rs), 2) for k in ("lat_p50_ms", "lat_p90_ms", "lat_p99_ms"))
            n = med(r.get("messages") or r.get("sessions") for r in rs)
            cpu = med((r["server_cpu_s"] * 1000 / r["messages"]) if r.get("messages") and "server_cpu_s" in r else None
                      for r in rs)
            statuses = sorted({r.get("status", "?") for r in rs})
            extra = ""
            if sc == "idle":
                extra = f"; {fmt(med(r['pss_per_session_kb'] for r in rs), 1)} KB PSS/session, rate = sessions/s"
            if sc == "big50m":
                extra = (f"; RSS +{fmt(med(r.get('rss_growth_kb') for r in rs) / 1024, 1)} MB "
                         f"(max +{fmt(max(r.get('rss_growth_kb', 0) for r in rs) / 1024, 1)}), "
                         f"PSS +{fmt(med(r.get('pss_growth_kb') for r in rs) / 1024, 1)} MB")
            w(f"| {s} | {sc} | {len(rs)} | {fmt(n)} | {fmt(med(rates))} | "
              f"{fmt(min(rates)) if rates else '–'}–{fmt(max(rates)) if rates else '–'} | {lat} | "
              f"{fmt(med(r.get('peak_pss_kb') for r in rs) / 1024, 1)} | {fmt(cpu, 2)} | "
              f"{fmt(med(r.get('busy_pct') for r in rs))} | {fmt(med(r.get('steal_pct') for r in rs))} | "
              f"{','.join(statuses)}{extra} |")
    w("")

    dns_section(by, w)
    backend_section(by, w)
    scan_section(by, w)

    # ---- targets
    w("### Targets")
    w("")
    w("| target | measured | verdict |")
    w("|---|---|---|")

    def ratio_target(label, o, p, sc, goal):
        x = ratio(o, p, sc)
        if x is None:
            w(f"| {label} | not measured | n/a |")
        else:
            w(f"| {label} | {x[0]:.2f}× (median of {x[3]}; {x[1]:.2f}–{x[2]:.2f}) | "
              f"{'**met**' if x[0] >= goal else '**missed**'} |")

    ratio_target("par20_reuse, durable Maildir ≥ 6× qpsmtpd-forkserver", "ours-maildir", "qpsmtpd-forkserver", "par20_reuse", 6)
    ratio_target("par20_reuse, durable Maildir ≥ 5× Postfix", "ours-maildir", "postfix", "par20_reuse", 5)
    ratio_target("par20_reuse, queue/discard ≥ 0.6× smtp-sink", "ours-discard", "smtp-sink", "par20_reuse", 0.6)
    ratio_target("par20_conn (one msg/conn), queue/discard ≥ 0.5× smtp-sink", "ours-discard", "smtp-sink", "par20_conn", 0.5)
    ratio_target("(par20_conn, durable Maildir vs smtp-sink, for information)", "ours-maildir", "smtp-sink", "par20_conn", 0.5)
    ratio_target("seq1_reuse, durable Maildir ≥ 3× Postfix", "ours-maildir", "postfix", "seq1_reuse", 3)
    idle = by[("ours-maildir", "idle")]
    if idle:
        want = meta[0]["idle_n"] if meta else 10000
        held = med(r["sessions"] for r in idle)
        per = med(r["pss_per_session_kb"] for r in idle)
        ok = held >= 10000 and per <= 8
        w(f"| idle: 10,000 sessions held, ≤ 8 KB PSS each | {fmt(held)} of {fmt(want)} held, "
          f"{per:.1f} KB/session | {'**met**' if ok else '**missed**' if held >= 10000 or per > 8 else 'not measured at 10,000'} |")
    else:
        w("| idle: 10,000 sessions held, ≤ 8 KB PSS each | not measured | n/a |")
    big = by[("ours-maildir", "big50m")]
    if big:
        g = med(r.get("rss_growth_kb") for r in big) / 1024
        w(f"| one 50 MB message: RSS grows ≤ 5 MB | +{g:.1f} MB (median), max "
          f"+{max(r.get('rss_growth_kb', 0) for r in big) / 1024:.1f} MB | {'**met**' if g <= 5 else '**missed**'} |")
    else:
        w("| one 50 MB message: RSS grows ≤ 5 MB | not measured | n/a |")
    print("\n".join(out))


def dns_section(by, w):
    """The dns scenario: sessions/s, latency per session, outcomes, and ours ÷ the Perl qpsmtpd."""
    servers = [s for s in ("ours-dns", "qpsmtpd-dns") if by[(s, "dns")]]
    if not servers:
        return
    w("### dns: dnsbl (3 zones) + rhsbl + fcrdns against a local unbound, 40 client addresses (10% listed)")
    w("")
    w("| server | reps | sessions | sessions/s (median) | min–max | session p50/p90/p99 ms | "
      "refused at connect / at MAIL / accepted | server CPU ms/session | peak PSS MB | machine busy % | status |")
    w("|---|---:|---:|---:|---|---|---|---:|---:|---:|---|")
    for s in servers:
        rs = by[(s, "dns")]
        rates = [r["rate"] for r in rs if r.get("rate")]
        last = rs[-1]
        lat = "/".join(fmt(med(r.get(k) for r in rs), 1) for k in ("lat_p50_ms", "lat_p90_ms", "lat_p99_ms"))
        cpu = med(r["server_cpu_s"] * 1000 / r["sessions"] for r in rs if r.get("sessions"))
        w(f"| {s} | {len(rs)} | {fmt(med(r['sessions'] for r in rs))} | {fmt(med(rates), 1)} | "
          f"{fmt(min(rates), 1)}–{fmt(max(rates), 1)} | {lat} | "
          f"{last['refused_connect']} / {last['refused_mail']} / {last['accepted']} | {fmt(cpu, 2)} | "
          f"{fmt(med(r.get('peak_pss_kb') for r in rs) / 1024, 1)} | {fmt(med(r.get('busy_pct') for r in rs))} | "
          f"{','.join(sorted({r.get('status', '?') for r in rs}))} |")
    reps = defaultdict(dict)
    for s in servers:
        for r in by[(s, "dns")]:
            if r.get("status") == "ok":
                reps[r["rep"]][s] = r["rate"]
    vals = [d["ours-dns"] / d["qpsmtpd-dns"] for d in reps.values() if len(d) == 2]
    w("")
    if vals:
        w(f"ours-dns ÷ qpsmtpd-dns, sessions/s, per repetition: median {med(vals):.2f}× "
          f"[{min(vals):.2f}–{max(vals):.2f}] over {len(vals)} repetition(s).")
    else:
        w("ours-dns ÷ qpsmtpd-dns: not measured (both servers must run in the same repetition with status ok).")
    w("")


def backend_section(by, w):
    """The backend scenario: each queue plugin into its real peer, ours beside the Perl qpsmtpd."""
    servers = [s for s in BACKEND_SERVERS if by[(s, "backend")]]
    if not servers:
        return
    first = by[(servers[0], "backend")][0]
    w(f"### backend: smtp-source -s {first['sessions']} -m {first['messages']} -l {first['size']} -d, "
      "each queue plugin into its peer (smtp-forward, postfix-queue: a private Postfix that holds every message)")
    w("")
    w("| server | reps | msgs | msg/s (median) | min–max | server CPU ms/msg | downstream Postfix CPU ms/msg | "
      "peak PSS MB | peak RSS MB | peak procs | machine busy % | kept (last rep) | status |")
    w("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for s in servers:
        rs = by[(s, "backend")]
        rates = [r["rate"] for r in rs if r.get("rate")]
        cpu = med(r["server_cpu_s"] * 1000 / r["messages"] for r in rs if r.get("messages"))
        down = med(r["downstream_cpu_s"] * 1000 / r["messages"] for r in rs
                   if r.get("messages") and "downstream_cpu_s" in r)
        kept = rs[-1].get("delivered")
        w(f"| {s} | {len(rs)} | {fmt(med(r['messages'] for r in rs))} | {fmt(med(rates))} | "
          f"{fmt(min(rates))}–{fmt(max(rates))} | {fmt(cpu, 2)} | {fmt(down, 2)} | "
          f"{fmt(med(r.get('peak_pss_kb') for r in rs) / 1024, 1)} | "
          f"{fmt(med(r.get('peak_rss_kb') for r in rs) / 1024, 1)} | {fmt(med(r.get('peak_procs') for r in rs))} | "
          f"{fmt(med(r.get('busy_pct') for r in rs))} | {'–' if kept is None else kept} | "
          f"{','.join(sorted({r.get('status', '?') for r in rs}))} |")
    w("")
    w("| queue plugin | ours ÷ Perl qpsmtpd, msg/s per repetition: median [min–max] | "
      "Perl ÷ ours, server CPU per message | Perl ÷ ours, peak PSS |")
    w("|---|---|---|---|")
    for ours, perl, plugin in BACKEND_PAIRS:
        reps = defaultdict(dict)
        for s in (ours, perl):
            for r in by[(s, "backend")]:
                if r.get("status") == "ok":
                    reps[r["rep"]][s] = r
        both = [d for d in reps.values() if len(d) == 2]
        if not both:
            continue
        speed = [d[ours]["rate"] / d[perl]["rate"] for d in both]
        cpu = [d[perl]["server_cpu_s"] / max(d[ours]["server_cpu_s"], 1e-3) for d in both]
        pss = [d[perl]["peak_pss_kb"] / max(d[ours]["peak_pss_kb"], 1) for d in both]
        w(f"| {plugin} | {med(speed):.2f}× [{min(speed):.2f}–{max(speed):.2f}] ({len(both)} reps) | "
          f"{med(cpu):.2f}× [{min(cpu):.2f}–{max(cpu):.2f}] | {med(pss):.2f}× [{min(pss):.2f}–{max(pss):.2f}] |")
    w("")


def scan_section(by, w):
    """The scan scenario: virus/clamdscan + spamassassin + queue/maildir, ours beside the Perl
    qpsmtpd, with the shared spamd's and clamd's CPU per message (where the time goes)."""
    servers = [s for s in ("ours-scan", "qpsmtpd-scan") if by[(s, "scan")]]
    if not servers:
        return
    first = by[(servers[0], "scan")][0]
    w(f"### scan: {first['messages']} MIME messages of {first['size']} bytes over {first['sessions']} connections, "
      "virus/clamdscan (clamd, UNIX socket) → spamassassin (spamd, TCP) → queue/maildir")
    w("")
    w("| server | reps | msg/s (median) | min–max | msg p50/p90/p99 ms | server CPU ms/msg | spamd CPU ms/msg | "
      "clamd CPU ms/msg | peak PSS MB | peak RSS MB | peak procs | machine busy % | kept+scanned (last rep) | status |")
    w("|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")

    def per_msg(rs, key):
        return med(r[key] * 1000 / r["messages"] for r in rs if r.get("messages") and key in r)

    for s in servers:
        rs = by[(s, "scan")]
        rates = [r["rate"] for r in rs if r.get("rate")]
        lat = "/".join(fmt(med(r.get(k) for r in rs)) for k in ("lat_p50_ms", "lat_p90_ms", "lat_p99_ms"))
        last = rs[-1]
        w(f"| {s} | {len(rs)} | {fmt(med(rates), 2)} | {fmt(min(rates), 2)}–{fmt(max(rates), 2)} | {lat} | "
          f"{fmt(per_msg(rs, 'server_cpu_s'), 2)} | {fmt(per_msg(rs, 'spamd_cpu_s'), 1)} | "
          f"{fmt(per_msg(rs, 'clamd_cpu_s'), 2)} | {fmt(med(r.get('peak_pss_kb') for r in rs) / 1024, 1)} | "
          f"{fmt(med(r.get('peak_rss_kb') for r in rs) / 1024, 1)} | {fmt(med(r.get('peak_procs') for r in rs))} | "
          f"{fmt(med(r.get('busy_pct') for r in rs))} | {last.get('delivered')}+{last.get('scanned')} | "
          f"{','.join(sorted({r.get('status', '?') for r in rs}))} |")
    w("")
    for s in servers:
        last = by[(s, "scan")][-1]
        w(f"- {s} refused GTUBE with `{last.get('gtube_reply')}` and EICAR with `{last.get('eicar_reply')}` "
          "(last repetition; checked before every measured run).")
    w("")
    reps = defaultdict(dict)
    for s in servers:
        for r in by[(s, "scan")]:
            if r.get("status") == "ok":
                reps[r["rep"]][s] = r
    both = sorted((rep, d) for rep, d in reps.items() if len(d) == 2)
    if not both:
        w("ours-scan ÷ qpsmtpd-scan: not measured (both servers must run in the same repetition with status ok).")
        w("")
        return
    w("| repetition | ours msg/s | Perl msg/s | ours ÷ Perl, msg/s | Perl ÷ ours, server CPU/msg | "
      "Perl ÷ ours, peak PSS | spamd CPU ms/msg ours / Perl |")
    w("|---:|---:|---:|---:|---:|---:|---|")
    speed, cpu = [], []
    for rep, d in both:
        o, p = d["ours-scan"], d["qpsmtpd-scan"]
        speed.append(o["rate"] / p["rate"])
        cpu.append(p["server_cpu_s"] / max(o["server_cpu_s"], 1e-3))
        w(f"| {rep} | {o['rate']:.2f} | {p['rate']:.2f} | {speed[-1]:.2f}× | {cpu[-1]:.2f}× | "
          f"{p['peak_pss_kb'] / max(o['peak_pss_kb'], 1):.2f}× | "
          f"{o['spamd_cpu_s'] * 1000 / o['messages']:.0f} / {p['spamd_cpu_s'] * 1000 / p['messages']:.0f} |")
    w("")
    w(f"ours-scan ÷ qpsmtpd-scan, msg/s per repetition: median {med(speed):.2f}× [{min(speed):.2f}–{max(speed):.2f}] "
      f"over {len(both)} repetition(s); Perl ÷ ours, server CPU per message: median {med(cpu):.2f}×.")
    w("")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
