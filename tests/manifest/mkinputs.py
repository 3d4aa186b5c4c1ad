#!/usr/bin/env python3
"""mkinputs.py OUTDIR PE TE: write the firmware and disk inputs of
tests/manifest/test-manifest into OUTDIR.

Firmware volumes are built here after the PI specification (volume 3):
a header with its checksum, FFS files, sections. good.fd holds a PE32 file
with a UI name, a file with two image sections (PE32 and TE), and an
LZMA-compressed section holding a nested volume with the TE image. The
hostile ones each break one rule: a truncated volume, a file and a section
whose sizes run past their container, LZMA sections that decode to more
than the cap (a real bomb: 3 x 30 MiB of zeros) or claim to, volumes
nested 20 deep, an encoding hvima does not know, and garbage. Disk images
with broken tables are made from the good ones by fix-ups here (MBR entry
past the end, extended boot records linked in a loop, GPT entry past the end with valid CRCs, a GPT claiming 2^20
entries, a FAT chain that loops, a FAT32 directory that contains itself).
"""
import lzma
import os
import struct
import sys
import uuid
import zlib

FFS2 = uuid.UUID("8c8ce578-8a3d-4f1c-9935-896185c32dd3")
LZMA = uuid.UUID("ee4e5898-3914-4259-9d6e-dc7bd79403cf")
OTHER = uuid.UUID("3d532050-5cda-4fd0-879e-0f7f630d5afb")  # Brotli in EDK2

G = {n: uuid.UUID(int=0x1000 + n) for n in range(32)}  # file and volume names


def sec(typ, data):
    size = 4 + len(data)
    return struct.pack("<I", size | typ << 24)[:3] + bytes([typ]) + data


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def sections(*secs):
    return b"".join(pad4(s) for s in secs)


def ui(name):
    return sec(0x15, (name + "\0").encode("utf-16-le"))


def guided(guid, data, attrs=1):
    hdr = guid.bytes_le + struct.pack("<HH", 4 + 20, attrs)
    return sec(0x02, hdr + data)


def lzma_sec(inner, claim=None):
    data = lzma.compress(inner, format=lzma.FORMAT_ALONE, filters=[{"id": lzma.FILTER_LZMA1, "preset": 6}])
    # FORMAT_ALONE writes "size unknown" (-1); EDK2 writes the size.
    data = data[:5] + struct.pack("<Q", len(inner) if claim is None else claim) + data[13:]
    return guided(LZMA, data)


def ffs(guid, typ, body):
    size = 24 + len(body)
    hdr = guid.bytes_le + struct.pack("<BBBB", 0xAA, 0x55, typ, 0) + struct.pack("<I", size)[:3] + bytes([0xF8])
    return hdr + body


def fv(files, name=None, length=None):
    hlen = 56 + 16  # two block map entries
    ext = b""
    if name is not None:
        ext = name.bytes_le + struct.pack("<I", 20)
    body = ext + b"\0" * (-len(ext) % 8)
    for f in files:
        body += f + b"\xff" * (-len(f) % 8)
    total = hlen + len(body)
    total += -total % 4096
    hdr = bytearray(b"\0" * 16 + FFS2.bytes_le + struct.pack("<Q", total if length is None else length) + b"_FVH")
    hdr += struct.pack("<IHHHBB", 0x0004FEFF, hlen, 0, hlen if name else 0, 0, 2)
    hdr += struct.pack("<IIII", total // 4096, 4096, 0, 0)
    csum = (-sum(struct.unpack("<%dH" % (hlen // 2), bytes(hdr)))) & 0xFFFF
    hdr[50:52] = struct.pack("<H", csum)
    out = bytes(hdr) + body
    return out + b"\xff" * (total - len(out)) if length is None else out + b"\xff" * (-len(out) % 8)


def write(d, name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def firmware(d, pe, te):
    inner = fv([ffs(G[5], 0x06, sections(sec(0x12, te), ui("NestedTe")))], name=G[4])
    good = fv([
        ffs(G[1], 0x07, sections(sec(0x10, pe), ui("HvDriver"))),
        ffs(G[2], 0x07, sections(sec(0x10, pe), sec(0x12, te), ui("TwoImages"))),
        ffs(G[3], 0x0B, sections(lzma_sec(sections(sec(0x17, inner))))),
        ffs(G[6], 0x01, b"raw file, no sections"),
    ], name=G[0])
    write(d, "good.fd", good)
    write(d, "truncated.fd", good[: len(good) // 2])
    f = bytearray(good)  # first file's size: 16 MiB
    off = 72 + 24
    f[off + 20:off + 23] = struct.pack("<I", 0xFFFFF0)[:3]
    write(d, "file-size.fd", bytes(f))
    bad_sec = struct.pack("<I", 0x100000)[:3] + b"\x10" + pe[:64]
    write(d, "section-size.fd", fv([ffs(G[1], 0x07, bad_sec)], name=G[0]))
    # a raw section of 30 MiB (extended header), compressed to ~5 KiB
    raw = struct.pack("<I", 0xFFFFFF | 0x19 << 24) + struct.pack("<I", 30 << 20) + b"\0" * ((30 << 20) - 8)
    zeros = lzma.compress(raw, format=lzma.FORMAT_ALONE)
    zeros = zeros[:5] + struct.pack("<Q", len(raw)) + zeros[13:]
    bomb = sections(*[guided(LZMA, zeros)] * 3)
    write(d, "lzma-bomb.fd", fv([ffs(G[1], 0x07, bomb)], name=G[0]))
    write(d, "lzma-claim.fd", fv([ffs(G[1], 0x07, sections(lzma_sec(sec(0x10, pe), claim=1 << 40)))], name=G[0]))
    v = fv([ffs(G[1], 0x07, sections(sec(0x10, pe)))], name=G[0])
    for i in range(20):
        v = fv([ffs(G[7], 0x0B, sections(sec(0x17, v)))], name=G[8])
    write(d, "deep.fd", v)
    write(d, "unknown-guid.fd", fv([ffs(G[1], 0x07, sections(guided(OTHER, b"\0" * 32)))], name=G[0]))
    write(d, "lzma-garbage.fd", fv([ffs(G[1], 0x07, sections(guided(LZMA, b"\x5d\0\0\x10\0" + struct.pack("<Q", 4096) + b"\xa5" * 200)))], name=G[0]))


def gpt_fix(img, sector_size, fn):
    """Apply fn to the entry array and header of a GPT image, fix CRCs."""
    with open(img, "r+b") as f:
        f.seek(sector_size)
        hdr = bytearray(f.read(92))
        elba, n, esize = struct.unpack("<QII", hdr[72:88])
        f.seek(elba * sector_size)
        ents = bytearray(f.read(n * esize))
        fn(hdr, ents)
        n2, esize2 = struct.unpack("<II", hdr[80:88])
        hdr[88:92] = struct.pack("<I", zlib.crc32(bytes(ents[: n2 * esize2])) & 0xFFFFFFFF)
        hdr[16:20] = b"\0\0\0\0"
        hdr[16:20] = struct.pack("<I", zlib.crc32(bytes(hdr)) & 0xFFFFFFFF)
        f.seek(sector_size)
        f.write(hdr)
        f.seek(elba * sector_size)
        f.write(ents)


def disks(d):
    size = os.path.getsize(os.path.join(d, "gpt.img"))
    # MBR entry 1 starting past the end of the disk
    with open(os.path.join(d, "mbr.img"), "rb") as f:
        m = bytearray(f.read())
    m[446 + 8:446 + 12] = struct.pack("<I", len(m) // 512 + 100)
    write(d, "mbr-past-end.img", bytes(m))
    # an extended boot record whose "next" link points at itself
    with open(os.path.join(d, "mbr.img"), "rb") as f:
        m = bytearray(f.read())
    ext = [struct.unpack_from("<I", m, 446 + 16 * i + 8)[0] for i in range(4) if m[446 + 16 * i + 4] == 5][0]
    ebr = bytearray(m[ext * 512:ext * 512 + 512])
    ebr[446 + 16 + 4] = 5
    struct.pack_into("<II", ebr, 446 + 16 + 8, 8, 1)
    struct.pack_into("<I", ebr, 446 + 8, 0)  # no logical partition in the looping copies
    ebr[446 + 4] = 0
    m[(ext + 8) * 512:(ext + 9) * 512] = ebr
    m[ext * 512 + 446 + 16 + 4] = 5  # the first record links to the looping one
    struct.pack_into("<II", m, ext * 512 + 446 + 16 + 8, 8, 1)
    write(d, "mbr-ebr-loop.img", bytes(m))

    def past_end(hdr, ents):
        ents[40:48] = struct.pack("<Q", size // 512 + 1000)
    data = open(os.path.join(d, "gpt.img"), "rb").read()
    write(d, "gpt-past-end.img", data)
    gpt_fix(os.path.join(d, "gpt-past-end.img"), 512, past_end)

    def many(hdr, ents):
        hdr[80:84] = struct.pack("<I", 1 << 20)
    write(d, "gpt-many.img", data)
    gpt_fix(os.path.join(d, "gpt-many.img"), 512, many)


def fat_loop(d):
    """Point the first cluster of the first file in fat16.img's root at itself."""
    p = os.path.join(d, "fat16.img")
    b = bytearray(open(p, "rb").read())
    bps, spc, rsvd, nfats, rootent = struct.unpack_from("<HBHBH", b, 11)
    fatsz = struct.unpack_from("<H", b, 22)[0]
    root = (rsvd + nfats * fatsz) * bps
    for i in range(rootent):
        e = b[root + 32 * i: root + 32 * i + 32]
        if e[0] in (0, 0xE5) or e[11] & 0x0F == 0x0F or e[11] & 0x18:
            continue
        c = struct.unpack_from("<H", e, 26)[0]
        for k in range(nfats):
            struct.pack_into("<H", b, rsvd * bps + k * fatsz * bps + 2 * c, c)
        write(d, "fat-loop.img", bytes(b))
        return
    sys.exit("fat16.img: no file")


def fat32_selfdir(d):
    """In fat32.img, make the first subdirectory of the root point at the root."""
    p = os.path.join(d, "fat32.img")
    b = bytearray(open(p, "rb").read())
    bps, spc, rsvd, nfats = struct.unpack_from("<HBHB", b, 11)
    fatsz, rootc = struct.unpack_from("<I", b, 36)[0], struct.unpack_from("<I", b, 44)[0]
    data = (rsvd + nfats * fatsz) * bps
    root = data + (rootc - 2) * spc * bps
    for i in range(spc * bps // 32):
        e = root + 32 * i
        if b[e] in (0, 0xE5) or b[e + 11] & 0x0F == 0x0F or not b[e + 11] & 0x10:
            continue
        struct.pack_into("<H", b, e + 20, rootc >> 16)
        struct.pack_into("<H", b, e + 26, rootc & 0xFFFF)
        write(d, "fat-selfdir.img", bytes(b))
        return
    sys.exit("fat32.img: no directory")


if __name__ == "__main__":
    out, what = sys.argv[1], sys.argv[2]
    if what == "firmware":
        firmware(out, open(sys.argv[3], "rb").read(), open(sys.argv[4], "rb").read())
    elif what == "disks":
        disks(out)
        fat_loop(out)
        fat32_selfdir(out)
    else:
        sys.exit("usage: mkinputs.py OUTDIR firmware PE TE | OUTDIR disks")
