#!/usr/bin/python3
"""`make mutants`: proves that the tests guard every rule.

tests/mutants.toml lists mutants: each a minimal change to one rule (a
condition negated or dropped, a constant moved by one, a comparison
loosened), named after the rule it breaks, with the tests that must catch
it. Each is applied alone to a scratch copy of the tree, which is built and
run against its tests; a mutant that every test survives is a rule nobody
guards, and the run fails naming it. Two copies (--jobs) take mutants from
one queue, so that both cores stay busy.

A mutant whose text is no longer found exactly once in its file fails the
run too: the code it broke has moved or gone, and the list must move with
it (so a refactoring that drops a check cannot go unnoticed).

The scratch tree is built without sanitizers (the mutants change rules, not
memory safety, and an unsanitized build is several times faster). Before any
mutant, its tests are run once on the unchanged tree: a test that fails
there would "kill" every mutant and prove nothing.

    /usr/bin/python3 scripts/mutants.py [--only NAME,NAME] [--list] [--check] [--keep] [--jobs N]
"""
import argparse
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
LIST = os.path.join(REPO, "tests", "mutants.toml")
SCRATCH = os.path.join(REPO, "build", "mutants")
PYTHON = "/usr/bin/python3"
UNIT_TIMEOUT_S = 300
FUNCTIONAL_TIMEOUT_S = 600


class Mutant:
    def __init__(self, entry, index):
        missing = [k for k in ("name", "rule", "file", "find", "replace", "tests")
                   if k not in entry]
        if missing:
            raise SystemExit(f"{LIST}: mutant {index + 1} lacks {', '.join(missing)}")
        self.name = entry["name"]
        self.rule = entry["rule"]
        self.file = entry["file"]
        self.find = entry["find"]
        self.replace = entry["replace"]
        self.tests = entry["tests"]
        if self.find == self.replace:
            raise SystemExit(f"{LIST}: mutant {self.name} changes nothing")
        for t in self.tests:
            kind, _, what = t.partition(":")
            if kind not in ("unit", "functional") or not what:
                raise SystemExit(f"{LIST}: mutant {self.name}: test '{t}' is neither "
                                 "unit:PROGRAM nor functional:FILE[::TEST]")

    def unit_programs(self):
        return [t[len("unit:"):] for t in self.tests if t.startswith("unit:")]

    def functional_ids(self):
        return [t[len("functional:"):] for t in self.tests if t.startswith("functional:")]


def load():
    with open(LIST, "rb") as f:
        doc = tomllib.load(f)
    mutants = [Mutant(e, i) for i, e in enumerate(doc.get("mutant", []))]
    names = [m.name for m in mutants]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise SystemExit(f"{LIST}: names used twice: {', '.join(sorted(dup))}")
    return mutants


def log(msg):
    print(msg, flush=True)


def same_bytes(a, b):
    try:
        with open(a, "rb") as fa, open(b, "rb") as fb:
            return fa.read() == fb.read()
    except FileNotFoundError:
        return False


def copy_tree(dst):
    """The tracked and untracked-but-not-ignored files of the repository."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    for name in files:
        if not name:
            continue
        rel = name.decode()
        src = os.path.join(REPO, rel)
        if not os.path.isfile(src):
            continue
        target = os.path.join(dst, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if same_bytes(src, target):
            continue
        # A new time stamp, not the original's: a build kept from an earlier
        # run must see that the file (maybe restored from a mutant) changed.
        shutil.copyfile(src, target)


def configure(src, build):
    subprocess.run(["cmake", "-S", src, "-B", build, "-DCMAKE_BUILD_TYPE=Debug",
                    "-DCC_SANITIZE=OFF", "-DCC_TESTS=ON"], check=True,
                   stdout=subprocess.DEVNULL)


def build_targets(build, targets, jobs):
    """Builds targets; (ok, output)."""
    done = subprocess.run(["cmake", "--build", build, "-j", str(jobs),
                           "--target", *targets], capture_output=True, text=True)
    return done.returncode == 0, done.stdout + done.stderr


PROGRAMS = ("cheesed", "cheese-tracker", "cheese-cli", "cheese-devnet", "pyrepr")


def targets_of(mutants):
    """What the mutants' tests run: their unit programs, and the programs
    only when a functional test needs them (relinking all five for a
    mutant only unit tests judge would double the run)."""
    targets = set()
    for m in mutants:
        targets.update(m.unit_programs())
        if m.functional_ids():
            targets.update(PROGRAMS)
    return sorted(targets)


def run_tests(m, src, build, stop_at_first=True, functional_timeout_s=FUNCTIONAL_TIMEOUT_S):
    """Runs m's tests; returns (all passed, what failed)."""
    failed = []
    for program in m.unit_programs():
        try:
            done = subprocess.run([os.path.join(build, program)], capture_output=True,
                                  text=True, timeout=UNIT_TIMEOUT_S, cwd=build)
            if done.returncode != 0:
                failed.append(f"unit:{program}")
        except subprocess.TimeoutExpired:
            failed.append(f"unit:{program} (timed out)")
    ids = m.functional_ids()
    # One failing test kills a mutant: the slower functional tests run only
    # for a mutant the unit tests let through (and for the unchanged tree).
    if ids and not (failed and stop_at_first):
        env = dict(os.environ, CHEESE_BUILD=build, CHEESE_LIVENESS_S="3")
        args = [PYTHON, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                *[os.path.join(src, "tests", "functional", i) for i in ids]]
        try:
            done = subprocess.run(args, capture_output=True, text=True, env=env,
                                  timeout=functional_timeout_s, cwd=src)
            if done.returncode != 0:
                lines = [ln for ln in done.stdout.splitlines() if ln.startswith("FAILED")]
                failed.append(", ".join(lines[:3]) or f"functional (exit {done.returncode})")
        except subprocess.TimeoutExpired:
            failed.append("functional (timed out)")
    return not failed, failed


def find_once(m, root):
    """None when m's text is found exactly once in its file, else why not."""
    try:
        with open(os.path.join(root, m.file)) as f:
            count = f.read().count(m.find)
    except FileNotFoundError:
        return f"{m.file} is gone: the rule's code moved; update tests/mutants.toml"
    if count != 1:
        return (f"its text is found {count} times in {m.file}, not once: the rule's "
                "code moved; update tests/mutants.toml")
    return None


def apply(m, src):
    why = find_once(m, src)
    if why:
        return None, why
    path = os.path.join(src, m.file)
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace(m.find, m.replace))
    return text, None


def restore(m, src, text):
    with open(os.path.join(src, m.file), "w") as f:
        f.write(text)


class Results:
    """What the workers found, gathered under one lock."""

    def __init__(self, total):
        self.total = total
        self.lock = threading.Lock()
        self.survivors, self.broken = [], []

    def report(self, i, m, line, survived=False, broken=None):
        with self.lock:
            if survived:
                self.survivors.append(m)
            if broken:
                self.broken.append(f"{m.name}: {broken}")
            log(f"[{i}/{self.total}] {m.name}: {line}")


class Worker:
    """One scratch copy of the tree and its build: the workers take mutants
    from one queue, each applying them to its own copy (a test program runs
    on one core, so two copies keep two cores busy)."""

    def __init__(self, index, workers):
        self.src = os.path.join(SCRATCH, f"w{index}", "src")
        self.build = os.path.join(SCRATCH, f"w{index}", "build")
        self.jobs = max(1, (os.cpu_count() or 2) // workers)
        self.ready, self.output = False, ""

    def prepare(self, mutants, keep):
        if not keep:
            shutil.rmtree(self.src, ignore_errors=True)
        copy_tree(self.src)
        configure(self.src, self.build)
        self.ready, self.output = build_targets(self.build, targets_of(mutants), self.jobs)

    def run_all(self, waiting, results):
        while True:
            try:
                i, m = waiting.get_nowait()
            except queue.Empty:
                return
            self.run_one(i, m, results)

    def run_one(self, i, m, results):
        t0 = time.monotonic()
        text, why = apply(m, self.src)
        if why:
            results.report(i, m, f"NOT APPLIED ({why})", broken=why)
            return
        try:
            built, out = build_targets(self.build, targets_of([m]), self.jobs)
            if not built:
                results.report(i, m, "DOES NOT COMPILE",
                               broken=f"the mutant does not compile:\n{out[-1500:]}")
                return
            passed, failed = run_tests(m, self.src, self.build)
        finally:
            restore(m, self.src, text)
        took = time.monotonic() - t0
        if passed:
            results.report(i, m, f"SURVIVED ({took:.0f} s) - {m.rule}", survived=True)
        else:
            results.report(i, m, f"killed by {'; '.join(failed)} ({took:.0f} s)")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", help="comma-separated mutant names")
    p.add_argument("--list", action="store_true", help="list the mutants and stop")
    p.add_argument("--check", action="store_true",
                   help="only check that every mutant's text is still found once")
    p.add_argument("--keep", action="store_true", help="reuse the scratch trees' builds")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                   help="mutants tried at once, each on its own copy of the tree (2)")
    args = p.parse_args(argv)
    mutants = load()
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {m.name for m in mutants}
        if unknown:
            raise SystemExit(f"unknown mutants: {', '.join(sorted(unknown))}")
        mutants = [m for m in mutants if m.name in wanted]
    if args.list:
        for m in mutants:
            log(f"{m.name}: {m.rule} [{m.file}]")
        return 0
    moved = [f"{m.name}: {why}" for m in mutants if (why := find_once(m, REPO))]
    for line in moved:
        log(f"BROKEN: {line}")
    if moved or args.check:
        if not moved:
            log(f"{len(mutants)} mutants, each found once in its file")
        return 1 if moved else 0
    started = time.monotonic()
    workers = [Worker(k, args.jobs) for k in range(args.jobs)]
    threads = [threading.Thread(target=w.prepare, args=(mutants, args.keep)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in workers:
        if not w.ready:
            log(w.output[-4000:])
            raise SystemExit("the unchanged tree does not build")

    log(f"{len(mutants)} mutants on {len(workers)} workers; first their tests on the "
        "unchanged tree")
    every_test = sorted({t for m in mutants for t in m.tests})
    baseline = Mutant({"name": "none", "rule": "", "file": "", "find": "", "replace": "-",
                       "tests": every_test}, 0)
    # all the functional files at once: give them the time of each
    files = {i.split("::")[0] for i in baseline.functional_ids()}
    passed, failed = run_tests(baseline, workers[0].src, workers[0].build, stop_at_first=False,
                               functional_timeout_s=FUNCTIONAL_TIMEOUT_S * max(1, len(files)))
    if not passed:
        log("these tests fail without any mutant, so they can prove nothing:")
        for line in failed:
            log(f"  {line}")
        return 1

    waiting = queue.Queue()
    for i, m in enumerate(mutants, 1):
        waiting.put((i, m))
    results = Results(len(mutants))
    threads = [threading.Thread(target=w.run_all, args=(waiting, results)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    minutes = (time.monotonic() - started) / 60
    killed = len(mutants) - len(results.survivors) - len(results.broken)
    log(f"\n{killed} of {len(mutants)} mutants killed in {minutes:.1f} minutes")
    for m in results.survivors:
        log(f"SURVIVED: {m.name} ({m.file}): {m.rule}")
    for line in results.broken:
        log(f"BROKEN: {line}")
    return 0 if not results.survivors and not results.broken else 1

if __name__ == "__main__":
    sys.exit(main())
