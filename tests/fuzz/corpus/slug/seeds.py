#!/usr/bin/env python3
"""Seed corpus for tests/fuzz/fuzz-slug, generated at build time (no binary seeds checked in):
small good slugs in several encodings and a few hostile ones. Usage: seeds.py OUTDIR"""
import gzip
import io
import os
import sys
import tarfile


def entry(name, kind=tarfile.REGTYPE, data=b"", link="", mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.mode, ti.mtime = kind, link, mode, 1700000000
    if kind == tarfile.REGTYPE:
        ti.size = len(data)
    return ti, (io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def tar(entries, fmt=tarfile.GNU_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for ti, fo in entries:
            tf.addfile(ti, fo)
    return buf.getvalue()


def main(out):
    os.makedirs(out, exist_ok=True)
    def app(): return [entry("./", tarfile.DIRTYPE, mode=0o755), entry("./app/", tarfile.DIRTYPE, mode=0o755),
           entry("./app/Procfile", data=b"web: ruby app.rb\n"),
           entry("./app/bin/", tarfile.DIRTYPE, mode=0o755),
           entry("./app/bin/run", data=b"#!/bin/sh\n", mode=0o4755),
           entry("./app/link", tarfile.SYMTYPE, link="bin/run"),
           entry("./app/hard", tarfile.LNKTYPE, link="./app/Procfile"),
           entry("./app/caf\u00e9.rb", data=b"# utf-8\n")]  # noqa: E704
    seeds = {
        "good.tgz": gzip.compress(tar(app()), mtime=0),
        "good-pax.tgz": gzip.compress(tar(app(), tarfile.PAX_FORMAT), mtime=0),
        "good.tar": tar(app()),
        "root-layout.tgz": gzip.compress(tar([entry("./Procfile", data=b"web: x\n")]), mtime=0),
        "dotdot.tgz": gzip.compress(tar([entry("./app/../x")]), mtime=0),
        "escape.tgz": gzip.compress(tar([entry("./app/l", tarfile.SYMTYPE, link="../..")]), mtime=0),
        "through.tgz": gzip.compress(tar([entry("./app/l", tarfile.SYMTYPE, link="."),
                                          entry("./app/l/x")]), mtime=0),
        "device.tgz": gzip.compress(tar([entry("./app/null", tarfile.CHRTYPE)]), mtime=0),
        "truncated.tgz": gzip.compress(tar(app()), mtime=0)[:150],
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as fh:
            fh.write(data)


if __name__ == "__main__":
    main(sys.argv[1])
