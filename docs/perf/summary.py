#!/usr/bin/env python3
"""Prints the issue-15 load rows from docs/perf/results/load-*.json (run.sh's
reports), one line per run, in the order the runs were made."""
import glob, json, os, sys

d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "results")
for kind in ("mixed", "search"):
    for p in sorted(glob.glob(os.path.join(d, f"load-{kind}-*.json")), key=os.path.getmtime):
        r = json.load(open(p))
        name = os.path.basename(p)[len(f"load-{kind}-"):-5]
        rss = r["rss"]["samples"]
        last = [s["bytes"] for s in rss if s["at_s"] >= rss[-1]["at_s"] - 30]
        if kind == "mixed":
            pages = next(t["detail"] for t in r["targets"] if t["name"].startswith("non-search pages"))
            print(f"mixed  {name:6} pages {pages.split(' over')[0]}  searches {r['search_rps']:5.2f}/s  "
                  f"503 {r['back_pressure_503']:5d}  RSS last 30 s {(last[-1]-last[0])/2**20:+6.1f} MiB  single {r['single_search_ms']:.0f} ms")
        else:
            print(f"search {name:6} {r['search_rps']:5.2f}/s vs {r['search_target_rps']:5.2f}/s = "
                  f"{100*r['search_rps']/r['search_target_rps']:4.0f} %  (single {r['single_search_ms']:.0f} ms)")
