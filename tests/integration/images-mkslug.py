#!/usr/bin/env python3
"""Slug factory for the images tests, run at test time (no binary slugs are checked in).

  images-mkslug.py hostile DIR   write hostile/broken slugs to DIR and DIR/cases.tsv:
                                 file | dyno options | entry named | rule regex
  images-mkslug.py good DIR      write good slugs (and their source trees) to DIR, list in
                                 DIR/good.tsv: file | dyno options | layout
  images-mkslug.py compare REF STORED
                                 compare a reference extraction (GNU tar) with a stored slug:
                                 types, modes (setuid/setgid/sticky and group/other write bits
                                 dropped, directories 0555), link targets, contents, hardlink
                                 groups, file mtimes. Prints differences, exits 1 on any.
  images-mkslug.py ruby-app DIR MB
                                 a Ruby-app-like tree of about MB megabytes (the benchmark's)
"""
import gzip
import hashlib
import io
import os
import random
import stat
import sys
import tarfile
import zlib

MTIME = 1700000000


def info(name, type_=tarfile.REGTYPE, mode=0o644, size=0, linkname=""):
    ti = tarfile.TarInfo(name)
    ti.type = type_
    ti.mode = mode
    ti.size = size
    ti.linkname = linkname
    ti.mtime = MTIME
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    return ti


def tar_bytes(entries, fmt=tarfile.GNU_FORMAT):
    """entries: list of (TarInfo, data-bytes-or-None)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for ti, data in entries:
            if data is not None:
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
            else:
                tf.addfile(ti)
    return buf.getvalue()


def gz(raw):
    return gzip.compress(raw, compresslevel=6, mtime=0)


def base():
    return [(info("./", tarfile.DIRTYPE, 0o755), None), (info("./app/", tarfile.DIRTYPE, 0o755), None),
            (info("./app/Procfile"), b"web: ruby app.rb\n")]


def f(name, data=b"x\n", mode=0o644):
    return (info(name, mode=mode), data)


def d(name, mode=0o755):
    return (info(name, tarfile.DIRTYPE, mode), None)


def sym(name, target):
    return (info(name, tarfile.SYMTYPE, 0o777, linkname=target), None)


def hard(name, target):
    return (info(name, tarfile.LNKTYPE, 0o644, linkname=target), None)


def dev(name, type_):
    ti = info(name, type_, 0o600)
    ti.devmajor, ti.devminor = 1, 3
    return (ti, None)


def hostile(out):
    os.makedirs(out, exist_ok=True)
    cases = []  # (file, opts, entry, regex)

    def add(name, data, entry, regex, opts=""):
        fn = name + ".tgz"
        with open(os.path.join(out, fn), "wb") as fh:
            fh.write(data)
        cases.append((fn, opts, entry, regex))

    def add_entries(name, entries, entry, regex, opts="", fmt=tarfile.GNU_FORMAT):
        add(name, gz(tar_bytes(base() + entries, fmt)), entry, regex, opts)

    add_entries("abs-path", [f("/etc/dynohost-evil")], "/etc/dynohost-evil", "absolute path")
    add_entries("dotdot", [f("./app/../dynohost-evil")], "./app/../dynohost-evil", r'"\.\." component')
    add_entries("dotdot-deep", [d("./app/a/"), f("./app/a/../../../dynohost-evil")],
                "./app/a/../../../dynohost-evil", r'"\.\." component')
    add_entries("dotdot-pax", [f("./app/" + "p" * 120 + "/../../../../evil")],
                "./app/" + "p" * 120 + "/../../../../evil", r'"\.\." component', fmt=tarfile.PAX_FORMAT)
    add_entries("outside-app", [f("./etc/passwd")], "./etc/passwd", r"outside \./app/")
    add_entries("outside-app-prefix", [f("./apple/x.rb")], "./apple/x.rb", r"outside \./app/")
    add("app-is-symlink", gz(tar_bytes([(info("./", tarfile.DIRTYPE, 0o755), None), sym("./app", "/etc"),
                                        f("./app/passwd")])), "./app", "slug root must be a directory")
    add("root-is-file", gz(tar_bytes([f("./app", b"not a dir")])), "./app", "slug root must be a directory")
    add_entries("symlink-absolute", [sym("./app/evil", "/etc/passwd")], "./app/evil", "is absolute")
    add_entries("symlink-dotdot-escape", [sym("./app/evil", "../../etc/passwd")], "./app/evil",
                "escapes the slug root")
    add_entries("symlink-escape-to-app-parent", [sym("./app/evil", "..")], "./app/evil", "escapes the slug root")
    add_entries("symlink-escape-via-symlink",
                [d("./app/x/"), sym("./app/x/s", "../y"), d("./app/y/"), sym("./app/evil", "x/s/../..")],
                "./app/evil", "escapes the slug root")
    add_entries("symlink-escape-via-later-symlink",
                [d("./app/x/"), d("./app/y/"), sym("./app/evil", "x/s/../.."), sym("./app/x/s", "../y")],
                "evil", "escapes the slug root through symlinks")
    add_entries("write-through-symlink", [d("./app/sub/"), sym("./app/link", "sub"),
                                          f("./app/link/planted.rb")],
                "./app/link/planted.rb", "passes through symlink")
    add_entries("write-through-symlink-dir", [sym("./app/link", "."), d("./app/link/x/")],
                "./app/link/x/", "passes through symlink")
    add_entries("overwrite-symlink-with-file", [sym("./app/s", "Procfile"), f("./app/s", b"evil")],
                "./app/s", "duplicate entry")
    add_entries("duplicate-file", [f("./app/a.rb"), f("./app/a.rb", b"again")], "./app/a.rb", "duplicate entry")
    add_entries("dir-over-symlink", [sym("./app/d", "Procfile"), d("./app/d/")], "./app/d/", "duplicate entry")
    add_entries("file-as-parent", [f("./app/f"), f("./app/f/x")], "./app/f/x", "is not a directory")
    add_entries("hardlink-dotdot", [hard("./app/h", "./app/../../etc/passwd")], "./app/h",
                r'"\.\." component in hardlink target')
    add_entries("hardlink-absolute", [hard("./app/h", "/etc/passwd")], "./app/h", "absolute hardlink target")
    add_entries("hardlink-outside-app", [hard("./app/h", "./etc/passwd")], "./app/h",
                r"hardlink target outside \./app/")
    add_entries("hardlink-missing", [hard("./app/h", "./app/not-there")], "./app/h",
                "not a file extracted earlier")
    add_entries("hardlink-to-symlink", [sym("./app/s", "Procfile"), hard("./app/h", "./app/s")], "./app/h",
                "not a regular file")
    add_entries("hardlink-to-dir", [d("./app/dd/"), hard("./app/h", "./app/dd")], "./app/h",
                "not a regular file")
    add_entries("char-device", [dev("./app/null", tarfile.CHRTYPE)], "./app/null", "character device")
    add_entries("block-device", [dev("./app/sda", tarfile.BLKTYPE)], "./app/sda", "block device")
    add_entries("fifo", [(info("./app/pipe", tarfile.FIFOTYPE, 0o644), None)], "./app/pipe", "FIFO")
    rnd = random.Random(5)
    add_entries("over-compressed-limit", [f("./app/blob", rnd.randbytes(64 * 1024))], "",
                "compressed size limit of 4096 bytes", "--max-compressed 4096")
    add_entries("over-uncompressed-limit", [f("./app/a.rb", b"a" * 100), f("./app/big", rnd.randbytes(1 << 20))],
                "./app/big", "size 1048576 exceeds the uncompressed limit of 524288", "--max-uncompressed 512K")
    add_entries("over-uncompressed-stream", [f("./app/f%03d" % i, rnd.randbytes(2048)) for i in range(200)],
                "./app/f", "uncompressed data exceeds the limit of 307200", "--max-uncompressed 300K")
    add_entries("too-many-entries", [f("./app/f%02d.rb" % i) for i in range(20)], "./app/f07.rb",
                "more than 10 entries", "--max-entries 10")
    add_entries("path-too-long", [f("./app/" + "n" * 150)], "./app/" + "n" * 40, "bytes long \\(limit 100\\)",
                "--max-path 100")
    add_entries("too-deep", [f("./app/" + "d/" * 8 + "x.rb")], "./app/d/d/d", "more than 5 directories deep",
                "--max-depth 5")
    add_entries("component-too-long", [f("./app/" + "c" * 300)], "./app/ccc", "component of 300 bytes")
    add("zip-bomb-ratio", gz(tar_bytes(base() + [f("./app/zeros", bytes(24 << 20))])), "./app/zeros",
        "compression ratio over 200:1")
    add("zip-bomb-total", gz(tar_bytes(base() + [f("./app/zeros%d" % i, bytes(1 << 20)) for i in range(8)])),
        "./app/zeros", "uncompressed data exceeds the limit of 2097152", "--max-uncompressed 2M --max-ratio 0")
    good = gz(tar_bytes(base() + [f("./app/lib/a.rb", rnd.randbytes(100000))]))
    add("truncated-gzip-half", good[: len(good) // 2], "", "truncated gzip stream")
    add("truncated-gzip-trailer", good[:-4], "", "truncated gzip stream")
    bad_crc = bytearray(good)
    bad_crc[-8] ^= 0xFF
    add("gzip-crc-mismatch", bytes(bad_crc), "", "corrupt gzip stream: incorrect data check")
    bad_len = bytearray(good)
    bad_len[-1] ^= 0x01
    add("gzip-length-mismatch", bytes(bad_len), "", "corrupt gzip stream: incorrect length check")
    add("gzip-trailing-garbage", good + b"GARBAGE", "", "data after the end of the gzip stream")
    add("gzip-corrupt-header", b"\x1f\x8b\x08\xe0" + good[4:], "", "corrupt gzip stream")
    raw = bytearray(tar_bytes(base() + [f("./app/a.rb"), f("./app/b.rb")]))
    # Break the checksum of the header of ./app/a.rb (the fourth 512-byte block).
    off = 4 * 512 + 148
    raw[off:off + 8] = b"0000000\x00"
    add("corrupt-tar-header", gz(bytes(raw)), "./app/Procfile", "corrupt or truncated tar")
    cut = tar_bytes(base() + [f("./app/x.rb", rnd.randbytes(5000))])
    add("truncated-tar-in-data", gz(cut[:4 * 512 + 2048]), "./app/x.rb", "corrupt data|truncated")
    add("truncated-tar-at-boundary", gz(cut[:4 * 512]), "", "truncated tar: the input ends without")
    add("truncated-plain-tar", cut[:4 * 512], "", "truncated tar: the input ends without")
    add("not-a-tarball", gz(b"this is not a tar archive at all\n" * 40), "", "corrupt or truncated tar|not a tar")
    add("random-bytes", rnd.randbytes(3000), "", "corrupt or truncated tar|not a tar")
    add("checksum-mismatch", gz(tar_bytes(base())), "", "checksum mismatch: expected SHA256:0{64}",
        "--checksum SHA256:" + "0" * 64)

    with open(os.path.join(out, "cases.tsv"), "w") as fh:
        for c in cases:
            fh.write("|".join(c) + "\n")


def good(out):
    os.makedirs(out, exist_ok=True)
    rows = []
    rnd = random.Random(7)
    long_comp = "L" * 250
    entries = [
        d("./", 0o755), d("./app/", 0o755), f("./app/Procfile", b"web: bundle exec thin start -p $PORT\n"),
        d("./app/bin/", 0o755), f("./app/bin/start", b"#!/bin/sh\nexec ruby app.rb\n", 0o755),
        f("./app/bin/private", b"secret\n", 0o700), f("./app/readonly.txt", b"ro\n", 0o444),
        f("./app/setuid-tool", b"#!/bin/sh\n", 0o4755), f("./app/setgid-dir-file", b"g\n", 0o2775),
        f("./app/group-writable", b"gw\n", 0o666), d("./app/empty/", 0o755), d("./app/private-dir/", 0o700),
        d("./app/sticky/", 0o1777), f("./app/sticky/file", b"s\n"), f("./app/empty-file", b""),
        d("./app/lib/", 0o755), f("./app/lib/app.rb", rnd.randbytes(1 << 20)),
        sym("./app/lib/link-to-app", "app.rb"), sym("./app/link-to-lib", "lib"),
        sym("./app/lib/up", "../Procfile"), sym("./app/dangling", "does-not-exist"),
        sym("./app/self-dir", "."), hard("./app/lib/hard-app", "./app/lib/app.rb"),
        hard("./app/hard-procfile", "./app/Procfile"),
        d("./app/caf\u00e9/", 0o755), f("./app/caf\u00e9/na\u00efve-\u6587\u4ef6.rb", "# \u00e9t\u00e9\n".encode()),
        f("./app/" + long_comp, b"long component\n"),
        f("./app/" + "/".join(["deep%02d" % i for i in range(40)]) + "/leaf.rb", b"deep\n"),
        f("./app/" + "/".join(["x" * 60] * 50) + "/long-path.rb", b"long path\n"),
    ]
    for fmt, tag in ((tarfile.GNU_FORMAT, "gnu"), (tarfile.PAX_FORMAT, "pax")):
        fn = "good-%s.tgz" % tag
        with open(os.path.join(out, fn), "wb") as fh:
            fh.write(gz(tar_bytes(entries, fmt)))
        rows.append((fn, "", "heroku"))
    # Root layout: the tar's top is the app root.
    root_entries = [(info(ti.name.replace("./app/", "./", 1) if ti.name != "./app/" else "./", ti.type, ti.mode,
                          linkname=ti.linkname.replace("./app/", "./", 1)), data)
                    for ti, data in entries[1:]]
    with open(os.path.join(out, "good-root.tgz"), "wb") as fh:
        fh.write(gz(tar_bytes(root_entries, tarfile.GNU_FORMAT)))
    rows.append(("good-root.tgz", "--layout root", "root"))
    # Plain (uncompressed) tar, and a two-member gzip stream.
    plain = tar_bytes(entries[:12], tarfile.GNU_FORMAT)
    with open(os.path.join(out, "good-plain.tar"), "wb") as fh:
        fh.write(plain)
    rows.append(("good-plain.tar", "", "heroku"))
    with open(os.path.join(out, "good-multimember.tgz"), "wb") as fh:
        fh.write(gz(plain[:4096]) + gz(plain[4096:]))
    rows.append(("good-multimember.tgz", "", "heroku"))
    with open(os.path.join(out, "good.tsv"), "w") as fh:
        for r in rows:
            fh.write("|".join(r) + "\n")


def walk(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            out[os.path.relpath(p, root)] = os.lstat(p)
    return out


def expected_mode(st):
    if stat.S_ISDIR(st.st_mode):
        return 0o555
    return stat.S_IMODE(st.st_mode) & 0o755


def compare(ref, stored):
    a, b = walk(ref), walk(stored)
    bad = []
    for p in sorted(set(a) | set(b)):
        if p not in b:
            bad.append("missing in store: %r" % p)
            continue
        if p not in a:
            bad.append("extra in store: %r" % p)
            continue
        sa, sb = a[p], b[p]
        if stat.S_IFMT(sa.st_mode) != stat.S_IFMT(sb.st_mode):
            bad.append("type differs: %r" % p)
            continue
        if stat.S_ISLNK(sa.st_mode):
            if os.readlink(os.path.join(ref, p)) != os.readlink(os.path.join(stored, p)):
                bad.append("link target differs: %r" % p)
            continue
        if stat.S_IMODE(sb.st_mode) != expected_mode(sa):
            bad.append("mode of %r: %o, want %o" % (p, stat.S_IMODE(sb.st_mode), expected_mode(sa)))
        if sb.st_uid != 0 or sb.st_gid != 0:
            bad.append("owner of %r: %d:%d" % (p, sb.st_uid, sb.st_gid))
        if stat.S_ISREG(sa.st_mode):
            with open(os.path.join(ref, p), "rb") as x, open(os.path.join(stored, p), "rb") as y:
                if hashlib.sha256(x.read()).digest() != hashlib.sha256(y.read()).digest():
                    bad.append("content differs: %r" % p)
            if int(sa.st_mtime) != int(sb.st_mtime):
                bad.append("mtime of %r: %d, want %d" % (p, sb.st_mtime, sa.st_mtime))
            if sa.st_nlink != sb.st_nlink:
                bad.append("link count of %r: %d, want %d" % (p, sb.st_nlink, sa.st_nlink))
    # Hardlink groups must be the same sets of names.
    def groups(t):
        g = {}
        for p, st in t.items():
            if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                g.setdefault(st.st_ino, set()).add(p)
        return sorted(sorted(s) for s in g.values())
    if groups(a) != groups(b):
        bad.append("hardlink groups differ: %r vs %r" % (groups(a), groups(b)))
    for line in bad:
        print(line)
    print("compared %d entries, %d differences" % (len(a), len(bad)))
    return 1 if bad else 0


def ruby_app(out, mb):
    """A Ruby-app-like tree: many small .rb/.erb/.yml files in gem directories, some assets."""
    rnd = random.Random(11)
    words = [b"def", b"end", b"class", b"module", b"self", b"attr_reader", b"require", b"return", b"if",
             b"else", b"unless", b"do", b"yield", b"@value", b"nil", b"true", b"false", b"each", b"map"]
    target = mb << 20
    total = 0
    app = os.path.join(out, "app")
    os.makedirs(app, exist_ok=True)
    with open(os.path.join(app, "Procfile"), "w") as fh:
        fh.write("web: bundle exec thin start -p $PORT\n")
    g = 0
    while total < target * 0.7:
        gem = os.path.join(app, "vendor", "bundle", "ruby", "3.1.0", "gems", "gem%03d-1.%d.0" % (g, g % 7))
        for sub in ("lib", "lib/gem%03d" % g, "lib/gem%03d/core" % g, "spec", "bin"):
            os.makedirs(os.path.join(gem, sub), exist_ok=True)
        for i in range(rnd.randint(20, 60)):
            sub = rnd.choice(("lib", "lib/gem%03d" % g, "lib/gem%03d/core" % g, "spec"))
            n = rnd.randint(300, 12000)
            lines = []
            size = 0
            while size < n:
                line = b"  " * rnd.randint(0, 3) + b" ".join(rnd.choice(words) for _ in range(rnd.randint(2, 9)))
                lines.append(line)
                size += len(line) + 1
            data = b"\n".join(lines) + b"\n"
            with open(os.path.join(gem, sub, "file%03d.rb" % i), "wb") as fh:
                fh.write(data)
            total += len(data)
        exe = os.path.join(gem, "bin", "gem%03d" % g)
        with open(exe, "w") as fh:
            fh.write("#!/usr/bin/env ruby\nrequire 'gem%03d'\n" % g)
        os.chmod(exe, 0o755)
        g += 1
    assets = os.path.join(app, "public", "assets")
    os.makedirs(assets, exist_ok=True)
    i = 0
    while total < target:
        n = rnd.randint(200 << 10, 2 << 20)
        # Half-compressible assets (images are not compressible, JS is).
        data = rnd.randbytes(n // 2) + bytes(rnd.choice(b"abcdefgh ;{}()") for _ in range(n // 2))
        with open(os.path.join(assets, "asset-%03d.%s" % (i, rnd.choice(("png", "js", "css")))), "wb") as fh:
            fh.write(data)
        total += n
        i += 1
    os.makedirs(os.path.join(app, "tmp", "cache"), exist_ok=True)
    os.symlink("../vendor/bundle", os.path.join(app, "tmp", "bundle-link"))
    return 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "hostile":
        hostile(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "good":
        good(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "ruby-app":
        sys.exit(ruby_app(sys.argv[2], int(sys.argv[3])))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
