#!/usr/bin/env python3
"""Generates the foundation benchmark inputs: an HR CSV of N people and an inventory CSV of M rows.

Deterministic (seeded). About 10% of people are leavers, 5% changed department; inventory rows are
accounts of random people (by email, by employee id, or by an unknown email: orphans), 5% service
accounts with an owner, each with 0-3 groups. A second inventory, inventory-nightly.csv, is the
same export a day later: 1% of its rows (every hundredth) with a new last login, the change a
nightly sweep meets.

    python3 benches/gen_foundation.py OUTDIR [PEOPLE] [ROWS]
"""
import random
import sys
from pathlib import Path

out = Path(sys.argv[1])
people = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
rows = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
out.mkdir(parents=True, exist_ok=True)
rng = random.Random(42)
depts = ["Engineering", "Finance", "Sales", "Support", "Legal", "Marketing", "Platform", "Security"]

with open(out / "hr.csv", "w") as f:
    f.write("employee_id,email,name,status,termination_date,department,title,manager,emails\n")
    for i in range(people):
        leaver = rng.random() < 0.10
        status = "terminated" if leaver else rng.choice(["active"] * 20 + ["on_leave"])
        term = f"2026-{rng.randint(1, 10):02d}-{rng.randint(1, 28):02d}" if leaver else ""
        f.write(
            f"E{i:06d},person{i}@example.com,\"Person {i}\",{status},{term},{rng.choice(depts)},"
            f"Title {i % 50},E{rng.randint(0, people - 1):06d},p{i}@corp.example.com\n"
        )

with open(out / "inventory.csv", "w") as f, open(out / "inventory-nightly.csv", "w") as nightly:
    header = "account,email,employee_id,status,created_at,last_login,kind,owner,groups\n"
    f.write(header)
    nightly.write(header)
    for r in range(rows):
        p = rng.randint(0, people - 1)
        kind = "service" if rng.random() < 0.05 else "user"
        roll = rng.random()
        email, eid, owner = "", "", ""
        if kind == "service":
            owner = f"person{p}@example.com"
        elif roll < 0.6:
            email = f"person{p}@example.com"
        elif roll < 0.9:
            eid = f"E{p:06d}"
        else:
            email = f"stranger{r}@vendor.example"
        status = "active" if rng.random() < 0.9 else "disabled"
        last = f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}T08:00:00Z"
        groups = ";".join(rng.sample(["all", "vpn", "eng-prod", "ledger", "crm-admin", "support"], rng.randint(0, 3)))
        f.write(f"acct-{r},{email},{eid},{status},2024-01-01,{last},{kind},{owner},{groups}\n")
        if r % 100 == 7:
            last = "2026-11-29T08:00:00Z"
        nightly.write(f"acct-{r},{email},{eid},{status},2024-01-01,{last},{kind},{owner},{groups}\n")
print(f"wrote {out}/hr.csv ({people} people), {out}/inventory.csv and {out}/inventory-nightly.csv ({rows} rows)")
