"""Load test of the service on loopback: N WebSocket clients stream camera frames for T seconds each round.

Starts `scripts/serve.py` as a subprocess on a free port, then runs one round per client count. Closed-loop
clients behave like the browser demo (the next frame goes out when the reply to the last one is in);
`flood` clients send at a fixed rate without waiting, so the server must drop stale frames. Per round:
frames served per second (all clients), round-trip p50/p95 seen by the clients, the server's own
latency, dropped frames, errors, and the server's resident memory before and after. Everything ends by
itself. Writes the "Service load test" section of docs/benchmarks.md.

    python -m bench.load_test              # default (CenterFace 160) and haar servers: 1, 2, 4, 4 clients x 20 s + 4 flooding
    python -m bench.load_test --clients 1,4 --seconds 10 --configs default --out -
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
import websockets

from bench.common import ROOT, cpu_name, write_section
from bench.service_process import wait_until_healthy
from bench.video import video_frames
from fer.service.ports import free_port

HEADING = "## Service load test"
# Name -> scripts/serve.py overrides.
CONFIGS = {
    "default": "",              # CenterFace at 160 px
    "haar": "detector=haar",    # the reference detector and parameters
}


@dataclass
class ClientStats:
    round_trips_ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)
    replies: int = 0
    sent: int = 0
    dropped: int = 0
    errors: list[str] = field(default_factory=list)


def clip_frames(path: Path | None, count: int = 120) -> list[bytes]:
    """JPEG frames (640x360) from a real clip, or synthetic frames when there is none."""
    frames = []
    if path is not None and path.is_file():
        frames = [cv2.imencode(".jpg", cv2.resize(frame, (640, 360)), [cv2.IMWRITE_JPEG_QUALITY, 85])[1]
                  for frame in video_frames(path, count)]
    rng = np.random.default_rng(0)
    while len(frames) < 30:
        frames.append(cv2.imencode(".jpg", rng.integers(0, 255, (360, 640, 3), dtype=np.uint8))[1])
    return [f.tobytes() for f in frames]


async def closed_loop_client(url: str, frames: list[bytes], offset: int, seconds: float) -> ClientStats:
    stats = ClientStats()
    try:
        async with websockets.connect(url, max_size=None) as ws:
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                t0 = time.perf_counter()
                await ws.send(frames[(offset + stats.sent) % len(frames)])
                stats.sent += 1
                reply = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
                stats.round_trips_ms.append((time.perf_counter() - t0) * 1e3)
                record(stats, reply)
    except Exception as e:  # a benchmark reports every failure instead of stopping
        stats.errors.append(f"{type(e).__name__}: {e}")
    return stats


async def flood_client(url: str, frames: list[bytes], offset: int, seconds: float, fps: float) -> ClientStats:
    stats = ClientStats()
    sent_at: dict[int, float] = {}
    try:
        async with websockets.connect(url, max_size=None) as ws:
            async def receive():
                while True:
                    reply = json.loads(await ws.recv())
                    if reply.get("seq") in sent_at:
                        stats.round_trips_ms.append((time.perf_counter() - sent_at.pop(reply["seq"])) * 1e3)
                    record(stats, reply)
                    if reply.get("seq") == stats.sent and done.is_set():
                        return

            done = asyncio.Event()
            receiver = asyncio.create_task(receive())
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                await ws.send(frames[(offset + stats.sent) % len(frames)])
                stats.sent += 1
                sent_at[stats.sent] = time.perf_counter()
                await asyncio.sleep(1 / fps)
            done.set()
            await asyncio.wait_for(receiver, timeout=30)  # the newest frame is always answered
    except Exception as e:  # a benchmark reports every failure instead of stopping
        stats.errors.append(f"{type(e).__name__}: {e}")
    return stats


def record(stats: ClientStats, reply: dict) -> None:
    if reply.get("type") != "result":
        stats.errors.append(reply.get("error", "unknown reply"))
        return
    stats.replies += 1
    stats.dropped += reply.get("dropped", 0)
    stats.server_ms.append(reply["latency_ms"])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def start_server(port: int, max_streams: int, overrides: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "scripts/serve.py", f"port={port}", "log_level=warning",
                             f"service.max_streams={max_streams}", "hydra.run.dir=outputs/load_test", *overrides],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_healthy(proc, port)
    except RuntimeError as e:
        proc.kill()
        raise SystemExit(f"scripts/serve.py: {e}: {proc.communicate()[1]}") from None
    return proc


async def run_round(url: str, frames: list[bytes], clients: int, seconds: float, flood_fps: float | None):
    t0 = time.perf_counter()
    if flood_fps:
        tasks = [flood_client(url, frames, i * 17, seconds, flood_fps) for i in range(clients)]
    else:
        tasks = [closed_loop_client(url, frames, i * 17, seconds) for i in range(clients)]
    stats = await asyncio.gather(*tasks)
    return stats, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", default="1,2,4,4", help="closed-loop client counts, one round each (a repeated "
                    "count shows whether memory settles)")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--flood", type=int, default=4, help="clients in the flooding round (0: none)")
    ap.add_argument("--flood-fps", type=float, default=60)
    ap.add_argument("--clip", default=None, help="default: $FER_MEDIA/WolfgangLanger_Pexels.mp4")
    ap.add_argument("--out", default="docs/benchmarks.md", help="'-' prints only")
    known = ", ".join(f"{k} ({v or 'conf/serve.yaml as is'})" for k, v in CONFIGS.items())
    ap.add_argument("--configs", default=",".join(CONFIGS), help=f"server configs, one set of rounds each: {known}")
    args = ap.parse_args()

    clip = Path(args.clip) if args.clip else (Path(os.environ["FER_MEDIA"]) / "WolfgangLanger_Pexels.mp4"
                                               if os.environ.get("FER_MEDIA") else None)
    frames = clip_frames(clip)
    rounds = [(int(n), None) for n in args.clients.split(",") if n] + ([(args.flood, args.flood_fps)]
                                                                       if args.flood else [])
    rows, exit_codes = [], []
    load = [os.getloadavg()[0]]
    for name in args.configs.split(","):
        port = free_port()
        proc = start_server(port, max(n for n, _ in rounds), CONFIGS[name].split())
        url = f"ws://127.0.0.1:{port}/v1/stream"
        try:
            asyncio.run(run_round(url, frames, 1, 3, None))  # warm-up: first-call costs stay out of the table
            for clients, flood_fps in rounds:
                rows.append(measure(proc, url, frames, name, clients, args.seconds, flood_fps))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            exit_codes.append(proc.returncode)
    load.append(os.getloadavg()[0])
    text = report(rows, args, clip, exit_codes, load)
    print(text)
    if args.out != "-":
        write_section(HEADING, text, ROOT / args.out)


def measure(proc: subprocess.Popen, url: str, frames: list[bytes], config: str, clients: int, seconds: float,
            flood_fps: float | None) -> dict:
    before = rss_mb(proc.pid)
    stats, wall = asyncio.run(run_round(url, frames, clients, seconds, flood_fps))
    after = rss_mb(proc.pid)
    rtt = [v for s in stats for v in s.round_trips_ms]
    server = [v for s in stats for v in s.server_ms]
    errors = [e for s in stats for e in s.errors]
    row = {"config": config, "clients": clients, "mode": f"flood {flood_fps:g} fps each" if flood_fps else "closed loop",
           "seconds": round(wall, 1), "sent": sum(s.sent for s in stats), "served": sum(s.replies for s in stats),
           "dropped": sum(s.dropped for s in stats), "fps": sum(s.replies for s in stats) / wall,
           "p50": percentile(rtt, 50), "p95": percentile(rtt, 95), "server_p95": percentile(server, 95),
           "errors": len(errors), "rss_before": before, "rss_after": after}
    print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    for e in sorted(set(errors))[:5]:
        print("  error:", e, flush=True)
    return row


def report(rows: list[dict], args, clip: Path | None, exit_codes: list[int | None], load: list[float]) -> str:
    command = " ".join(["python -m bench.load_test", *sys.argv[1:]])
    lines = [
        HEADING, "",
        "`scripts/serve.py` on loopback (bundled model, 1 torch thread; `default` is conf/serve.yaml as is, "
        f"{'; '.join(f'`{k}` adds `{v}`' for k, v in CONFIGS.items() if v)}), driven by "
        f"WebSocket clients in one process on the same machine; each round streams "
        f"{Path(clip).name if clip else 'synthetic frames'} as 640x360 JPEGs for {args.seconds:g} s. "
        "Closed-loop clients send the next frame when the reply to the last one is in (as the browser demo "
        "does); flooding clients send at a fixed rate without waiting, so the server keeps only the newest "
        "frame of each stream and reports the ones it dropped. Round trip: client send to reply; server: "
        "frame arrival to reply (queueing + decode + inference). Memory: the server's resident set before "
        "and after the round.", "",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, CPU capability "
        f"`{torch.backends.cpu.get_cpu_capability()}`; the clients share the cores with the server, and the "
        f"1-minute load average was {load[0]:.1f} at the start and {load[1]:.1f} at the end (anything above "
        f"{os.cpu_count()} means other jobs were competing for the cores). "
        f"Server exit codes after SIGTERM: {', '.join(map(str, exit_codes))}.", "",
        "```bash", command, "```", "",
        "| server | clients | mode | frames served/s | round trip p50 ms | round trip p95 ms | server p95 ms | sent | served "
        "| dropped | errors | server RSS before -> after (MB) |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(f"| {r['config']} | {r['clients']} | {r['mode']} | {r['fps']:.1f} | {r['p50']:.1f} | {r['p95']:.1f} | "
                     f"{r['server_p95']:.1f} | {r['sent']} | {r['served']} | {r['dropped']} | {r['errors']} | "
                     f"{r['rss_before']:.0f} -> {r['rss_after']:.0f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
