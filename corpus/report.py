#!/usr/bin/python3
"""Scores a detector's verdicts against the corpus labels.

    corpus/report.py --labels DIR/labels.json --verdicts VERDICTS.jsonl [--markdown OUT.md]

VERDICTS.jsonl is what `fluxctl replay` prints: one JSON object a line, one
per flagged domain, with at least "domain" (registrable domain) and "time"
(when it was first flagged). Other fields are ignored, and so are lines
without "domain"; a domain flagged more than once counts at its earliest
time. A verdict for a name below a labelled domain counts for that domain.

Per scenario it prints the number of domains, how many were flagged, false
positives (benign domains flagged, listed), and the time to the first flag:
in seconds; in rotations of the flux network's clock, (flag time - the
domain's first resolution) / rotation_seconds; in rotations seen, the
distinct answers the resolver got for the domain up to and including the
flag, minus one (needs --trace); and in resolutions (how many resolutions of
the domain happened up to and including the flag). Targets, shown as
pass/fail: every flux scenario 100% detected within 4 rotations seen (within
1 resolution for pool-overlap); no benign domain flagged.

Why rotations seen and not the clock: a resolver learns of a rotation only
when a client asks after it. A domain asked once every ten minutes has
rotated four times by its second resolution; no resolver-side detector can
have seen more than one change then. The clock-based figure is printed too.

It is a report: the exit status is 0 whether targets pass or fail (2 for
unusable input). The last line printed is the summary.
"""

import argparse
import json
import math
import statistics
import sys

FLUX_ORDER = ["stop-djvu", "botnet-single-flux", "double-flux", "gamaredon-subdomains", "pool-overlap"]
BENIGN_ORDER = ["cdn", "cloud-lb", "volunteer-pool", "dyndns-home", "big-site", "static"]
MAX_ROTATIONS = 4
MAX_RESOLUTIONS_POOL = 1
MAX_LISTED = 60   # rows in the missed/late table


def load_labels(path):
    with open(path, encoding="utf-8") as f:
        labels = json.load(f)
    if not isinstance(labels.get("domains"), dict):
        raise ValueError("%s: no \"domains\" object" % path)
    return labels


def load_answer_sets(path, domains):
    """labelled domain -> [(time, frozenset of A/AAAA data)] in trace order."""
    out = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                r = json.loads(line)
            except ValueError:
                continue
            answers = [a for a in r.get("answers") or [] if a.get("type") in ("A", "AAAA")]
            if not answers:
                continue
            name = str(answers[-1].get("name", "")).rstrip(".").lower()
            while name and name not in domains:
                name = name.partition(".")[2]
            if name:
                out.setdefault(name, []).append(
                    (float(r.get("time", 0)), frozenset(str(a.get("data")) for a in answers)))
    return out


def rotations_seen(answers, flag):
    """Distinct answers up to and including the flag, minus one (the rule
    for whole-second flag times is resolutions_until's)."""
    if flag is None or answers is None:
        return None
    whole = float(flag).is_integer()
    seen = {a for t, a in answers if t <= flag + 1e-6 or (whole and math.floor(t) <= flag)}
    return max(0, len(seen) - 1)


def load_verdicts(path):
    """domain -> earliest flag time (None when no usable time), plus counts
    of lines skipped."""
    flags, skipped_json, skipped_nodomain = {}, 0, 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                v = json.loads(line)
            except ValueError:
                skipped_json += 1
                continue
            if not isinstance(v, dict) or not isinstance(v.get("domain"), str):
                skipped_nodomain += 1
                continue
            domain = v["domain"].strip().rstrip(".").lower()
            t = v.get("time")
            t = float(t) if isinstance(t, (int, float)) and not isinstance(t, bool) else None
            if domain not in flags or (t is not None and (flags[domain] is None or t < flags[domain])):
                flags[domain] = t
    return flags, skipped_json, skipped_nodomain


def attribute(flags, domains):
    """Maps verdict domains onto labelled domains: exact, else the closest
    labelled parent. Returns (labelled -> flag time, unlabelled -> time)."""
    hit, other = {}, {}
    for d, t in flags.items():
        name, target = d, None
        while name:
            if name in domains:
                target = name
                break
            name = name.partition(".")[2]
        if target is None:
            other[d] = t
        elif target not in hit or (t is not None and (hit[target] is None or t < hit[target])):
            hit[target] = t
    return hit, other


def resolutions_until(times, flag):
    """Resolutions of the domain up to and including the flag. A flag time
    given in whole seconds (the core keeps integer time) includes the
    resolutions within that second."""
    if flag is None:
        return None
    whole = float(flag).is_integer()
    return sum(1 for t in times if t <= flag + 1e-6 or (whole and math.floor(t) <= flag))


def fmt_num(x, digits=1):
    if x is None:
        return "–"
    if isinstance(x, int) or float(x).is_integer():
        return str(int(x))
    return "%.*f" % (digits, x)


def score(labels, hit, answer_sets=None):
    rows = []
    domains = labels["domains"]
    scenarios = {}
    for d in sorted(domains):
        scenarios.setdefault(domains[d]["scenario"], []).append(d)
    order = [s for s in FLUX_ORDER + BENIGN_ORDER if s in scenarios]
    order += sorted(s for s in scenarios if s not in order)
    for sc in order:
        names = scenarios[sc]
        flux = domains[names[0]]["label"] == "flux"
        flagged = [d for d in names if d in hit]
        secs, rots, ress, seens = [], [], [], []
        detail = []
        for d in names:
            lab = domains[d]
            if d not in hit:
                if flux:
                    detail.append((d, lab, None, None, None, None, None))
                continue
            t = hit[d]
            first = lab.get("first_resolution")
            sec = None if t is None or first is None else max(0.0, t - first)
            rot = None
            if sec is not None and lab.get("rotation_seconds"):
                rot = sec / lab["rotation_seconds"]
            res = resolutions_until(lab.get("resolution_times") or [], t) if flux else None
            seen = rotations_seen(answer_sets.get(d), t) if flux and answer_sets is not None else None
            if seen is not None:
                seens.append(seen)
            if sec is not None:
                secs.append(sec)
            if rot is not None:
                rots.append(rot)
            if res is not None:
                ress.append(res)
            detail.append((d, lab, t, sec, rot, res, seen))
        row = {
            "scenario": sc, "flux": flux, "domains": len(names), "flagged": len(flagged),
            "rate": len(flagged) / len(names),
            "sec_median": statistics.median(secs) if secs else None, "sec_max": max(secs) if secs else None,
            "rot_median": statistics.median(rots) if rots else None, "rot_max": max(rots) if rots else None,
            "res_median": statistics.median(ress) if ress else None, "res_max": max(ress) if ress else None,
            "seen_median": statistics.median(seens) if seens else None,
            "seen_max": max(seens) if seens else None,
            "detail": detail,
        }
        if flux:
            row["target_detected"] = len(flagged) == len(names)
            if sc == "pool-overlap":
                row["target_time"] = row["target_detected"] and len(ress) == len(names) and \
                    max(ress) <= MAX_RESOLUTIONS_POOL
            else:
                row["target_time"] = row["target_detected"] and len(seens) == len(names) and \
                    max(seens) <= MAX_ROTATIONS
        else:
            row["target_clean"] = not flagged
        rows.append(row)
    return rows


def render(labels, rows, other, args, skipped):
    ok = lambda b: "pass" if b else "**FAIL**"
    out = ["# fluxguard accuracy on the synthetic corpus", ""]
    out.append("Labels: `%s` (seed %s, %s s from %s, %d domains); verdicts: `%s`." % (
        args.labels, labels.get("seed"), fmt_num(labels.get("duration")), fmt_num(labels.get("start")),
        len(labels["domains"]), args.verdicts))
    out.append("Targets: every flux scenario 100%% detected within %d rotations (pool-overlap: within "
               "%d resolution); no benign domain flagged. Time to flag is counted from the domain's "
               "first resolution in the trace." % (MAX_ROTATIONS, MAX_RESOLUTIONS_POOL))
    out.append("")
    out.append("## Flux scenarios")
    out.append("")
    out.append("| scenario | domains | detected | rate | median s | max s | median rotations (clock) "
               "| max rotations (clock) | median rotations seen | max rotations seen "
               "| median resolutions | max resolutions | 100% detected | in time |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        if not r["flux"]:
            continue
        out.append("| %s | %d | %d | %.0f%% | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["scenario"], r["domains"], r["flagged"], 100 * r["rate"], fmt_num(r["sec_median"]),
            fmt_num(r["sec_max"]), fmt_num(r["rot_median"], 2), fmt_num(r["rot_max"], 2),
            fmt_num(r["seen_median"]), fmt_num(r["seen_max"]),
            fmt_num(r["res_median"]), fmt_num(r["res_max"]), ok(r["target_detected"]), ok(r["target_time"])))
    out.append("")
    out.append("In time: within %d rotations seen by the resolver (distinct answers - 1), or within "
               "%d resolution for pool-overlap." % (
        MAX_ROTATIONS, MAX_RESOLUTIONS_POOL))
    out.append("")
    out.append("## Benign scenarios")
    out.append("")
    out.append("| scenario | domains | flagged (false positives) | rate | none flagged |")
    out.append("|---|---:|---:|---:|---|")
    for r in rows:
        if r["flux"]:
            continue
        out.append("| %s | %d | %d | %.1f%% | %s |" % (
            r["scenario"], r["domains"], r["flagged"], 100 * r["rate"], ok(r["target_clean"])))
    out.append("")

    fps = [(r["scenario"], d, lab, t) for r in rows if not r["flux"] for d, lab, t, *_ in r["detail"]]
    out.append("## False positives")
    out.append("")
    if fps:
        out.append("| domain | scenario | flagged at (s after first resolution) |")
        out.append("|---|---|---:|")
        for sc, d, lab, t in sorted(fps, key=lambda x: (x[0], x[1])):
            first = lab.get("first_resolution")
            out.append("| %s | %s | %s |" % (d, sc, fmt_num(None if t is None or first is None
                                                               else max(0.0, t - first))))
    else:
        out.append("None.")
    out.append("")

    out.append("## Flux domains missed or flagged late")
    out.append("")
    late = []
    for r in rows:
        if not r["flux"]:
            continue
        for d, lab, t, sec, rot, res, seen in r["detail"]:
            if t is None:
                late.append((r["scenario"], d, lab, "not flagged"))
            elif r["scenario"] == "pool-overlap" and (res is None or res > MAX_RESOLUTIONS_POOL):
                late.append((r["scenario"], d, lab, "after %s resolutions (%s s)" % (fmt_num(res), fmt_num(sec))))
            elif r["scenario"] != "pool-overlap" and (seen is None or seen > MAX_ROTATIONS):
                late.append((r["scenario"], d, lab, "after %s rotations seen, %s by the clock (%s s)" % (
                    fmt_num(seen), fmt_num(rot, 2), fmt_num(sec))))
    if late:
        out.append("| domain | scenario | family | resolutions in trace | outcome |")
        out.append("|---|---|---|---:|---|")
        for sc, d, lab, what in late[:MAX_LISTED]:
            out.append("| %s | %s | %s | %s | %s |" % (d, sc, lab.get("family") or "–",
                                                       fmt_num(lab.get("resolutions")), what))
        if len(late) > MAX_LISTED:
            out.append("")
            out.append("... and %d more." % (len(late) - MAX_LISTED))
    else:
        out.append("None.")
    out.append("")

    if other:
        out.append("## Flagged domains that are not in the labels")
        out.append("")
        out.append(", ".join("`%s`" % d for d in sorted(other)))
        out.append("")
    if skipped[0] or skipped[1]:
        out.append("Verdict lines skipped: %d not JSON, %d without \"domain\"." % skipped)
        out.append("")

    flux_rows = [r for r in rows if r["flux"]]
    benign_rows = [r for r in rows if not r["flux"]]
    targets = [r["target_detected"] for r in flux_rows] + [r["target_time"] for r in flux_rows] + \
        [r["target_clean"] for r in benign_rows]
    n_flux = sum(r["domains"] for r in flux_rows)
    det = sum(r["flagged"] for r in flux_rows)
    n_benign = sum(r["domains"] for r in benign_rows)
    fp = sum(r["flagged"] for r in benign_rows)
    verdict = "PASS" if all(targets) else "FAIL"
    summary = ("SUMMARY: %s: %d/%d targets met; flux detected %d/%d (%.1f%%), %d missed or late; "
               "benign flagged %d/%d; %d flagged domains not in the labels" % (
                   verdict, sum(targets), len(targets), det, n_flux,
                   100.0 * det / n_flux if n_flux else 0.0, len(late), fp, n_benign, len(other)))
    out.append("**%s**" % summary)
    out.append("")
    return "\n".join(out), summary


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels", required=True, help="labels.json written by corpus/generate.py")
    ap.add_argument("--verdicts", required=True, help="verdict lines (fluxctl replay's output)")
    ap.add_argument("--trace", required=True, help="the trace replayed (corpus/generate.py's trace.jsonl)")
    ap.add_argument("--markdown", help="also write the report to this Markdown file")
    args = ap.parse_args(argv)
    try:
        labels = load_labels(args.labels)
        flags, bad_json, no_domain = load_verdicts(args.verdicts)
        answer_sets = load_answer_sets(args.trace, labels["domains"])
    except (OSError, ValueError) as e:
        print("report: %s" % e, file=sys.stderr)
        return 2
    hit, other = attribute(flags, labels["domains"])
    rows = score(labels, hit, answer_sets)
    text, summary = render(labels, rows, other, args, (bad_json, no_domain))
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    # stdout: the report, then the summary as the last line.
    sys.stdout.write(text.rsplit("**SUMMARY", 1)[0])
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
