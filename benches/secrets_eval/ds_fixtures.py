#!/usr/bin/env python3
"""Turns detect-secrets' own plugin test cases into a labelled corpus: a peer's fixtures with the
peer's expected results, for benches/secrets_eval/score.py.

    python3 benches/secrets_eval/ds_fixtures.py DETECT_SECRETS_CHECKOUT OUT_DIR

Reads `tests/plugins/*_test.py` of a Yelp/detect-secrets checkout (never committed here) and
keeps every `@pytest.mark.parametrize` case whose argument names give one text and its label:
`(line|payload|content, should_flag)` and, in keyword_test.py, the `(line, expected_secret)`
lists (a case is positive when detect-secrets expects a secret). Each case becomes one file
`ds-<plugin>/<n>.<ext>` (the extension the test scans it as, else `txt`) with one labelled span
covering the whole text. The class is the plugin's test file, so recall and precision are
reported per detect-secrets plugin.

The labels are detect-secrets' and were not reviewed: some "secrets" are test strings a reviewer
would call placeholders (`m{{h}o)p${e]nob(ody[finds>-_$#thisone}}`), and the keyword cases are
written for its keyword plugin, so this set favours detect-secrets by construction.
"""
import ast
import json
import sys
import types
from pathlib import Path


def stub_pytest():
    class Mark:
        def __getattr__(self, name):
            return lambda *a, **k: (lambda f: f)

    pytest = types.ModuleType("pytest")
    pytest.mark = Mark()
    pytest.fixture = lambda *a, **k: (a[0] if a and callable(a[0]) else (lambda f: f))
    pytest.raises = lambda *a, **k: None
    pytest.param = lambda *values, **k: values
    sys.modules["pytest"] = pytest


def cases_of(path):
    source = path.read_text()
    namespace = {"__name__": "ds_fixture"}
    try:
        exec(compile(source, str(path), "exec"), namespace)
    except Exception as err:  # a test module that needs more than its constants
        print(f"skip {path.name}: {err}", file=sys.stderr)
        return
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "parametrize"):
            continue
        if len(node.args) < 2 or not isinstance(node.args[0], ast.Constant):
            continue
        names = [n.strip() for n in str(node.args[0].value).split(",")]
        try:
            values = eval(compile(ast.Expression(node.args[1]), str(path), "eval"), namespace)
        except Exception:
            continue
        text_field = next((n for n in names if n in ("line", "payload", "content")), None)
        flag_field = next((n for n in names if n in ("should_flag",)), None)
        if text_field is None or flag_field is None:
            continue
        for case in values:
            if not isinstance(case, (tuple, list)) or len(case) != len(names):
                continue
            row = dict(zip(names, case))
            if isinstance(row[text_field], str):
                yield None, row[text_field], bool(row[flag_field])
    if path.name == "keyword_test.py":
        groups = {"CONFIG_TEST_CASES": "conf", "GOLANG_TEST_CASES": "go",
                  "COMMON_C_TEST_CASES": "c", "C_PLUS_PLUS_TEST_CASES": "cpp",
                  "QUOTES_REQUIRED_TEST_CASES": "py"}
        for name, ext in groups.items():
            for line, expected in namespace.get(name, []):
                if len(line) < 2000:  # the 32 KiB data-URI line tests a timeout, not detection
                    yield ext, line, expected is not None


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    repo, out = Path(argv[1]), Path(argv[2])
    stub_pytest()
    labels = []
    for test in sorted((repo / "tests/plugins").glob("*_test.py")):
        cls = "ds-" + test.name.removesuffix("_test.py")
        for n, (ext, text, positive) in enumerate(cases_of(test)):
            path = Path(cls) / f"{n}.{ext or 'txt'}"
            (out / cls).mkdir(parents=True, exist_ok=True)
            (out / path).write_text(text + "\n", encoding="utf-8")
            labels.append({"path": path.as_posix(), "first": 1, "last": text.count("\n") + 1,
                           "class": cls, "positive": positive})
    with open(out / "labels.jsonl", "w") as f:
        for label in labels:
            f.write(json.dumps(label) + "\n")
    pos = sum(1 for label in labels if label["positive"])
    print(f"{len(labels)} detect-secrets cases ({pos} positive) in {out}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
