#!/usr/bin/env python3
"""Writes python_float_repr.tsv: float text -> CPython's repr(float(text)).

vcfq must print QUAL and genotype_confidence exactly as the hosted (Python) service
does; src/json.rs tests every row. Regenerate with: python3 testdata/make-python-floats.py
"""
import os
import random
import struct

random.seed(20261129)
rows = []
fixed = ["50", "29.5", "99.99", "0.00001", "1e3", "1.5e16", "0.0001", "1e16", "1e15",
         "-0", "0", "5e-324", "1.7976931348623157e308", "123456789.125", "0.15", "1e-05",
         "-888794700007997.25", "9999999999999998", "0.1", "2.675", "1e22", "1e21"]
rows += [(text, repr(float(text))) for text in fixed]
while len(rows) < 3000:
    k = random.random()
    if k < 0.3:
        x = struct.unpack("d", struct.pack("Q", random.getrandbits(64)))[0]
        if x != x or x in (float("inf"), float("-inf")):
            continue
        text = repr(x)
    elif k < 0.6:
        text = "%.*g" % (random.randint(1, 17), random.uniform(-1, 1) * 10 ** random.randint(-30, 30))
    else:
        text = "%.*f" % (random.randint(0, 6), random.uniform(0, 100))
    rows.append((text, repr(float(text))))
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "python_float_repr.tsv")
with open(path, "w") as out:
    out.write("# text\trepr(float(text)) in CPython; made by make-python-floats.py\n")
    for text, expected in rows:
        out.write(f"{text}\t{expected}\n")
