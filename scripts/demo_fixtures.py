#!/usr/bin/env python3
"""Demo buckets for `make demo`: `photos` and a copy `photos-copy` with a few planted differences."""
import argparse, os
os.environ.setdefault('BOTO_EXPERIMENTAL__NO_EMPTY_CONTINUE', 'true')
import boto3  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('--endpoint', required=True)
ap.add_argument('--bucket-prefix', default='', help='put before both bucket names (tests)')
a = ap.parse_args()
SRC, DST = a.bucket_prefix + 'photos', a.bucket_prefix + 'photos-copy'
s3 = boto3.client('s3', endpoint_url=a.endpoint, region_name='us-east-1',
                  aws_access_key_id=os.environ['BD_S3_ACCESS_KEY'],
                  aws_secret_access_key=os.environ['BD_S3_SECRET_KEY'])
for b in (SRC, DST):
    s3.create_bucket(Bucket=b)
same = [f'2025/{m:02d}/img-{i:03d}.jpg' for m in range(1, 13) for i in range(20)]
for k in same:
    body = k.encode() * 3
    s3.put_object(Bucket=SRC, Key=k, Body=body)
    s3.put_object(Bucket=DST, Key=k, Body=body)
s3.put_object(Bucket=SRC, Key='2025/12/holiday party.jpg', Body=b'only in the source')
s3.put_object(Bucket=DST, Key='2024/old-thumbnail.jpg', Body=b'only in the copy')
s3.put_object(Bucket=SRC, Key='2025/06/img-007.jpg', Body=b'edited after the copy was made')
s3.put_object(Bucket=SRC, Key='caf\u00e9/menu.pdf', Body=b'NFC name')
s3.put_object(Bucket=DST, Key='cafe\u0301/menu.pdf', Body=b'NFC name')
for b, color in ((SRC, 'red'), (DST, 'blue')):  # found by the deep check only
    s3.put_object(Bucket=b, Key='2025/01/img-000.jpg', Body=b'2025/01/img-000.jpg' * 3, Metadata={'color': color})
print(f'{len(same) + 3} objects in photos, {len(same) + 2} in photos-copy; planted: 1 only in source, '
      '1 only in the copy, 1 changed, 1 name spelled NFC vs NFD, 1 metadata change')
