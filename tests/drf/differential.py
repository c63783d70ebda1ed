#!/usr/bin/env python3
"""Differential test: a stock Django REST framework service (tests/drf/refapp) and
`vcfq serve`, sent the same raw HTTP/1.1 requests; every difference is printed.

    python3 tests/drf/differential.py [--vcfq target/debug/vcfq] [--seed 7]
                                      [--page-size 4] [--phase main,nopage,throttle]
                                      [--dump responses.jsonl] [--summary-only]

Exit status: 0 when the two servers answered every request identically, 1 when they
differ, 2 when the harness itself could not run (a server did not start, ...).
Needs Django and djangorestframework (tests/drf/requirements.txt) and the `vcfq`
Python package; no network. Both servers bind 127.0.0.1 on free ports and are
stopped (their whole process groups) when the run ends, also on failure or Ctrl-C.

Compared for each request: status, body bytes, Content-Type, Allow, WWW-Authenticate,
Retry-After, Vary, Content-Encoding (and Content-Length for HEAD).

Phases (each with its own pair of servers):
  main      PAGE_SIZE=N (vcfq: --page-size N), no throttle, a dbSNP map: a few
            hundred requests from a fixed seed: paging, queries, auth, methods,
            Accept, URL shapes, Host.
  nopage    DRF's default PAGE_SIZE=None (vcfq without --page-size), no dbSNP map.
  throttle  a per-key rate of 3/s (vcfq: --rate-limit 3): scripted bursts, the same
            schedule sent to one server, then to the other. The schedule keeps every
            request at least 0.15 s away from a window edge; a step sent more than
            0.08 s late is flagged "timing" in its difference.
"""
from __future__ import annotations

import argparse
import atexit
import base64
import collections
import gzip
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

ENDPOINT = "/api/v2/sample-genomic-variants/"
HOST = "127.0.0.1:8000"  # the Host header sent to both servers, so paging links agree
KEY = "drf-diff-key-0123456789abcdef"
KEY2 = "drf-diff-key-second"
THROTTLE_KEYS = ["throttle-key-1", "throttle-key-2", "throttle-key-3", "throttle-key-4"]
THROTTLE_RATE = 3

# sample id -> VCF (relative to the repository), copied with its index into the run's
# temporary directory (vcfq writes a position index beside each VCF it registers).
SAMPLES = {
    "3fa85f64-5717-4562-b3fc-2c963f66afa6": "testdata/apoe.vcf.gz",
    "0b7e2c1a-4d5f-4a8e-9c3b-1f2e3d4c5b6a": "testdata/NA12878.pgx-extract.vcf.gz",
    "9d1c8f4e-2b3a-4c5d-8e7f-6a5b4c3d2e1f": "testdata/pharmcat/pharmcat_positions.vcf.gz",
    "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f70812": "testdata/edge/edge.vcf.gz",
}
APOE, NA12878, PHARMCAT, EDGE = list(SAMPLES)
UNKNOWN = "00000000-0000-4000-8000-000000000000"
DBSNP_SOURCES = ["testdata/pharmcat/pharmcat_positions.vcf.gz", "testdata/dbsnp/crafted.vcf"]

COMPARED = ["status", "content-type", "allow", "www-authenticate", "retry-after", "vary",
            "content-encoding", "body"]


# ---------------------------------------------------------------------------------
# Processes


_children: list[subprocess.Popen] = []


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)
    else:
        # The leader is gone; make sure nothing it started lingers in its group.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _stop_all() -> None:
    while _children:
        _stop(_children.pop())


atexit.register(_stop_all)


def _on_signal(signum, frame):
    _stop_all()
    sys.exit(128 + signum)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HarnessError(Exception):
    pass


def start(name: str, argv: list[str], env: dict, port: int, log_path: str,
          cwd: str) -> subprocess.Popen:
    with open(log_path, "wb") as log:
        try:
            proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        except OSError as e:
            raise HarnessError(f"cannot start {name}: {e}") from e
    _children.append(proc)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HarnessError(f"{name} exited with {proc.returncode} while starting:\n"
                               + _tail(log_path))
        try:
            resp = send(port, Req("probe", "GET", "/", headers=[("Host", HOST)]), timeout=2)
            if resp.status:
                return proc
        except OSError:
            pass
        time.sleep(0.1)
    raise HarnessError(f"{name} did not answer on 127.0.0.1:{port} within 60 s:\n"
                       + _tail(log_path))


def _tail(path: str, n: int = 30) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def run(argv: list[str], cwd: str) -> str:
    try:
        proc = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True)
    except OSError as e:
        raise HarnessError(f"cannot run {argv[0]}: {e}") from e
    if proc.returncode != 0:
        raise HarnessError(f"{' '.join(argv)} failed ({proc.returncode}):\n"
                           f"{proc.stdout}{proc.stderr}")
    return proc.stdout


# ---------------------------------------------------------------------------------
# Raw HTTP/1.1


def b(x) -> bytes:
    return x if isinstance(x, bytes) else x.encode("utf-8")


@dataclass
class Req:
    category: str
    method: str
    target: str | bytes
    # Extra headers, sent in order after Host; ("Host", v) replaces the default Host,
    # ("Host", None) omits it.
    headers: list = field(default_factory=list)
    body: bytes = b""
    at: float | None = None  # throttle phase: seconds after the scenario starts
    note: str = ""

    def raw(self) -> bytes:
        lines = [b(self.method) + b" " + b(self.target) + b" HTTP/1.1"]
        names = [b(k).lower() for k, _ in self.headers]
        if b"host" not in names:
            lines.append(b"Host: " + b(HOST))
        for k, v in self.headers:
            if v is None:
                continue
            lines.append(b(k) + b": " + b(v) if v != "" else b(k) + b":")
        if self.body or self.method in ("POST", "PUT", "PATCH"):
            lines.append(b"Content-Length: " + str(len(self.body)).encode())
        lines.append(b"Connection: close")
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body

    def describe(self) -> str:
        target = self.target
        if isinstance(target, bytes):
            try:
                target = target.decode("ascii")
            except UnicodeDecodeError:
                target = repr(target)
        out = f"{self.method} {target}"
        hdrs = [f"{k}: {v!r}" if isinstance(v, bytes) else f"{k}: {v}"
                for k, v in self.headers if v is not None]
        if self.body:
            hdrs.append(f"(body {self.body[:60]!r})")
        if hdrs:
            out += "\n      " + "\n      ".join(hdrs)
        return out


@dataclass
class Resp:
    status: int | None = None
    headers: list = field(default_factory=list)
    body: bytes = b""
    error: str | None = None
    sent_at: float = 0.0

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k == name]
        return ", ".join(values) if values else None

    def fields(self, method: str) -> dict:
        if self.error:
            return {"status": f"no response ({self.error})"}
        out = {"status": self.status}
        for name in COMPARED[1:-1]:
            out[name] = self.header(name)
        if method == "HEAD":
            out["content-length"] = self.header("content-length")
        out["body"] = self.body
        return out


def _recv_until(sock: socket.socket, buf: bytearray, pred, deadline: float) -> None:
    while not pred(buf):
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError
        buf += chunk


def send(port: int, req: Req, timeout: float = 30.0) -> Resp:
    resp = Resp()
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(req.raw())
        buf = bytearray()
        try:
            _recv_until(sock, buf, lambda x: b"\r\n\r\n" in x, deadline)
        except (EOFError, socket.timeout) as e:
            resp.error = f"{type(e).__name__} before the headers ended; got {bytes(buf[:200])!r}"
            return resp
        head, _, rest = bytes(buf).partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        try:
            resp.status = int(parts[1])
        except (IndexError, ValueError):
            resp.error = f"bad status line {lines[0]!r}"
            return resp
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            resp.headers.append((k.strip().lower().decode("latin-1"),
                                 v.strip().decode("latin-1")))
        body = bytearray(rest)
        te = (resp.header("transfer-encoding") or "").lower()
        cl = resp.header("content-length")
        try:
            if req.method == "HEAD" or resp.status in (204, 304) or 100 <= resp.status < 200:
                # Nothing may follow; read what a server sends anyway until it closes.
                try:
                    _recv_until(sock, body, lambda x: False, min(deadline, time.monotonic() + 0.3))
                except (EOFError, socket.timeout):
                    pass
            elif "chunked" in te:
                body = _dechunk(sock, body, deadline)
            elif cl is not None and cl.isdigit():
                n = int(cl)
                try:
                    _recv_until(sock, body, lambda x: len(x) >= n, deadline)
                except EOFError:
                    resp.error = f"closed after {len(body)} of {n} body bytes"
            else:
                try:
                    _recv_until(sock, body, lambda x: False, deadline)
                except EOFError:
                    pass
        except socket.timeout:
            resp.error = "timed out reading the body"
        resp.body = bytes(body)
    return resp


def _dechunk(sock, buf: bytearray, deadline: float) -> bytes:
    out = bytearray()
    pos = 0
    while True:
        _recv_until(sock, buf, lambda x: b"\r\n" in x[pos:], deadline)
        end = buf.index(b"\r\n", pos)
        size = int(bytes(buf[pos:end]).split(b";")[0], 16)
        pos = end + 2
        if size == 0:
            return bytes(out)
        _recv_until(sock, buf, lambda x: len(x) >= pos + size + 2, deadline)
        out += buf[pos:pos + size]
        pos += size + 2


# ---------------------------------------------------------------------------------
# The requests


def ep(sample: str, query: str = "") -> str:
    return ENDPOINT + sample + (("?" + query) if query else "")


def enc(pairs) -> str:
    """A query string the way `requests` writes `params=`."""
    return urllib.parse.urlencode(pairs)


def read_positions(path: str) -> dict[str, list[int]]:
    out: dict[str, list[int]] = collections.defaultdict(list)
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("#"):
                continue
            chrom, pos = line.split("\t", 2)[:2]
            out[chrom].append(int(pos))
    return out


def read_rsids(path: str) -> list[str]:
    opener = gzip.open if path.endswith(".gz") else open
    out = []
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            for tok in line.split("\t")[2].split(";"):
                if tok.startswith("rs") and tok[2:].isdigit() and tok not in out:
                    out.append(tok)
    return out


AUTH = ("Authorization", f"Api-Key {KEY}")
REQUESTS_DEFAULTS = [("User-Agent", "python-requests/2.32.3"),
                     ("Accept-Encoding", "gzip, deflate"), ("Accept", "*/*")]

LIMITS = [None, "0", "-1", "1", "2", "3", "5", "100", "100000000000000000000", "abc", "",
          "1.5", "+2", " 2", "1_0", "\uff13", "\u0663", "0x10", "2 ", "1e2"]
OFFSETS = [None, "0", "-1", "1", "2", "3", "7", "100", "100000000000000000000", "abc", "",
           "+1", "\u0662", "1_1"]

ACCEPTS = [None, "application/json", "application/json; indent=4", "application/json;indent=2",
           "application/json; indent=0", "application/json; indent=20",
           "application/json; indent=-3", "application/json; indent=x", "text/html",
           "text/plain", "*/*", "application/*", "text/*", "garbage", "",
           "text/html, application/json;q=0.9", "application/xml",
           "application/json; charset=utf-8", "APPLICATION/JSON", "application/vnd.api+json",
           "*/*;q=0", "text/html;q=1.0, */*;q=0.1", "application/json ; indent=4"]

AUTHS = [
    ("none", None),
    ("good", f"Api-Key {KEY}"),
    ("second-key", f"Api-Key {KEY2}"),
    ("wrong-key", "Api-Key not-a-key"),
    ("bearer", "Bearer x"),
    ("token", f"Token {KEY}"),
    ("basic", "Basic dXNlcjpwYXNz"),
    ("keyword-only", "Api-Key"),
    ("keyword-space", "Api-Key "),
    ("lower-keyword", f"api-key {KEY}"),
    ("upper-keyword", f"API-KEY {KEY}"),
    ("two-spaces", f"Api-Key  {KEY}"),
    ("tab", f"Api-Key\t{KEY}"),
    ("three-parts", f"Api-Key {KEY} extra"),
    ("empty", ""),
    ("key-only", KEY),
    ("no-space", f"Api-Key{KEY}"),
    ("comma-list", f"Api-Key {KEY},{KEY2}"),
    ("latin1-key", b"Api-Key \xe9t\xe9"),
    ("invalid-utf8-key", b"Api-Key \xff\xfe"),
    ("key-prefix", f"Api-Key {KEY[:-1]}"),
]

METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH", "TRACE", "FOO"]


def paging(rng: random.Random) -> list:
    out = []
    limit = rng.choice(LIMITS)
    offset = rng.choice(OFFSETS)
    if limit is not None:
        out.append(("limit", limit))
    if offset is not None:
        out.append(("offset", offset))
    return out


def valid_queries(rng: random.Random, repo: str) -> list[tuple[str, list]]:
    """(sample, parameters) of well-formed point, range and rsid queries."""
    out = []
    rsids = []
    for src in DBSNP_SOURCES:
        rsids += [r for r in read_rsids(os.path.join(repo, src)) if r not in rsids]
    for sample, rel in SAMPLES.items():
        positions = read_positions(os.path.join(repo, rel))
        chroms = sorted(positions)
        for _ in range(6):
            chrom = rng.choice(chroms)
            pos = rng.choice(positions[chrom])
            out.append((sample, [("chromosome", chrom), ("position", str(pos))]))
        out.append((sample, [("chromosome", chroms[0]), ("position", "1")]))
        out.append((sample, [("chromosome", "chr21"), ("position", "5000000")]))
        for _ in range(7):
            chrom = rng.choice(chroms)
            start = max(1, rng.choice(positions[chrom]) - rng.randint(0, 3000))
            end = start + rng.choice([0, 10, 500, 5000, 40000, 100000])
            out.append((sample, [("chromosome", chrom), ("start_position", str(start)),
                                 ("end_position", str(end))]))
        for _ in range(4):
            ids = rng.sample(rsids, rng.randint(1, 4))
            out.append((sample, [("rsid", ",".join(ids))]))
    out.append((APOE, [("rsid", "rs429358,rs7412,rs1801133")]))
    out.append((APOE, [("rsid", "rs7412, rs429358 ,RS429358,rs7412")]))
    out.append((EDGE, [("rsid", "rs201,rs202,rs301,rs302,rs500,rs501,rs600,rs100")]))
    out.append((EDGE, [("chromosome", "chr19"), ("start_position", "1"), ("end_position", "9000")]))
    out.append((EDGE, [("chromosome", "chr19"), ("position", "6002")]))  # U+2028 in INFO
    out.append((EDGE, [("chromosome", "chr19"), ("position", "2000")]))
    return out


INVALID_QUERIES = [
    "", "chromosome=chr19", "position=44908684", "chromosome=19&position=44908684",
    "chromosome=chr23&position=1", "chromosome=chrMT&position=1", "chromosome=CHR19&position=1",
    "chromosome=chr19&position=0", "chromosome=chr19&position=-1", "chromosome=chr19&position=%2B5",
    "chromosome=chr19&position=1.5", "chromosome=chr19&position=1%2C000",
    "chromosome=chr19&position=", "chromosome=chr19&position=58617617",
    "chromosome=chr19&position=44908684&start_position=1",
    "chromosome=chr19&start_position=10", "chromosome=chr19&start_position=20&end_position=10",
    "chromosome=chr19&start_position=1&end_position=100002",
    "rsid=rs429358&chromosome=chr19", "rsid=", "rsid=rs1,,rs2", "rsid=rs01", "rsid=rsx",
    "rsid=" + ",".join(f"rs{i}" for i in range(1, 52)), "rsid=rs1234567890123456789",
    "chromosome=chr19&position=44908684&rsid=rs429358", "chromosome=&position=5",
    "chromosome=chr19&position=%EF%BC%91", "chromosome=chr%FF&position=1",
]


def main_requests(seed: int, repo: str) -> list[Req]:
    rng = random.Random(seed)
    reqs: list[Req] = []
    valid = valid_queries(rng, repo)

    def get(category, sample, query, headers=None, method="GET", body=b""):
        hdrs = list(REQUESTS_DEFAULTS) if headers is None else list(headers)
        if headers is None:
            hdrs.append(AUTH)
        reqs.append(Req(category, method, ep(sample, query), hdrs, body))

    # Valid queries with random paging.
    for sample, params in valid:
        get("query/valid", sample, enc(params + paging(rng)))

    # Paging against a query with many records.
    many = [("chromosome", "chr19"), ("start_position", "15863046"),
            ("end_position", "15879888")]
    few = [("chromosome", "chr19"), ("start_position", "44905000"),
           ("end_position", "44910000")]
    for limit in LIMITS:
        for offset in rng.sample(OFFSETS, 3):
            p = [] if limit is None else [("limit", limit)]
            if offset is not None:
                p.append(("offset", offset))
            get("paging/odd-values", NA12878, enc(many + p))
    for q in [
        "limit=1&limit=3", "limit=3&limit=abc", "offset=1&offset=2&limit=2", "LIMIT=2&OFFSET=1",
        "limit=2&offset=4&format=json", "format=json", "format=xml", "format=", "format=JSON",
        "format=api", "format=json&format=xml", "format=xml&format=json", "limit=2&foo=bar",
        "limit=2&page=2&page_size=1", "limit=2&note=Z%C3%BCrich%20%E6%97%A5", "limit=2&x=%FF",
        "limit=2&a+b=c+d", "limit=2&empty=&flag", "limit=%32&offset=%31", "limit=2&offset=2&",
        "limit=2&offset=2&&", "limit=2;offset=2", "limit=2&offset=2&chromosome=chr19",
        "limit=2&q=a%2Cb%26c%3Dd", "limit=2&emoji=%F0%9F%A7%AC", "limit=2&tilde=~%7E*'()",
    ]:
        get("paging/params", NA12878, enc(many) + "&" + q)
    get("paging/params", APOE, enc(few) + "&limit=2&offset=4")
    get("paging/params", APOE, enc(few) + "&limit=2&offset=5")
    get("paging/params", APOE, enc(few) + "&limit=2&offset=6")
    get("paging/params", APOE, "chromosome=chr19&start_position=44905000&end_position=44910000"
        "&limit=2&offset=3")
    # Encodings of the query parameters themselves.
    for q in ["chromosome=chr%31%39&position=44908684", "chromosome=chr19&position=4490868%34",
              "%63hromosome=chr19&position=44908684", "rsid=rs429358%2Crs7412",
              "rsid=rs429358,+rs7412", "rsid=rs429358,%20rs7412", "rsid=rs429358+,rs7412",
              "chromosome=chr19&position=44908684&chromosome=chr1",
              "chromosome=chr1&chromosome=chr19&position=44908684",
              "chromosome=chr19&position=1&position=44908684",
              "chromosome=+chr19&position=44908684", "chromosome=chr19+&position=44908684",
              "chromosome=chr19&position=44908684&rsid"]:
        get("query/encoding", APOE, q)
    # Raw bytes in the request target.
    reqs.append(Req("query/encoding", "GET",
                    ep(APOE).encode() + "?chromosome=chr19&position=44908684&limit=1&n=Zürich".encode(),
                    REQUESTS_DEFAULTS + [AUTH]))
    # (A raw byte that is not UTF-8, such as 0xFF, is left out: what happens to it
    # depends on the HTTP server in front of Django, not on DRF. hyper refuses it with
    # 400; Django's development server passes it on.)

    # Invalid queries.
    for q in INVALID_QUERIES:
        p = enc(paging(rng))
        get("query/invalid", rng.choice(list(SAMPLES)), q + ("&" + p if p and q else p))

    # Authentication.
    target_q = "chromosome=chr19&position=44908684"
    for name, value in AUTHS:
        hdrs = list(REQUESTS_DEFAULTS)
        if value is not None:
            hdrs.append(("Authorization", value))
        reqs.append(Req(f"auth/{name}", "GET", ep(APOE, target_q), hdrs))
    for name, value in [("none", None), ("wrong-key", "Api-Key nope"), ("keyword-only", "Api-Key")]:
        base = [("Authorization", value)] if value else []
        reqs.append(Req("auth+accept", "GET", ep(APOE, target_q), base + [("Accept", "text/html")]))
        reqs.append(Req("auth+accept", "GET", ep(APOE, target_q),
                        base + [("Accept", "application/json; indent=4")]))
        reqs.append(Req("auth+format", "GET", ep(APOE, target_q + "&format=xml"), base))
        reqs.append(Req("auth+unknown-sample", "GET", ep(UNKNOWN, target_q), base))
        reqs.append(Req("auth+bad-query", "GET", ep(APOE, "chromosome=19&position=1"), base))
        reqs.append(Req("auth+url", "GET", ep(APOE.upper(), target_q), base))
        reqs.append(Req("auth+method", "POST", ep(APOE), base, b""))
    reqs.append(Req("auth/header-name-case", "GET", ep(APOE, target_q),
                    [("authorization", f"Api-Key {KEY}")]))
    reqs.append(Req("auth/header-name-case", "GET", ep(APOE, target_q),
                    [("AUTHORIZATION", f"api-key {KEY}")]))

    # Methods.
    for method in METHODS:
        for authed in (False, True):
            hdrs = [AUTH] if authed else []
            tag = "auth" if authed else "noauth"
            reqs.append(Req(f"method/{tag}", method, ep(APOE, target_q), hdrs))
        reqs.append(Req("method/unknown-sample", method, ep(UNKNOWN, target_q), [AUTH]))
        reqs.append(Req("method/non-uuid", method, ep("not-a-uuid"), [AUTH]))
    for method in ("POST", "PUT", "PATCH"):
        reqs.append(Req("method/body", method, ep(APOE), [AUTH, ("Content-Type", "application/json")],
                        b'{"chromosome":"chr19","position":44908684}'))
        reqs.append(Req("method/body", method, ep(APOE),
                        [AUTH, ("Content-Type", "application/x-www-form-urlencoded")],
                        b"chromosome=chr19&position=44908684"))
        reqs.append(Req("method/body", method, ep(APOE), [AUTH, ("Content-Type", "application/json")],
                        b"{not json"))
    reqs.append(Req("method/options", "OPTIONS", ep(APOE, "chromosome=19"), [AUTH]))
    reqs.append(Req("method/options", "OPTIONS", ep(APOE), [AUTH, ("Accept", "application/json; indent=4")]))
    reqs.append(Req("method/options", "OPTIONS", ep(APOE), [AUTH, ("Accept", "text/html")]))
    reqs.append(Req("method/options", "OPTIONS", ep(APOE, "format=xml"), [AUTH]))
    reqs.append(Req("method/options", "OPTIONS", ep(APOE), [("Authorization", "Api-Key nope")]))
    reqs.append(Req("method/head", "HEAD", ep(NA12878, enc(many)), [AUTH]))
    reqs.append(Req("method/head", "HEAD", ep(APOE, target_q), [AUTH, ("Accept", "application/json; indent=4")]))
    reqs.append(Req("method/head", "HEAD", ep(APOE, "chromosome=19"), [AUTH]))
    reqs.append(Req("method/head", "HEAD", ep(APOE, target_q), [AUTH, ("Accept", "text/html")]))
    reqs.append(Req("method/head", "HEAD", ep(APOE, target_q + "&format=xml"), [AUTH]))
    reqs.append(Req("method/head", "HEAD", "/", [AUTH]))

    # Accept.
    for accept in ACCEPTS:
        hdrs = [AUTH] + ([] if accept is None else [("Accept", accept)])
        reqs.append(Req("accept/valid-query", "GET", ep(APOE, target_q + "&limit=1"), hdrs))
    for accept in rng.sample(ACCEPTS, 8):
        hdrs = [] if accept is None else [("Accept", accept)]
        reqs.append(Req("accept/unauthenticated", "GET", ep(APOE, target_q), hdrs))
    for accept in ["application/json; indent=4", "text/html", "application/json; indent=2"]:
        reqs.append(Req("accept/errors", "GET", ep(APOE, "chromosome=19&position=1"),
                        [AUTH, ("Accept", accept)]))
        reqs.append(Req("accept/errors", "GET", ep(UNKNOWN, target_q), [AUTH, ("Accept", accept)]))
        reqs.append(Req("accept/errors", "POST", ep(APOE), [AUTH, ("Accept", accept)]))
        reqs.append(Req("accept/errors", "GET", ep("nope"), [AUTH, ("Accept", accept)]))
        reqs.append(Req("accept/errors", "GET", ep(EDGE, "chromosome=chr19&position=6002"),
                        [AUTH, ("Accept", accept)]))
    for q, accept in [("format=json", "text/html"), ("format=json", "application/json; indent=4"),
                      ("format=xml", "text/html"), ("format=xml", "application/json"),
                      ("format=json", "garbage")]:
        reqs.append(Req("accept+format", "GET", ep(APOE, target_q + "&" + q), [AUTH, ("Accept", accept)]))

    # URL shapes.
    shapes = [
        ("lower-uuid", ep(APOE)), ("upper-uuid", ep(APOE.upper())),
        ("mixed-case-uuid", ep(APOE[:8].upper() + APOE[8:])), ("no-hyphens", ep(APOE.replace("-", ""))),
        ("braces", ep("{" + APOE + "}")), ("urn", ep("urn:uuid:" + APOE)), ("non-uuid", ep("not-a-uuid")),
        ("trailing-slash", ep(APOE) + "/"), ("extra-segment", ep(APOE) + "/extra"),
        ("unknown-sample", ep(UNKNOWN)), ("nil-uuid", ep("00000000-0000-0000-0000-000000000000")),
        ("collection", ENDPOINT), ("collection-no-slash", ENDPOINT[:-1]), ("root", "/"),
        ("api", "/api/"), ("api-v2", "/api/v2/"), ("v1", "/api/v1/sample-genomic-variants/" + APOE),
        ("inner-double-slash", ep(APOE).replace("v2/", "v2//")),
        ("percent-hyphen", ep(APOE.replace("-", "%2D", 1))), ("percent-hex", ep("%33" + APOE[1:])),
        ("percent-slash", ENDPOINT[:-1] + "%2F" + APOE), ("dot-segment", "/api/v2/x/.." + ep(APOE)[7:]),
        ("semicolon", ep(APOE) + ";x=1"), ("empty-query", ep(APOE) + "?"),
        ("favicon", "/favicon.ico"), ("admin", "/admin/"),
        ("uuid-v1", ep("6ba7b810-9dad-11d1-80b4-00c04fd430c8")),
        ("unicode-path", ep(APOE) + "/%C3%BC"),
    ]
    for name, path in shapes:
        sep = "&" if "?" in path else "?"
        query = "" if path.endswith("?") else sep + target_q
        reqs.append(Req(f"url/{name}", "GET", path + query, [AUTH]))
        if name in ("upper-uuid", "non-uuid", "trailing-slash", "unknown-sample", "root", "lower-uuid"):
            reqs.append(Req(f"url/{name}/noauth", "GET", path + query, []))
        if name.startswith("percent-"):
            # A page with links: they are built from the decoded path.
            paged = sep + "chromosome=chr19&start_position=44905000&end_position=44910000&limit=2&offset=2"
            reqs.append(Req(f"url/{name}/links", "GET", path + paged, [AUTH]))

    # Host.
    for name, host in [("localhost", "localhost"), ("localhost-port", "localhost:8000"),
                       ("upper", "LOCALHOST:8000"), ("ip", "127.0.0.1"), ("trailing-dot", "localhost."),
                       ("other", "evil.example"), ("other-port", "evil.example:8000"),
                       ("bad-port", "127.0.0.1:abc"), ("ipv6", "[::1]:8000"), ("empty", ""),
                       ("userinfo", "user@127.0.0.1:8000")]:
        reqs.append(Req(f"host/{name}", "GET", ep(APOE, target_q + "&limit=1&offset=0"),
                        [("Host", host), AUTH]))
        if name in ("other", "bad-port"):
            reqs.append(Req(f"host/{name}/other-path", "GET", "/nowhere", [("Host", host)]))
    return reqs


def nopage_requests() -> list[Req]:
    many = "chromosome=chr19&start_position=44905000&end_position=44910000"
    out = []
    for p in ["", "&limit=2", "&limit=0", "&limit=abc", "&offset=1", "&offset=1&limit=2",
              "&limit=2&offset=4", "&format=json", "&limit=-1&offset=2"]:
        out.append(Req("nopage", "GET", ep(APOE, many + p), [AUTH]))
    out.append(Req("nopage", "GET", ep(APOE, "chromosome=chr19&position=1"), [AUTH]))
    out.append(Req("nopage", "GET", ep(APOE, many), [AUTH, ("Accept", "application/json; indent=2")]))
    out.append(Req("nopage/rsid-without-dbsnp", "GET", ep(APOE, "rsid=rs429358"), [AUTH]))
    out.append(Req("nopage/rsid-without-dbsnp", "GET", ep(APOE, "rsid=rs429358,,rs7412"), [AUTH]))
    return out


def throttle_requests() -> list[Req]:
    k1, k2, k3, k4 = (("Authorization", f"Api-Key {k}") for k in THROTTLE_KEYS)
    q = "chromosome=chr19&position=44908684"
    good = ep(APOE, q)
    out = []

    def at(t, category, method, target, headers, note=""):
        out.append(Req("throttle/" + category, method, target, headers, at=t, note=note))

    for i in range(THROTTLE_RATE + 2):
        at(0.0, "burst", "GET", good, [k1], f"key 1, request {i + 1} of a burst")
    at(0.0, "other-key", "GET", good, [k2], "another key is not throttled")
    at(0.0, "order", "GET", good, [], "no credentials while key 1 is throttled")
    at(0.0, "order", "GET", good, [("Authorization", "Api-Key nope")], "wrong key")
    at(0.0, "order", "GET", good, [("Authorization", "Api-Key")], "keyword only")
    at(0.0, "order", "POST", good, [k1], "throttle before method")
    at(0.0, "order", "OPTIONS", good, [k1], "throttle before OPTIONS")
    at(0.0, "order", "HEAD", good, [k1], "HEAD throttled")
    at(0.0, "order", "GET", good, [k1, ("Accept", "text/html")], "negotiation before throttle")
    at(0.0, "order", "GET", good + "&format=xml", [k1], "format before throttle")
    at(0.0, "order", "GET", ep("not-a-uuid", q), [k1], "URL before throttle")
    at(0.0, "order", "GET", ep(UNKNOWN, q), [k1], "throttle before the sample lookup")
    at(0.0, "order", "GET", ep(APOE, "chromosome=19&position=1"), [k1], "throttle before validation")
    at(0.0, "indent", "GET", good, [k1, ("Accept", "application/json; indent=4")], "indented 429")
    at(0.5, "window", "GET", good, [k1], "0.5 s after the burst: still inside its 1 s window")
    for i in range(THROTTLE_RATE + 1):
        at(1.2, "after-window", "GET", good, [k1], f"1.2 s: the window has passed, request {i + 1}")
    for t in ("chromosome=19&position=1", None, "chromosome=chr19"):
        at(1.2, "errors-count", "GET", ep(UNKNOWN, q) if t is None else ep(APOE, t), [k3],
           "a 400/404 passes the throttle and counts")
    at(1.2, "errors-count", "GET", good, [k3], "the fourth request of key 3")
    for _ in range(THROTTLE_RATE):
        at(1.2, "rejections-do-not-count", "GET", good, [k4, ("Accept", "text/html")], "406")
    for i in range(THROTTLE_RATE + 1):
        at(1.2, "rejections-do-not-count", "GET", good, [k4], f"key 4 after three 406s, {i + 1}")
    at(2.4, "sliding", "GET", good, [k2], "t=2.4")
    at(2.7, "sliding", "GET", good, [k2], "t=2.7")
    at(3.0, "sliding", "GET", good, [k2], "t=3.0")
    at(3.2, "sliding", "GET", good, [k2], "t=3.2: three in the last second")
    at(3.55, "sliding", "GET", good, [k2], "t=3.55: the t=2.4 request has left the window")
    return out


# ---------------------------------------------------------------------------------
# Servers


@dataclass
class Config:
    name: str
    page_size: int | None
    rate: int | None
    dbsnp: bool


class Pair:
    def __init__(self, cfg: Config, work: str, vcfq: str, store: str, samples_json: str,
                 keys_file: str, dbsnp: str | None, page_size_supported: bool):
        self.cfg = cfg
        self.procs = []
        self.drf_port = free_port()
        self.vcfq_port = free_port()
        env = dict(os.environ)
        env.update({
            "DJANGO_SETTINGS_MODULE": "refapp.settings",
            "VCFQ_DRF_SAMPLES": samples_json,
            "VCFQ_DRF_API_KEYS": keys_file,
            "VCFQ_DRF_DBSNP": dbsnp if cfg.dbsnp else "",
            "VCFQ_DRF_RATE": f"{cfg.rate}/s" if cfg.rate else "",
            "VCFQ_DRF_PAGE_SIZE": str(cfg.page_size) if cfg.page_size else "",
            "PYTHONDONTWRITEBYTECODE": "1",
        })
        env.pop("VCFQ_DBSNP", None)
        env.pop("VCFQ_STORE", None)
        self.drf_argv = [sys.executable, os.path.join(HERE, "manage.py"), "runserver",
                         "--noreload", "--skip-checks", f"127.0.0.1:{self.drf_port}"]
        self.env = env
        self.vcfq_argv = [vcfq, "serve", "--store", store, "--bind", f"127.0.0.1:{self.vcfq_port}",
                          "--api-keys", keys_file, "--schema", "openapi"]
        if cfg.dbsnp:
            self.vcfq_argv += ["--dbsnp", dbsnp]
        if cfg.rate:
            self.vcfq_argv += ["--rate-limit", str(cfg.rate)]
        if cfg.page_size and page_size_supported:
            self.vcfq_argv += ["--page-size", str(cfg.page_size)]
        self.work = work

    def __enter__(self):
        venv = {k: v for k, v in self.env.items() if not k.startswith("VCFQ_DRF_")}
        self.procs.append(start("DRF", self.drf_argv, self.env, self.drf_port,
                                os.path.join(self.work, f"drf-{self.cfg.name}.log"), HERE))
        self.procs.append(start("vcfq serve", self.vcfq_argv, venv, self.vcfq_port,
                                os.path.join(self.work, f"vcfq-{self.cfg.name}.log"), self.work))
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            _stop(p)
            if p in _children:
                _children.remove(p)


# ---------------------------------------------------------------------------------
# Comparing


@dataclass
class Diff:
    phase: str
    index: int
    req: Req
    fields: list  # (name, drf value, vcfq value)
    timing: str = ""


def compare(req: Req, drf: Resp, vq: Resp) -> list:
    a, c = drf.fields(req.method), vq.fields(req.method)
    out = []
    for name in list(dict.fromkeys(list(a) + list(c))):
        if a.get(name) != c.get(name):
            out.append((name, a.get(name), c.get(name)))
    return out


def _json_diff(a, b, path="$"):
    """The first place two JSON values differ: (path, a part, b part), or None."""
    if type(a) is not type(b):
        return path, a, b
    if isinstance(a, dict):
        if list(a) != list(b):
            return path + " (keys)", list(a), list(b)
        for k in a:
            d = _json_diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            d = _json_diff(x, y, f"{path}[{i}]")
            if d:
                return d
        if len(a) != len(b):
            return path + " (length)", len(a), len(b)
        return None
    return None if a == b else (path, a, b)


def body_detail(a: bytes, c: bytes, limit: int) -> list[str]:
    """Where two bodies first differ: the byte offset with context, and for two JSON
    bodies the first differing JSON path."""
    out = []
    n = next((i for i, (x, y) in enumerate(zip(a, c)) if x != y), min(len(a), len(c)))
    lo = max(0, n - 40)
    out.append(f"first difference at byte {n} (lengths {len(a)} / {len(c)}): "
               f"DRF ...{a[lo:n + 60]!r} | vcfq ...{c[lo:n + 60]!r}")
    try:
        ja, jc = json.loads(a), json.loads(c)
    except ValueError:
        return out
    d = _json_diff(ja, jc)
    if d is None:
        out.append("same JSON value: the bytes differ in layout only")
    else:
        path, x, y = d
        out.append(f"JSON {path}: DRF {json.dumps(x, ensure_ascii=False)[:limit]} "
                   f"| vcfq {json.dumps(y, ensure_ascii=False)[:limit]}")
    return out


def show(value, limit: int) -> str:
    if isinstance(value, bytes):
        text = repr(value)
        if len(text) > limit:
            text = text[:limit] + f"... ({len(value)} bytes)"
        return text
    return repr(value)


def run_phase(name: str, pair: Pair, reqs: list[Req], dump) -> list[Diff]:
    diffs = []
    results: dict[int, tuple[Resp, Resp]] = {}
    if any(r.at is not None for r in reqs):
        # Scheduled: the whole scenario against DRF, then the same against vcfq.
        per_server = []
        for port in (pair.drf_port, pair.vcfq_port):
            time.sleep(1.2)  # nothing from a previous step stays in the window
            t0 = time.monotonic()
            got = []
            for r in reqs:
                delay = t0 + r.at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                sent = time.monotonic() - t0
                try:
                    resp = send(port, r)
                except OSError as e:
                    resp = Resp(error=f"{type(e).__name__}: {e}")
                resp.sent_at = sent
                got.append(resp)
            per_server.append(got)
        for i, r in enumerate(reqs):
            results[i] = (per_server[0][i], per_server[1][i])
    else:
        for i, r in enumerate(reqs):
            pairs = []
            for port in (pair.drf_port, pair.vcfq_port):
                try:
                    pairs.append(send(port, r))
                except OSError as e:
                    pairs.append(Resp(error=f"{type(e).__name__}: {e}"))
            results[i] = tuple(pairs)
    for i, r in enumerate(reqs):
        drf, vq = results[i]
        fields = compare(r, drf, vq)
        timing = ""
        if r.at is not None:
            late = [f"{who} sent at t={resp.sent_at:.2f}s" for who, resp in (("DRF", drf), ("vcfq", vq))
                    if resp.sent_at - r.at > 0.08]
            if late:
                timing = f"timing: planned t={r.at:.2f}s, " + ", ".join(late)
        if fields:
            diffs.append(Diff(name, i, r, fields, timing))
        if dump:
            dump.write(json.dumps({
                "phase": name, "index": i, "category": r.category, "method": r.method,
                "target": r.target if isinstance(r.target, str) else r.target.decode("latin-1"),
                "headers": [[k, v if isinstance(v, str) or v is None else v.decode("latin-1")]
                            for k, v in r.headers],
                "at": r.at, "note": r.note,
                "drf": _dump_resp(drf), "vcfq": _dump_resp(vq), "same": not fields,
            }, ensure_ascii=False) + "\n")
    return diffs


def _dump_resp(resp: Resp) -> dict:
    out = {"status": resp.status, "headers": resp.headers, "error": resp.error}
    if resp.sent_at:
        out["sent_at"] = round(resp.sent_at, 3)
    try:
        out["body"] = resp.body.decode("utf-8")
    except UnicodeDecodeError:
        out["body_base64"] = base64.b64encode(resp.body).decode()
    return out


def report(diffs: list[Diff], totals: dict, summary_only: bool, width: int) -> None:
    if not summary_only:
        for d in diffs:
            note = f"  ({d.req.note})" if d.req.note else ""
            print(f"DIFF {d.phase}#{d.index} [{d.req.category}]{note}")
            print(f"    {d.req.describe()}")
            if d.timing:
                print(f"    {d.timing}")
            for name, a, c in d.fields:
                print(f"  {name}:")
                print(f"    DRF : {show(a, width)}")
                print(f"    vcfq: {show(c, width)}")
                if name == "body" and isinstance(a, bytes) and isinstance(c, bytes) and a and c:
                    for line in body_detail(a, c, width // 2):
                        print(f"    {line}")
            print()
    groups = collections.Counter()
    for d in diffs:
        cat = d.req.category.split("/")[0] if not d.req.category.startswith("throttle") else d.req.category
        for name, _, _ in d.fields:
            groups[(d.phase, cat, name)] += 1
    print("SUMMARY")
    for phase, (n, nd) in totals.items():
        print(f"  phase {phase}: {n} requests, {nd} with differences")
    for (phase, cat, name), n in sorted(groups.items()):
        print(f"  {phase:8} {cat:32} {name:18} {n}")


# ---------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vcfq", default=os.path.join(ROOT, "target", "debug", "vcfq"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--page-size", type=int, default=4)
    ap.add_argument("--phase", default="main,nopage,throttle")
    ap.add_argument("--dump", help="write every request and both responses as JSON lines")
    ap.add_argument("--summary-only", action="store_true")
    ap.add_argument("--width", type=int, default=300, help="characters of a body shown")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    phases = [p.strip() for p in args.phase.split(",") if p.strip()]
    vcfq = os.path.abspath(args.vcfq)
    work = tempfile.mkdtemp(prefix="vcfq-drf-diff-")
    dump = open(args.dump, "w", encoding="utf-8") if args.dump else None
    try:
        help_text = run([vcfq, "serve", "--help"], ROOT)
        page_size_supported = "--page-size" in help_text
        if not page_size_supported:
            print(f"NOTE: `vcfq serve` has no --page-size option: vcfq runs without it while "
                  f"DRF has PAGE_SIZE={args.page_size}; responses without a usable `limit` "
                  f"differ because of that.\n")
        data = os.path.join(work, "data")
        store = os.path.join(work, "store")
        mapping = {}
        for sid, rel in SAMPLES.items():
            dest = os.path.join(data, sid)
            os.makedirs(dest)
            src = os.path.join(ROOT, rel)
            for suffix in ("", ".tbi", ".csi"):
                if os.path.exists(src + suffix):
                    shutil.copy2(src + suffix, os.path.join(dest, os.path.basename(src) + suffix))
            vcf = os.path.join(dest, os.path.basename(src))
            run([vcfq, "sample", "add", "--store", store, sid, vcf], work)
            mapping[sid] = vcf
        samples_json = os.path.join(work, "samples.json")
        with open(samples_json, "w") as f:
            json.dump(mapping, f)
        keys_file = os.path.join(work, "api-keys")
        with open(keys_file, "w") as f:
            f.write("\n".join([KEY, KEY2] + THROTTLE_KEYS) + "\n")
        dbsnp = os.path.join(work, "dbsnp")
        run([vcfq, "dbsnp", "build", *[os.path.join(ROOT, s) for s in DBSNP_SOURCES],
             "--out", dbsnp], work)

        plan = {
            "main": (Config("main", args.page_size, None, True), lambda: main_requests(args.seed, ROOT)),
            "nopage": (Config("nopage", None, None, False), nopage_requests),
            "throttle": (Config("throttle", args.page_size, THROTTLE_RATE, True), throttle_requests),
        }
        all_diffs: list[Diff] = []
        totals = {}
        for phase in phases:
            if phase not in plan:
                raise HarnessError(f"unknown phase {phase!r} (main, nopage, throttle)")
            cfg, make = plan[phase]
            reqs = make()
            with Pair(cfg, work, vcfq, store, samples_json, keys_file, dbsnp,
                      page_size_supported) as pair:
                diffs = run_phase(phase, pair, reqs, dump)
            all_diffs += diffs
            totals[phase] = (len(reqs), len(diffs))
        report(all_diffs, totals, args.summary_only, args.width)
        if not page_size_supported:
            print("  (vcfq serve was started without --page-size: it does not have it)")
        return 1 if all_diffs else 0
    except HarnessError as e:
        print(f"harness error: {e}", file=sys.stderr)
        return 2
    finally:
        _stop_all()
        if dump:
            dump.close()
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
