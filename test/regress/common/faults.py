# common/faults.py: what the fault tests' Python parts share (tests/chainfs/04x). Import with
#   sys.path.insert(0, REGRESS_DIR + "/common"); from faults import *
# faults(RULE...) replaces the rules of the daemon's fault hook (io/fault_rules.h), as
# _chainfs_faults does; call(WHAT, fn, args...) runs one system call and prints
# "WHAT: OK" or "WHAT: <errno name>", which the golden output holds.
import errno
import os

CTL = os.environ["CHAINFS_FAULT_CONTROL"]


def faults(*rules):
    with open(CTL + ".new", "w") as f:
        f.write("".join(r + "\n" for r in rules))
    os.rename(CTL + ".new", CTL)


def call(what, fn, *args):
    try:
        fn(*args)
        result = "OK"
    except OSError as e:
        result = errno.errorcode.get(e.errno, str(e.errno))
    print(f"{what}: {result}", flush=True)
    return result == "OK"
