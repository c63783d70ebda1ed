"""One Sample from many threads; Sample, DbsnpMap and Store pickle by path, so they can
be shipped to worker processes."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import pickle
import random
import threading

import vcfq

from conftest import TESTDATA, copy_vcf

NA12878 = TESTDATA / "NA12878.pgx-extract.vcf.gz"


def requests(count: int) -> list[dict]:
    rng = random.Random(7)
    regions = [
        ("chr1", 11796000, 11797000),
        ("chr10", 94760000, 94860000),
        ("chr16", 31096000, 31096500),
        ("chr19", 15800000, 15900000),
        ("chr22", 42126000, 42131000),
    ]
    out = []
    for _ in range(count):
        chromosome, start, end = rng.choice(regions)
        if rng.random() < 0.5:
            out.append({"chromosome": chromosome, "position": rng.randint(start, end)})
        else:
            left = rng.randint(start, end)
            out.append(
                {
                    "chromosome": chromosome,
                    "start_position": left,
                    "end_position": min(left + rng.randint(1, 90000), left + 99999),
                    "limit": rng.choice([None, 1, 5]),
                    "offset": rng.choice([None, 0, 2]),
                    "schema": rng.choice(["docs", "openapi"]),
                }
            )
    return [{k: v for k, v in r.items() if v is not None} for r in out]


def test_eight_threads_on_one_sample_give_the_sequential_answers():
    sample = vcfq.Sample(NA12878)
    work = requests(400)
    expected = [sample.query(**request) for request in work]
    assert sum(b'"count":0' not in body for body in expected) > 100  # real answers
    results: list = [None] * len(work)
    start = threading.Barrier(8)

    def worker(first: int) -> None:
        start.wait()
        for i in range(first, len(work), 8):
            results[i] = sample.query(**work[i])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == expected


def test_the_gil_is_released_while_vcfq_works():
    # Another Python thread counts while a cohort call works: it could not count at
    # all during the call if vcfq held the GIL.
    members = [(f"s{i}", NA12878) for i in range(600)]
    ticks = 0
    done = threading.Event()

    def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1

    thread = threading.Thread(target=ticker)
    thread.start()
    try:
        before = ticks
        table = vcfq.cohort(
            members, chromosome="chr10", start_position=94760000, end_position=94860000, threads=1
        )
        during = ticks - before
    finally:
        done.set()
        thread.join()
    assert table.num_rows >= 600
    assert during > 10000, during


def test_objects_pickle_by_path(dbsnp_map, tmp_path):
    sample = vcfq.Sample(TESTDATA / "apoe.vcf.gz", dbsnp=dbsnp_map, base_url="http://x/api")
    copy = pickle.loads(pickle.dumps(sample))
    assert isinstance(copy, vcfq.Sample)
    for query in ["rsid=rs429358,rs7412", "chromosome=chr19&start_position=44905000&end_position=44910000&limit=1"]:
        assert copy.query_string(query, schema="openapi") == sample.query_string(query, schema="openapi")
    assert copy.dbsnp == str(dbsnp_map)
    dbsnp = pickle.loads(pickle.dumps(vcfq.DbsnpMap(dbsnp_map)))
    assert dbsnp.resolve("rs7412") == {"rsid": "rs7412", "loci": [("chr19", 44908822)]}
    store = vcfq.Store(tmp_path / "store")
    store.add("3fa85f64-5717-4562-b3fc-2c963f66afa6", copy_vcf("apoe.vcf.gz", tmp_path))
    store_copy = pickle.loads(pickle.dumps(store))
    assert store_copy.path == store.path
    assert [s.id for s in store_copy.list()] == ["3fa85f64-5717-4562-b3fc-2c963f66afa6"]
    stored = store.sample("3fa85f64-5717-4562-b3fc-2c963f66afa6")
    assert pickle.loads(pickle.dumps(stored)).query(
        chromosome="chr19", start_position=44905000, end_position=44910000, limit=1, schema="openapi"
    ) == stored.query(chromosome="chr19", start_position=44905000, end_position=44910000, limit=1, schema="openapi")


def _answer(sample: vcfq.Sample) -> bytes:
    return sample.query(rsid="rs429358")


def test_a_sample_ships_to_a_worker_process(dbsnp_map):
    sample = vcfq.Sample(TESTDATA / "apoe.vcf.gz", dbsnp=vcfq.DbsnpMap(dbsnp_map))
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        assert pool.submit(_answer, sample).result(timeout=120) == _answer(sample)
