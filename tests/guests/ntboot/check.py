#!/usr/bin/env python3
"""check.py: what test-ntboot asserts about one ntboot run, one check per
call; prints why on failure, exit 0 when the check holds, 1 when not.

  check.py images RUN BOOT_TXT DIGESTS_JSON
      every image boot.txt names (kernel, driver, late) is measured exactly
      once, as a kernel image in PCR 13, under its file name, with the
      canonical digest `hvima digest --json` gives for the ESP's file; both
      UEFI applications (bootmgr, winload) are measured in PCR 4 with their
      files' digests; no other kernel image, nothing malformed
  check.py outcome SCENARIO RUN
      the scenario's violations and unattributed code, exactly: none for
      clean, tampered and image-reuse; for each attack the event naming the
      target image and the attacking code's address the guest printed;
      for channel, the one forged report sent from the sender's copy
  check.py files RUN FILES_DIR
      the channel scenario's PCR 10 events: one per file the kernel held
      for after boot, in order, with its path and the SHA-256 of the ESP's
      file, sender sequence 1, 2, ...
"""
import hashlib
import json
import os
import re
import sys


def events(run):
    with open(os.path.join(run, "measurements.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def serial_addr(run, pattern):
    """The hex address after `pattern` in the guest's serial log."""
    with open(os.path.join(run, "serial.log"), encoding="utf-8", errors="replace") as f:
        m = re.search(re.escape(pattern) + r"\s*(0x[0-9a-f]+)", f.read())
    return int(m.group(1), 16) if m else None


def fail(msg):
    print(msg)
    sys.exit(1)


def check_images(run, boot_txt, digests_json):
    with open(digests_json, encoding="utf-8") as f:
        digest = {os.path.basename(d["file"]).lower(): d["canonical"]["sha256"] for d in json.load(f)}
    names = []
    with open(boot_txt, encoding="utf-8") as f:
        for line in f:
            w = line.split()
            if len(w) == 2 and w[0] in ("kernel", "driver", "late"):
                names.append(w[1].lower())
    ev = events(run)
    imgs = [e for e in ev if e.get("event") == "image"]
    bad = [e for e in imgs if e["status"] != "measured"]
    if bad:
        fail("not measured: %s" % [(e["name"], e["status"], e.get("reason")) for e in bad])
    kernel = [e for e in imgs if e["class"] == "kernel-image"]
    for n in names:
        got = [e for e in kernel if e["name"].lower() == n]
        if len(got) != 1:
            fail("%s: %d kernel-image events, expected 1" % (n, len(got)))
        if got[0]["pcr"] != 13 or got[0]["canonical"]["sha256"] != digest[n]:
            fail("%s: pcr %s digest %s, its file's digest is %s" % (n, got[0]["pcr"], got[0]["canonical"]["sha256"], digest[n]))
    if len(kernel) != len(names):
        fail("kernel images measured: %d, boot.txt names %d: extra %s" %
             (len(kernel), len(names), sorted({e["name"] for e in kernel} - set(names))))
    apps = sorted(e["canonical"]["sha256"] for e in imgs if e["class"] == "uefi-application" and e["pcr"] == 4)
    want = sorted([digest["bootx64.efi"], digest["winload.efi"]])
    if apps != want:
        fail("PCR 4 applications %s, expected bootmgr and winload %s" % (apps, want))


def check_outcome(scn, run):
    ev = events(run)
    viol = [e for e in ev if e.get("event") == "violation"]
    unat = [e for e in ev if e.get("event") == "unattributed"]
    desc = "violations %s, unattributed %s" % ([(e["kind"], e["image"], e["pc"], e.get("offset")) for e in viol],
                                                [e["pc"] for e in unat])
    if scn in ("clean", "tampered", "image-reuse"):
        if viol or unat:
            fail(desc)
        return
    if scn == "inject":
        at = serial_addr(run, "inject.sys: running injected code at")
        if at is None or viol or [int(e["pc"], 16) for e in unat] != [at]:
            fail("expected one unattributed event at %s; %s" % (at and hex(at), desc))
        return
    if scn == "channel":
        at = serial_addr(run, "chan.sys: sending a report from a copy of the sender at")
        forged = [e for e in viol if e["kind"] == "forged-report" and at is not None and
                  at <= int(e["pc"], 16) < at + 256 and e["image"] == "-"]
        if at is None or len(forged) != 1 or len(viol) != 1 or [int(e["pc"], 16) for e in unat] != [at]:
            fail("expected one forged-report from the copy at %s and its unattributed page; %s" % (at and hex(at), desc))
        return
    if unat:
        fail(desc)
    if scn == "inline-hook":
        at = serial_addr(run, "patching hvlib.sys!HvlibMix at")
        hit = [e for e in viol if e["kind"] == "modified-code" and e["image"] == "hvlib.sys" and int(e["pc"], 16) == at]
        others = [e for e in viol if e["image"] != "hvlib.sys"]
    elif scn == "iat-hook":
        slot = serial_addr(run, "overwriting drv06.sys import slot at")
        hook = serial_addr(run, "with the address of its hook at")
        hit = [e for e in viol if e["kind"] == "modified-import-table" and e["image"] == "drv06.sys" and
               int(e.get("slot", "0"), 16) == slot and int(e.get("value", "0"), 16) == hook and
               e.get("target", "").startswith("hookiat.sys+")]
        others = [e for e in viol if e["image"] != "drv06.sys"]
    elif scn == "header-wipe":
        hit = [e for e in viol if e["kind"] == "modified-measured-bytes" and e["image"] == "wipe.sys" and
               int(e["offset"], 16) == 0]
        others = [e for e in viol if e["image"] != "wipe.sys"]
    else:
        fail("unknown scenario " + scn)
    if not hit or others:
        fail("expected the %s violation; %s" % (scn, desc))


def check_files(run, files_dir):
    want = []
    with open(os.path.join(files_dir, "boot.txt"), encoding="utf-8") as f:
        for line in f:
            w = line.split()
            if len(w) == 2 and w[0] == "late":
                with open(os.path.join(files_dir, w[1]), "rb") as g:
                    want.append(("\\Device\\HarddiskVolume1\\ntboot\\" + w[1], hashlib.sha256(g.read()).hexdigest()))
    got = [(e["path"], e["file_sha256"]) for e in events(run) if e.get("event") == "file" and e["pcr"] == 10]
    seqs = [e["seq_guest"] for e in events(run) if e.get("event") == "file"]
    if not want or got != want or seqs != list(range(1, len(want) + 1)):
        fail("PCR 10 file events %s (seq %s), expected %s" % (got, seqs, want))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "images":
        check_images(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "outcome":
        check_outcome(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "files":
        check_files(*sys.argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
