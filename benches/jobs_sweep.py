"""Sweeps as jobs: 100 AWS accounts on moto swept by 1, 2 and 4 `residual scan --shard K/N`
worker processes against one SQLite store (see benches/README.md, "Sweeps as jobs").

    python3 benches/jobs_sweep.py seed --endpoint http://127.0.0.1:PORT --dir DIR [--accounts 100]
    python3 benches/jobs_sweep.py run --dir DIR --workers N --bin PATH/residual
    python3 benches/jobs_sweep.py check --dir DIR

`seed` builds an AWS Organization of `--accounts` accounts in a running moto server
(fixtures/aws/moto_harness.py), each with 10 IAM users of whom 3 are leavers with an access key,
writes DIR/residual.toml (one aws-iam scanner, `accounts = "organization"`) and DIR/hr.csv, and
imports the HR snapshot into DIR/base/residual.db. `run` copies that store (with its key files)
into a fresh directory, starts N workers at once (`--same`: all of them on every unit, so the
leases alone keep them apart), waits for all of them and appends one JSON line
to DIR/results.jsonl: wall seconds, exit codes, lease conflicts (units a worker skipped because
another held them), runs by status, whether `audit verify` passed and a digest of the findings
(id, rule, system, account, state). `check` prints the lines and whether every digest is the same.

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


def run(args):
    runs_dir = os.path.join(args.dir, "runs")
    os.makedirs(runs_dir, exist_ok=True)
    work = os.path.join(runs_dir, f"w{args.workers}-{time.time_ns()}")
    shutil.copytree(os.path.join(args.dir, "base"), work)
    db = os.path.join(work, "residual.db")
    env = dict(
        os.environ,
        RESIDUAL_DB=db,
        RESIDUAL_NOW=NOW,
        RESIDUAL_CONFIG=os.path.join(args.dir, "residual.toml"),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_EC2_METADATA_DISABLED="true",
        RESIDUAL_LOCK_TIMEOUT="120",
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
    line = dict(
        workers=n, same_units=args.same, wall_s=round(wall, 2), exit_codes=codes, lease_conflicts=conflicts,
        runs=statuses, findings=len(rows), findings_digest=digest, audit_verify=verified,
    )
    with open(os.path.join(args.dir, "results.jsonl"), "a") as f:
        f.write(json.dumps(line) + "\n")
    print(json.dumps(line))
    if not args.keep:
        shutil.rmtree(work)


def check(args):
    lines = [json.loads(l) for l in open(os.path.join(args.dir, "results.jsonl"))]
    for l in lines:
        print(json.dumps(l))
    digests = {l["findings_digest"] for l in lines}
    print("findings identical across every run:", len(digests) == 1)


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
