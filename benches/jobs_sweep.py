"""Sweeps as jobs: 100 AWS accounts on moto swept by 1, 2 and 4 `residual scan --shard K/N`
worker processes against one store, SQLite or PostgreSQL (see benches/README.md, "Sweeps as
jobs").

    python3 benches/jobs_sweep.py seed --endpoint http://127.0.0.1:PORT --dir DIR [--accounts 100]
    python3 benches/jobs_sweep.py run --dir DIR --workers N --bin PATH/residual [--db postgres://…]
    python3 benches/jobs_sweep.py check --dir DIR

`seed` builds an AWS Organization of `--accounts` accounts in a running moto server
(fixtures/aws/moto_harness.py), each with 10 IAM users of whom 3 are leavers with an access key,
writes DIR/residual.toml (one aws-iam scanner, `accounts = "organization"`) and DIR/hr.csv, and
imports the HR snapshot into DIR/base/residual.db. `run` copies that store (with its key files)
into a fresh directory, starts N workers at once (`--same`: all of them on every unit, so the
leases alone keep them apart), waits for all of them and appends one JSON line
to DIR/results.jsonl: wall seconds, exit codes, lease conflicts (units a worker skipped because
another held them), runs by status, whether `audit verify` passed, the store's size and a digest
of the findings (id, rule, system, account, state). `check` prints the lines and whether every
digest is the same and every run swept each unit exactly once, completely.

With `--db postgres://USER@HOST:PORT/DB` (a server URL whose user may create databases) `run`
uses a PostgreSQL store instead: a NEW database per run (`residual_jobs_w<N>_<time>`, dropped
afterwards unless `--keep`), into which the same HR snapshot is imported with the base store's
chain key and fingerprint key, if it has one (RESIDUAL_CHAIN_KEY_FILE, RESIDUAL_FINGERPRINT_KEY:
every worker of a run shares them, as they share the copied key files of a SQLite run), so the
digests compare with the SQLite runs. It needs `psql` (Debian's postgresql-client).

Needs python3 with moto and boto3 (moto's own dependency). Traffic stays on 127.0.0.1.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse

NOW = "2026-06-01T00:00:00Z"
USERS = 10
LEAVERS = 3


def seed(args):
    import boto3

    def client(service, creds=None):
        kw = dict(
            endpoint_url=args.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        if creds:
            kw.update(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
            )
        return boto3.client(service, **kw)

    orgs = client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    accounts = ["123456789012"]
    for i in range(args.accounts - 1):
        out = orgs.create_account(AccountName=f"member-{i}", Email=f"aws+m{i}@example.com")
        accounts.append(out["CreateAccountStatus"]["AccountId"])
    sts = client("sts")
    hr = ["employee_id,email,status,termination_date,aws_user"]
    for n, account in enumerate(accounts):
        creds = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/residual-audit", RoleSessionName="seed"
        )["Credentials"]
        iam = client("iam", creds)
        for u in range(USERS):
            name = f"u{n:03d}-{u}"
            iam.create_user(UserName=name)
            leaver = u < LEAVERS
            if leaver:
                iam.create_access_key(UserName=name)
            status, left = ("terminated", "2026-03-01") if leaver else ("active", "")
            hr.append(f"E{n:03d}{u},{name}@example.com,{status},{left},{name}")
    os.makedirs(os.path.join(args.dir, "base"), exist_ok=True)
    with open(os.path.join(args.dir, "hr.csv"), "w") as f:
        f.write("\n".join(hr) + "\n")
    with open(os.path.join(args.dir, "residual.toml"), "w") as f:
        f.write(
            "[[scanner]]\nname = \"org\"\nkind = \"aws-iam\"\n"
            f"endpoint_url = \"{args.endpoint}\"\nservice_specific_credentials = false\n"
            "accounts = \"organization\"\nrole_name = \"residual-audit\"\n"
            f"concurrency = {args.concurrency}\n"
        )
    env = dict(os.environ, RESIDUAL_DB=os.path.join(args.dir, "base", "residual.db"), RESIDUAL_NOW=NOW)
    subprocess.run(
        [args.bin, "hr", "import", os.path.join(args.dir, "hr.csv"), "--as-of", "2026-04-01"],
        env=env, check=True, cwd=args.dir,
    )
    print(f"seeded {len(accounts)} accounts, {len(accounts) * USERS} users")


def psql(url, sql):
    """Runs one statement with psql; its unaligned, tuples-only output."""
    out = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
        capture_output=True, text=True, env=dict(os.environ, PGCONNECT_TIMEOUT="10"),
    )
    if out.returncode != 0:
        sys.exit(f"psql failed on {sql!r}: {out.stderr.strip()}")
    return out.stdout.strip()


def with_database(url, name):
    """The server URL `url` with its database replaced by `name` (options kept)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def postgres_store(args, work, name):
    """A new database on the server of `args.db` holding the base store's HR snapshot, keyed as
    the base store is: its URL and the environment that reaches it."""
    psql(args.db, f"CREATE DATABASE {name}")
    url = with_database(args.db, name)
    base = os.path.join(args.dir, "base")
    os.makedirs(work)
    # One fingerprint key for every worker of the run: the base store's when it has made one
    # (a SQLite run's workers share the copied file), else a new one.
    key_file = os.path.join(base, "residual.db.key")
    if os.path.exists(key_file):
        with open(key_file, "rb") as f:
            fingerprint_key = f.read().hex()
    else:
        fingerprint_key = os.urandom(32).hex()
    chain_key = os.path.join(work, "chain-key")
    shutil.copyfile(os.path.join(base, "residual.db.chain-key"), chain_key)
    os.chmod(chain_key, 0o600)
    env = dict(
        RESIDUAL_DB=url,
        RESIDUAL_FINGERPRINT_KEY=fingerprint_key,
        RESIDUAL_CHAIN_KEY_FILE=chain_key,
        RESIDUAL_KEY_DIR=work,
    )
    subprocess.run(
        [args.bin, "hr", "import", os.path.join(args.dir, "hr.csv"), "--as-of", "2026-04-01"],
        env=dict(os.environ, RESIDUAL_NOW=NOW, **env), check=True, cwd=work, stdout=subprocess.DEVNULL,
    )
    return url, env


def run(args):
    runs_dir = os.path.join(args.dir, "runs")
    os.makedirs(runs_dir, exist_ok=True)
    stamp = time.time_ns()
    work = os.path.join(runs_dir, f"w{args.workers}-{stamp}")
    if args.db:
        database = f"residual_jobs_w{args.workers}_{stamp}"
        try:
            db, store_env = postgres_store(args, work, database)
        except subprocess.CalledProcessError as e:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
                psql(args.db, f"DROP DATABASE IF EXISTS {database}")
            sys.exit(f"importing the HR snapshot into {database} failed (exit {e.returncode}): "
                     "does this binary have the PostgreSQL store?")
    else:
        shutil.copytree(os.path.join(args.dir, "base"), work)
        db = os.path.join(work, "residual.db")
        store_env = dict(RESIDUAL_DB=db)
    env = dict(
        os.environ,
        RESIDUAL_NOW=NOW,
        RESIDUAL_CONFIG=os.path.join(args.dir, "residual.toml"),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_EC2_METADATA_DISABLED="true",
        RESIDUAL_LOCK_TIMEOUT="120",
        **store_env,
    )
    n = args.workers
    start = time.monotonic()
    procs = [
        subprocess.Popen(
            [args.bin, "scan", "--shard", "0/1" if args.same else f"{k}/{n}", "--format", "json"],
            env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        for k in range(n)
    ]
    outs = [p.communicate()[1] for p in procs]
    wall = time.monotonic() - start
    codes = [p.returncode for p in procs]
    conflicts = sum(o.count("skipped: another worker") for o in outs)
    q = lambda *a: subprocess.run([args.bin, *a], env=env, cwd=work, capture_output=True, text=True)
    findings = json.loads(q("findings", "--state", "all", "--format", "json").stdout)
    rows = sorted(
        (f.get("id"), f.get("rule"), f.get("system"), f.get("account"), f.get("state"))
        for f in findings
    )
    digest = hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]
    statuses = {}
    for r in json.loads(q("runs", "--format", "json").stdout):
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    verified = q("audit", "verify").returncode == 0
    if args.db:
        size = int(psql(db, "SELECT pg_database_size(current_database())"))
    else:
        size = sum(os.path.getsize(db + ext) for ext in ("", "-wal") if os.path.exists(db + ext))
    line = dict(
        store="postgres" if args.db else "sqlite",
        workers=n, same_units=args.same, wall_s=round(wall, 2), exit_codes=codes, lease_conflicts=conflicts,
        runs=statuses, findings=len(rows), findings_digest=digest, audit_verify=verified,
        store_bytes=size,
    )
    with open(os.path.join(args.dir, "results.jsonl"), "a") as f:
        f.write(json.dumps(line) + "\n")
    print(json.dumps(line))
    if not args.keep:
        shutil.rmtree(work)
        if args.db:
            psql(args.db, f"DROP DATABASE {database}")


def check(args):
    lines = [json.loads(l) for l in open(os.path.join(args.dir, "results.jsonl"))]
    for l in lines:
        print(json.dumps(l))
    digests = {l["findings_digest"] for l in lines}
    print("findings identical across every run:", len(digests) == 1)
    # No unit lost to a lease conflict or a failure: every run left one complete scan run per
    # unit (the same number in every run) and nothing else, and a chain that verifies.
    complete = {l["runs"].get("complete", 0) for l in lines}
    clean = all(set(l["runs"]) == {"complete"} and l["audit_verify"] for l in lines)
    print("every unit swept once, completely, chain verified, in every run:", len(complete) == 1 and clean)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("seed")
    s.add_argument("--endpoint", required=True)
    s.add_argument("--dir", required=True)
    s.add_argument("--accounts", type=int, default=100)
    s.add_argument("--concurrency", type=int, default=4)
    s.add_argument("--bin", default="target/release/residual")
    r = sub.add_parser("run")
    r.add_argument("--dir", required=True)
    r.add_argument("--workers", type=int, required=True)
    r.add_argument("--bin", default="target/release/residual")
    r.add_argument("--keep", action="store_true")
    r.add_argument(
        "--db", metavar="URL",
        help="a PostgreSQL server (postgres://USER@HOST:PORT/DB, USER may create databases): "
        "each run gets a new database there instead of a copy of the SQLite store",
    )
    r.add_argument(
        "--same", action="store_true",
        help="every worker runs --shard 0/1 (all units): the leases alone keep them apart",
    )
    c = sub.add_parser("check")
    c.add_argument("--dir", required=True)
    args = p.parse_args()
    if getattr(args, "bin", None):
        args.bin = os.path.abspath(args.bin)
    if getattr(args, "dir", None):
        args.dir = os.path.abspath(args.dir)
    {"seed": seed, "run": run, "check": check}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
