#!/usr/bin/env python3
"""Populate a re-chunked bucket pair for the content benchmark, with boto3: N objects of SIZE MiB, the
source uploaded in 8 MiB parts, the destination in 5 MiB parts (what two copy tools with different part
sizes leave behind: every ETag differs), no checksums. Planted: a one-byte change in 2 objects and one
object missing from the destination. Prints the planted keys as JSON.

usage: bench/populate_rechunk.py --endpoint URL --bucket-a A --bucket-b B [--objects 64] [--size-mb 32]
"""
import argparse, json, os, random, sys
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault('BOTO_EXPERIMENTAL__NO_EMPTY_CONTINUE', 'true')
import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('--endpoint', required=True)
ap.add_argument('--bucket-a', required=True)
ap.add_argument('--bucket-b', required=True)
ap.add_argument('--objects', type=int, default=64)
ap.add_argument('--size-mb', type=int, default=32)
a = ap.parse_args()

c = boto3.client('s3', endpoint_url=a.endpoint, aws_access_key_id=os.environ['BD_S3_ACCESS_KEY'],
                 aws_secret_access_key=os.environ['BD_S3_SECRET_KEY'], region_name='us-east-1',
                 config=Config(s3={'addressing_style': 'path'}, request_checksum_calculation='when_required',
                               response_checksum_validation='when_required', max_pool_connections=8))
for b in (a.bucket_a, a.bucket_b):
    try:
        c.create_bucket(Bucket=b)
    except c.exceptions.BucketAlreadyOwnedByYou:
        pass

MB = 1024 * 1024
size = a.size_mb * MB


def upload(bucket, key, data, part):
    u = c.create_multipart_upload(Bucket=bucket, Key=key)
    parts = []
    for i, off in enumerate(range(0, len(data), part)):
        r = c.upload_part(Bucket=bucket, Key=key, UploadId=u['UploadId'], PartNumber=i + 1,
                          Body=data[off:off + part])
        parts.append({'PartNumber': i + 1, 'ETag': r['ETag']})
    c.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=u['UploadId'], MultipartUpload={'Parts': parts})


changed = {f'obj-{i:05d}.bin' for i in (3, a.objects // 2)}
missing = {f'obj-{a.objects - 2:05d}.bin'}


def one(i):
    key = f'obj-{i:05d}.bin'
    data = random.Random(i).randbytes(size)
    upload(a.bucket_a, key, data, 8 * MB)
    if key in missing:
        return
    if key in changed:
        b = bytearray(data)
        b[size // 3] ^= 0x01
        data = bytes(b)
    upload(a.bucket_b, key, data, 5 * MB)


with ThreadPoolExecutor(4) as pool:
    list(pool.map(one, range(a.objects)))
json.dump({'objects': a.objects, 'bytes_per_side': a.objects * size, 'changed': sorted(changed),
           'missing': sorted(missing)}, sys.stdout)
print()
