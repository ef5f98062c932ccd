#!/usr/bin/env python3
"""A webhook receiver for the benchmark: answers 204 to every POST and, for the events of the
orders placed under load (order ids starting with "bench-"), appends one line to OUT: the
milliseconds from the event's creation (its createdAt) to its arrival here, and its webhook-id.
Listens on 127.0.0.1 only.   usage: webhook_receiver.py PORT OUT"""
import json
import sys
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def created_at_seconds(text):
    # proto3 JSON timestamps: 2026-11-30T19:00:00.123456Z (0, 3, 6 or 9 fraction digits)
    base, _, frac = text.rstrip("Z").partition(".")
    seconds = datetime.fromisoformat(base + "+00:00").timestamp()
    return seconds + (float("0." + frac) if frac else 0.0)


class Receiver(BaseHTTPRequestHandler):
    # Keep-alive, as receivers usually are: the dispatcher sends a batch over one connection.
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        arrived = datetime.now().timestamp()
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(204)
        self.end_headers()
        event = json.loads(body)
        if str(event.get("orderId", "")).startswith("bench-") and "createdAt" in event:
            latency_ms = (arrived - created_at_seconds(event["createdAt"])) * 1000
            with open(sys.argv[2], "a") as out:
                out.write(f"{latency_ms:.1f} {self.headers.get('webhook-id')}\n")

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver).serve_forever()
