#!/usr/bin/python3
"""Installs cheesechain's programs from a build directory, with a man page
and a bash completion for each, made from the program's own --help, and
the systemd units of packaging/systemd (docs/install.md). `make install`
and `make uninstall` (mk/install.mk) call it with build/release.

    scripts/install.py install --build build/release --prefix /usr/local
    scripts/install.py uninstall --prefix /usr/local

DESTDIR (--destdir) is put before every path written, as packagers expect:
the files land in DESTDIR/PREFIX/... while the units name PREFIX/bin.
Uninstall removes exactly the files install writes (whatever else is in
those folders stays, and so do the folders).
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
UNITS = os.path.join(ROOT, "packaging", "systemd")
PROGRAMS = ("cheesed", "cheese-cli", "cheese-tracker", "cheese-devnet")


def dirs(args):
    prefix = args.prefix.rstrip("/") or "/"
    join = os.path.join
    return {
        "bin": args.bindir or join(prefix, "bin"),
        "man": args.mandir or join(prefix, "share", "man"),
        "unit": args.unitdir or join(prefix, "lib", "systemd", "system"),
        "completion": args.completiondir or join(prefix, "share", "bash-completion",
                                                 "completions"),
    }


def units():
    """The unit templates: (file name in packaging/systemd, installed name)."""
    return [(name, name[:-len(".in")]) for name in sorted(os.listdir(UNITS))
            if name.endswith(".in")]


def staged(args, path):
    """Where a file of the final tree is written: under DESTDIR, if given."""
    return os.path.join(args.destdir, path.lstrip("/")) if args.destdir else path


def files(args):
    """Every file installed, as it will be named on the target system."""
    d = dirs(args)
    out = []
    for prog in PROGRAMS:
        out += [os.path.join(d["bin"], prog),
                os.path.join(d["man"], "man1", prog + ".1"),
                os.path.join(d["completion"], prog)]
    out += [os.path.join(d["unit"], name) for _, name in units()]
    return out


def put(path, data, mode):
    """Writes path whole under a temporary name, then renames it over the old
    one: a program being replaced while it runs keeps running (writing into
    it would fail with 'Text file busy'), and no half-written file is left."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix="." + os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    print(f"  {path}")


def generated(script, program):
    done = subprocess.run([sys.executable, os.path.join(HERE, script), program],
                          capture_output=True)
    if done.returncode != 0:
        raise SystemExit(f"{script} {program} failed:\n{done.stderr.decode(errors='replace')}")
    return done.stdout


def install(args):
    d = dirs(args)
    build = os.path.abspath(args.build)
    missing = [p for p in PROGRAMS if not os.access(os.path.join(build, p), os.X_OK)]
    if missing:
        raise SystemExit(f"install: {', '.join(missing)} not found in {build} (build first)")
    # Everything is made before anything is written: a program whose help
    # cannot be read leaves no half-done installation.
    writes = []
    for prog in PROGRAMS:
        program = os.path.join(build, prog)
        with open(program, "rb") as f:
            writes.append((os.path.join(d["bin"], prog), f.read(), 0o755))
        # Made from the built program, which is the installed one byte for byte.
        writes.append((os.path.join(d["man"], "man1", prog + ".1"),
                       generated("gen-man.py", program), 0o644))
        writes.append((os.path.join(d["completion"], prog),
                       generated("gen-completion.py", program), 0o644))
    for source, name in units():
        with open(os.path.join(UNITS, source)) as f:
            text = f.read().replace("@BINDIR@", d["bin"])
        writes.append((os.path.join(d["unit"], name), text.encode(), 0o644))
    print(f"installing into {args.destdir}{args.prefix}")
    for path, data, mode in writes:
        put(staged(args, path), data, mode)


def uninstall(args):
    print(f"removing from {args.destdir}{args.prefix}")
    for path in files(args):
        path = staged(args, path)
        try:
            os.unlink(path)
            print(f"  {path}")
        except FileNotFoundError:
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("install", "uninstall", "list"),
                        help="list: print the files install writes")
    parser.add_argument("--build", help="the build directory holding the programs (install)")
    parser.add_argument("--prefix", default="/usr/local")
    parser.add_argument("--destdir", default="", help="staging root put before every path")
    parser.add_argument("--bindir", help="default PREFIX/bin")
    parser.add_argument("--mandir", help="default PREFIX/share/man")
    parser.add_argument("--unitdir", help="default PREFIX/lib/systemd/system")
    parser.add_argument("--completiondir",
                        help="default PREFIX/share/bash-completion/completions")
    args = parser.parse_args()
    if not os.path.isabs(args.prefix):
        parser.error(f"--prefix must be an absolute path, not {args.prefix}")
    for name in ("bindir", "mandir", "unitdir", "completiondir"):
        value = getattr(args, name)
        if value and not os.path.isabs(value):
            parser.error(f"--{name} must be an absolute path, not {value}")
    try:
        if args.action == "install":
            if not args.build:
                parser.error("install needs --build DIR")
            install(args)
        elif args.action == "uninstall":
            uninstall(args)
        else:
            print("\n".join(staged(args, p) for p in files(args)))
    except PermissionError as e:
        raise SystemExit(f"{args.action}: {e.filename}: {e.strerror} "
                         "(as root, e.g. sudo make install; or another PREFIX)")


if __name__ == "__main__":
    main()
