#!/usr/bin/env python3
"""moto's S3 as a local HTTP server on 127.0.0.1 (in memory; signatures are not checked)."""
import argparse, os, signal

ap = argparse.ArgumentParser()
ap.add_argument('--host', default='127.0.0.1')
ap.add_argument('--port', type=int, required=True)
a = ap.parse_args()
os.environ.setdefault('MOTO_PORT', str(a.port))

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: E402
from werkzeug.serving import run_simple  # noqa: E402

signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
run_simple(a.host, a.port, DomainDispatcherApplication(create_backend_app), threaded=True)
