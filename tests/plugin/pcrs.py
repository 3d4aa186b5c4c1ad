#!/usr/bin/env python3
"""pcrs.py EVENTLOG_YAML PCRREAD_YAML: compare the PCRs tpm2_eventlog
replayed from hvima's log with those tpm2_pcrread read from the hypervisor
TPM. Every replayed PCR must equal the TPM's; every other PCR of the TPM
must still hold its reset value (nothing was extended that the log does not
show). Prints one line per difference; exit 0 if none, 1 otherwise."""
import re
import sys


def parse(path, after=None):
    banks, bank, started = {}, None, after is None
    for line in open(path, encoding="utf-8", errors="replace"):
        if not started:
            started = line.rstrip() == after
            continue
        m = re.match(r"^\s+(sha1|sha256|sha384|sha512):\s*$", line)
        if m:
            bank = banks.setdefault(m.group(1), {})
            continue
        m = re.match(r"^\s+(\d+)\s*:\s*0x([0-9A-Fa-f]+)\s*$", line)
        if m and bank is not None:
            bank[int(m.group(1))] = m.group(2).lower()
    return banks


replayed = parse(sys.argv[1], after="pcrs:")
tpm = parse(sys.argv[2])
bad = 0
if not replayed:
    print("no replayed PCRs in", sys.argv[1])
    sys.exit(1)
for alg, pcrs in replayed.items():
    if alg not in tpm:
        print(f"{alg}: bank not read from the TPM")
        bad += 1
        continue
    for i, v in pcrs.items():
        if tpm[alg].get(i) != v:
            print(f"{alg} PCR {i}: log replays {v}, TPM has {tpm[alg].get(i)}")
            bad += 1
    for i, v in tpm[alg].items():
        reset = "f" * len(v) if 17 <= i <= 22 else "0" * len(v)
        if i not in pcrs and v != reset:
            print(f"{alg} PCR {i}: TPM has {v}, the log never extends it")
            bad += 1
print(f"{sum(len(p) for p in replayed.values())} replayed PCRs compared, {bad} differences")
sys.exit(1 if bad else 0)
