#!/usr/bin/env python3
"""The ConfigMap is the sample configuration (deploy/sluss.toml) as it is; the StatefulSet
overrides what differs in a cluster through SLUSS_* environment variables.

    python3 deploy/kubernetes/configmap.py          # check that configmap.yaml matches
    python3 deploy/kubernetes/configmap.py --write  # write it again after editing the sample
"""
import pathlib
import sys

here = pathlib.Path(__file__).resolve().parent
sample = (here.parent / "sluss.toml").read_text(encoding="utf-8")
header = (
    "# Generated from deploy/sluss.toml by deploy/kubernetes/configmap.py: edit the sample,\n"
    "# then run that script with --write. The test command checks that the two agree.\n"
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sluss-config\n"
    "  labels:\n    app.kubernetes.io/name: sluss\ndata:\n  sluss.toml: |\n"
)
body = "".join(("    " + line if line.strip() else "\n") if line.endswith("\n") else "    " + line + "\n"
               for line in sample.splitlines(keepends=True))
wanted = header + body
target = here / "configmap.yaml"
if "--write" in sys.argv:
    target.write_text(wanted, encoding="utf-8")
elif not target.exists() or target.read_text(encoding="utf-8") != wanted:
    sys.exit("deploy/kubernetes/configmap.yaml differs from deploy/sluss.toml: "
             "run python3 deploy/kubernetes/configmap.py --write")
else:
    print("configmap.yaml matches deploy/sluss.toml")
