"""One WebSocket stream: camera frames in (binary JPEG), faces out (JSON), tracks of its own.

Receiving and classifying run side by side. Only the newest received frame waits; when a frame
arrives before the previous one was classified, the waiting one is dropped and the next reply
says how many were dropped. Memory per stream is bounded by one frame, however fast a client sends.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect

from fer.api.recognizer import Stream
from fer.errors import SourceError
from fer.inference.images import decode_image


class StreamSession:
    def __init__(self, ws: WebSocket, stream: Stream, max_frame_bytes: int, max_pixels: int):
        self.ws, self.stream, self.max_frame_bytes, self.max_pixels = ws, stream, max_frame_bytes, max_pixels
        self.received = 0  # frames received; a frame's `seq` is its 1-based number in this stream
        self.dropped = 0  # since the last reply
        self.dropped_total = 0
        self._waiting: tuple[int, bytes, float] | None = None
        self._ready = asyncio.Event()
        self._send_lock = asyncio.Lock()

    async def run(self) -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._classify_loop)
            await self._receive_loop()
            tasks.cancel_scope.cancel()

    async def _receive_loop(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is None:
                await self._send({"type": "error", "seq": None,
                                  "error": "send camera frames as binary messages holding a JPEG (or PNG) image"})
                continue
            self.received += 1
            if len(data) > self.max_frame_bytes:
                await self._send({"type": "error", "seq": self.received, "error": (
                    f"frame of {len(data) / (1 << 20):.1f} MB is over the {self.max_frame_bytes / (1 << 20):g} MB "
                    "limit; send smaller JPEGs")})
                continue
            if self._waiting is not None:  # the server is behind: the older frame is stale
                self.dropped += 1
                self.dropped_total += 1
            self._waiting = (self.received, data, time.perf_counter())
            self._ready.set()

    async def _classify_loop(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            if self._waiting is None:
                continue
            seq, data, arrived = self._waiting
            self._waiting = None
            dropped, self.dropped = self.dropped, 0
            try:
                reply = await run_in_threadpool(self._classify, seq, data)
                reply.update(type="result")
            except SourceError as e:  # undecodable, truncated, too small, or too many pixels declared
                reply = {"type": "error", "error": str(e)}
            reply.update(seq=seq, dropped=dropped, dropped_total=self.dropped_total,
                         latency_ms=round((time.perf_counter() - arrived) * 1e3, 2))
            if not await self._send(reply):
                return

    def _classify(self, seq: int, data: bytes) -> dict[str, Any]:
        t0 = time.perf_counter()
        frame = decode_image(data, f"frame {seq}", self.max_pixels)  # the header is checked before decoding
        t1 = time.perf_counter()
        faces, result = self.stream.process_result(frame)
        timings = {"decode": (t1 - t0) * 1e3, **result.timings}
        return {"frame": result.index, "width": frame.shape[1], "height": frame.shape[0],
                "faces": [f.to_dict(crop=True, digits=4) for f in faces],
                "timings": {k: round(v, 2) for k, v in timings.items()}}

    async def _send(self, reply: dict[str, Any]) -> bool:
        """False once the client has gone."""
        try:
            async with self._send_lock:
                await self.ws.send_json(reply)
        except WebSocketDisconnect:
            return False
        return True
