"""How far a reader follows `zoo.build -> train -> export -> load -> generate` through zoo's files.

    python benchmarks/hops.py                    # the zoo this Python imports
    PYTHONPATH=../old-checkout python benchmarks/hops.py --json old.json

It runs the flow once, on `cgan_t2i_tiny` for 2 steps, with a profile hook on every Python
call, and records each call from one zoo file into another (a hop), through any TensorFlow or
Keras frames between them; what module bodies run at import (class bodies, registrations) is left out. It prints:
- the zoo files the flow executes, by stage;
- the distinct file-to-file hops (caller file -> callee file);
- the pairs of files that call each other both ways (where the flow doubles back).
Every stage goes through the same public entry points in any version (`zoo.build`, the
`zoo train` and `zoo export` commands, `zoo.load`), so two versions can be compared.
"""

import argparse
import collections
import json
import os
import sys
import tempfile


def zoo_file(path, root):
    path = os.path.abspath(path)
    return os.path.relpath(path, os.path.dirname(root)) if path.startswith(root + os.sep) else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the files and hops here")
    args = parser.parse_args()
    import zoo
    from zoo import cli

    root = os.path.dirname(os.path.abspath(zoo.__file__))
    files = collections.defaultdict(set)  # stage -> files executed
    hops = collections.Counter()  # (caller file, callee file) -> calls
    stage = ["build"]

    def profile(frame, event, arg):
        if event != "call":
            return
        callee = zoo_file(frame.f_code.co_filename, root)
        if callee is None or frame.f_code.co_name == "<module>":
            return  # not zoo's, or an import
        caller = frame.f_back
        while caller is not None and zoo_file(caller.f_code.co_filename, root) is None:
            caller = caller.f_back  # through TensorFlow and Keras frames, back to zoo's
        if caller is not None and caller.f_code.co_name == "<module>":
            return  # run by a module body at import: class bodies, registrations
        files[stage[0]].add(callee)
        if caller is not None:
            caller_file = zoo_file(caller.f_code.co_filename, root)
            if caller_file != callee:
                hops[(caller_file, callee)] += 1

    with tempfile.TemporaryDirectory() as folder:
        run, out = os.path.join(folder, "run"), os.path.join(folder, "exports")
        sys.setprofile(profile)
        try:
            zoo.build("cgan_t2i_tiny").build_all()
            stage[0] = "train"
            status = cli.main(["train", "cgan_t2i_tiny", "--steps", "2", "--batch-size", "4", "--workdir", run,
                               "--no-xla", "--set", "progress=false"])
            stage[0] = "export"
            status = status or cli.main(["export", "--workdir", run, "--out", out, "--name", "hops"])
            stage[0] = "load"
            zoo.load("hops", path=out).generate(["a large red circle on the left"], seeds=[0])
        finally:
            sys.setprofile(None)
    if status:
        sys.exit(f"the flow failed (exit status {status})")
    every_file = set().union(*files.values())
    edges = sorted(hops)
    both_ways = sorted({tuple(sorted(edge)) for edge in edges if (edge[1], edge[0]) in hops})
    for name in ("build", "train", "export", "load"):
        print(f"{name:7s} {len(files[name]):3d} files")
    print(f"all     {len(every_file):3d} files, {len(edges)} distinct file-to-file hops, "
          f"{len(both_ways)} pairs of files calling each other both ways")
    for a, b in both_ways:
        print(f"  both ways: {a} <-> {b}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"files": {k: sorted(v) for k, v in files.items()},
                       "hops": [[a, b, n] for (a, b), n in sorted(hops.items())], "both_ways": both_ways}, f, indent=1)


if __name__ == "__main__":
    main()
