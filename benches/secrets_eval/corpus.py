#!/usr/bin/env python3
"""Builds the hand-labelled secrets evaluation corpus into a directory, with its labels.

    python3 benches/secrets_eval/corpus.py OUT_DIR [--seed N]

Writes one small, realistic file per snippet under OUT_DIR/<class>/ and OUT_DIR/labels.jsonl,
one line per labelled span: {"path", "first", "last", "class", "positive"}. A tool's match on a
line inside a positive span is a true positive (once per span); a match on a negative span, or on
any line no span covers, is a false positive.

How the labels are made: by construction. Every snippet below was written by hand for one class of
issue 18 (the forms credentials take in real configuration, shell history, SQL, CI files and code,
as the tools' own documentation shows them: MySQL/PostgreSQL/Docker/curl CLI, JDBC/ADO/libpq
connection strings, Kubernetes secrets, GCP key files) and is marked positive (a live-looking
credential a reviewer would want reported) or negative (a look-alike a reviewer would not: a
hash, a reference, an example domain, a tokenizer scope). Secret values are random, drawn at build
time from the seed, in the public format of each provider, so no secret is stored in this file
and the same seed gives the same corpus. The snippets are NOT the rule examples in rules/secrets,
and were written from the class descriptions, before the rules that now match them.
"""
import base64
import json
import random
import string
import sys
from pathlib import Path

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
# Split, so that this file itself holds no key header a secret scanner would stop at.
PK = "PRIVATE" + " KEY"
B64URL = ALNUM + "-_"


class Corpus:
    def __init__(self, out, seed):
        self.out = Path(out)
        self.rng = random.Random(seed)
        self.labels = []

    def rand(self, n, alphabet=ALNUM):
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def password(self, n=None):
        """A short human-style password: letters, digits and one symbol, low entropy possible."""
        n = n or self.rng.randint(6, 11)
        words = ["Summer", "Winter", "Falcon", "Tiger", "Orange", "Monkey", "Dragon", "Kestrel",
                 "Pepper", "Harbor", "Maple", "Cobalt"]
        w = self.rng.choice(words)
        tail = self.rand(max(2, n - len(w)), string.digits + "!#@")
        return (w + tail)[:max(n, 6)] if self.rng.random() < 0.5 else self.rand(n, ALNUM + "!#%")

    def file(self, cls, name, segments):
        """segments: list of (label, text); label is "pos", "neg" or None (context)."""
        path = Path(cls) / name
        lines = []
        for label, text in segments:
            first = len(lines) + 1
            lines.extend(text.split("\n"))
            if label:
                self.labels.append({"path": path.as_posix(), "first": first, "last": len(lines),
                                    "class": cls, "positive": label == "pos"})
        full = self.out / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def write_labels(self):
        with open(self.out / "labels.jsonl", "w") as f:
            for label in self.labels:
                f.write(json.dumps(label) + "\n")


# DER starts as the real structures do: a PKCS#8 / PKCS#1 private key is SEQUENCE { INTEGER 0,
# ... }, a certificate SEQUENCE { SEQUENCE ..., and a public key SEQUENCE { SEQUENCE { OID ...
DER_HEAD = {
    "PRIVATE KEY": bytes.fromhex("308204bd020100300d06092a864886f70d0101010500048204a7"),
    "RSA PRIVATE KEY": bytes.fromhex("308204a40201000282010100"),
    "ENCRYPTED PRIVATE KEY": bytes.fromhex("308204e0305206092a864886f70d01050d"),
    "CERTIFICATE": bytes.fromhex("308203c5308202ada003020102"),
    "PUBLIC KEY": bytes.fromhex("30820122300d06092a864886f70d01010105000382010f00"),
}


def der(c, kind="PRIVATE KEY", size=1200):
    head = DER_HEAD[kind]
    return head + bytes(c.rng.randrange(256) for _ in range(size - len(head)))


def pem_body(c, kind="PRIVATE KEY", size=1200):
    text = base64.b64encode(der(c, kind, size)).decode()
    return [text[i:i + 64] for i in range(0, len(text), 64)]


def pem(c, kind="RSA PRIVATE KEY", header=None):
    rows = pem_body(c, kind)
    head = (header or []) + ([""] if header else [])
    return "\n".join([f"-----BEGIN {kind}-----"] + head + rows + [f"-----END {kind}-----"])


def context_passwords(c):
    cls = "context-password"
    p = c.password
    c.file(cls, "deploy.sh", [
        (None, "#!/bin/sh\nset -e"),
        ("pos", f"mysql -h db.acme.io -u root -p{p()} app < schema.sql"),
        ("pos", f"mysqldump --user=backup --password={p()} --all-databases > all.sql"),
        ("pos", f"sshpass -p '{p()}' ssh deploy@10.0.3.4 'systemctl restart app'"),
        ("pos", f"redis-cli -h cache.acme.io -a {p()} ping"),
        ("pos", f"docker login -u deploy -p {p()} registry.acme.io"),
        ("pos", f"docker login --username ci --password '{p()}' registry.acme.io"),
        ("pos", f"psql \"host=db.acme.io port=5432 user=report password={p()} dbname=sales\" -c 'select 1'"),
        ("neg", "docker run -p 8080:80 -P nginx"),
        ("neg", "mysql -u root -p app"),
        ("neg", "echo \"$REGISTRY_TOKEN\" | docker login -u ci --password-stdin registry.acme.io"),
        ("neg", "ssh -p 2222 deploy@10.0.3.4"),
        ("neg", "grep -P '\\d+' access.log | sort -u"),
        ("neg", "mysql -u \"$DB_USER\" -p\"$DB_PASS\" app"),
    ])
    c.file(cls, "users.sql", [
        ("pos", f"CREATE USER 'app'@'%' IDENTIFIED BY '{p()}';"),
        ("pos", f"ALTER USER 'report'@'localhost' IDENTIFIED BY '{p()}';"),
        ("pos", f"CREATE ROLE analyst WITH LOGIN PASSWORD '{p()}';"),
        ("pos", f"ALTER ROLE app_rw WITH PASSWORD '{p()}' VALID UNTIL 'infinity';"),
        (None, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO analyst;"),
        ("neg", "CREATE USER 'app'@'%' IDENTIFIED BY '${APP_DB_PASSWORD}';"),
        ("neg", "ALTER USER app WITH PASSWORD :'app_password';"),
        ("neg", "CREATE USER 'old'@'%' IDENTIFIED WITH mysql_native_password AS '*0D3CED9BEC10A777AEC23CCC353A8C08A633045E';"),
    ])
    c.file(cls, ".env", [
        (None, "APP_ENV=production"),
        ("pos", f"DB_PASS={p()}"),
        ("pos", f"MYSQL_ROOT_PASSWORD={p()}"),
        ("pos", f"SMTP_PASSWORD={p()}"),
        ("pos", f"REDIS_PASSWORD={p()}"),
        ("neg", "DB_PASSWORD="),
        ("neg", "DB_PASSWORD=${POSTGRES_PASSWORD}"),
        ("neg", "PASSWORD_MIN_LENGTH=12"),
    ])
    c.file(cls, "app.ini", [
        ("neg", "[database]"),
        (None, "host = db.acme.io"),
        (None, "user = app"),
        ("pos", f"password = {p()}"),
        ("neg", "[ldap]"),
        ("pos", f"bind_pw = {p()}"),
        ("neg", "password_file = /run/secrets/ldap"),
    ])
    c.file(cls, "config.yml", [
        (None, "database:\n  adapter: postgresql\n  host: db.acme.io"),
        ("pos", f"  password: {p()}"),
        (None, "mail:\n  user: alerts"),
        ("pos", f"  smtp_password: \"{p()}\""),
        ("neg", "  password_reset_url: /account/reset"),
        ("neg", "  password: !vault |\n    $ANSIBLE_VAULT;1.1;AES256"),
    ])
    c.file(cls, "settings.properties", [
        ("pos", f"spring.datasource.password={p()}"),
        ("pos", f"jdbc.url=jdbc:mysql://db.acme.io:3306/app?user=app&password={p()}&useSSL=true"),
        ("pos", f"db.url=jdbc:sqlserver://db.acme.io:1433;databaseName=app;user=sa;password={p()}"),
        ("neg", "spring.datasource.password=${DB_PASSWORD}"),
    ])


def split_values(c):
    cls = "split-and-generic"
    t = lambda n=40: c.rand(n)
    a, b = t(20), t(20)
    c.file(cls, "client.py", [
        (None, "import requests"),
        ("pos", f"API_SECRET = \"{a}\" \\\n    \"{b}\""),
        ("pos", f"token = (\"{t(18)}\"\n         \"{t(18)}\")"),
        ("pos", f"SIGNING_SECRET = \"{t(16)}\" + \"{t(16)}\""),
        ("neg", "token = \"Bearer \" + access_token"),
        ("neg", "secret = prefix + \"_\" + suffix"),
    ])
    c.file(cls, "Client.java", [
        (None, "class Client {"),
        ("pos", f"  private static final String API_KEY = \"{t(20)}\" +\n      \"{t(20)}\";"),
        ("neg", "  private static final String TOKEN_HEADER = \"X-Auth-\" + \"Token\";"),
        (None, "}"),
    ])
    c.file(cls, "run.sh", [
        ("pos", f"export SERVICE_TOKEN={t(20)}\\\n{t(20)}"),
        ("neg", "export PATH=/usr/local/bin:\\\n/usr/bin"),
    ])
    c.file(cls, "settings.json", [
        (None, "{"),
        ("pos", f"  \"key\": \"{c.rand(32, HEX)}\","),
        ("pos", f"  \"secret\": \"{t(40)}\","),
        ("pos", f"  \"credentials\": \"{t(32)}\","),
        ("pos", f"  \"auth\": \"{t(36)}\","),
        ("neg", "  \"key\": \"com.acme.billing.enabled\","),
        ("neg", "  \"auth\": \"oauth2\","),
        ("neg", "  \"token\": \"entity.name.function\","),
        ("neg", "  \"secret\": \"SECRET_NAME\""),
        (None, "}"),
    ])
    c.file(cls, "values.yaml", [
        ("pos", f"auth: {t(40)}"),
        ("pos", f"apiToken: {t(32)}"),
        ("neg", "auth: basic"),
        ("neg", "key: app.kubernetes.io/name"),
    ])
    c.file(cls, "config.toml", [
        ("neg", "[service]"),
        ("pos", f"key = \"{t(32)}\""),
        ("pos", f"token = \"{t(40)}\""),
        ("neg", "key = \"ctrl+shift+p\""),
    ])
    c.file(cls, "web.config", [
        (None, "<appSettings>"),
        ("pos", f"  <add key=\"ApiKey\" value=\"{t(32)}\" />"),
        ("pos", f"  <secret>{t(40)}</secret>"),
        ("neg", "  <add key=\"ApiKeyHeader\" value=\"X-Api-Key\" />"),
        (None, "</appSettings>"),
    ])
    c.file(cls, "app.properties", [
        ("pos", f"app.auth.token={t(40)}"),
        ("pos", f"payment.api.secret={t(32)}"),
        ("neg", "app.auth.token.header=Authorization"),
    ])


def private_keys(c):
    cls = "private-key"
    rows = pem_body(c, "RSA PRIVATE KEY")
    quoted = "\n".join(
        [f"  \"-----BEGIN RSA {PK}-----\","]
        + [f"  \"{r}\"," for r in rows]
        + [f"  \"-----END RSA {PK}-----\""])
    c.file(cls, "keys.js", [
        (None, "const key = ["),
        ("pos", quoted),
        (None, "].join(\"\\n\");"),
    ])
    rows = pem_body(c)
    concat = "\n".join(
        [f"    \"-----BEGIN {PK}-----\\n\" +"]
        + [f"    \"{r}\\n\" +" for r in rows]
        + [f"    \"-----END {PK}-----\\n\";"])
    c.file(cls, "Signer.java", [
        (None, "class Signer {\n  static final String KEY ="),
        ("pos", concat),
        (None, "}"),
    ])
    escaped = "\\n".join([f"-----BEGIN {PK}-----"] + pem_body(c) + [f"-----END {PK}-----", ""])
    c.file(cls, "service.json", [
        (None, "{\n  \"client_email\": \"ci@acme-prod.iam.gserviceaccount.com\","),
        ("pos", f"  \"private_key\": \"{escaped}\","),
        (None, "  \"client_id\": \"1234567890\"\n}"),
    ])
    b64pem = base64.b64encode(pem(c).encode() + b"\n").decode()
    b64cert = base64.b64encode(pem(c, "CERTIFICATE").encode() + b"\n").decode()
    c.file(cls, "tls-secret.yaml", [
        (None, "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\ndata:"),
        ("neg", f"  tls.crt: {b64cert}"),
        ("pos", f"  tls.key: {b64pem}"),
    ])
    c.file(cls, "signing.yml", [
        ("pos", f"signing_private_key: {base64.b64encode(der(c)).decode()}"),
        ("neg", f"signing_certificate: {base64.b64encode(der(c, 'CERTIFICATE')).decode()}"),
        ("neg", f"public_key: {base64.b64encode(der(c, 'PUBLIC KEY', 294)).decode()}"),
    ])
    c.file(cls, "legacy.pem", [
        ("pos", pem(c, "RSA PRIVATE KEY",
                    ["Proc-Type: 4,ENCRYPTED", f"DEK-Info: AES-256-CBC,{c.rand(32, HEX).upper()}"])),
    ])
    c.file(cls, "enc.pem", [("pos", pem(c, "ENCRYPTED PRIVATE KEY"))])
    c.file(cls, "pub.pem", [("neg", pem(c, "PUBLIC KEY"))])
    c.file(cls, "check.py", [
        ("neg", f"if text.startswith(\"-----BEGIN RSA {PK}-----\"):"),
        (None, "    kind = \"rsa\""),
        ("neg", f"TEMPLATE = \"-----BEGIN {PK}-----\\n<your key here>\\n-----END {PK}-----\""),
    ])


def url_credentials(c):
    cls = "url-credentials"
    # URL user info holds no unescaped `@`, `#`, `/` or `%`: passwords from the unreserved set.
    p = lambda: c.rand(c.rng.randint(8, 12), ALNUM + "-._~!*")
    c.file(cls, "database.env", [
        ("pos", f"DATABASE_URL=pgx://app:{p()}@db.acme.io:5432/app"),
        ("pos", f"SQLALCHEMY_URL=mysql+pymysql://app:{p()}@db.acme.io/app"),
        ("pos", f"MONGO_URL=mongodb+srv://svc:{p()}@cluster0.ab1cd.mongodb.net/prod"),
        ("pos", f"BROKER_URL=amqps://worker:{p()}@mq.acme.io:5671/prod"),
        ("pos", f"CACHE_URL=redis://:{p()}@cache.acme.io:6379/0"),
        ("pos", f"MSSQL=mssql+pyodbc://sa:{p()}@sql.acme.io/app?driver=ODBC+Driver+18"),
        ("pos", f"CH_URL=clickhouse://default:{p()}@ch.acme.io:9000/events"),
        ("pos", f"NATS_URL=nats://svc:{p()}@nats.acme.io:4222"),
        ("pos", f"ORACLE=oracle+cx_oracle://scott:{p()}@ora.acme.io:1521/?service_name=XE"),
        ("pos", f"LDAP_URL=ldaps://binduser:{p()}@ldap.acme.io:636"),
        ("neg", "DATABASE_URL=postgres://app:s3cretpassw0rd@db.example.com/app"),
        ("neg", "BROKER_URL=amqp://guest:${RABBIT_PASSWORD}@localhost:5672//"),
        ("neg", "CACHE_URL=redis://:${REDIS_PASSWORD}@cache:6379/0"),
        ("neg", "DATABASE_URL=postgres://localhost:5432/app"),
        ("neg", "DOCS=https://user:pass@api.example.org/v1"),
    ])
    cred = base64.b64encode(f"deploy:{p()}".encode()).decode()
    cred2 = base64.b64encode(f"svc-bot:{c.rand(20)}".encode()).decode()
    c.file(cls, "fetch.sh", [
        ("pos", f"curl -fsS -u deploy:{p()} https://nexus.acme.io/repository/raw/app.tgz -o app.tgz"),
        ("pos", f"curl --user admin:{p()} -X POST https://jenkins.acme.io/job/deploy/build"),
        ("pos", f"wget --http-user=ci --http-password={p()} https://artifacts.acme.io/app.jar"),
        ("neg", "curl -u \"$NEXUS_USER:$NEXUS_PASS\" https://nexus.acme.io/"),
        ("neg", "curl -u admin https://jenkins.acme.io/"),
        ("neg", "curl -u user:password https://httpbin.org/basic-auth/user/password"),
    ])
    c.file(cls, "client.js", [
        ("pos", f"const headers = {{ 'X-Proxy-Credentials': 'Basic {cred}' }};"),
        ("pos", f"proxyAuth = \"Basic {cred2}\";"),
        ("neg", "res.setHeader('WWW-Authenticate', 'Basic realm=\"admin\"');"),
    ])


# Provider token formats, as the providers document them (prefix, length, alphabet).
def providers(c):
    cls = "provider-token"
    r = c.rand
    tokens = [
        ("grafana.ini", "GRAFANA_SA_TOKEN", lambda: "glsa_" + r(32) + "_" + r(8, HEX)),
        ("grafana-cloud.env", "GRAFANA_CLOUD_TOKEN", lambda: "glc_" + base64.b64encode(
            json.dumps({"o": r(6, string.digits), "n": "stack-" + r(6, string.digits), "k": r(24), "m": {"r": "prod-us-east-0"}}).encode()).decode().rstrip("=")),
        ("databricks.cfg", "DATABRICKS_TOKEN", lambda: "dapi" + r(32, HEX)),
        ("doppler.env", "DOPPLER_TOKEN", lambda: "dp.st.prd." + r(40)),
        ("vault.env", "VAULT_TOKEN", lambda: "hvs." + r(90, ALNUM + "_-")),
        ("planetscale.env", "PLANETSCALE_SERVICE_TOKEN", lambda: "pscale_tkn_" + r(43, ALNUM + "_")),
        ("planetscale-db.env", "DATABASE_PASSWORD", lambda: "pscale_pw_" + r(43, ALNUM + "_")),
        ("pulumi.env", "PULUMI_ACCESS_TOKEN", lambda: "pul-" + r(40, HEX)),
        ("terraformrc", "token", lambda: r(14) + ".atlasv1." + r(67)),
        ("linear.env", "LINEAR_API_KEY", lambda: "lin_api_" + r(40)),
        ("sentry.env", "SENTRY_AUTH_TOKEN", lambda: "sntryu_" + r(64, HEX)),
        ("postman.env", "POSTMAN_API_KEY", lambda: "PMAK-" + r(24, HEX) + "-" + r(34, HEX)),
        ("jira.env", "JIRA_API_TOKEN", lambda: "ATATT3xFfGF0" + r(170, ALNUM + "-_") + "=" + r(8, HEX.upper())),
        ("okta.env", "OKTA_API_TOKEN", lambda: "00" + r(40, ALNUM + "-_")),
        ("twilio.env", "TWILIO_API_KEY", lambda: "SK" + r(32, HEX)),
        ("sendgrid.env", "SENDGRID_API_KEY", lambda: "SG." + r(22, B64URL) + "." + r(43, B64URL)),
        ("mailgun.env", "MAILGUN_API_KEY", lambda: "key-" + r(32, HEX)),
        ("npm.env", "NPM_TOKEN", lambda: "npm_" + r(36)),
        ("pypi.env", "TWINE_PASSWORD", lambda: "pypi-AgEIcHlwaS5vcmc" + r(70, B64URL)),
        ("gem.env", "GEM_HOST_API_KEY", lambda: "rubygems_" + r(48, HEX)),
        ("dockerhub.env", "DOCKERHUB_TOKEN", lambda: "dckr_pat_" + r(27, B64URL)),
        ("akamai.edgerc", None, None),
        ("mapbox.env", "MAPBOX_SECRET_TOKEN", lambda: "sk.eyJ1IjoiYWNtZSIsImEiOiJ" + r(30) + "." + r(22, B64URL)),
        ("dynatrace.env", "DT_API_TOKEN", lambda: "dt0c01." + r(24, string.ascii_uppercase + string.digits) + "." + r(64, string.ascii_uppercase + string.digits)),
        ("figma.env", "FIGMA_TOKEN", lambda: "figd_" + r(40, B64URL)),
        ("supabase.env", "SUPABASE_ACCESS_TOKEN", lambda: "sbp_" + r(40, HEX)),
        ("notion.env", "NOTION_TOKEN", lambda: "ntn_" + r(11, string.digits) + r(35)),
        ("airtable.env", "AIRTABLE_TOKEN", lambda: "pat" + r(14) + "." + r(64, HEX)),
        ("replicate.env", "REPLICATE_API_TOKEN", lambda: "r8_" + r(37)),
        ("groq.env", "GROQ_API_KEY", lambda: "gsk_" + r(52)),
        ("clojars.env", "CLOJARS_TOKEN", lambda: "CLOJARS_" + r(60, HEX)),
        ("easypost.env", "EASYPOST_API_KEY", lambda: "EZAK" + r(54)),
        ("typeform.env", "TYPEFORM_TOKEN", lambda: "tfp_" + r(44) + "_" + r(14)),
        ("heroku.env", "HEROKU_API_KEY", lambda: "HRKU-AA" + r(58, ALNUM + "_-")),
        ("shopify.env", "SHOPIFY_TOKEN", lambda: "shpat_" + r(32, HEX)),
        ("frameio.env", "FRAMEIO_TOKEN", lambda: "fio-u-" + r(64, ALNUM + "_-")),
    ]
    for name, var, make in tokens:
        if make is None:
            continue
        if name == "terraformrc":
            c.file(cls, "credentials.tfrc.json", [
                (None, "{\n  \"credentials\": {\n    \"app.terraform.io\": {"),
                ("pos", f"      \"{var}\": \"{make()}\""),
                (None, "    }\n  }\n}"),
            ])
            continue
        c.file(cls, name, [("pos", f"{var}={make()}")])
        # The same format where no variable name helps: only the token's own shape does.
        stem = name.split(".")[0]
        c.file(cls, f"{stem}_client.py", [
            (None, "import client"),
            ("pos", f"conn = client.connect(\"{make()}\", timeout=30)"),
        ])
    c.file(cls, ".edgerc", [
        (None, "[default]\nhost = akab-" + r(16, "abcdefghijklmnopqrstuvwxyz0123456789") + "-" + r(16, "abcdefghijklmnopqrstuvwxyz0123456789") + ".luna.akamaiapis.net"),
        ("pos", "client_secret = " + r(43, B64) + "="),
        ("pos", "access_token = akab-" + r(16, "abcdefghijklmnopqrstuvwxyz0123456789") + "-" + r(16, "abcdefghijklmnopqrstuvwxyz0123456789")),
        ("pos", "client_token = akab-" + r(16, "abcdefghijklmnopqrstuvwxyz0123456789") + "-" + r(16, "abcdefghijklmnopqrstuvwxyz0123456789")),
    ])
    c.file(cls, "storage.config", [
        ("pos", "StorageConnection=DefaultEndpointsProtocol=https;AccountName=acmeprod;AccountKey="
         + r(86, B64) + "==;EndpointSuffix=core.windows.net"),
        ("pos", "BlobSas=https://acmeprod.blob.core.windows.net/backups?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2027-01-01T00:00:00Z&st=2026-01-01T00:00:00Z&spr=https&sig="
         + r(43, ALNUM).replace("/", "%2F") + "%3D"),
        ("neg", "StorageConnection=UseDevelopmentStorage=true"),
    ])
    c.file(cls, "gcp-key.json", [
        (None, "{\n  \"type\": \"service_account\",\n  \"project_id\": \"acme-prod\","),
        ("pos", f"  \"private_key_id\": \"{r(40, HEX)}\",\n  \"private_key\": \"" + "\\n".join(
            [f"-----BEGIN {PK}-----"] + pem_body(c) + [f"-----END {PK}-----", ""]) + "\","),
        (None, "  \"client_email\": \"deploy@acme-prod.iam.gserviceaccount.com\"\n}"),
    ])
    c.file(cls, "twilio.py", [
        (None, "from twilio.rest import Client"),
        (None, f"account_sid = \"AC{r(32, HEX)}\""),
        ("pos", f"auth_token = \"{r(32, HEX)}\""),
    ])


def local_defaults(c):
    # Factory credentials on a local host: issue 18 asks for them as a separate, low rule.
    c.file("local-default-credentials", "docker.env", [
        ("pos", "BROKER_URL=amqp://guest:" + "guest@localhost:5672//"),
        ("pos", "DATABASE_URL=postgres://postgres:" + "postgres@127.0.0.1:5432/app"),
        ("neg", "DATABASE_URL=postgres://localhost:5432/app"),
    ])


def negatives(c):
    cls = "false-positive-traps"
    r = c.rand
    c.file(cls, "users.json", [
        ("neg", f"{{\"user\": \"ana\", \"password\": \"$2b$12${r(53, ALNUM + './')}\"}}"),
        ("neg", f"{{\"user\": \"bo\", \"password\": \"$argon2id$v=19$m=65536,t=3,p=4${r(22, B64)}${r(43, B64)}\"}}"),
        ("neg", f"{{\"user\": \"cy\", \"password\": \"pbkdf2_sha256$600000${r(22)}${r(43, B64)}=\"}}"),
        ("neg", f"{{\"user\": \"di\", \"password\": \"sha1${r(5, HEX)}${r(40, HEX)}\"}}"),
        ("neg", f"{{\"user\": \"ed\", \"password\": \"$6${r(16, ALNUM + './')}${r(86, ALNUM + './')}\"}}"),
    ])
    c.file(cls, "docs.md", [
        ("neg", f"Connect with `postgres://app:{c.rand(10)}@db.example.com:5432/app`."),
        ("neg", f"Or `https://deploy:{c.rand(10)}@git.example.org/acme/app.git`."),
        ("neg", f"Mail goes through `smtp://mailer:{c.rand(10)}@mail.example.net:587`."),
        ("neg", f"Staging: `amqp://svc:{c.rand(10)}@mq.staging.example:5672`."),
    ])
    c.file(cls, "highlight.js", [
        ("neg", "  { token: \"entity.name.function.js\", regex: /[a-zA-Z_$][\\w$]*(?=\\()/ },"),
        ("neg", "  { token: 'punctuation.definition.string.begin.js', next: 'string' },"),
        ("neg", "  { token: \"keyword.operator.assignment.compound.js\" },"),
        ("neg", "  token: 'support.function.dom.js',"),
    ])
    c.file(cls, "deploy.yml", [
        ("neg", "password: ${DB_PASSWORD}"),
        ("neg", "password: \"{{ vault_db_password }}\""),
        ("neg", "secret: %APP_CLIENT_SECRET%"),
        ("neg", "token: GITHUB_TOKEN_FOR_RELEASES"),
        ("neg", "api_key_env: OPENWEATHER_API_KEY"),
        ("neg", "password_env_var = \"POSTGRES_PASSWORD_FILE\""),
        ("neg", "client_secret: $(AZURE_CLIENT_SECRET)"),
    ])
    c.file(cls, "UserRequest.php", [
        ("neg", "        'password' => 'required|string|min:8|confirmed',"),
        ("neg", "        'password_confirmation' => 'required_with:password|same:password',"),
        ("neg", "        'api_token' => 'nullable|string|size:80',"),
    ])
    c.file(cls, "i18n.yml", [
        ("neg", "password: \"пароль\""),
        ("neg", "password: \"Passwörter\""),
        ("neg", "password: \"パスワード入力\""),
    ])


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 18
    c = Corpus(argv[1], seed)
    for build in (context_passwords, split_values, private_keys, url_credentials, providers,
                  local_defaults, negatives):
        build(c)
    c.write_labels()
    pos = sum(1 for label in c.labels if label["positive"])
    print(f"{len(c.labels)} labelled spans ({pos} positive) in {argv[1]}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
