# SPDX-License-Identifier: Apache-2.0
"""`bench/state/run prototype`: the capture's tax measured with the xdn-ebpf prototype's method.

Three parts, all with baselines of the same run:

- the method itself: a Flask app that writes a file on every request, one `curl`
  process per request timed from outside (`time curl`), modes interleaved per
  round: ``off`` (no trace on the node: nothing attached), ``untraced`` (another
  cgroup is traced: the programs run for the app but do not trace it),
  ``traced`` (the app's cgroup traced under its data directory), ``baseline``
  (edgerep has no trace; the prototype-style tracer of prototracer.py follows the
  app's process). Done twice, each time with a fresh server and cgroup, so that
  the two runs' ratios can be compared;
- the per-call cost an untraced process pays (syscalls.c: `write(2)` to /dev/null
  and `getppid(2)`), detached against attached and against the baseline tracer;
- a whole-node workload outside any trace: `tar -x` of a C source tree and a
  parallel build of it, capture detached against attached.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import benchlib  # noqa: E402
from statelib import harness  # noqa: E402

PY = "/usr/bin/python3"
MODES = ("off", "untraced", "traced", "baseline")
#: Seconds after a mode switch before its requests (trace set-up, adoption, reader wake-up).
SETTLE_S = 0.3


def pct(xs, p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def summary(xs) -> dict:
    return {"mean": statistics.fmean(xs), "median": statistics.median(xs), "p95": pct(xs, 95), "n": len(xs)}


def perf_event_fds() -> int:
    """perf-event descriptors this process holds: one per attached tracepoint program (bcc)."""
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:[perf_event]":
                n += 1
        except OSError:
            pass
    return n


class Modes:
    """Puts the node in one of MODES for the app in ``cg`` (data under ``data``)."""

    def __init__(self, b, tracer, cg, data: str, pid: int) -> None:
        self.b, self.tracer, self.cg, self.data, self.pid = b, tracer, cg, data, pid
        self.traced = False

    def set(self, mode: str) -> None:
        want_traced = mode == "traced"
        if self.traced and not want_traced:
            self.b.trace(self.cg, self.data, False)
            self.traced = False
        self.b.attach(mode == "untraced")
        if want_traced and not self.traced:
            self.b.trace(self.cg, self.data, True)
            self.traced = True
        self.tracer.follow(self.pid if mode == "baseline" else 0)
        self.tracer.attach(mode == "baseline")
        time.sleep(SETTLE_S)

    def attached_now(self) -> int:
        return perf_event_fds()


def _curls(url: str, first: int, n: int) -> list:
    """ns of n `curl` processes, timed by curlloop.py in a process of its own."""
    out = subprocess.run(
        [PY, "-B", os.path.join(HERE, "curlloop.py"), url, str(first), str(n)], capture_output=True, text=True
    )
    if out.returncode:
        raise RuntimeError(f"curlloop failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout)


def _cpu_s() -> float:
    """CPU seconds of this process (the loader's threads: reader, consumer) so far."""
    t = os.times()
    return t.user + t.system


def method_run(b, tracer, requests: int, rounds: int) -> dict:
    """One run of the method: a fresh server and cgroup, ``requests`` per mode over ``rounds``."""
    tmp = tempfile.mkdtemp(prefix="edgerep-t-state-bench-")
    data = os.path.join(tmp, "data")
    os.mkdir(data)
    cg = harness.TestCgroup()
    portfile = os.path.join(tmp, "port")
    server = cg.popen([PY, "-B", os.path.join(HERE, "flaskapp.py"), data, portfile])
    lat = {m: [] for m in MODES}
    per_round = {m: [] for m in MODES}
    attached = {}
    cpu = {m: 0.0 for m in MODES}
    wall = {m: 0.0 for m in MODES}
    modes = None
    rec0 = b.svc.stats["records"]
    try:
        for _ in range(200):
            if os.path.exists(portfile) and open(portfile).read():
                break
            if server.poll() is not None:
                raise RuntimeError("the Flask app did not start")
            time.sleep(0.05)
        url = f"http://127.0.0.1:{open(portfile).read()}/write/"
        modes = Modes(b, tracer, cg, data, server.pid)
        _curls(url, 0, 50)  # warm-up: imports, page cache, curl's libraries
        n = 50
        each = max(1, requests // rounds)
        for r in range(rounds):
            order = list(MODES[r % len(MODES) :] + MODES[: r % len(MODES)])
            if r % 2:
                order.reverse()
            for m in order:
                modes.set(m)
                attached[m] = modes.attached_now()
                c0, t0 = _cpu_s(), time.monotonic()
                xs = _curls(url, n, each)
                n += each
                cpu[m] += _cpu_s() - c0
                wall[m] += time.monotonic() - t0
                lat[m].extend(xs)
                per_round[m].append(statistics.fmean(xs))
        modes.set("off")
    finally:
        if modes is not None:
            modes.set("off")
        server.kill()
        server.wait()
        cg.remove()
        shutil.rmtree(tmp, ignore_errors=True)
    out = {"modes": {m: summary(lat[m]) for m in MODES}, "perf_event_fds": attached}
    off = out["modes"]["off"]
    for m in MODES:
        s = out["modes"][m]
        s["ratio"] = {k: s[k] / off[k] for k in ("mean", "median", "p95")}
        rr = [x / o for x, o in zip(per_round[m], per_round["off"])]
        s["round_mean_ratios"] = rr
        s["round_spread"] = max(rr) - min(rr)
    out["loader_cpu_share"] = {m: cpu[m] / wall[m] for m in MODES}
    out["records_captured"] = b.svc.stats["records"] - rec0
    out["baseline_records"] = tracer.records
    out["latencies_ns"] = lat
    return out


class Floor:
    """Empty programs, to show what a hook costs by itself: on the write tracepoints, or raw sys_enter/sys_exit."""

    TEXT = """
    int tp_enter(void *ctx) { return 0; }
    int tp_exit(void *ctx) { return 0; }
    int raw_enter(void *ctx) { return 0; }
    int raw_exit(void *ctx) { return 0; }
    """

    def __init__(self) -> None:
        from bcc import BPF

        self.bpf = BPF(text=self.TEXT)
        self.on = None

    def attach(self, kind) -> None:
        if kind == self.on:
            return
        if self.on == "tp":
            for tp in (b"syscalls:sys_enter_write", b"syscalls:sys_exit_write"):
                self.bpf.detach_tracepoint(tp)
        elif self.on == "raw":
            for tp in (b"sys_enter", b"sys_exit"):
                self.bpf.detach_raw_tracepoint(tp)
        if kind == "tp":
            self.bpf.attach_tracepoint(tp=b"syscalls:sys_enter_write", fn_name=b"tp_enter")
            self.bpf.attach_tracepoint(tp=b"syscalls:sys_exit_write", fn_name=b"tp_exit")
        elif kind == "raw":
            self.bpf.attach_raw_tracepoint(tp=b"sys_enter", fn_name=b"raw_enter")
            self.bpf.attach_raw_tracepoint(tp=b"sys_exit", fn_name=b"raw_exit")
        self.on = kind

    def close(self) -> None:
        self.attach(None)
        self.bpf.cleanup()


#: Per-call modes: nothing attached; the capture attached (another cgroup traced); the
#: prototype-style tracer attached (following nobody); empty programs on the write
#: tracepoints; empty raw tracepoints on every syscall's enter and exit.
PERCALL = ("detached", "attached", "baseline", "empty-tp", "empty-raw")


def percall(b, tracer, calls: int, repeats: int) -> dict:
    """ns per call of an untraced process in each of PERCALL, interleaved."""
    exe = os.path.join(tempfile.gettempdir(), "edgerep-t-state-syscalls")
    src = os.path.join(HERE, "syscalls.c")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        subprocess.run(["gcc", "-O2", "-o", exe, src], check=True)
    got = {m: {"write": [], "getppid": []} for m in PERCALL}
    floor = Floor()
    try:
        for r in range(repeats):
            order = list(PERCALL[r % len(PERCALL) :] + PERCALL[: r % len(PERCALL)])
            for m in order:
                b.attach(m == "attached")
                tracer.follow(0)
                tracer.attach(m == "baseline")
                floor.attach({"empty-tp": "tp", "empty-raw": "raw"}.get(m))
                time.sleep(0.1)
                out = subprocess.run([exe, str(calls)], check=True, capture_output=True, text=True).stdout
                w, g = out.split()
                got[m]["write"].append(float(w))
                got[m]["getppid"].append(float(g))
    finally:
        b.attach(False)
        tracer.attach(False)
        floor.close()
    med = {m: {k: statistics.median(v) for k, v in d.items()} for m, d in got.items()}
    return {"calls": calls, "repeats": repeats, "ns": got, "median_ns": med}


def _make_source_tree(root: str, files: int) -> str:
    """A C project of ``files`` translation units and a Makefile, and /usr/include, as a tarball."""
    src = os.path.join(root, "proj")
    os.makedirs(os.path.join(src, "src"))
    objs = []
    for i in range(files):
        body = [f"#include <stdio.h>\n#include <string.h>\n#include <stdlib.h>\n"]
        for j in range(12):
            body.append(
                f"static int f{j}(const char *s, int n) {{\n"
                f"  int acc = {i * 31 + j};\n"
                f"  for (int k = 0; k < n; k++) acc = acc * 33 + (s[k % (strlen(s) + 1)] ^ {j});\n"
                f'  char buf[64]; snprintf(buf, sizeof buf, "%d-{i}-{j}", acc);\n'
                f"  return (int)strlen(buf) + acc % 7;\n}}\n"
            )
        body.append(
            f"int unit{i}(const char *s) {{ return "
            + " + ".join(f"f{j}(s, {j + 3})" for j in range(12))
            + "; }\n"
        )
        with open(os.path.join(src, "src", f"u{i}.c"), "w") as f:
            f.write("".join(body))
        objs.append(f"src/u{i}.o")
    with open(os.path.join(src, "src", "main.c"), "w") as f:
        f.write("".join(f"int unit{i}(const char *);\n" for i in range(files)))
        f.write("int main(int c, char **v) { (void)v; int s = 0;\n")
        f.write("".join(f'  s += unit{i}(c > 1 ? v[1] : "x");\n' for i in range(files)))
        f.write("  return s & 1; }\n")
    objs.append("src/main.o")
    with open(os.path.join(src, "Makefile"), "w") as f:
        f.write(f"OBJS = {' '.join(objs)}\nprog: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n")
        f.write("%.o: %.c\n\t$(CC) -O2 -c -o $@ $<\n")
    tarball = os.path.join(root, "proj.tar")
    # with a real tree of sources beside it: the system's headers (about 20k files)
    subprocess.run(["tar", "-cf", tarball, "-C", root, "proj", "-C", "/", "usr/include"], check=True)
    shutil.rmtree(src)
    return tarball


def node_workload(b, files: int, repeats: int) -> dict:
    """tar -x of a source tree and make -j2 outside any trace: detached against attached (another cgroup traced)."""
    tmp = tempfile.mkdtemp(prefix="edgerep-t-state-bench-")
    tarball = _make_source_tree(tmp, files)
    times = {m: {"tar": [], "build": []} for m in ("detached", "attached")}
    try:
        for r in range(-1, repeats):  # r = -1: a warm-up of each mode (page cache, compiler), not counted
            order = ["detached", "attached"] if r % 2 == 0 else ["attached", "detached"]
            for m in order:
                b.attach(m == "attached")
                d = os.path.join(tmp, f"x-{m}-{r}")
                os.mkdir(d)
                subprocess.run(["sync"])
                t0 = time.perf_counter()
                subprocess.run(["tar", "-xf", tarball, "-C", d], check=True)
                t1 = time.perf_counter()
                subprocess.run(["make", "-s", "-j2", "-C", os.path.join(d, "proj")], check=True)
                t2 = time.perf_counter()
                shutil.rmtree(d)
                if r >= 0:
                    times[m]["tar"].append(t1 - t0)
                    times[m]["build"].append(t2 - t1)
    finally:
        b.attach(False)
        shutil.rmtree(tmp, ignore_errors=True)
    total = {m: [a + c for a, c in zip(t["tar"], t["build"])] for m, t in times.items()}
    med = {m: statistics.median(v) for m, v in total.items()}
    return {
        "files": files,
        "repeats": repeats,
        "seconds": times,
        "total_seconds": total,
        "median_total_s": med,
        "ratio": med["attached"] / med["detached"],
        "tar_ratio": statistics.median(times["attached"]["tar"])
        / statistics.median(times["detached"]["tar"]),
        "build_ratio": statistics.median(times["attached"]["build"])
        / statistics.median(times["detached"]["build"]),
    }


def plot(run: "benchlib.Run", runs: list) -> "benchlib.Path":
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    styles = {
        "off": ("black", "-"),
        "untraced": ("tab:blue", "-"),
        "traced": ("tab:red", "-"),
        "baseline": ("tab:green", "--"),
    }
    labels = {
        "off": "off (no trace on the node: baseline)",
        "untraced": "untraced (capture attached, app not traced)",
        "traced": "traced (app's cgroup traced)",
        "baseline": "prototype-style tracer following the app",
    }
    hi = 0.0
    for m in MODES:
        xs = sorted(x / 1e6 for r in runs for x in r["latencies_ns"][m])
        ys = [(i + 1) / len(xs) for i in range(len(xs))]
        color, ls = styles[m]
        ax.plot(xs, ys, color=color, linestyle=ls, linewidth=2.2 if m == "off" else 1.4, label=labels[m])
        hi = max(hi, pct(xs, 99.5))
    lo = min(pct(sorted(x / 1e6 for r in runs for x in r["latencies_ns"][m]), 0.5) for m in MODES)
    ax.set_xlim(lo * 0.95, hi * 1.02)
    ax.set_xlabel("request latency, one curl process per request (ms)")
    ax.set_ylabel("fraction of requests (CDF)")
    n = sum(r["modes"]["off"]["n"] for r in runs)
    ax.set_title(
        f"Flask app writing a file per request: latency per mode ({n} requests per mode, {len(runs)} runs)"
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    path = run.plot_path("latency-cdf")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


#: Cheaper hooks than syscall tracepoints, if the kernel lets this process load them.
HOOK_PROBES = {
    "fentry (BPF_PROG_TYPE_TRACING)": "KFUNC_PROBE(ksys_write) { return 0; }",
    "cgroup-scoped LSM (BPF_PROG_TYPE_LSM)": "LSM_PROBE(file_permission, struct file *file, int mask) { return 0; }",
}


def probe_hooks() -> dict:
    """Hook -> "ok" or the loader's error (the capture uses tracepoints either way)."""
    from bcc import BPF

    out = {}
    for name, text in HOOK_PROBES.items():
        try:
            BPF(text=text).cleanup()
            out[name] = "ok"
        except Exception as e:  # bcc raises plain Exceptions; libbpf prints the kernel's errno
            out[name] = f"refused: {str(e).splitlines()[0][:160] if str(e) else type(e).__name__}"
    return out


def bench_prototype(b, args) -> dict:
    from prototracer import ProtoTracer

    quick = benchlib.quick()
    requests = args.proto_requests or (200 if quick else 1500)
    rounds = args.proto_rounds or (5 if quick else 15)
    calls = 200_000 if quick else 1_000_000
    reps = 5 if quick else 11
    files, node_reps = (24, 2) if quick else (120, 5)
    run = benchlib.Run("state-prototype")
    tracer = ProtoTracer()
    try:
        hooks = probe_hooks()
        runs = []
        for i in range(2):
            print(f"method run {i + 1}/2: {requests} requests per mode in {rounds} rounds", flush=True)
            runs.append(method_run(b, tracer, requests, rounds))
        print("per-call cost", flush=True)
        pc = percall(b, tracer, calls, reps)
        print("whole-node workload", flush=True)
        node = node_workload(b, files, node_reps)
        idle_fds = perf_event_fds()
    finally:
        tracer.close()
    pooled = {m: summary([x for r in runs for x in r["latencies_ns"][m]]) for m in MODES}
    ratio = {m: {k: pooled[m][k] / pooled["off"][k] for k in ("mean", "median", "p95")} for m in MODES}
    between = {
        m: {
            k: abs(runs[0]["modes"][m]["ratio"][k] - runs[1]["modes"][m]["ratio"][k]) for k in ("mean", "p95")
        }
        for m in MODES
    }
    # the printed tables
    print(
        f"\nFlask app, one curl per request, {pooled['off']['n']} requests per mode over 2 runs of {rounds} rounds"
    )
    hdr = [
        "mode",
        "mean ms",
        "median ms",
        "p95 ms",
        "mean x",
        "median x",
        "p95 x",
        "run A x",
        "run B x",
        "rounds x",
    ]
    rows = []
    for m in MODES:
        rr = [x for r in runs for x in r["modes"][m]["round_mean_ratios"]]
        rows.append(
            [
                m,
                f"{pooled[m]['mean'] / 1e6:.3f}",
                f"{pooled[m]['median'] / 1e6:.3f}",
                f"{pooled[m]['p95'] / 1e6:.3f}",
                f"{ratio[m]['mean']:.3f}",
                f"{ratio[m]['median']:.3f}",
                f"{ratio[m]['p95']:.3f}",
                f"{runs[0]['modes'][m]['ratio']['mean']:.3f}",
                f"{runs[1]['modes'][m]['ratio']['mean']:.3f}",
                f"{min(rr):.3f}-{max(rr):.3f}",
            ]
        )
    _table(hdr, rows)
    share = {m: statistics.fmean(r["loader_cpu_share"][m] for r in runs) for m in MODES}
    print(
        "loader process CPU while measuring (share of one core): "
        + ", ".join(f"{m} {v:.3f}" for m, v in share.items())
    )
    med = pc["median_ns"]
    print(f"\nper call, untraced process, median of {reps} x {calls} calls (ns)")
    _table(
        ["mode", "write ns", "+ns", "getppid ns", "+ns"],
        [
            [
                m,
                f"{med[m]['write']:.0f}",
                f"{med[m]['write'] - med['detached']['write']:+.0f}",
                f"{med[m]['getppid']:.0f}",
                f"{med[m]['getppid'] - med['detached']['getppid']:+.0f}",
            ]
            for m in PERCALL
        ],
    )
    print(
        f"\nwhole node, tar -x of /usr/include + a {files}-file C project, make -j2 of it, median of {node_reps}: "
        f"detached {node['median_total_s']['detached']:.2f} s, attached {node['median_total_s']['attached']:.2f} s, "
        f"x{node['ratio']:.3f} (tar x{node['tar_ratio']:.3f}, build x{node['build_ratio']:.3f})"
    )
    for k, v in hooks.items():
        print(f"{k}: {v}")
    off_fds = max(r["perf_event_fds"]["off"] for r in runs)
    w_add = med["attached"]["write"] - med["detached"]["write"]
    g_add = med["attached"]["getppid"] - med["detached"]["getppid"]
    bw_add = med["baseline"]["write"] - med["detached"]["write"]
    spread = max(max(v.values()) for v in between.values())

    def method_row(metric: str, mode: str, stat: str, most: float) -> "benchlib.Row":
        return benchlib.Row(
            metric,
            "ms",
            pooled[mode][stat] / 1e6,
            pooled["off"][stat] / 1e6,
            "off",
            f"<= {most}x",
            ratio[mode][stat] <= most,
        )

    summ = [
        method_row("untraced tax, prototype's method: mean", "untraced", "mean", 1.02),
        method_row("untraced tax, prototype's method: p95", "untraced", "p95", 1.02),
        method_row("traced, prototype's method: mean", "traced", "mean", 1.03),
        benchlib.Row(
            "untraced tax, whole-node tar -x + make -j2",
            "s",
            node["median_total_s"]["attached"],
            node["median_total_s"]["detached"],
            "off (detached)",
            "<= 1.02x",
            node["ratio"] <= 1.02,
        ),
        benchlib.Row(
            "untraced per-call cost, write(2) loop",
            "ns/call",
            med["attached"]["write"],
            med["detached"]["write"],
            "detached",
            "<= +60 ns",
            w_add <= 60,
        ),
        benchlib.Row(
            "untraced per-call cost, getppid(2) loop",
            "ns/call",
            med["attached"]["getppid"],
            med["detached"]["getppid"],
            "detached",
            "<= +20 ns",
            g_add <= 20,
        ),
        benchlib.Row(
            "untraced tax (mean) vs the prototype-style tracer's",
            "x off",
            ratio["untraced"]["mean"],
            ratio["baseline"]["mean"],
            "prototype-style tracer",
            "lower than it",
            ratio["untraced"]["mean"] < ratio["baseline"]["mean"],
        ),
        benchlib.Row(
            "untraced write(2) cost vs the prototype-style tracer's",
            "+ns/call",
            w_add,
            bw_add,
            "prototype-style tracer",
            "lower than it",
            w_add < bw_add,
        ),
        benchlib.Row(
            "programs attached with no active trace",
            "perf events",
            off_fds,
            None,
            "",
            "0 (1.00x off)",
            off_fds == 0,
        ),
        benchlib.Row(
            "two runs' ratios apart (largest, mean and p95)", "x", spread, None, "", "<= 0.01", spread <= 0.01
        ),
    ]
    print()
    benchlib.print_rows(summ)
    data = {
        "requests_per_mode_per_run": requests,
        "rounds": rounds,
        "pooled": pooled,
        "ratio_vs_off": ratio,
        "runs_apart": between,
        "loader_cpu_share": share,
        "runs": runs,
        "percall": pc,
        "node": node,
        "hook_probes": hooks,
        "perf_event_fds_at_end": idle_fds,
    }
    run.write(summ, data, [plot(run, runs)])
    return data


def _table(headers, rows) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    for r in [headers] + rows:
        print("  ".join(str(x).rjust(w) for x, w in zip(r, widths)))
