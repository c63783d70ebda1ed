#!/usr/bin/env python3
"""Runs the hosted API documentation's `requests` snippets, unchanged except for the base
URL, against `vcfq serve`, and checks that each response body is byte for byte what
`vcfq query` prints for the same request.

Needs the `requests` package (`python3 -m pip install requests`) and a built vcfq
(`cargo build`; VCFQ_BIN overrides the path). Run: python3 tests/python/test_hosted_snippets.py
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VCFQ = os.environ.get("VCFQ_BIN", os.path.join(ROOT, "target", "debug", "vcfq"))
SAMPLE_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"

# The three snippets of api/variant-level-api.txt, as printed there.
SNIPPETS = {
    "point": '''
import os
import requests
API_KEY = os.getenv("GENCOVE_API_KEY")
SAMPLE_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
response = requests.get(
f"https://api.gencove.com/api/v2/sample-genomic-variants/{SAMPLE_ID}",
headers={"Authorization": f"Api-Key {API_KEY}"},
params={"chromosome": "chr19", "position": 44908684},
)
variants = response.json()["results"]
''',
    "range": '''
import os
import requests
API_KEY = os.getenv("GENCOVE_API_KEY")
SAMPLE_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
response = requests.get(
f"https://api.gencove.com/api/v2/sample-genomic-variants/{SAMPLE_ID}",
headers={"Authorization": f"Api-Key {API_KEY}"},
params={
"chromosome": "chr19",
"start_position": 44905000,
"end_position": 44910000,
},
)
variants = response.json()["results"]
''',
    "rsid": '''
import os
import requests
API_KEY = os.getenv("GENCOVE_API_KEY")
SAMPLE_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
response = requests.get(
f"https://api.gencove.com/api/v2/sample-genomic-variants/{SAMPLE_ID}",
headers={"Authorization": f"Api-Key {API_KEY}"},
params={"rsid": "rs429358,rs7412,rs1801133"},
)
variants = response.json()["results"]
''',
}


def run(*args):
    return subprocess.run([VCFQ, *args], check=True, capture_output=True)


def main():
    try:
        import requests  # noqa: F401
    except ImportError:
        print("the requests package is missing: python3 -m pip install requests")
        return 1
    work = tempfile.mkdtemp()
    store = os.path.join(work, "store")
    dbsnp = os.path.join(work, "dbsnp")
    keys = os.path.join(work, "keys.txt")
    with open(keys, "w") as out:
        out.write("local-test-key\n")
    run("sample", "add", "--no-position-index", SAMPLE_ID, os.path.join(ROOT, "testdata", "apoe.vcf.gz"), "--store", store)
    run("dbsnp", "build", os.path.join(ROOT, "testdata", "dbsnp", "crafted.vcf"), "--out", dbsnp)
    server = subprocess.Popen(
        [VCFQ, "serve", "--store", store, "--dbsnp", dbsnp, "--api-keys", keys, "--bind", "127.0.0.1:0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    passed = failed = 0
    try:
        line = server.stderr.readline()
        port = re.search(r"http://127\.0\.0\.1:(\d+)", line).group(1)
        base = f"http://127.0.0.1:{port}"
        os.environ["GENCOVE_API_KEY"] = "local-test-key"
        for name, snippet in SNIPPETS.items():
            code = snippet.replace("https://api.gencove.com", base)
            scope = {}
            exec(code, scope)
            response = scope["response"]
            query = response.request.url.split("?", 1)[1]
            expected = run("query", "--sample", SAMPLE_ID, "--store", store, "--dbsnp", dbsnp, query).stdout
            ok = (
                response.status_code == 200
                and response.headers["Content-Type"] == "application/json"
                and response.content + b"\n" == expected
                and len(scope["variants"]) > 0
            )
            print(f"{name}: {'ok' if ok else 'MISMATCH'} ({query}, {len(scope['variants'])} variants)")
            if ok:
                passed += 1
            else:
                failed += 1
                print(f"  hosted-style: {response.content!r}\n  vcfq query:   {expected!r}")
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
