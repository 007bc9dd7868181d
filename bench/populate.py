#!/usr/bin/env python3
"""Fill a bucket pair for benchmarks: N objects with metadata and tags, 1% of each kind of difference
(only in A, only in B, size, etag, metadata, tags). Raw SigV4 PUTs over keep-alive connections from
several processes (boto3 costs ~3 ms of client CPU per PUT; this ~0.3 ms). Prints the planted counts.

usage: bench/populate.py --endpoint URL --bucket-a A --bucket-b B -n N [--procs 4 --threads 8]
"""
import argparse, datetime as dt, hashlib, hmac, http.client, json, multiprocessing as mp, os, random
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

ap = argparse.ArgumentParser()
ap.add_argument('--endpoint', required=True)
ap.add_argument('--bucket-a', required=True)
ap.add_argument('--bucket-b', required=True)
ap.add_argument('-n', type=int, default=100_000)
ap.add_argument('--seed', type=int, default=1)
ap.add_argument('--procs', type=int, default=4)
ap.add_argument('--threads', type=int, default=8)
ap.add_argument('--key-style', choices=['tree', 'flat'], default='tree',
                help='tree: dNN/eNN/obj-N.bin (1,024 directories); flat: obj-N.bin (one directory)')
ap.add_argument('--tagged-percent', type=int, default=100,
                help='objects that carry tags (the rest have none; planted tag differences fall on tagged ones)')
ap.add_argument('--single', action='store_true', help='fill bucket A only, no planted differences (compare it with itself)')
a = ap.parse_args()
AK, SK = os.environ['BD_S3_ACCESS_KEY'], os.environ['BD_S3_SECRET_KEY']
u = urllib.parse.urlsplit(a.endpoint)
HOST = f'{u.hostname}:{u.port}'
KINDS = ['only_a', 'only_b', 'size', 'etag', 'meta', 'tags']


def q(s, safe='-_.~'):
    return urllib.parse.quote(s, safe=safe)


class Client:
    def __init__(self):
        self.conn = None

    def put(self, bucket, key, body, headers):
        path = f'/{bucket}/{q(key, "/-_.~")}' if key else f'/{bucket}'
        now = dt.datetime.now(dt.timezone.utc).strftime('%Y%m%dT%H%M%SZ')
        h = {k.lower(): v for k, v in headers.items()}
        ph = hashlib.sha256(body).hexdigest()
        h.update({'host': HOST, 'x-amz-date': now, 'x-amz-content-sha256': ph})
        names = sorted(h)
        creq = '\n'.join(['PUT', path, '', ''.join(f'{k}:{h[k]}\n' for k in names), ';'.join(names), ph])
        scope = f'{now[:8]}/us-east-1/s3/aws4_request'
        sts = f'AWS4-HMAC-SHA256\n{now}\n{scope}\n{hashlib.sha256(creq.encode()).hexdigest()}'
        k = ('AWS4' + SK).encode()
        for part in (now[:8], 'us-east-1', 's3', 'aws4_request'):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        h['authorization'] = (f'AWS4-HMAC-SHA256 Credential={AK}/{scope}, SignedHeaders={";".join(names)}, '
                              f'Signature={hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()}')
        for attempt in range(5):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
                self.conn.request('PUT', path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                if r.status in (200, 409):
                    return
                raise RuntimeError(f'PUT {path}: HTTP {r.status} {data[:200]!r}')
            except (OSError, http.client.HTTPException):
                self.conn = None
        raise RuntimeError(f'PUT {path} failed')


def spec(i):
    r = random.Random(f'{a.seed}:{i}')
    key = f'd{r.randrange(32):02d}/e{r.randrange(32):02d}/obj-{i:09d}.bin'
    if a.key_style == 'flat':
        key = f'obj-{i:09d}.bin'
    body = bytes(r.randrange(256) for _ in range(r.randrange(101)))
    meta = {'x-amz-meta-team': r.choice(['alpha', 'beta', 'gamma']), 'content-type': 'application/octet-stream'}
    tagged = i % 100 < a.tagged_percent
    tags = {'x-amz-tagging': f'n={i % 7}'} if tagged else {}
    kind = KINDS[r.randrange(len(KINDS))] if r.random() < 0.06 else None
    if kind == 'tags' and not tagged:
        kind = 'meta'
    A = (body, dict(meta, **tags))
    B = (body, dict(meta, **tags))
    if kind == 'only_a':
        B = None
    elif kind == 'only_b':
        A = None
    elif kind == 'size':
        B = (body + b'x', B[1])
    elif kind == 'etag':
        B = ((bytes([body[0] ^ 1]) + body[1:]) if body else b'z', B[1])
        if not body:
            kind = 'size'
    elif kind == 'meta':
        B = (body, dict(B[1], **{'x-amz-meta-team': 'changed'}))
    elif kind == 'tags':
        B = (body, dict(B[1], **{'x-amz-tagging': 'n=changed'}))
    return key, A, B, kind


def work(chunk):
    local = __import__('threading').local()

    def one(i):
        if not hasattr(local, 'c'):
            local.c = Client()
        key, A, B, kind = spec(i)
        if a.single:
            A, B, kind = A or B, None, None
        if A:
            local.c.put(a.bucket_a, key, A[0], A[1])
        if B:
            local.c.put(a.bucket_b, key, B[0], B[1])
        return kind
    with ThreadPoolExecutor(a.threads) as ex:
        return list(ex.map(one, chunk))


if __name__ == '__main__':
    c = Client()
    for b in ((a.bucket_a,) if a.single else (a.bucket_a, a.bucket_b)):
        c.put(b, None, b'', {})
    chunks = [range(s, min(s + 1000, a.n)) for s in range(0, a.n, 1000)]
    counts = {}
    with mp.Pool(a.procs) as pool:
        for kinds in pool.imap_unordered(work, chunks):
            for k in kinds:
                if k:
                    counts[k] = counts.get(k, 0) + 1
    print(json.dumps({'objects': a.n, 'planted': counts,
                      'shallow_differences': sum(counts.get(k, 0) for k in ('only_a', 'only_b', 'size', 'etag')),
                      'deep_differences': sum(counts.values())}))
