#!/usr/bin/env python3
"""Writes deploy/kubernetes/configmap.yaml from seeds/rules.toml and seeds/lists/*.txt, and the
configMap volume's `items` in deploy/kubernetes/deployment.yaml that put each list file at
lists/NAME.txt beside rules.toml (ConfigMap keys cannot hold a `/`). tests/deploy.rs checks both
against the seeds; run this after changing the default rules or lists."""
import pathlib
import re

root = pathlib.Path(__file__).resolve().parent.parent
seeds = root / "seeds"
lists = sorted((seeds / "lists").glob("*.txt"))


def block(text):
    return "".join("    " + line if line.strip() else "\n" for line in text.splitlines(True))


out = [
    "# The rule file, mounted at /etc/rubric/rules.toml, and its list files, mounted at\n",
    "# /etc/rubric/lists/NAME.txt (deployment.yaml maps the keys to those paths). Copies of\n",
    "# seeds/rules.toml and seeds/lists/ written by scripts/sync-configmap.py (a test checks they are\n",
    "# equal); edit your own rules here: `kubectl apply` updates the mounted files within a minute and\n",
    "# the servers reload them.\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rubric-rules\n  labels:\n",
    "    app.kubernetes.io/name: rubric\ndata:\n",
    "  rules.toml: |\n", block((seeds / "rules.toml").read_text()),
]
for path in lists:
    out += [f"  lists.{path.name}: |\n", block(path.read_text())]
(root / "deploy/kubernetes/configmap.yaml").write_text("".join(out))

deployment = root / "deploy/kubernetes/deployment.yaml"
text = deployment.read_text()
items = "            items:\n              - key: rules.toml\n                path: rules.toml\n" + "".join(
    f"              - key: lists.{p.name}\n                path: lists/{p.name}\n" for p in lists
)
text = re.sub(
    r"(          configMap:\n            name: rubric-rules\n)(            items:\n(?:              .*\n|                .*\n)*)?",
    lambda m: m.group(1) + items,
    text,
)
deployment.write_text(text)
