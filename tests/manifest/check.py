#!/usr/bin/env python3
"""check.py: assertions of tests/manifest/test-manifest on manifests.

  check.py expect MANIFEST DIGEST_JSON PAIRS
      PAIRS is a file of PATH=FILE lines. The manifest's images are exactly
      the PATHs given, and each entry equals what `hvima digest --json --alg
      all` (DIGEST_JSON, one array holding every FILE) says of FILE: format,
      machine_id, subsystem_id, size_of_image, image_name (= digest's name),
      size (= the file's size), canonical and authenticode in all banks.
  check.py boot MEASUREMENTS_JSONL FIRMWARE_MANIFEST ESP_MANIFEST
      Every image the plugin measured (measurements.jsonl) has its sha256
      canonical digest in the firmware manifest, except applications, which
      must be in the ESP manifest. Prints the counts.
Prints one line per difference; exits 1 if there is any.
"""
import json
import os
import sys


def load(p):
    with open(p, encoding="utf-8") as f:
        return json.load(f)


def expect(args):
    man, dig = load(args[0]), load(args[1])
    pairs = [line.rstrip("\n").split("=", 1) for line in open(args[2], encoding="utf-8") if line.strip()]
    by_file = {d["file"]: d for d in dig}
    bad = 0
    paths = [i["path"] for i in man["images"]]
    for path, f in pairs:
        hits = [i for i in man["images"] if i["path"] == path]
        if len(hits) != 1:
            print("# %s: %d entries in the manifest, expected 1" % (path, len(hits)))
            bad += 1
            continue
        i, d = hits[0], by_file[f]
        want = {"format": d["format"], "machine_id": d["machine_id"], "subsystem_id": d["subsystem_id"],
                "size_of_image": d["size_of_image"], "image_name": d["name"], "size": os.path.getsize(f),
                "canonical": d["canonical"], "authenticode": d.get("authenticode")}
        for k, v in want.items():
            if i.get(k) != v:
                print("# %s: %s is %r, hvima digest says %r" % (path, k, i.get(k), v))
                bad += 1
    extra = sorted(set(paths) - {p for p, _ in pairs})
    for p in extra:
        print("# unexpected entry %s" % p)
    bad += len(extra)
    if man.get("hvima_manifest") != 1 or man.get("canonical_version") != 1:
        print("# header: hvima_manifest %r canonical_version %r" % (man.get("hvima_manifest"), man.get("canonical_version")))
        bad += 1
    return bad


def boot(args):
    meas = [json.loads(l) for l in open(args[0]) if l.strip()]
    fw = {i["canonical"]["sha256"] for i in load(args[1])["images"]}
    esp = {i["canonical"]["sha256"] for i in load(args[2])["images"]}
    imgs = [m for m in meas if m.get("event") == "image"]
    bad = 0
    counts = {}
    for m in imgs:
        d = m.get("canonical", {}).get("sha256")
        where = esp if m["class"] == "uefi-application" else fw
        counts[m["class"]] = counts.get(m["class"], 0) + 1
        if d not in where:
            print("# image %s (%s, %s at %s) sha256 %s is not in the %s manifest" %
                  (m.get("id"), m["class"], m.get("format"), m.get("base"), d,
                   "ESP" if where is esp else "firmware"))
            bad += 1
    print("# %d images measured: %s; %d not found" % (len(imgs), ", ".join(
        "%d %s" % (n, c) for c, n in sorted(counts.items())), bad))
    return bad + (len(imgs) == 0)


if __name__ == "__main__":
    fn = {"expect": expect, "boot": boot}.get(sys.argv[1] if len(sys.argv) > 1 else "")
    if not fn:
        sys.exit(__doc__)
    sys.exit(1 if fn(sys.argv[2:]) else 0)
