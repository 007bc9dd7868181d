#!/usr/bin/env python3
"""Run a command, sample the RSS of it and of each of its descendants every 50 ms, and print one JSON
line: wall time, exit status, peak RSS of the main process, the largest peak of any descendant,
user+system CPU seconds of the command and every descendant it waited for (getrusage of children),
CPU milliseconds per object, the main process's own CPU seconds (last sample), and the `Throughput:` figure the tool logged.

usage: bench/measure.py LABEL [--objects N] -- CMD ARGS...
  --objects N: the object count to divide by when the command does not log one (rclone, probes)
"""
import json, os, re, resource, subprocess, sys, time

label = sys.argv[1]
head = sys.argv[:sys.argv.index('--')]
given_objects = int(head[head.index('--objects') + 1]) if '--objects' in head else None
cmd = sys.argv[sys.argv.index('--') + 1:]


def rss_kb(pid):
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for t in os.listdir(f'/proc/{p}/task'):
                with open(f'/proc/{p}/task/{t}/children') as f:
                    kids = [int(x) for x in f.read().split()]
                out += kids
                todo += kids
        except OSError:
            pass
    return out


r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
t0 = time.time()
p = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
import threading  # noqa: E402
err = []
threading.Thread(target=lambda: err.extend(p.stderr), daemon=True).start()
def own_cpu_s(pid):
    """utime+stime of the process itself (not its children), from /proc/PID/stat."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    except (OSError, IndexError, ValueError):
        return None


main_peak, child_peak, nchildren, main_cpu = 0, 0, 0, 0.0
while p.poll() is None:
    main_peak = max(main_peak, rss_kb(p.pid))
    main_cpu = own_cpu_s(p.pid) or main_cpu  # the last sample before exit (within 50 ms)
    kids = descendants(p.pid)
    nchildren = max(nchildren, len(kids))
    for k in kids:
        child_peak = max(child_peak, rss_kb(k))
    time.sleep(0.05)
wall = time.time() - t0
r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
text = ''.join(err)
m = re.findall(r'Throughput: ([0-9.]+) objects/second', text)
n = re.findall(r'Total objects processed: (\d+)', text)
objects = int(n[-1]) if n else given_objects
print(json.dumps({'label': label, 'exit': p.returncode, 'wall_s': round(wall, 2),
                  'objects': objects,
                  'objects_per_s_logged': float(m[-1]) if m else None,
                  'objects_per_s_wall': round(objects / wall, 1) if objects else None,
                  'cpu_s': round(cpu, 2),
                  'cpu_ms_per_object': round(1000 * cpu / objects, 4) if objects else None,
                  'main_cpu_s': round(main_cpu, 2),
                  'peak_rss_main_mb': round(main_peak / 1024, 1),
                  'peak_rss_largest_child_mb': round(child_peak / 1024, 1), 'children': nchildren}))
if p.returncode not in (0, 1):
    sys.stderr.write(text[-3000:])
