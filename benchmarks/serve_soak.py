"""Soak and abuse benchmark (issue 26): `signlens serve` on 127.0.0.1 under mixed clients for a bounded
time, then the same photo's latency alone and beside clients posting a 600-byte JPEG whose header
claims 6000 x 6000 pixels.

Mixed clients (each sends its next request when the last is answered) cycle through: a photo (raw
body), a batch of three photos, /v1/health, /v1/model, a bad upload (it must be 4xx), and every fifth
client holds a live WebSocket session sending camera frames at 5 frames/s. Printed: requests, answers
by status (5xx and transport errors counted as errors), the photo's p50/p95, and the server's resident
memory at the start, every 30 s and at the end.

    SIGNLENS_DATA=../shared/data python benchmarks/serve_soak.py [--seconds 30] [--clients 20]
        [--bomb-clients 4] [--bomb-seconds 20]

Loopback only; every phase stops after its time (and a request cap).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import platform
import socket
import struct
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

MAX_REQUESTS = 200_000  # per phase, besides the time bound


def jpeg(rgb: np.ndarray, size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).resize(size, Image.BILINEAR).save(out, "JPEG", quality=90)
    return out.getvalue()


def header_bomb(width: int = 6000, height: int = 6000) -> bytes:
    """A JPEG whose scan ends at once after a header claiming width x height (the decoder fills in)."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (120, 90, 60)).save(buf, "JPEG", quality=50)
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    sos = data.index(b"\xff\xda")
    length = struct.unpack(">H", data[sos + 2 : sos + 4])[0]
    return bytes(data[: sos + 2 + length]) + b"\xff\xd9"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "signlens", "serve", "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not become ready within 180 s")


def percentiles(ms: list[float]) -> str:
    if not ms:
        return "p50 -  p95 -"
    return f"p50 {np.percentile(ms, 50):7.1f} ms  p95 {np.percentile(ms, 95):7.1f} ms  (n={len(ms)})"


class Tally:
    def __init__(self):
        self.statuses: Counter = Counter()
        self.photo_ms: list[float] = []
        self.sent = 0

    @property
    def errors(self) -> int:
        """5xx answers, transport errors and live sessions' error messages."""
        return sum(
            n
            for k, n in self.statuses.items()
            if (isinstance(k, int) and k >= 500)
            or (isinstance(k, str) and k not in ("ws-result", "ws-skipped"))
        )


async def mixed_client(http, url: str, k: int, photos: list[bytes], stop: float, tally: Tally, expect_4xx):
    kinds = ("photo", "batch", "health", "model", "bad")
    n = k
    while time.monotonic() < stop and tally.sent < MAX_REQUESTS:
        n += 1
        tally.sent += 1
        kind = kinds[n % len(kinds)]
        data = photos[n % len(photos)]
        t0 = time.perf_counter()
        try:
            if kind == "photo":
                r = await http.post(
                    f"{url}/v1/recognize", content=data, headers={"Content-Type": "image/jpeg"}
                )
            elif kind == "batch":
                files = [
                    ("files", (f"{i}.jpg", photos[(n + i) % len(photos)], "image/jpeg")) for i in range(3)
                ]
                r = await http.post(f"{url}/v1/recognize/batch", files=files)
            elif kind == "bad":
                r = await http.post(f"{url}/v1/recognize", content=b"\xff\xd8 not a jpeg", headers={"Content-Type": "image/jpeg"})  # fmt: skip
            else:
                r = await http.get(f"{url}/v1/{kind}")
            status = r.status_code
            if kind == "bad" and status != 422:
                expect_4xx.append(status)
            if kind == "photo" and status == 200:
                tally.photo_ms.append(1000 * (time.perf_counter() - t0))
            if status == 503:  # a polite client waits as told
                await asyncio.sleep(
                    min(float(r.headers.get("Retry-After", "1")), max(0.0, stop - time.monotonic()))
                )
            tally.statuses[status] += 1
        except httpx.HTTPError as exc:
            tally.statuses[type(exc).__name__] += 1


async def live_client(url: str, frames: list[bytes], stop: float, tally: Tally):
    from websockets.asyncio.client import connect

    async with connect(url.replace("http://", "ws://") + "/v1/stream", open_timeout=60) as ws:
        assert json.loads(await ws.recv())["type"] == "ready"
        n = 0
        while time.monotonic() < stop:
            await ws.send(frames[n % len(frames)])
            answer = json.loads(await ws.recv())
            tally.statuses[f"ws-{answer['type']}"] += 1
            n += 1
            await asyncio.sleep(0.2)


async def soak(url: str, pid: int, photos: list[bytes], clients: int, seconds: float) -> None:
    tally, wrong_4xx = Tally(), []
    memory = [("start", rss_mib(pid))]
    stop = time.monotonic() + seconds

    async def watch_memory():  # every 30 s: growth after the first minute is what a leak looks like
        for k in range(1, int(seconds // 30)):
            await asyncio.sleep(30)
            memory.append((f"{30 * k} s", rss_mib(pid)))

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    t0 = time.perf_counter()
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        tasks = [watch_memory()]
        for k in range(clients):
            if k % 5 == 4:
                tasks.append(live_client(url, photos, stop, tally))
            else:
                tasks.append(mixed_client(http, url, k, photos, stop, tally, wrong_4xx))
        results = await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = time.perf_counter() - t0
    memory.append(("end", rss_mib(pid)))
    failures = [repr(r) for r in results if isinstance(r, BaseException)]
    frames = tally.statuses["ws-result"] + tally.statuses["ws-skipped"]
    print(
        f"soak: {clients} clients for {elapsed:.0f} s: {tally.sent} requests and {frames} live frames, "
        f"{tally.errors} errors (5xx, transport, live errors)"
    )
    print("  answers: " + ", ".join(f"{k}: {v}" for k, v in sorted(tally.statuses.items(), key=str)))
    print(f"  photo {percentiles(tally.photo_ms)}")
    print("  resident memory: " + ", ".join(f"{name} {mib:.0f} MiB" for name, mib in memory))
    if wrong_4xx or failures:
        print(f"  bad uploads not answered 422: {Counter(wrong_4xx)}; client failures: {failures[:3]}")


async def photo_latency(url: str, photo: bytes, seconds: float, bombs: int) -> tuple[list[float], Counter]:
    """The photo, one at a time, for `seconds`, beside `bombs` clients posting the header bomb."""
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    statuses: Counter = Counter()
    bomb = header_bomb()

    async def one(http, data, record):
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                r = await http.post(
                    f"{url}/v1/recognize", content=data, headers={"Content-Type": "image/jpeg"}
                )
                statuses[("photo" if record else "bomb", r.status_code)] += 1
                if record and r.status_code == 200:
                    latencies.append(1000 * (time.perf_counter() - t0))
            except httpx.HTTPError as exc:
                statuses[("photo" if record else "bomb", type(exc).__name__)] += 1

    limits = httpx.Limits(max_connections=bombs + 1, max_keepalive_connections=bombs + 1)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        await asyncio.gather(one(http, photo, True), *(one(http, bomb, False) for _ in range(bombs)))
    return latencies, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="mixed soak length")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--bomb-clients", type=int, default=4)
    parser.add_argument("--bomb-seconds", type=float, default=20.0)
    args = parser.parse_args()
    root = data_root() / "sign-mnist-source" / "user_5"
    photos = [jpeg(decode_image(root / f"{c}{i}.jpg"), (640, 480)) for c in "ABLW" for i in range(3)]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    print(
        f"{platform.node()}: {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )
    server = start_server(port)
    try:
        asyncio.run(photo_latency(url, photos[0], 2.0, 0))  # warm
        alone, _ = asyncio.run(photo_latency(url, photos[0], args.bomb_seconds, 0))
        beside, statuses = asyncio.run(photo_latency(url, photos[0], args.bomb_seconds, args.bomb_clients))
        print(f"photo alone:                      {percentiles(alone)}")
        print(f"photo beside {args.bomb_clients} header-bomb clients: {percentiles(beside)}")
        ratio = np.percentile(beside, 50) / np.percentile(alone, 50) if alone and beside else float("nan")
        print(f"  p50 ratio {ratio:.1f}x; answers {dict(statuses)}")
        if args.seconds > 0:
            asyncio.run(soak(url, server.pid, photos, args.clients, args.seconds))
    finally:
        server.terminate()
        server.wait(60)


if __name__ == "__main__":
    main()
