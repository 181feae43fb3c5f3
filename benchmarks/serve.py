"""Web service benchmark (issue 13): `signlens serve` on 127.0.0.1, driven by an asyncio + httpx client.

- time from starting `signlens serve` to /v1/health ready, and the worker's resident memory;
- POST /v1/recognize with 416x416 and 640x480 JPEGs (real photos, resized): p50/p95 at concurrency 1;
- throughput at concurrency 8, 32 and 100 (each client sends its next request when the last is answered),
  with every status counted: 200s, 503s (busy, Retry-After), other errors;
- WebSocket /v1/stream at 640x480: frames/s with one frame in flight (as the page sends them, at most the
  server's 30 frames/s) and frame-to-answer latency.

Loopback only, bounded: every phase stops after --duration seconds (and a request count cap).

    SIGNLENS_DATA=../shared/data python benchmarks/serve.py [--duration 60] [--recognizers 1] [--workers 1]

`--memory` instead measures only the server's resident memory (RSS and PSS of the server and every
process under it): once ready, after the fixture photos posted --photo-rounds times, and after
--frames stream frames (the video recogniser loads on the first). It needs no shared data. Each
`--baseline NAME=SRC` (an older checkout's src folder, e.g. from `git archive COMMIT src`) is measured
the same way in the same venv, alternating with this one --rounds times.

    python benchmarks/serve.py --memory [--baseline before=/tmp/old/src] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from signlens.data.images import decode_image
from signlens.data.sources import data_root

MAX_REQUESTS = 20_000  # per phase, besides the time bound


def jpeg(rgb: np.ndarray, size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).resize(size, Image.BILINEAR).save(out, "JPEG", quality=90)
    return out.getvalue()


def photos(size: tuple[int, int]) -> list[bytes]:
    """Ten frames of one signer's A, resized: a hand in a room, as a phone or webcam would send."""
    root = data_root() / "sign-mnist-source" / "user_5"
    return [jpeg(decode_image(root / f"A{i}.jpg"), size) for i in range(10)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_memory(pid: int) -> dict:
    """RSS and PSS (MiB) of a process and all its descendants, and how many they are, from /proc. RSS
    counts a page shared between processes once for each; PSS shares it out among them."""
    pids, k = [pid], 0
    while k < len(pids):
        for task in Path(f"/proc/{pids[k]}/task").iterdir():
            pids += [int(p) for p in (task / "children").read_text().split()]
        k += 1
    rss = pss = 0
    for p in pids:
        for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1])
            elif line.startswith("Pss:"):
                pss += int(line.split()[1])
    return {"rss_mib": round(rss / 1024, 1), "pss_mib": round(pss / 1024, 1), "processes": len(pids)}


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn's workers), from /proc."""
    total = 0
    pids = [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def start_server(args, port: int, src: str | None = None) -> tuple[subprocess.Popen, float]:
    """`signlens serve` on 127.0.0.1:`port`; with `src`, an older checkout's code in this venv."""
    command = [sys.executable, "-m", "signlens", "serve", "--port", str(port), "--workers", str(args.workers),
               "--recognizers", str(args.recognizers)]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=src) if src else None  # PYTHONPATH comes before the editable install
    start = time.perf_counter()
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = start + 180
    while time.perf_counter() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).status_code == 200:
                return server, time.perf_counter() - start
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            break
        time.sleep(0.05)
    server.kill()
    raise SystemExit("the server did not become ready within 180 s")


def percentiles(ms: list[float]) -> str:
    if not ms:
        return "p50 -  p95 -"
    return f"p50 {np.percentile(ms, 50):7.1f} ms  p95 {np.percentile(ms, 95):7.1f} ms"


async def load(url: str, images: list[bytes], clients: int, duration: float) -> dict:
    statuses: Counter = Counter()
    latencies: list[float] = []
    stop = time.perf_counter() + duration
    sent = 0

    async def client(http: httpx.AsyncClient, k: int):
        nonlocal sent
        while time.perf_counter() < stop and sent < MAX_REQUESTS:
            sent += 1
            data = images[(k + sent) % len(images)]
            t0 = time.perf_counter()
            try:
                r = await http.post(
                    f"{url}/v1/recognize", content=data, headers={"Content-Type": "image/jpeg"}
                )
                statuses[r.status_code] += 1
                if r.status_code == 200:
                    latencies.append(1000 * (time.perf_counter() - t0))
                elif r.status_code == 503:  # as a polite client does: wait as told
                    await asyncio.sleep(
                        min(float(r.headers.get("Retry-After", "1")), max(0.0, stop - time.perf_counter()))
                    )
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    t0 = time.perf_counter()
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        await asyncio.gather(*(client(http, k) for k in range(clients)))
    elapsed = time.perf_counter() - t0
    return {"clients": clients, "seconds": elapsed, "statuses": dict(statuses), "ok_per_s": statuses[200] / elapsed,
            "latency_ms": latencies}  # fmt: skip


async def stream(url: str, frames: list[bytes], duration: float, most: int = MAX_REQUESTS) -> dict:
    from websockets.asyncio.client import connect

    latencies, kinds = [], Counter()
    async with connect(url.replace("http://", "ws://") + "/v1/stream", max_size=2**22) as ws:
        ready = json.loads(await ws.recv())
        gap = 1.0 / ready["max_fps"]
        stop = time.perf_counter() + duration
        t_start, last_sent, i = time.perf_counter(), 0.0, 0
        while time.perf_counter() < stop and i < most:
            wait = gap - (time.perf_counter() - last_sent)
            if wait > 0:  # the page's pacing: never above the server's frame-rate bound
                await asyncio.sleep(wait)
            last_sent = time.perf_counter()
            await ws.send(frames[i % len(frames)])
            answer = json.loads(await ws.recv())
            kinds[answer["type"]] += 1
            if answer["type"] == "result":
                latencies.append(1000 * (time.perf_counter() - last_sent))
            i += 1
        elapsed = time.perf_counter() - t_start
    return {
        "seconds": elapsed,
        "frames_per_s": kinds["result"] / elapsed,
        "answers": dict(kinds),
        "latency_ms": latencies,
    }


def direct(images: list[bytes], count: int, duration: float) -> None:
    """The same photos through the recogniser in this process (decode included), on a worker thread as
    the server runs it: what HTTP adds. (On a loaded machine torch's two OpenMP threads on the main
    thread were ten times slower than on a worker thread; the server never runs it on the main thread.)"""
    from concurrent.futures import ThreadPoolExecutor

    from signlens.inference import single_torch_thread
    from signlens.pipeline.recognizer import Recognizer

    def measure() -> list[float]:
        single_torch_thread()  # as the server runs
        recognizer = Recognizer()
        recognizer.recognize(decode_image(images[0]))  # warm
        ms, deadline = [], time.perf_counter() + duration
        for i in range(count):
            if time.perf_counter() > deadline:
                break
            t0 = time.perf_counter()
            recognizer.recognize(decode_image(images[i % len(images)]))
            ms.append(1000 * (time.perf_counter() - t0))
        recognizer.close()
        return ms

    with ThreadPoolExecutor(1) as thread:
        ms = thread.submit(measure).result()
    print(f"in-process recogniser 640x480 (no HTTP): {len(ms)} photos  {percentiles(ms)}")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(30)


def memory_of(args, src: str | None, photos: list[bytes], frames: list[bytes]) -> dict:
    """One server's memory: once ready, after the photos, after the stream frames."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server, ready_s = start_server(args, port, src)
    try:
        out = {"ready_s": round(ready_s, 2), "ready": tree_memory(server.pid)}
        with httpx.Client(timeout=120) as http:
            for _ in range(args.photo_rounds):
                for photo in photos:
                    http.post(
                        f"{url}/v1/recognize", content=photo, headers={"Content-Type": "image/jpeg"}
                    ).raise_for_status()
        out["photos"] = tree_memory(server.pid)
        result = asyncio.run(stream(url, frames, args.duration, most=args.frames))
        out["answers"] = result["answers"]
        out["stream"] = tree_memory(server.pid)
        return out
    finally:
        stop_server(server)


def memory(args) -> None:
    """--memory: this build's server and each --baseline's, alternately, --rounds times."""
    import statistics

    fixtures = sorted((Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "hands").glob("*.jpg"))
    photos = [path.read_bytes() for path in fixtures]
    frames = [jpeg(decode_image(path), (640, 480)) for path in fixtures]
    builds = {"this": None, **dict(b.split("=", 1) for b in args.baseline)}
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}; workers {args.workers}, recognizers {args.recognizers}; "
          f"{len(photos)} photos x {args.photo_rounds}, then {args.frames} stream frames at 640x480")  # fmt: skip
    runs: dict[str, list[dict]] = {name: [] for name in builds}
    for _ in range(args.rounds):
        for name, src in builds.items():
            runs[name].append(memory_of(args, src, photos, frames))
    for name, rows in runs.items():
        line = [f"{name:>10}:"]
        for stage in ("ready", "photos", "stream"):
            rss = statistics.median(r[stage]["rss_mib"] for r in rows)
            pss = statistics.median(r[stage]["pss_mib"] for r in rows)
            line.append(f"{stage} RSS {rss:.0f} MiB (PSS {pss:.0f})")
        procs = rows[0]["ready"]["processes"]
        print("  ".join(line) + f"; {procs} process(es), {len(rows)} run(s), answers {rows[0]['answers']}")
    if args.json:
        args.json.write_text(json.dumps({"builds": builds, "runs": runs}, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="Seconds per load phase.")
    parser.add_argument(
        "--latency-requests", type=int, default=100, help="Requests per size at concurrency 1."
    )
    parser.add_argument("--concurrency", default="8,32,100")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--recognizers", type=int, default=1)
    parser.add_argument("--memory", action="store_true", help="Measure resident memory only (see above).")
    parser.add_argument("--baseline", action="append", default=[], help="NAME=SRC, with --memory")
    parser.add_argument("--rounds", type=int, default=1, help="With --memory: runs of each build.")
    parser.add_argument("--photo-rounds", type=int, default=3, help="With --memory: posts of each photo.")
    parser.add_argument("--frames", type=int, default=60, help="With --memory: stream frames sent.")
    parser.add_argument("--json", type=Path, default=None, help="With --memory: write the figures here.")
    args = parser.parse_args()
    if args.memory:
        if any("=" not in b for b in args.baseline):
            raise SystemExit("--baseline takes NAME=SRC")
        if not 1 <= args.rounds <= 10 or not 0 <= args.photo_rounds <= 20 or not 0 <= args.frames <= 1000:
            raise SystemExit("--rounds 1-10, --photo-rounds 0-20, --frames 0-1000")
        memory(args)
        return
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}; workers {args.workers}, recognizers {args.recognizers}")  # fmt: skip
    server, ready_s = start_server(args, port)
    try:
        print(
            f"time to ready {ready_s:.2f} s; memory after load {rss_mib(server.pid):.0f} MiB (all processes)"
        )
        sizes = {"416x416": photos((416, 416)), "640x480": photos((640, 480))}
        with httpx.Client(timeout=120) as http:
            for name, images in sizes.items():
                http.post(
                    f"{url}/v1/recognize", content=images[0], headers={"Content-Type": "image/jpeg"}
                )  # warm
                ms, deadline = [], time.perf_counter() + args.duration
                for i in range(args.latency_requests):
                    if time.perf_counter() > deadline:
                        break
                    t0 = time.perf_counter()
                    r = http.post(
                        f"{url}/v1/recognize", content=images[i % 10], headers={"Content-Type": "image/jpeg"}
                    )
                    r.raise_for_status()
                    ms.append(1000 * (time.perf_counter() - t0))
                print(
                    f"recognize {name} concurrency 1: {len(ms)} requests  {percentiles(ms)}  label {r.json()['label']}"
                )
        for clients in map(int, args.concurrency.split(",")):
            result = asyncio.run(load(url, sizes["640x480"], clients, args.duration))
            print(f"recognize 640x480 concurrency {clients:3d}: {result['ok_per_s']:6.2f} ok/s over "
                  f"{result['seconds']:.0f} s  statuses {result['statuses']}  {percentiles(result['latency_ms'])}")  # fmt: skip
        frames = [jpeg(decode_image(data_root() / "sign-mnist-source" / "user_5" / f"{c}{i}.jpg"), (640, 480))
                  for c in "LIVE" for i in range(10)]  # fmt: skip
        result = asyncio.run(stream(url, frames, args.duration))
        print(f"stream 640x480: {result['frames_per_s']:.1f} frames/s over {result['seconds']:.0f} s  "
              f"answers {result['answers']}  frame-to-answer {percentiles(result['latency_ms'])}")  # fmt: skip
        print(f"memory after the run {rss_mib(server.pid):.0f} MiB (all processes)")
        direct(sizes["640x480"], args.latency_requests, args.duration)
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
