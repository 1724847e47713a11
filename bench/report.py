#!/usr/bin/env python3
"""bench/report.py OUTDIR RESULTS.json - the table of `make bench`.

Reads the JSON answers bench/run.sh kept in OUTDIR (one file per measuring
command, its command line beside it in NAME.cmd), prints the figures with
the machine, the profile, the DESIGN.md target and the command, side by side
with PouchDB where it ran, and writes RESULTS.json (flat keys, numbers; null
where a figure could not be measured).
"""
import glob
import json
import os
import sys

out, dest = sys.argv[1], sys.argv[2]


def load(name):
    p = os.path.join(out, name + ".json")
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def cmd(name):
    try:
        with open(os.path.join(out, name + ".cmd")) as f:
            return f.read().strip()
    except OSError:
        return ""


def r(x, nd=3):
    return None if x is None else round(x, nd)


def div(a, b):
    return None if a is None or b in (None, 0) else a / b


mach = load("machine")
N = mach["situations"]
RN = mach["realistic_situations"]
status = ""
try:
    status = open(os.path.join(out, "pouch-status.txt")).read().strip()
except OSError:
    pass


def side(prof, n):
    g, push, pull = load("gen-" + prof), load("push-" + prof), load("pull-" + prof)
    ipush, ipull, ex = load("ipush-" + prof), load("ipull-" + prof), load("export-" + prof)
    rss, du = load("rss-sbs-" + prof), load("du-sbs-" + prof)
    pouch = load("pouch-" + prof)
    if not (g and push and pull):
        return None
    s = {
        "situations": n,
        "changes": g["changes"],
        "changes_per_situation": r(g["changes"] / n, 1),
        "msgpack_bytes_per_change": r(g["change_bytes"] / g["changes"], 1),
        "json_bytes_per_doc": ex and ex["json_bytes_per_doc"],
        "push_s": push["seconds"],
        "push_changes_per_s": push["ingest_changes_per_s"],
        "push_docs_per_s": round(n / push["seconds"]),
        "push_wire_bytes_per_change": r(push["wire_bytes"] / push["changes"], 1),
        "push_server_cpu_us_per_change": push.get("server_cpu_us_per_change"),
        "pull_s": pull["seconds"],
        "pull_changes": pull["entries"],
        "pull_changes_per_s": pull["changes_per_s"],
        "pull_docs_per_s": round(n / pull["seconds"]),
        "pull_wire_bytes": pull["wire_bytes"],
        "pull_wire_bytes_per_change": r(pull["wire_bytes"] / max(pull["entries"], 1), 1),
        "pull_server_cpu_s": pull.get("server_cpu_s"),
        "pull_client_cpu_s": pull.get("client_cpu_s"),
        "incremental_push_s": ipush and ipush["seconds"],
        "incremental_pull_s": ipull and ipull["seconds"],
        "incremental_s": ipush and ipull and r(ipush["seconds"] + ipull["seconds"]),
        "incremental_changes": ipush and ipush["changes"],
        "client_rss_kib": max(push["client_rss_kib"], pull["client_rss_kib"]),
        "client_pull_rss_anon_kib": pull.get("client_rss_anon_kib"),
        "client_pull_rss_file_kib": pull.get("client_rss_file_kib"),
        "server_rss_kib": rss and rss["vmhwm_kib"],
        "server_rss_anon_kib": rss and rss["rss_anon_kib"],
        "server_store_mib": du and r(du["store_kib"] / 1024, 1),
    }
    if pouch:
        med = pouch["median"]
        s["pouchdb"] = {
            "push_s": med["push_full"]["ms"] / 1000,
            "push_docs_per_s": med["push_full"]["docs_per_s"],
            "push_bytes": med["push_full"]["bytes_up"] + med["push_full"]["bytes_down"],
            "pull_s": med["pull_full"]["ms"] / 1000,
            "pull_docs_per_s": med["pull_full"]["docs_per_s"],
            "pull_bytes": med["pull_full"]["bytes_up"] + med["pull_full"]["bytes_down"],
            "incremental_push_s": med["push_incr"]["ms"] / 1000,
            "incremental_pull_s": med["pull_incr"]["ms"] / 1000,
            "incremental_s": r((med["push_incr"]["ms"] + med["pull_incr"]["ms"]) / 1000),
            "noop_pull_ms": med["noop_pull"].get("median_ms"),
            "noop_push_ms": med["noop_push"].get("median_ms"),
            "client_rss_mib": pouch.get("client_max_rss_mb"),
            "server_rss_mib": pouch.get("server_rss_hwm_mb"),
            "doc_json_bytes_mean": pouch.get("doc_json_bytes", {}).get("mean"),
        }
    return s


D = side("design", N)
R = side("realistic", RN)
noop, ingest, lmdb = load("noop"), load("ingest"), load("lmdb")
pullhq, local = load("pull-hq"), load("local")
rss_ing = load("rss-ingest")
PD = D.get("pouchdb") if D else None

scaling = []
for lv in mach["scale_levels"].split():
    p = load("probe-" + lv)
    if not p or "error" in p:
        continue
    f, du = load("fill-" + lv), load("du-probe-" + lv)
    scaling.append({
        "stored": int(lv),
        "probe_changes": p["changes"],
        "changes_per_s": p["ingest_changes_per_s"],
        "us_per_change": p["us_per_change"],
        "server_cpu_us_per_change": p.get("server_cpu_us_per_change"),
        "server_user_s": p.get("server_user_s"),
        "server_sys_s": p.get("server_sys_s"),
        "server_written_bytes_per_change": p.get("server_written_bytes_per_change"),
        "fill_changes_per_s": f and f.get("ingest_changes_per_s"),
        "store_mib_after": du and r(du["store_kib"] / 1024, 1),
    })
fail = load("scale-fail")
loads = {}
for p in sorted(glob.glob(os.path.join(out, "*.load"))):
    try:
        loads[os.path.basename(p)[:-5]] = float(open(p).read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
rss_scale = load("rss-scale")

res = {
    "date": mach["date"],
    "machine": {k: mach[k] for k in ("cpu", "cores", "kernel", "mem_mib", "fs")},
    "load_average_start": mach["load_start"],
    "load_average_end": mach.get("load_end"),
    "commit": mach["commit"],
    "quick": bool(mach["quick"]),
    "situations": N,
    "profile_of_main_figures": "design",
    "clients": mach["clients"],
    # the keys of the benchmark issue
    "ingest_changes_per_s": ingest and ingest["ingest_changes_per_s"],
    "lmdb_puts_per_s": lmdb and lmdb["lmdb_puts_per_s"],
    "lmdb_random_puts_per_s": lmdb and lmdb.get("lmdb_random_puts_per_s"),
    "pull_100k_s": D["pull_s"] if D and N == 100000 else None,
    "incremental_1k_s": D and D["incremental_s"],
    "noop_sync_p50_ms": noop and noop["noop_sync_p50_ms"],
    "noop_sync_p99_ms": noop and noop["noop_sync_p99_ms"],
    "handshake_ms": noop and noop["handshake_ms"],
    "wire_bytes_per_change": D and D["pull_wire_bytes_per_change"],
    "msgpack_bytes_per_change": D and D["msgpack_bytes_per_change"],
    "client_rss_mib": D and r(D["client_rss_kib"] / 1024, 1),
    "server_rss_mib": D and r(max(D["server_rss_kib"] or 0,
                                  (rss_ing or {}).get("vmhwm_kib", 0)) / 1024, 1),
    "relais_push_docs_per_s": D and D["push_docs_per_s"],
    "relais_pull_docs_per_s": D and D["pull_docs_per_s"],
    "pouchdb_push_docs_per_s": PD and PD["push_docs_per_s"],
    "pouchdb_pull_docs_per_s": PD and PD["pull_docs_per_s"],
    # more
    "pull_s": D and D["pull_s"],
    "pull_changes": D and D["pull_changes"],
    "ingest_vs_lmdb_ratio": r(div(ingest and ingest["ingest_changes_per_s"],
                                  lmdb and lmdb["lmdb_puts_per_s"])),
    "ingest_vs_lmdb_random_ratio": r(div(ingest and ingest["ingest_changes_per_s"],
                                         lmdb and lmdb.get("lmdb_random_puts_per_s"))),
    "ingest_server_cpu_us_per_change": ingest and ingest.get("server_cpu_us_per_change"),
    "ingest_server_written_bytes_per_change": ingest and ingest.get("server_written_bytes_per_change"),
    "ingest_clients_cpu_s": ingest and ingest.get("clients_cpu_s"),
    "ingest_seconds": ingest and ingest["seconds"],
    "ingest_changes": ingest and ingest["changes"],
    "lmdb_batch": lmdb and lmdb["batch"],
    "lmdb_commit_floor_ms": lmdb and lmdb["commit_floor_ms"],
    "wire_to_msgpack_ratio": D and r(D["pull_wire_bytes_per_change"] / D["msgpack_bytes_per_change"]),
    "ping_p50_ms": noop and noop["ping_p50_ms"],
    "ping_p99_ms": noop and noop["ping_p99_ms"],
    "handshake_p99_ms": noop and noop["handshake_p99_ms"],
    "client_pull_rss_anon_mib": D and r((D["client_pull_rss_anon_kib"] or 0) / 1024, 1),
    "hq_pull_s": pullhq and pullhq["seconds"],
    "hq_pull_changes": pullhq and pullhq["entries"],
    "hq_pull_client_rss_mib": pullhq and r(pullhq["client_rss_kib"] / 1024, 1),
    "push_ratio_vs_pouchdb": r(div(D and D["push_docs_per_s"], PD and PD["push_docs_per_s"]), 1),
    "pull_ratio_vs_pouchdb": r(div(D and D["pull_docs_per_s"], PD and PD["pull_docs_per_s"]), 1),
    "incremental_ratio_vs_pouchdb": r(div(PD and PD["incremental_s"], D and D["incremental_s"]), 1),
    "local_edit_changes_per_s": local and local["local_edit_changes_per_s"],
    "local_bulk_changes_per_s": local and local["local_bulk_changes_per_s"],
    "scaling": scaling,
    "scaling_stopped": fail,
    "scale_server_rss_mib": rss_scale and r(rss_scale["vmhwm_kib"] / 1024, 1),
    "pouchdb_status": status,
    "load_average_1min_before_each_command": loads,
    "design": D,
    "realistic": R,
}
with open(dest, "w") as f:
    json.dump(res, f, indent=2)
    f.write("\n")

# ---- the table ----


def fmt(x, unit=""):
    if x is None:
        return "-"
    if isinstance(x, float):
        if abs(x) >= 1000:
            s = f"{x:,.0f}"
        elif abs(x) >= 10:
            s = f"{x:.1f}"
        else:
            s = f"{x:.3g}" if abs(x) < 1 else f"{x:.2f}"
    elif isinstance(x, int):
        s = f"{x:,}"
    else:
        s = str(x)
    return s + unit


rows = []


def row(fig, mine, peer=None, ratio=None, target="", prof="design", command=""):
    rows.append((fig, mine, peer, ratio, target, prof, command))


print(f"machine: {mach['cores']} cores, {mach['cpu']}, {mach['mem_mib']} MiB, {mach['kernel']}, "
      f"stores on {mach['fs']}; load average {mach['load_start']} at start, "
      f"{mach.get('load_end')} at end; commit {mach['commit']}")
print(f"PouchDB: {status or 'not run'}")
if loads:
    print(f"1-minute load average before the measuring commands: min {min(loads.values()):.2f}, "
          f"max {max(loads.values()):.2f} (per command in results.json)")
print()
if ingest and lmdb:
    row("HQ ingest, 8 clients at once (changes/s)", fmt(ingest["ingest_changes_per_s"]),
        target=">= 200,000", command=cmd("ingest"))
    row("  raw LMDB puts, same bytes, ascending keys, commits of %d (puts/s)" % lmdb["batch"],
        fmt(lmdb["lmdb_puts_per_s"]), command=cmd("lmdb"))
    row("  ingest / raw LMDB (ascending keys)", fmt(res["ingest_vs_lmdb_ratio"]))
    row("  raw LMDB puts, same bytes, random keys (puts/s)",
        fmt(lmdb.get("lmdb_random_puts_per_s")))
    row("  ingest / raw LMDB (random keys)", fmt(res["ingest_vs_lmdb_random_ratio"]))
    row("  server CPU per ingested change (us)", fmt(ingest.get("server_cpu_us_per_change")))
    row("  server bytes written per change", fmt(ingest.get("server_written_bytes_per_change")))
    row("  durable commit floor (ms, one small put)", fmt(lmdb["commit_floor_ms"]))
if D:
    n = D["situations"]
    pd = D.get("pouchdb") or {}
    row(f"one client pushes {n:,} situations (s)", fmt(D["push_s"]), fmt(pd.get("push_s")),
        fmt(div(pd.get("push_s"), D["push_s"]), "x"), command=cmd("push-design"))
    row("  push (docs/s)", fmt(D["push_docs_per_s"]), fmt(pd.get("push_docs_per_s")),
        fmt(res["push_ratio_vs_pouchdb"], "x"), ">= 30x PouchDB")
    row(f"new device pulls {n:,} situations, {D['pull_changes']:,} changes (s)",
        fmt(D["pull_s"]), fmt(pd.get("pull_s")), fmt(div(pd.get("pull_s"), D["pull_s"]), "x"),
        "< 3 s at 100k", command=cmd("pull-design"))
    row("  pull (docs/s)", fmt(D["pull_docs_per_s"]), fmt(pd.get("pull_docs_per_s")),
        fmt(res["pull_ratio_vs_pouchdb"], "x"), ">= 30x PouchDB")
    row("  bytes on the wire", fmt(D["pull_wire_bytes"]), fmt(pd.get("pull_bytes")),
        fmt(div(pd.get("pull_bytes"), D["pull_wire_bytes"]), "x"))
    row("  wire bytes per change", fmt(D["pull_wire_bytes_per_change"]),
        target="<= 1.2 x msgpack")
    row("  msgpack bytes per change", fmt(D["msgpack_bytes_per_change"]),
        ratio=fmt(res["wire_to_msgpack_ratio"], "x"), command=cmd("gen-design"))
    row(f"incremental: {mach['edits']:,} edits (3 changes each) pushed, then pulled (s)",
        fmt(D["incremental_s"]), fmt(pd.get("incremental_s")),
        fmt(res["incremental_ratio_vs_pouchdb"], "x"), command=cmd("ipush-design") + " ; " +
        cmd("ipull-design"))
if noop:
    row("no-op sync, session up, p50 (ms)", fmt(noop["noop_sync_p50_ms"]),
        fmt(PD and PD.get("noop_pull_ms")), fmt(div(PD and PD.get("noop_pull_ms"),
                                                    noop["noop_sync_p50_ms"]), "x"),
        "< 0.5 ms", command=cmd("noop"))
    row("no-op sync, p99 (ms)", fmt(noop["noop_sync_p99_ms"]))
    row("PING round trip p50 / p99 (ms)", f"{fmt(noop['ping_p50_ms'])} / {fmt(noop['ping_p99_ms'])}")
    row("new session (dial + handshake) p50 / p99 (ms)",
        f"{fmt(noop['handshake_ms'])} / {fmt(noop['handshake_p99_ms'])}")
if D:
    row("client peak RSS, push or pull of all (MiB)", fmt(res["client_rss_mib"]),
        fmt(PD and PD.get("client_rss_mib")), target="< 32 MiB")
    row("  of which anonymous at most (MiB)", fmt(res["client_pull_rss_anon_mib"]))
    row("server peak RSS (MiB)", fmt(res["server_rss_mib"]), fmt(PD and PD.get("server_rss_mib")))
if pullhq:
    row(f"hq device pulls the ingest server's {pullhq['entries']:,} changes (s)",
        fmt(pullhq["seconds"]), command=cmd("pull-hq"))
if R:
    pr = R.get("pouchdb") or {}
    p = "realistic"
    row(f"one client pushes {R['situations']:,} situations, {R['changes']:,} changes (s)",
        fmt(R["push_s"]), fmt(pr.get("push_s")), fmt(div(pr.get("push_s"), R["push_s"]), "x"),
        prof=p, command=cmd("push-realistic"))
    row("new device pulls them (s)", fmt(R["pull_s"]), fmt(pr.get("pull_s")),
        fmt(div(pr.get("pull_s"), R["pull_s"]), "x"), prof=p, command=cmd("pull-realistic"))
    row("  bytes on the wire", fmt(R["pull_wire_bytes"]), fmt(pr.get("pull_bytes")),
        fmt(div(pr.get("pull_bytes"), R["pull_wire_bytes"]), "x"), prof=p)
    row("incremental: edits pushed, then pulled (s)", fmt(R["incremental_s"]),
        fmt(pr.get("incremental_s")), fmt(div(pr.get("incremental_s"), R["incremental_s"]), "x"),
        prof=p)
    row("client peak RSS (MiB)", fmt(r(R["client_rss_kib"] / 1024, 1)),
        fmt(pr.get("client_rss_mib")), prof=p)
for s in scaling:
    row(f"ingest cost with {s['stored']:,} stored (us/change)", fmt(s["us_per_change"]),
        target="flat", command=cmd(f"probe-{s['stored']}"))
    row("  server CPU (us/change), bytes written per change",
        f"{fmt(s['server_cpu_us_per_change'])}, {fmt(s['server_written_bytes_per_change'])}")
if fail:
    row(f"scaling stopped: filling to {fail['level']:,} failed", f"{fail['stored']:,} stored")
if local:
    row("local edits, one durable commit each (changes/s)", fmt(local["local_edit_changes_per_s"]),
        prof="design", command=cmd("local"))
    row("local bulk, 500 situations a commit (changes/s)", fmt(local["local_bulk_changes_per_s"]))

w = max(len(x[0]) for x in rows)
print(f"{'figure':<{w}}  {'relais':>12}  {'PouchDB':>10}  {'ratio':>8}  {'target':<16} profile")
for fig, mine, peer, ratio, target, prof, command in rows:
    print(f"{fig:<{w}}  {mine:>12}  {(peer or '-'):>10}  {(ratio or ''):>8}  {target:<16} "
          f"{prof if not fig.startswith('  ') else ''}")
    if command:
        print(f"{'':<{w}}  $ {command}")
print(f"\nwritten: {dest}")
