"""What the benchmark's Python scripts share (bulk_codes.py, dry_run.py, campaign_run.py): their
common options and running SQL through psql, whose \\timing gives Postgres's own time for the
plain-SQL baselines."""
import argparse
import re
import subprocess
import sys


def arguments(description, service, count, default):
    """The options every script takes, the service it calls (--<service> HOST:PORT) and its
    volume (--<count>)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--stubs", required=True, help="Python stubs (examples/python/gen_stubs.sh)")
    p.add_argument("--" + service, required=True, help="HOST:PORT")
    p.add_argument("--token", required=True, help="the internal token")
    p.add_argument("--url", required=True, help="the database URL")
    p.add_argument("--psql", default="/usr/lib/postgresql/15/bin/psql")
    p.add_argument("--" + count, type=int, default=default)
    a = p.parse_args()
    sys.path.insert(0, a.stubs)
    return a


def psql(binary, url, script):
    """Runs `script`; its output (unaligned, tuples only)."""
    return subprocess.run([binary, url, "-XqAt", "-v", "ON_ERROR_STOP=1"], input=script,
                          capture_output=True, text=True, check=True).stdout


def timings_ms(output):
    """The times psql's \\timing printed, in ms."""
    return [float(t) for t in re.findall(r"Time: ([0-9.]+) ms", output)]
